package io.perceive.model.loss;

/**
 * Binary cross-entropy on logits, averaged over the rows whose label is present: L = mean_i
 * [softplus(z_i) − y_i z_i], dL/dz_i = (σ(z_i) − y_i) / n. Labels are 0, 1 or NaN (masked: e.g.
 * conversion on unclicked rows).
 */
public final class MaskedBinaryCrossEntropy {
  private MaskedBinaryCrossEntropy() {}

  /**
   * Returns the mean loss over labelled rows (0 when none) and adds {@code weight}·dL/dz into
   * {@code dz}.
   */
  public static double apply(double[] z, float[] y, double weight, double[] dz) {
    Logistic.checkLengths("bce", z.length, y.length, dz.length);
    int n = 0;
    for (int i = 0; i < z.length; i++) if (Logistic.labelled("bce", y[i], i)) n++;
    if (n == 0) return 0;
    double loss = 0;
    for (int i = 0; i < z.length; i++) {
      if (Float.isNaN(y[i])) continue;
      loss += Logistic.softplus(z[i]) - y[i] * z[i];
      dz[i] += weight * (Logistic.sigmoid(z[i]) - y[i]) / n;
    }
    return loss / n;
  }
}
