package io.perceive.cli.bench;

import io.perceive.cli.report.SvgChart;
import io.perceive.job.learner.FreshnessTracker;
import io.perceive.job.learner.PhaseTimes.Phase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;

/**
 * The benchmark's figures as text: the summary printed to the console, and a markdown report with
 * two SVG plots (throughput against parallelism, freshness distribution).
 */
public final class E2eReport {

  private final E2eBenchmark.Result r;
  private final String command;

  public E2eReport(E2eBenchmark.Result result, String command) {
    this.r = result;
    this.command = command;
  }

  /**
   * Median over the rounds of a kind's events/s (or samples/s) at a parallelism, over the job's
   * runtime (start to finish) or over the learner's input span (first event to end of input).
   */
  public double median(String kind, int p, boolean samples, boolean span) {
    List<Double> v = new ArrayList<>();
    for (E2eBenchmark.Run run : r.runs())
      if (run.kind().equals(kind) && run.parallelism() == p) v.add(rate(run, samples, span));
    return median(v);
  }

  private static double rate(E2eBenchmark.Run run, boolean samples, boolean span) {
    if (span) return samples ? run.spanSamplesPerSecond() : run.spanEventsPerSecond();
    return samples ? run.samplesPerSecond() : run.eventsPerSecond();
  }

  /** Median over the rounds of learner/floor events/s of the same round and parallelism. */
  public double ratio(int p, boolean span) {
    List<Double> v = new ArrayList<>();
    for (E2eBenchmark.Run l : r.runs())
      if (l.kind().equals("learner") && l.parallelism() == p)
        for (E2eBenchmark.Run f : r.runs())
          if (f.kind().equals("floor") && f.parallelism() == p && f.round() == l.round())
            v.add(rate(l, false, span) / rate(f, false, span));
    return median(v);
  }

  static double median(List<Double> v) {
    if (v.isEmpty()) return Double.NaN;
    List<Double> s = new ArrayList<>(v);
    s.sort(null);
    int n = s.size();
    return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
  }

  /** The percentile {@code q} (0..1) of a freshness histogram, in milliseconds. */
  public static double percentile(Map<Integer, Long> histogram, double q) {
    long n = 0;
    for (long c : histogram.values()) n += c;
    if (n == 0) return Double.NaN;
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long seen = 0;
    for (Map.Entry<Integer, Long> e : new java.util.TreeMap<>(histogram).entrySet()) {
      seen += e.getValue();
      if (seen >= rank) return FreshnessTracker.bucketMs(e.getKey());
    }
    return Double.NaN;
  }

  static long total(Map<Integer, Long> h) {
    long n = 0;
    for (long c : h.values()) n += c;
    return n;
  }

  /** Phases summed over runs of a kind at a parallelism; label joining without the LSTM advance. */
  public Map<String, Long> phases(String kind, int p) {
    Map<String, Long> sum = new LinkedHashMap<>();
    for (Phase ph : Phase.values()) sum.put(ph.key(), 0L);
    for (E2eBenchmark.Run run : r.runs())
      if (run.kind().equals(kind) && run.parallelism() == p)
        run.phaseNanos().forEach((k, v) -> sum.merge(k, v, Long::sum));
    // the joiner calls the LSTM advance: shown apart, so the rows are disjoint
    sum.put(
        Phase.LABEL_JOINING.key(),
        sum.get(Phase.LABEL_JOINING.key()) - sum.get(Phase.STATE_ADVANCE.key()));
    return sum;
  }

  private long minibatches(String kind, int p) {
    long n = 0;
    for (E2eBenchmark.Run run : r.runs())
      if (run.kind().equals(kind) && run.parallelism() == p) n += run.minibatches();
    return n;
  }

  private double subtaskSeconds(String kind, int p) {
    double s = 0;
    for (E2eBenchmark.Run run : r.runs())
      if (run.kind().equals(kind) && run.parallelism() == p) s += run.netRuntimeSeconds() * p;
    return s;
  }

  private List<Integer> parallelisms() {
    return new ArrayList<>(new TreeSet<>(r.options().parallelisms()));
  }

  /** The console summary: ratios, phase shares, freshness percentiles. */
  public String summary() {
    StringBuilder b = new StringBuilder();
    b.append(throughputTable());
    b.append('\n').append(phaseTable());
    if (r.freshness() != null) b.append('\n').append(freshnessTable());
    return b.toString();
  }

  String throughputTable() {
    StringBuilder b = new StringBuilder();
    b.append(
        "| P | measured over | floor events/s | learner events/s | learner/floor (target ≥ 0.3)"
            + " | floor samples/s | learner samples/s |\n");
    b.append("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (int p : parallelisms())
      for (boolean span : new boolean[] {false, true})
        b.append(
            f(
                "| %d | %s | %,.0f | %,.0f | **%.2f** | %,.0f | %,.0f |%n",
                p,
                span ? "learner input span" : "job start → finish",
                median("floor", p, false, span),
                median("learner", p, false, span),
                ratio(p, span),
                median("floor", p, true, span),
                median("learner", p, true, span)));
    return b.toString();
  }

  String runsTable() {
    StringBuilder b = new StringBuilder();
    b.append(
        "| # | round | job | P | events | samples | job runtime s | events/s | samples/s |"
            + " learner input span s | events/s over span | load avg before → after |\n");
    b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    int i = 0;
    for (E2eBenchmark.Run run : r.runs())
      b.append(
          f(
              "| %d | %d | %s | %d | %,d | %,d | %.1f | %,.0f | %,.0f | %.1f | %,.0f | %s → %s |%n",
              ++i,
              run.round(),
              run.kind(),
              run.parallelism(),
              run.events(),
              run.samples(),
              run.netRuntimeSeconds(),
              run.eventsPerSecond(),
              run.samplesPerSecond(),
              run.spanSeconds(),
              run.spanEventsPerSecond(),
              run.loadBefore(),
              run.loadAfter()));
    return b.toString();
  }

  String phaseTable() {
    List<Integer> ps = parallelisms();
    StringBuilder b = new StringBuilder("| phase (learner subtasks, all rounds) |");
    StringBuilder sep = new StringBuilder("| --- |");
    for (int p : ps) {
      b.append(f(" P=%d ms per minibatch | P=%d %% |", p, p));
      sep.append(" --- | --- |");
    }
    b.append(" floor P=").append(ps.get(0)).append(" ms per minibatch |\n");
    b.append(sep).append(" --- |\n");
    List<Map<String, Long>> learner = new ArrayList<>();
    for (int p : ps) learner.add(phases("learner", p));
    Map<String, Long> floor = phases("floor", ps.get(0));
    long floorBatches = Math.max(1, minibatches("floor", ps.get(0)));
    long[] totals = new long[ps.size()];
    for (int i = 0; i < ps.size(); i++) for (long v : learner.get(i).values()) totals[i] += v;
    long floorTotal = 0;
    for (long v : floor.values()) floorTotal += v;
    for (Phase ph : Phase.values()) {
      b.append("| ").append(label(ph)).append(" |");
      for (int i = 0; i < ps.size(); i++) {
        long batches = Math.max(1, minibatches("learner", ps.get(i)));
        long v = learner.get(i).get(ph.key());
        b.append(f(" %.2f | %.1f |", v / 1e6 / batches, 100.0 * v / Math.max(1, totals[i])));
      }
      b.append(f(" %.2f |%n", floor.get(ph.key()) / 1e6 / floorBatches));
    }
    b.append("| **measured total** |");
    for (int i = 0; i < ps.size(); i++) {
      long batches = Math.max(1, minibatches("learner", ps.get(i)));
      b.append(f(" **%.2f** | 100 |", totals[i] / 1e6 / batches));
    }
    b.append(f(" **%.2f** |%n", floorTotal / 1e6 / floorBatches));
    b.append("| minibatches |");
    for (int p : ps) b.append(f(" %,d | |", minibatches("learner", p)));
    b.append(f(" %,d |%n", minibatches("floor", ps.get(0))));
    b.append("| measured total / (job runtime × P) |");
    for (int i = 0; i < ps.size(); i++)
      b.append(f(" %.0f %% | |", 100 * totals[i] / 1e9 / subtaskSeconds("learner", ps.get(i))));
    b.append(f(" %.0f %% |%n", 100 * floorTotal / 1e9 / subtaskSeconds("floor", ps.get(0))));
    return b.toString();
  }

  private static String label(Phase ph) {
    return switch (ph) {
      case STATE_ACCESS -> "state access (RocksDB get/put + codec)";
      case LABEL_JOINING -> "label joining (without the LSTM advance)";
      case IMPRESSION_SCORING -> "impression scoring (batched forward)";
      case INPUT_ASSEMBLY -> "input assembly";
      case FORWARD -> "forward";
      case BACKWARD -> "backward";
      case OPTIMIZER -> "optimizer step";
      case STATE_ADVANCE -> "LSTM state advance (behaviour leaves the window)";
      case SYNC_EXTRACT -> "sync: delta extract + encode";
      case SYNC_APPLY -> "sync: apply update + rebase";
      case CHECKPOINT -> "checkpoint: replica serialisation";
    };
  }

  String freshnessTable() {
    E2eBenchmark.Freshness fr = r.freshness();
    StringBuilder b = new StringBuilder();
    b.append(
        f(
            "Live run: %,d events at %,.0f events/s, learner P=%d, %,d samples counted, load %s →"
                + " %s.%n%n",
            fr.produced(),
            fr.rate(),
            fr.run().parallelism(),
            total(fr.total()),
            fr.run().loadBefore(),
            fr.run().loadAfter()));
    b.append("| part | p50 s | p90 s | p99 s |\n| --- | --- | --- | --- |\n");
    row(b, "event time → first published version that trained on it", fr.total());
    row(b, "  of which: event time → label matured", fr.maturity());
    row(b, "  of which: label matured → published (training + sync)", fr.trainSync());
    return b.toString();
  }

  private static void row(StringBuilder b, String name, Map<Integer, Long> h) {
    b.append(
        f(
            "| %s | %.2f | %.2f | %.2f |%n",
            name, percentile(h, 0.5) / 1e3, percentile(h, 0.9) / 1e3, percentile(h, 0.99) / 1e3));
  }

  /** Events/s of the floor and the learner (median over rounds) against parallelism. */
  public String throughputSvg() {
    List<Integer> ps = parallelisms();
    double[] x = new double[ps.size()];
    double[] floor = new double[ps.size()];
    double[] learner = new double[ps.size()];
    double[] floorJob = new double[ps.size()];
    double[] learnerJob = new double[ps.size()];
    for (int i = 0; i < ps.size(); i++) {
      x[i] = ps.get(i);
      floor[i] = median("floor", ps.get(i), false, true);
      learner[i] = median("learner", ps.get(i), false, true);
      floorJob[i] = median("floor", ps.get(i), false, false);
      learnerJob[i] = median("learner", ps.get(i), false, false);
    }
    return new SvgChart("End-to-end events/s (median of rounds)", "parallelism", "events/s")
        .add(new SvgChart.Series("floor, input span", x, floor, "#888888", false))
        .add(new SvgChart.Series("learner, input span", x, learner, "#1f77b4", false))
        .add(new SvgChart.Series("floor, job runtime", x, floorJob, "#888888", true))
        .add(new SvgChart.Series("learner, job runtime", x, learnerJob, "#1f77b4", true))
        .yRange(0, Math.max(max(floor), max(learner)) * 1.1)
        .render();
  }

  /** Cumulative distribution of the freshness parts, in seconds. */
  public String freshnessSvg() {
    E2eBenchmark.Freshness fr = r.freshness();
    SvgChart c = new SvgChart("Freshness (live run)", "seconds", "fraction of samples ≤ x");
    c.add(cdf("event → published", fr.total(), "#1f77b4", false));
    c.add(cdf("event → label matured", fr.maturity(), "#ff7f0e", true));
    c.add(cdf("matured → published", fr.trainSync(), "#2ca02c", true));
    return c.yRange(0, 1).render();
  }

  private static SvgChart.Series cdf(String name, Map<Integer, Long> h, String colour, boolean d) {
    long n = Math.max(1, total(h));
    double[] x = new double[h.size()];
    double[] y = new double[h.size()];
    long seen = 0;
    int i = 0;
    for (Map.Entry<Integer, Long> e : new java.util.TreeMap<>(h).entrySet()) {
      seen += e.getValue();
      x[i] = FreshnessTracker.bucketMs(e.getKey()) / 1e3;
      y[i++] = (double) seen / n;
    }
    return new SvgChart.Series(name, x, y, colour, d);
  }

  private static double max(double[] v) {
    double m = 0;
    for (double d : v) if (Double.isFinite(d)) m = Math.max(m, d);
    return m == 0 ? 1 : m;
  }

  /** Writes {@code <name>.md}, {@code <name>-throughput.svg} and {@code <name>-freshness.svg}. */
  public List<Path> write(Path dir, String name) throws IOException {
    Files.createDirectories(dir);
    List<Path> written = new ArrayList<>();
    E2eBenchmark.Options o = r.options();
    StringBuilder md = new StringBuilder();
    md.append("# End-to-end benchmark (generated by `./perceive bench-e2e`)\n\n");
    md.append(
        f(
            "Written %s by `%s`. Machine: %d cores, Java %s; load average (1/5/15 min) at start"
                + " %s. %,d events produced once; %d round(s) of (floor, learner) per parallelism,"
                + " alternating. Definitions and reading: [benchmarks.md](benchmarks.md).%n%n",
            Instant.now(),
            command,
            Runtime.getRuntime().availableProcessors(),
            System.getProperty("java.version"),
            r.loadAtStart(),
            r.produced(),
            o.rounds()));
    md.append("## Throughput\n\n").append(throughputTable()).append('\n');
    md.append(f("![throughput](%s-throughput.svg)%n%n", name));
    md.append("Every run:\n\n").append(runsTable()).append('\n');
    md.append("## Where the time goes in a minibatch\n\n").append(phaseTable()).append('\n');
    if (r.freshness() != null) {
      md.append("## Freshness\n\n").append(freshnessTable()).append('\n');
      md.append("Live settings: ");
      List<String> s = new ArrayList<>();
      r.freshness().settings().forEach((k, v) -> s.add("`" + k + "` = " + v));
      md.append(String.join(", ", s)).append(".\n\n");
      md.append(f("![freshness](%s-freshness.svg)%n", name));
    }
    Path mdPath = dir.resolve(name + ".md");
    Files.writeString(mdPath, md.toString());
    written.add(mdPath);
    Path t = dir.resolve(name + "-throughput.svg");
    Files.writeString(t, throughputSvg());
    written.add(t);
    if (r.freshness() != null) {
      Path fp = dir.resolve(name + "-freshness.svg");
      Files.writeString(fp, freshnessSvg());
      written.add(fp);
    }
    return written;
  }

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }
}
