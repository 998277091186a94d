package io.perceive.model.layers;

/**
 * Log-scale buckets for the time between a behaviour and the moment it is used (DUPN's temporal
 * property): bucket 0 holds gaps under one second, bucket k ≥ 1 holds [2^(k-1), 2^k) seconds, and
 * the last bucket takes everything longer. With 31 buckets the last one starts at 2^29 s (17
 * years), so every realistic gap has its own octave.
 */
public final class TimeGapBuckets {

  private TimeGapBuckets() {}

  /**
   * The bucket of a gap in milliseconds, in [0, buckets). A negative gap (a behaviour after the
   * moment it is used) is a caller bug and is refused.
   */
  public static int of(long gapMs, int buckets) {
    if (buckets < 2) throw new IllegalArgumentException("buckets must be >= 2, got " + buckets);
    if (gapMs < 0) throw new IllegalArgumentException("time gap must be >= 0 ms, got " + gapMs);
    long seconds = gapMs / 1000;
    if (seconds == 0) return 0;
    int octave = 64 - Long.numberOfLeadingZeros(seconds); // 1 s → 1, 2-3 s → 2, 4-7 s → 3, ...
    return Math.min(octave, buckets - 1);
  }
}
