package io.perceive.cli.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.perceive.job.learner.ScoredSample;
import io.perceive.model.metrics.Auc;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds the demo's {@code report.json} and {@code report.html} from the predictions output, the
 * world's truth (when known) and the run's facts. Per task, {@code auc} and {@code logloss} are
 * prequential over the last half of that task's samples (in label-time order) and {@code
 * oracle_auc} is the true probability's AUC over exactly those samples.
 */
public final class DemoReport {

  public static final String[] TASKS = {"click", "conversion", "order"};
  private static final String[] COLOURS = {"#1f77b4", "#d62728", "#2ca02c"};

  /** True probabilities of one impression (p_click, p_conversion, p_order). */
  public interface Truth {
    /** The true probabilities for an impression id, or null when unknown. */
    double[] of(String impressionEventId);
  }

  /** A point of the progress series: seconds since start, events the job has read. */
  public record Progress(double seconds, long events) {}

  /** Quality of one task. */
  public record TaskFigures(
      long samples,
      double auc,
      double logloss,
      Double oracleAuc,
      double[] chunkEnds,
      double[] chunkAuc,
      double[] chunkOracle) {}

  private final Map<String, Object> json = new LinkedHashMap<>();
  private final Map<String, TaskFigures> tasks = new LinkedHashMap<>();
  private final List<Progress> progress;

  public DemoReport(
      List<ScoredSample> predictions,
      Truth truth,
      long events,
      double wallSeconds,
      long modelVersion,
      int snapshots,
      Map<String, Long> counts,
      List<Progress> progress,
      Map<String, Object> settings) {
    this.progress = progress;
    List<ScoredSample> ordered = new ArrayList<>(predictions);
    ordered.sort(Comparator.comparingLong(ScoredSample::labelTimeMs));
    json.put("events", events);
    json.put("wall_seconds", wallSeconds);
    json.put("events_per_second", wallSeconds > 0 ? events / wallSeconds : 0.0);
    json.put("model_version", modelVersion);
    json.put("snapshots", snapshots);
    Map<String, Object> t = new LinkedHashMap<>();
    for (int k = 0; k < TASKS.length; k++) {
      TaskFigures f = figures(ordered, k, truth);
      tasks.put(TASKS[k], f);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("samples", f.samples());
      m.put("auc", finiteOrZero(f.auc()));
      m.put("logloss", finiteOrZero(f.logloss()));
      m.put("oracle_auc", f.oracleAuc());
      t.put(TASKS[k], m);
    }
    json.put("tasks", t);
    json.put("counts", counts);
    json.put("settings", settings);
  }

  private static double finiteOrZero(double v) {
    return Double.isFinite(v) ? v : 0.0;
  }

  static TaskFigures figures(List<ScoredSample> ordered, int task, Truth truth) {
    List<ScoredSample> rows = new ArrayList<>();
    for (ScoredSample r : ordered) if (r.label(task) >= 0) rows.add(r);
    int n = rows.size();
    List<ScoredSample> half = rows.subList(n / 2, n);
    double auc = auc(half, task, null);
    double ll = 0;
    for (ScoredSample r : half) {
      double p = Math.min(Math.max(r.score(task), 1e-7), 1 - 1e-7);
      ll -= r.label(task) == 1 ? Math.log(p) : Math.log(1 - p);
    }
    ll = half.isEmpty() ? Double.NaN : ll / half.size();
    Double oracle = null;
    if (truth != null) {
      double o = auc(half, task, truth);
      oracle = Double.isFinite(o) ? o : null;
    }
    int chunks = Math.max(1, Math.min(20, n / 200));
    double[] ends = new double[chunks], ca = new double[chunks], co = new double[chunks];
    for (int c = 0; c < chunks; c++) {
      List<ScoredSample> part = rows.subList(c * n / chunks, (c + 1) * n / chunks);
      ends[c] = (c + 1) * (double) n / chunks;
      ca[c] = auc(part, task, null);
      co[c] = truth == null ? Double.NaN : auc(part, task, truth);
    }
    return new TaskFigures(n, auc, ll, oracle, ends, ca, co);
  }

  /** AUC of the model's scores, or of the true probabilities when {@code truth} is given. */
  private static double auc(List<ScoredSample> rows, int task, Truth truth) {
    double[] s = new double[rows.size()];
    float[] y = new float[rows.size()];
    int m = 0;
    for (ScoredSample r : rows) {
      double score;
      if (truth != null) {
        double[] p = truth.of(r.impressionEventId());
        if (p == null) continue;
        score = p[task];
      } else score = r.score(task);
      s[m] = score;
      y[m] = r.label(task);
      m++;
    }
    if (m < rows.size()) {
      s = java.util.Arrays.copyOf(s, m);
      y = java.util.Arrays.copyOf(y, m);
    }
    boolean pos = false, neg = false;
    for (float v : y) {
      if (v == 1) pos = true;
      else neg = true;
    }
    return pos && neg ? Auc.of(s, y) : Double.NaN;
  }

  public Map<String, Object> json() {
    return json;
  }

  public Map<String, TaskFigures> tasks() {
    return tasks;
  }

  /** Writes report.json and report.html into {@code dir}. */
  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Files.writeString(dir.resolve("report.json"), om.writeValueAsString(json));
    Files.writeString(dir.resolve("report.html"), html(), StandardCharsets.UTF_8);
  }

  String html() {
    StringBuilder sb = new StringBuilder();
    sb.append(
            "<!doctype html><html><head><meta charset='utf-8'><title>Perceive demo report</title>")
        .append("<style>body{font-family:sans-serif;margin:2em;max-width:1000px}")
        .append(
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}")
        .append("</style></head><body><h1>Perceive demo report</h1>");
    sb.append(
        String.format(
            Locale.ROOT,
            "<p>%s events in %.1f s (%.0f events/s), final model version %s, %s snapshot(s).</p>",
            json.get("events"),
            (double) json.get("wall_seconds"),
            (double) json.get("events_per_second"),
            json.get("model_version"),
            json.get("snapshots")));
    sb.append(
        "<table><tr><th>task</th><th>samples</th><th>AUC (last half)</th><th>oracle AUC</th><th>log-loss</th></tr>");
    for (var e : tasks.entrySet()) {
      TaskFigures f = e.getValue();
      sb.append(
          String.format(
              Locale.ROOT,
              "<tr><td>%s</td><td>%d</td><td>%.4f</td><td>%s</td><td>%.4f</td></tr>",
              e.getKey(),
              f.samples(),
              f.auc(),
              f.oracleAuc() == null ? "—" : String.format(Locale.ROOT, "%.4f", f.oracleAuc()),
              f.logloss()));
    }
    sb.append("</table>");
    int k = 0;
    for (var e : tasks.entrySet()) {
      TaskFigures f = e.getValue();
      SvgChart c =
          new SvgChart(
                  "Prequential AUC over the stream: " + e.getKey(),
                  e.getKey() + " samples seen",
                  "AUC per chunk")
              .add(new SvgChart.Series("model", f.chunkEnds(), f.chunkAuc(), COLOURS[k], false))
              .add(new SvgChart.Series("oracle", f.chunkEnds(), f.chunkOracle(), "#555", true))
              .add(
                  new SvgChart.Series(
                      "chance",
                      new double[] {0, Math.max(1, f.samples())},
                      new double[] {0.5, 0.5},
                      "#bbb",
                      true))
              .yRange(0.4, 1.0);
      sb.append("<div>").append(c.render()).append("</div>");
      k++;
    }
    if (progress.size() >= 2) {
      double[] x = new double[progress.size() - 1], y = new double[progress.size() - 1];
      for (int i = 1; i < progress.size(); i++) {
        Progress a = progress.get(i - 1), b = progress.get(i);
        x[i - 1] = b.seconds();
        y[i - 1] = (b.events() - a.events()) / Math.max(1e-9, b.seconds() - a.seconds());
      }
      sb.append("<div>")
          .append(
              new SvgChart("Throughput", "seconds since the job started", "events/s")
                  .add(new SvgChart.Series("events/s", x, y, "#9467bd", false))
                  .render())
          .append("</div>");
    }
    sb.append("<h2>Counts</h2><table>");
    @SuppressWarnings("unchecked")
    Map<String, Long> counts = (Map<String, Long>) json.get("counts");
    for (var e : counts.entrySet())
      sb.append("<tr><td>")
          .append(e.getKey())
          .append("</td><td>")
          .append(e.getValue())
          .append("</td></tr>");
    sb.append("</table></body></html>");
    return sb.toString();
  }
}
