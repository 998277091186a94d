package io.perceive.job.learner;

import java.util.Arrays;

/**
 * Prequential (predict, then train) quality of one task over a sliding window of the last {@code
 * capacity} labelled scores: exact AUC (ties count one half) and mean log-loss. Updated on the task
 * thread; the published figures are volatile so metric reporters may read them from any thread.
 */
public final class PrequentialMetrics {

  private final float[] scores;
  private final byte[] labels;
  private int size;
  private int next;
  private long total;
  private volatile double auc = Double.NaN;
  private volatile double logLoss = Double.NaN;

  public PrequentialMetrics(int capacity) {
    if (capacity < 2) throw new IllegalArgumentException("window must hold at least 2 samples");
    scores = new float[capacity];
    labels = new byte[capacity];
  }

  public void add(int label, float score) {
    if (label != 0 && label != 1) throw new IllegalArgumentException("label must be 0 or 1");
    scores[next] = score;
    labels[next] = (byte) label;
    next = (next + 1) % scores.length;
    size = Math.min(size + 1, scores.length);
    total++;
  }

  /** Recomputes the published AUC and log-loss over the window. */
  public void publish() {
    auc = auc(scores, labels, size);
    double ll = 0;
    for (int i = 0; i < size; i++) {
      double p = Math.min(Math.max(scores[i], 1e-7), 1 - 1e-7);
      ll -= labels[i] == 1 ? Math.log(p) : Math.log(1 - p);
    }
    logLoss = size == 0 ? Double.NaN : ll / size;
  }

  public double auc() {
    return auc;
  }

  public double logLoss() {
    return logLoss;
  }

  public long total() {
    return total;
  }

  /** Exact ROC AUC of the first {@code n} entries; NaN when one class is absent. */
  static double auc(float[] scores, byte[] labels, int n) {
    Integer[] idx = new Integer[n];
    for (int i = 0; i < n; i++) idx[i] = i;
    Arrays.sort(idx, (a, b) -> Float.compare(scores[a], scores[b]));
    double rankSumPos = 0;
    long pos = 0;
    int i = 0;
    while (i < n) {
      int j = i;
      while (j + 1 < n && scores[idx[j + 1]] == scores[idx[i]]) j++;
      double avgRank = (i + j) / 2.0 + 1; // 1-based, ties share the mean rank
      for (int k = i; k <= j; k++)
        if (labels[idx[k]] == 1) {
          rankSumPos += avgRank;
          pos++;
        }
      i = j + 1;
    }
    long neg = n - pos;
    if (pos == 0 || neg == 0) return Double.NaN;
    return (rankSumPos - pos * (pos + 1) / 2.0) / ((double) pos * neg);
  }
}
