package io.perceive.serving;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * Serving's counters, gauges and the request latency histogram, rendered in the Prometheus text
 * exposition format (version 0.0.4) for {@code GET /metrics}. Lock-free on the request path.
 */
public final class ServingMetrics {

  /** Upper bounds of the latency histogram buckets, seconds. */
  static final double[] LATENCY_BUCKETS = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
  };

  private final Map<String, LongAdder> counters = new ConcurrentSkipListMap<>();
  private final Map<String, DoubleSupplier> gauges = new ConcurrentSkipListMap<>();
  private final Map<String, String> help = new ConcurrentHashMap<>();
  private final LongAdder[] latencyBuckets = new LongAdder[LATENCY_BUCKETS.length];
  private final LongAdder latencyCount = new LongAdder();
  private final LongAdder latencyMicros = new LongAdder();

  public ServingMetrics() {
    for (int i = 0; i < latencyBuckets.length; i++) latencyBuckets[i] = new LongAdder();
    describe("perceive_serving_requests_total", "Requests by endpoint and HTTP status.");
    describe(
        "perceive_serving_snapshots_loaded_total", "Snapshots loaded, verified and swapped in.");
    describe(
        "perceive_serving_snapshots_refused_total",
        "Snapshots refused (previous model stayed live), by reason.");
    describe("perceive_serving_user_state_records_total", "user-state records applied, by kind.");
  }

  private void describe(String name, String text) {
    help.put(name, text);
  }

  /**
   * Adds one to counter {@code name} with the given label text (e.g. {@code reason="corrupted"}).
   */
  public void increment(String name, String labels) {
    add(name, labels, 1);
  }

  public void add(String name, String labels, long delta) {
    counters
        .computeIfAbsent(labels.isEmpty() ? name : name + "{" + labels + "}", k -> new LongAdder())
        .add(delta);
  }

  /** The current value of a counter (0 when never incremented). */
  public long counter(String name, String labels) {
    LongAdder a = counters.get(labels.isEmpty() ? name : name + "{" + labels + "}");
    return a == null ? 0 : a.sum();
  }

  /** Registers a gauge read at scrape time. */
  public void gauge(String name, String helpText, DoubleSupplier value) {
    describe(name, helpText);
    gauges.put(name, value);
  }

  /** Records one scoring request's latency. */
  public void observeLatency(long nanos) {
    double s = nanos / 1e9;
    for (int i = 0; i < LATENCY_BUCKETS.length; i++)
      if (s <= LATENCY_BUCKETS[i]) {
        latencyBuckets[i].increment();
        break;
      }
    latencyCount.increment();
    latencyMicros.add(nanos / 1000);
  }

  /** Prometheus text format. */
  public String render() {
    StringBuilder sb = new StringBuilder();
    String last = null;
    for (var e : counters.entrySet()) {
      String name =
          e.getKey().contains("{") ? e.getKey().substring(0, e.getKey().indexOf('{')) : e.getKey();
      if (!name.equals(last)) {
        header(sb, name, "counter");
        last = name;
      }
      sb.append(e.getKey()).append(' ').append(e.getValue().sum()).append('\n');
    }
    for (var e : gauges.entrySet()) {
      header(sb, e.getKey(), "gauge");
      double v = e.getValue().getAsDouble();
      sb.append(e.getKey()).append(' ').append(format(v)).append('\n');
    }
    String h = "perceive_serving_score_latency_seconds";
    help.putIfAbsent(h, "Latency of POST /score, from request to response body.");
    header(sb, h, "histogram");
    long cumulative = 0;
    for (int i = 0; i < LATENCY_BUCKETS.length; i++) {
      cumulative += latencyBuckets[i].sum();
      sb.append(h)
          .append("_bucket{le=\"")
          .append(LATENCY_BUCKETS[i])
          .append("\"} ")
          .append(cumulative)
          .append('\n');
    }
    long count = latencyCount.sum();
    sb.append(h).append("_bucket{le=\"+Inf\"} ").append(count).append('\n');
    sb.append(h).append("_sum ").append(format(latencyMicros.sum() / 1e6)).append('\n');
    sb.append(h).append("_count ").append(count).append('\n');
    return sb.toString();
  }

  private void header(StringBuilder sb, String name, String type) {
    String text = help.get(name);
    if (text != null) sb.append("# HELP ").append(name).append(' ').append(text).append('\n');
    sb.append("# TYPE ").append(name).append(' ').append(type).append('\n');
  }

  private static String format(double v) {
    if (Double.isNaN(v)) return "NaN";
    if (Double.isInfinite(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
    return Double.toString(v);
  }
}
