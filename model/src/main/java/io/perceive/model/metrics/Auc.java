package io.perceive.model.metrics;

/**
 * Exact area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann–Whitney U statistic, with mid-ranks for ties).
 */
public final class Auc {
  private Auc() {}

  /**
   * scores [N], labels [N] (0/1; NaN rows are skipped) → AUC in [0, 1], or NaN when there are no
   * positives or no negatives.
   */
  public static double of(double[] scores, float[] labels) {
    if (scores.length != labels.length)
      throw new IllegalArgumentException("scores and labels differ in length");
    int n = 0;
    for (float l : labels) if (!Float.isNaN(l)) n++;
    double[] s = new double[n];
    boolean[] pos = new boolean[n];
    int k = 0;
    long positives = 0;
    for (int i = 0; i < labels.length; i++) {
      if (Float.isNaN(labels[i])) continue;
      if (labels[i] != 0f && labels[i] != 1f)
        throw new IllegalArgumentException("label of row " + i + " is " + labels[i]);
      if (Double.isNaN(scores[i]))
        throw new IllegalArgumentException("score of row " + i + " is NaN");
      s[k] = scores[i];
      pos[k] = labels[i] == 1f;
      if (pos[k]) positives++;
      k++;
    }
    long negatives = n - positives;
    if (positives == 0 || negatives == 0) return Double.NaN;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    java.util.Arrays.sort(order, (a, b) -> Double.compare(s[a], s[b]));
    double rankSumPositives = 0;
    for (int i = 0; i < n; ) {
      int j = i;
      while (j + 1 < n && s[order[j + 1]] == s[order[i]]) j++;
      double midRank = (i + j) / 2.0 + 1; // 1-based mid-rank of the tie block
      for (int t = i; t <= j; t++) if (pos[order[t]]) rankSumPositives += midRank;
      i = j + 1;
    }
    double u = rankSumPositives - positives * (positives + 1) / 2.0;
    return u / ((double) positives * negatives);
  }
}
