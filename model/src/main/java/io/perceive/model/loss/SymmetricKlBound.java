package io.perceive.model.loss;

/**
 * The KL-divergence bound of Meituan's "guess you like" model, made symmetric: for Bernoulli p =
 * p(order) = σ(zo) and q = p(click)·p(conversion) = σ(zc)σ(zv), KL(p‖q) + KL(q‖p) = (p − q)(logit p
 * − logit q). It ties the order head to the product of the click and conversion heads. Averaged
 * over the rows that have all three predictions.
 */
public final class SymmetricKlBound {
  /** q is kept in [EPS, 1 − EPS] so logit q stays finite. */
  private static final double EPS = 1e-9;

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
      double q = Math.min(Math.max(pc * pv, EPS), 1 - EPS);
      double logitQ = Math.log(q) - Math.log1p(-q);
      double gap = zo[i] - logitQ; // logit p − logit q
      loss += (p - q) * gap;
      double dLdq = -gap - (p - q) / (q * (1 - q));
      dzo[i] += weight * (p * (1 - p) * gap + (p - q)) / n;
      dzc[i] += weight * dLdq * q * (1 - pc) / n;
      dzv[i] += weight * dLdq * q * (1 - pv) / n;
    }
    return loss / n;
  }
}
