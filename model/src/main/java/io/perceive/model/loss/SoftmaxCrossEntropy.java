package io.perceive.model.loss;

/**
 * Softmax cross-entropy over K classes (the price-preference task: K price levels), averaged over
 * rows with a label: L = mean_i [logsumexp(z_i) − z_i[y_i]], dL/dz_i = (softmax(z_i) − onehot(y_i))
 * / n. Label −1 = masked.
 */
public final class SoftmaxCrossEntropy {
  public static final int MASKED = -1;

  private SoftmaxCrossEntropy() {}

  /**
   * z [N * K] row-major logits, labels [N] in 0..K-1 or {@link #MASKED} → mean loss; adds {@code
   * weight}·dL/dz into dz [N * K].
   */
  public static double apply(double[] z, int classes, int[] labels, double weight, double[] dz) {
    if (classes < 2) throw new IllegalArgumentException("softmax needs >= 2 classes: " + classes);
    Logistic.checkLengths("softmax", z.length, labels.length * classes, dz.length);
    int n = 0;
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == MASKED) continue;
      if (labels[i] < 0 || labels[i] >= classes)
        throw new IllegalArgumentException(
            "softmax: label of row " + i + " is " + labels[i] + ", not in 0.." + (classes - 1));
      n++;
    }
    if (n == 0) return 0;
    double loss = 0;
    double[] prob = new double[classes];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] == MASKED) continue;
      int o = i * classes;
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < classes; k++) max = Math.max(max, z[o + k]);
      double sum = 0;
      for (int k = 0; k < classes; k++) sum += prob[k] = Math.exp(z[o + k] - max);
      loss += max + Math.log(sum) - z[o + labels[i]];
      for (int k = 0; k < classes; k++)
        dz[o + k] += weight * (prob[k] / sum - (k == labels[i] ? 1 : 0)) / n;
    }
    return loss / n;
  }
}
