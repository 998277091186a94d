package io.perceive.model.loss;

/**
 * The KL-divergence bound of Meituan's "guess you like" model, made symmetric: for Bernoulli p =
 * p(order) = σ(zo) and q = p(click)·p(conversion) = σ(zc)σ(zv), KL(p‖q) + KL(q‖p) = (p − q)(logit p
 * − logit q). It ties the order head to the product of the click and conversion heads. Averaged
 * over the rows that have all three predictions.
 */
public final class SymmetricKlBound {
  /** Floor of 1 − q, so logit q stays finite when both heads saturate at 1. */
  private static final double EPS = 1e-12;

  private SymmetricKlBound() {}

  /**
   * Returns the mean bound over rows where {@code rows} is true (all rows when null) and adds
   * {@code weight}·gradients into {@code dzo}, {@code dzc}, {@code dzv}.
   */
  public static double apply(
      double[] zo,
      double[] zc,
      double[] zv,
      boolean[] rows,
      double weight,
      double[] dzo,
      double[] dzc,
      double[] dzv) {
    Logistic.checkLengths(
        "kl", zo.length, zc.length, zv.length, dzo.length, dzc.length, dzv.length);
    if (rows != null) Logistic.checkLengths("kl", zo.length, rows.length);
    int n = 0;
    for (int i = 0; i < zo.length; i++) if (rows == null || rows[i]) n++;
    if (n == 0) return 0;
    double loss = 0;
    for (int i = 0; i < zo.length; i++) {
      if (rows != null && !rows[i]) continue;
      double p = Logistic.sigmoid(zo[i]);
      double pc = Logistic.sigmoid(zc[i]);
      double pv = Logistic.sigmoid(zv[i]);
      // log q from the logits (exact even when q underflows); only 1 − q needs a floor
      double logQ = -Logistic.softplus(-zc[i]) - Logistic.softplus(-zv[i]);
      double q = Math.exp(logQ);
      double oneMinusQ = Math.max(1 - q, EPS);
      double gap = zo[i] - (logQ - Math.log(oneMinusQ)); // logit p − logit q
      loss += (p - q) * gap;
      // dL/dq · dq/dz with dq/dz = q (1 − σ(z)); the (p − q) / q term cancels q
      double viaQ = -gap * q - (p - q) / oneMinusQ;
      dzo[i] += weight * (p * (1 - p) * gap + (p - q)) / n;
      dzc[i] += weight * viaQ * (1 - pc) / n;
      dzv[i] += weight * viaQ * (1 - pv) / n;
    }
    return loss / n;
  }
}
