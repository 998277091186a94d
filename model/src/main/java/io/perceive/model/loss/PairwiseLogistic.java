package io.perceive.model.loss;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Pairwise logistic learning-to-rank (RankNet, Burges et al., ICML 2005) among the impressions of
 * one request: for every clicked i and non-clicked j of the same group, L_ij = log(1 + exp(−(s_i −
 * s_j))). Averaged over all pairs of the batch; rows with a masked label take no part.
 */
public final class PairwiseLogistic {
  private PairwiseLogistic() {}

  /**
   * s [N] scores, clicked [N] (0/1/NaN), group [N] (request of each row) → mean pair loss (0 when
   * there are no pairs); adds {@code weight}·dL/ds into {@code ds}.
   */
  public static double apply(double[] s, float[] clicked, int[] group, double weight, double[] ds) {
    Logistic.checkLengths("pairwise", s.length, clicked.length, group.length, ds.length);
    Map<Integer, List<Integer>> pos = new HashMap<>();
    Map<Integer, List<Integer>> neg = new HashMap<>();
    for (int i = 0; i < s.length; i++) {
      if (!Logistic.labelled("pairwise", clicked[i], i)) continue;
      (clicked[i] == 1f ? pos : neg).computeIfAbsent(group[i], k -> new ArrayList<>()).add(i);
    }
    long pairs = 0;
    for (Map.Entry<Integer, List<Integer>> e : pos.entrySet()) {
      List<Integer> n = neg.get(e.getKey());
      if (n != null) pairs += (long) e.getValue().size() * n.size();
    }
    if (pairs == 0) return 0;
    double loss = 0;
    for (Map.Entry<Integer, List<Integer>> e : pos.entrySet()) {
      List<Integer> negs = neg.get(e.getKey());
      if (negs == null) continue;
      for (int i : e.getValue())
        for (int j : negs) {
          double margin = s[i] - s[j];
          loss += Logistic.softplus(-margin);
          double d = weight * Logistic.sigmoid(-margin) / pairs;
          ds[i] -= d;
          ds[j] += d;
        }
    }
    return loss / pairs;
  }
}
