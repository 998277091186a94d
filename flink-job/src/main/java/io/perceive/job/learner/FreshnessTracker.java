package io.perceive.job.learner;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.function.LongConsumer;

/**
 * Model freshness per training sample (docs/benchmarks.md, "Freshness"): from the sample's event
 * time (its impression's) to the creation time of the first published model version that contains a
 * delta the sample was trained into, split at the wall-clock moment the sample's label matured (the
 * label joiner emitted it):
 *
 * <pre>
 * total      = published − event time
 * maturity   = matured   − event time     (label window, watermark delay)
 * train+sync = published − matured        (minibatch wait, training, delta send, merge, publish)
 * </pre>
 *
 * The learner follows the samples through its own bookkeeping, which mirrors the operator's: a FIFO
 * of matured samples waiting in the minibatch buffer, the samples trained since the last delta was
 * sent, and per sent delta (its sequence number) the samples it carries, until a published version
 * covers that sequence number. Meaningful when event time is wall time (a live stream); a replay of
 * old events yields the replay's age. Not checkpointed: samples in flight at a failover are not
 * counted. Samples whose label matured only because input ended (the final watermark closes every
 * window at once) are left out, since their maturity is not a real one.
 */
public final class FreshnessTracker {

  /** Histogram resolution: bucket k holds durations around {@code expm1(k / BUCKETS_PER_E)} ms. */
  static final double BUCKETS_PER_E = 50; // ~2 % wide buckets

  /** Samples held at most (waiting + trained + in unpublished deltas); more are not counted. */
  static final int MAX_TRACKED = 1 << 22;

  private record Sent(long seq, long[] eventMs, long[] maturedMs) {}

  private final LongQueue waitingEvent = new LongQueue();
  private final LongQueue waitingMatured = new LongQueue();
  private final LongQueue trainedEvent = new LongQueue();
  private final LongQueue trainedMatured = new LongQueue();
  private final Deque<Sent> sent = new ArrayDeque<>();
  private int tracked;
  private boolean ended;
  private long dropped;

  /** A sample entered the minibatch buffer (in buffer order) at wall time {@code nowMs}. */
  public void matured(long eventTimeMs, long nowMs) {
    waitingEvent.add(eventTimeMs);
    // after end of input or beyond the bound: keep the FIFO aligned, mark as not counted
    boolean count = !ended && tracked < MAX_TRACKED;
    if (count) tracked++;
    else dropped++;
    waitingMatured.add(count ? nowMs : -1);
  }

  /** The first {@code n} buffered samples were trained on. */
  public void trained(int n) {
    for (int i = 0; i < n; i++) {
      trainedEvent.add(waitingEvent.poll());
      trainedMatured.add(waitingMatured.poll());
    }
  }

  /** A delta with sequence number {@code seq} was sent: it carries every sample trained so far. */
  public void sent(long seq) {
    sent.addLast(new Sent(seq, trainedEvent.drain(), trainedMatured.drain()));
  }

  /** Input ended: samples that mature from now on are not counted. */
  public void endOfInput() {
    ended = true;
  }

  /**
   * A published version created at {@code publishedAtMs} contains this learner's deltas up to
   * sequence number {@code covered}: every sample they carry is fresh as of that version.
   */
  public void published(
      long covered,
      long publishedAtMs,
      LongConsumer total,
      LongConsumer maturity,
      LongConsumer rest) {
    while (!sent.isEmpty() && sent.peekFirst().seq() <= covered) {
      Sent s = sent.removeFirst();
      for (int i = 0; i < s.eventMs().length; i++) {
        long matured = s.maturedMs()[i];
        if (matured < 0) continue;
        tracked--;
        total.accept(publishedAtMs - s.eventMs()[i]);
        maturity.accept(matured - s.eventMs()[i]);
        rest.accept(publishedAtMs - matured);
      }
    }
  }

  /** Samples not counted (matured after end of input, or beyond the tracking bound). */
  public long dropped() {
    return dropped;
  }

  /** The histogram bucket of a duration (negative durations count as 0). */
  public static int bucket(long ms) {
    return (int) Math.round(Math.log1p(Math.max(0, ms)) * BUCKETS_PER_E);
  }

  /** The representative duration of a bucket, in milliseconds. */
  public static double bucketMs(int bucket) {
    return Math.expm1(bucket / BUCKETS_PER_E);
  }

  /**
   * The percentile {@code q} (0..1) of a histogram of {@link #bucket}s → counts, in milliseconds;
   * NaN when empty.
   */
  public static double percentile(java.util.Map<Integer, ? extends Number> histogram, double q) {
    long n = 0;
    for (Number c : histogram.values()) n += c.longValue();
    if (n == 0) return Double.NaN;
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long seen = 0;
    for (java.util.Map.Entry<Integer, ? extends Number> e :
        new java.util.TreeMap<>(histogram).entrySet()) {
      seen += e.getValue().longValue();
      if (seen >= rank) return bucketMs(e.getKey());
    }
    return Double.NaN;
  }

  /** A growable FIFO of longs (no boxing: one entry per sample). */
  static final class LongQueue {
    private long[] a = new long[64];
    private int head;
    private int tail;

    void add(long v) {
      if (tail == a.length) {
        if (head > a.length / 2) {
          System.arraycopy(a, head, a, 0, tail - head);
          tail -= head;
          head = 0;
        } else a = Arrays.copyOf(a, a.length * 2);
      }
      a[tail++] = v;
    }

    /** The oldest value, or -1 when empty (bookkeeping out of step: that sample is not counted). */
    long poll() {
      return head == tail ? -1 : a[head++];
    }

    int size() {
      return tail - head;
    }

    long[] drain() {
      long[] out = Arrays.copyOfRange(a, head, tail);
      head = tail = 0;
      return out;
    }
  }
}
