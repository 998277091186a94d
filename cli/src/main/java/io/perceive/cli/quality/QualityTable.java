package io.perceive.cli.quality;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns the demo reports of an ablation study into markdown: one row per variant, per task the
 * prequential AUC over the last half of that task's samples next to the oracle AUC on exactly those
 * samples (where the world knows the truth), and throughput.
 */
public final class QualityTable {

  /** One finished run: its variant and its parsed {@code report.json}. */
  public record Run(Variant variant, Map<String, Object> report) {}

  private static final List<String> TASKS = List.of("click", "conversion", "order");

  private QualityTable() {}

  public static String markdown(List<Run> runs) {
    StringBuilder b = new StringBuilder();
    b.append(
        "| source | arch | KL bound | MVL | sequence | click AUC (oracle) | conversion AUC (oracle)"
            + " | order AUC (oracle) | click log-loss | events/s |\n");
    b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (Run r : runs) {
      Variant v = r.variant();
      List<String> cells = new ArrayList<>();
      cells.add(v.movieLens() ? "MovieLens" : "synthetic");
      cells.add(v.arch());
      cells.add(v.kl() ? "on" : "off");
      cells.add(v.mvl() ? "on" : "off");
      cells.add(v.sequence() ? "LSTM + attention" : "user id only");
      for (String t : TASKS) cells.add(aucCell(task(r.report(), t)));
      cells.add(num(task(r.report(), "click").get("logloss"), "%.4f"));
      cells.add(num(r.report().get("events_per_second"), "%,.0f"));
      b.append("| ").append(String.join(" | ", cells)).append(" |\n");
    }
    return b.toString();
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> task(Map<String, Object> report, String task) {
    Object tasks = report.get("tasks");
    if (!(tasks instanceof Map<?, ?> m) || !(m.get(task) instanceof Map<?, ?> t))
      throw new IllegalArgumentException("report has no tasks." + task);
    return (Map<String, Object>) t;
  }

  private static String aucCell(Map<String, Object> t) {
    String auc = num(t.get("auc"), "%.3f");
    Object oracle = t.get("oracle_auc");
    return oracle == null ? auc : auc + " (" + num(oracle, "%.3f") + ")";
  }

  private static String num(Object v, String fmt) {
    return v instanceof Number n && Double.isFinite(n.doubleValue())
        ? String.format(Locale.ROOT, fmt, n.doubleValue())
        : "—";
  }
}
