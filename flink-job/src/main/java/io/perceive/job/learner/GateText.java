package io.perceive.job.learner;

import java.util.Map;

/** Formats gate utilisation (task → mean weight per expert) for a string gauge. */
final class GateText {
  private GateText() {}

  static String of(Map<String, double[]> gates) {
    StringBuilder sb = new StringBuilder();
    for (var e : gates.entrySet()) {
      if (sb.length() > 0) sb.append("; ");
      sb.append(e.getKey()).append('=');
      double[] w = e.getValue();
      for (int i = 0; i < w.length; i++) {
        if (i > 0) sb.append(',');
        sb.append(String.format(java.util.Locale.ROOT, "%.3f", w[i]));
      }
    }
    return sb.toString();
  }
}
