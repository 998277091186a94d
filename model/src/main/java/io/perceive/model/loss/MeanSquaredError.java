package io.perceive.model.loss;

/**
 * Mean squared error over rows with a target (NaN = masked): L = mean_i (ŷ_i − y_i)², dL/dŷ_i =
 * 2(ŷ_i − y_i) / n. The regression loss of the MMoE paper experiment.
 */
public final class MeanSquaredError {
  private MeanSquaredError() {}

  /** Returns the mean loss over rows with a target and adds {@code weight}·dL/dŷ into dy. */
  public static double apply(double[] prediction, float[] target, double weight, double[] dy) {
    Logistic.checkLengths("mse", prediction.length, target.length, dy.length);
    int n = 0;
    for (float t : target) if (!Float.isNaN(t)) n++;
    if (n == 0) return 0;
    double loss = 0;
    for (int i = 0; i < prediction.length; i++) {
      if (Float.isNaN(target[i])) continue;
      if (Float.isInfinite(target[i]))
        throw new IllegalArgumentException("mse: target of row " + i + " is infinite");
      double e = prediction[i] - target[i];
      loss += e * e;
      dy[i] += weight * 2 * e / n;
    }
    return loss / n;
  }
}
