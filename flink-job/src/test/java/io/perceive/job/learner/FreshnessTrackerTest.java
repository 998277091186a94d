package io.perceive.job.learner;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FreshnessTrackerTest {

  private final List<Long> total = new ArrayList<>();
  private final List<Long> maturity = new ArrayList<>();
  private final List<Long> rest = new ArrayList<>();

  private void publish(FreshnessTracker t, long covered, long at) {
    t.published(covered, at, total::add, maturity::add, rest::add);
  }

  @Test
  void aSampleIsFreshAtTheFirstVersionCoveringItsDelta() {
    FreshnessTracker t = new FreshnessTracker();
    t.matured(1_000, 6_000); // event at 1 s, label matured at 6 s
    t.matured(2_000, 7_000);
    t.matured(3_000, 8_000); // still in the minibatch buffer at the first send
    t.trained(2);
    t.sent(1);
    publish(t, 0, 9_000); // a version without this learner's delta 1
    assertThat(total).isEmpty();
    t.trained(1);
    t.sent(2);
    publish(t, 1, 10_000);
    assertThat(total).containsExactly(9_000L, 8_000L);
    assertThat(maturity).containsExactly(5_000L, 5_000L);
    assertThat(rest).containsExactly(4_000L, 3_000L);
    publish(t, 2, 12_000);
    assertThat(total).containsExactly(9_000L, 8_000L, 9_000L);
    publish(t, 2, 13_000); // a later version containing the same delta counts nothing again
    assertThat(total).hasSize(3);
  }

  @Test
  void samplesMaturedAfterEndOfInputAreNotCounted() {
    FreshnessTracker t = new FreshnessTracker();
    t.matured(1_000, 2_000);
    t.endOfInput();
    t.matured(1_500, 2_500); // its window closed by the final watermark
    t.trained(2);
    t.sent(1);
    publish(t, 1, 3_000);
    assertThat(total).containsExactly(2_000L);
    assertThat(t.dropped()).isEqualTo(1);
  }

  @Test
  void bookkeepingOutOfStepCountsNothingInsteadOfFailing() {
    FreshnessTracker t = new FreshnessTracker();
    t.trained(3); // nothing matured: e.g. a buffer restored without its bookkeeping
    t.sent(1);
    publish(t, 1, 3_000);
    assertThat(total).isEmpty();
  }

  @Test
  void percentilesOfAHistogramOfBuckets() {
    java.util.Map<Integer, Integer> h = new java.util.TreeMap<>(); // Flink's Histogram value type
    for (int i = 0; i < 99; i++) h.merge(FreshnessTracker.bucket(1_000), 1, Integer::sum);
    h.merge(FreshnessTracker.bucket(20_000), 1, Integer::sum);
    assertThat(FreshnessTracker.percentile(h, 0.5))
        .isCloseTo(1_000, org.assertj.core.data.Percentage.withPercentage(2));
    assertThat(FreshnessTracker.percentile(h, 0.995))
        .isCloseTo(20_000, org.assertj.core.data.Percentage.withPercentage(2));
    assertThat(FreshnessTracker.percentile(java.util.Map.of(), 0.5)).isNaN();
  }

  @Test
  void bucketsRoundTripWithinTwoPercent() {
    for (long ms : new long[] {10, 250, 4_000, 65_000, 3_600_000}) {
      double back = FreshnessTracker.bucketMs(FreshnessTracker.bucket(ms));
      assertThat(back).isCloseTo(ms, org.assertj.core.data.Percentage.withPercentage(2));
    }
    assertThat(FreshnessTracker.bucket(-5)).isZero();
  }
}
