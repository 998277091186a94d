package io.perceive.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.learner.FreshnessTracker;
import java.util.Map;
import java.util.TreeMap;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

class E2eReportTest {

  @Test
  void percentilesComeFromTheHistogramBuckets() {
    Map<Integer, Long> h = new TreeMap<>();
    h.merge(FreshnessTracker.bucket(1_000), 50L, Long::sum);
    h.merge(FreshnessTracker.bucket(2_000), 49L, Long::sum);
    h.merge(FreshnessTracker.bucket(30_000), 1L, Long::sum);
    assertThat(E2eReport.percentile(h, 0.5)).isCloseTo(1_000, Percentage.withPercentage(2));
    assertThat(E2eReport.percentile(h, 0.9)).isCloseTo(2_000, Percentage.withPercentage(2));
    assertThat(E2eReport.percentile(h, 0.99)).isCloseTo(2_000, Percentage.withPercentage(2));
    assertThat(E2eReport.percentile(h, 1.0)).isCloseTo(30_000, Percentage.withPercentage(2));
    assertThat(E2eReport.percentile(Map.of(), 0.5)).isNaN();
  }

  @Test
  void medianOfOddAndEvenCounts() {
    assertThat(E2eReport.median(java.util.List.of(3.0, 1.0, 2.0))).isEqualTo(2.0);
    assertThat(E2eReport.median(java.util.List.of(4.0, 1.0, 2.0, 3.0))).isEqualTo(2.5);
  }
}
