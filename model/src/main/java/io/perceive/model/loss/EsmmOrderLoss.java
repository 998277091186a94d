package io.perceive.model.loss;

/**
 * ESMM (Ma et al., SIGIR 2018, "Entire Space Multi-Task Model", eq. 1–3): there is no order head;
 * p(order) = pCTCVR = p(click)·p(conversion) is trained with binary cross-entropy on the order
 * label over the entire impression space, which gives the conversion head a gradient on every
 * impression. Averaged over rows with an order label.
 */
public final class EsmmOrderLoss {
  private static final double EPS = 1e-12;

  private EsmmOrderLoss() {}

  /** p(order) = σ(zClick)·σ(zConversion), per row. */
  public static double probability(double zClick, double zConversion) {
    return Logistic.sigmoid(zClick) * Logistic.sigmoid(zConversion);
  }

  /**
   * Returns the mean BCE of p = σ(zc)σ(zv) against {@code order} (NaN masked) and adds {@code
   * weight}·dL/dzc, dL/dzv into {@code dzc}, {@code dzv}.
   */
  public static double apply(
      double[] zc, double[] zv, float[] order, double weight, double[] dzc, double[] dzv) {
    Logistic.checkLengths("esmm", zc.length, zv.length, order.length, dzc.length, dzv.length);
    int n = 0;
    for (int i = 0; i < zc.length; i++) if (Logistic.labelled("esmm", order[i], i)) n++;
    if (n == 0) return 0;
    double loss = 0;
    for (int i = 0; i < zc.length; i++) {
      float y = order[i];
      if (Float.isNaN(y)) continue;
      double pc = Logistic.sigmoid(zc[i]);
      double pv = Logistic.sigmoid(zv[i]);
      double p = Math.min(pc * pv, 1 - EPS);
      double logP = -Logistic.softplus(-zc[i]) - Logistic.softplus(-zv[i]);
      loss += -(y * logP + (1 - y) * Math.log1p(-p));
      // d log p / dz = 1 − σ(z); d log(1 − p) / dz = −p (1 − σ(z)) / (1 − p)
      double common = -y + (1 - y) * p / (1 - p);
      dzc[i] += weight * common * (1 - pc) / n;
      dzv[i] += weight * common * (1 - pv) / n;
    }
    return loss / n;
  }
}
