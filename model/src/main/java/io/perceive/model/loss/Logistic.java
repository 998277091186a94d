package io.perceive.model.loss;

/**
 * Numerically stable logistic helpers shared by the losses (plain Java: inputs are small arrays).
 */
final class Logistic {
  private Logistic() {}

  static double sigmoid(double z) {
    if (z >= 0) return 1 / (1 + Math.exp(-z));
    double e = Math.exp(z);
    return e / (1 + e);
  }

  /** log(1 + e^z) without overflow. */
  static double softplus(double z) {
    return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  }

  static void checkLengths(String loss, int n, int... others) {
    for (int o : others)
      if (o != n)
        throw new IllegalArgumentException(
            loss + ": array lengths differ (" + n + " vs " + o + ")");
  }

  /** A binary label is 0, 1 or NaN (masked); anything else is a caller bug. */
  static boolean labelled(String loss, float y, int row) {
    if (Float.isNaN(y)) return false;
    if (y != 0f && y != 1f)
      throw new IllegalArgumentException(
          loss + ": label of row " + row + " is " + y + ", not 0/1/NaN");
    return true;
  }
}
