package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TimeGapBucketsTest {

  @Test
  void bucketsAreOctavesOfSeconds() {
    assertThat(TimeGapBuckets.of(0, 31)).isZero();
    assertThat(TimeGapBuckets.of(999, 31)).isZero();
    assertThat(TimeGapBuckets.of(1_000, 31)).isEqualTo(1);
    assertThat(TimeGapBuckets.of(1_999, 31)).isEqualTo(1);
    assertThat(TimeGapBuckets.of(2_000, 31)).isEqualTo(2);
    assertThat(TimeGapBuckets.of(3_999, 31)).isEqualTo(2);
    assertThat(TimeGapBuckets.of(4_000, 31)).isEqualTo(3);
    assertThat(TimeGapBuckets.of(3_600_000, 31)).isEqualTo(12); // 1 h = 3600 s in [2048, 4096)
    assertThat(TimeGapBuckets.of(86_400_000L, 31)).isEqualTo(17); // 1 day in [65536, 131072) s
  }

  @Test
  void monotoneAndCappedAtTheLastBucket() {
    int prev = 0;
    for (long ms = 0; ms < 1L << 50; ms = ms * 3 + 1) {
      int b = TimeGapBuckets.of(ms, 31);
      assertThat(b).isBetween(prev, 30);
      prev = b;
    }
    assertThat(TimeGapBuckets.of(Long.MAX_VALUE, 31)).isEqualTo(30);
    assertThat(TimeGapBuckets.of(Long.MAX_VALUE, 4)).isEqualTo(3);
  }

  @Test
  void refusesNegativeGapsAndTooFewBuckets() {
    assertThatThrownBy(() -> TimeGapBuckets.of(-1, 31))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("-1");
    assertThatThrownBy(() -> TimeGapBuckets.of(5, 1)).isInstanceOf(IllegalArgumentException.class);
  }
}
