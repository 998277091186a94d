package io.perceive.job.domain;

import static io.perceive.job.domain.Events.click;
import static io.perceive.job.domain.Events.impression;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class UserStateCodecTest {

  private static UserState busyState() {
    LabelConfig cfg = LabelJoinerTest.CFG;
    LabelJoiner j = new LabelJoiner(cfg, 2, (h, c, b, now) -> h[0] += b.itemId());
    UserState s = new UserState(cfg.hiddenSize());
    LabelJoinerTest.Collect out = new LabelJoinerTest.Collect();
    Event withProfile =
        new Event(
            "p1",
            1,
            EventKind.CART,
            5,
            -1,
            0,
            2,
            Events.item(-1, Float.NaN),
            new float[] {1f, Float.NaN});
    j.isDuplicate(s, withProfile);
    j.onEvent(s, withProfile, out);
    for (int i = 0; i < 6; i++) j.onEvent(s, Events.cart(1, i, 10 + i), out);
    Event imp = impression(1, 100, 7, 100);
    j.isDuplicate(s, imp);
    j.onEvent(s, imp, out);
    j.onEvent(s, impression(1, 100, 8, 100), out);
    j.onEvent(s, click(1, 100, 8, 200), out);
    s.buffered().add(Events.order(1, 8, 300));
    s.buffered().add(withProfile);
    return s;
  }

  @Test
  void roundTripKeepsEverything() {
    UserState s = busyState();
    byte[] bytes = UserStateCodec.encode(s);
    UserState back = UserStateCodec.decode(bytes);
    assertThat(UserStateCodec.encode(back)).isEqualTo(bytes);
    assertThat(back.window()).isEqualTo(s.window());
    assertThat(back.pendingImpressions()).hasSize(1);
    assertThat(back.pendingClicks()).hasSize(1);
    assertThat(back.requests().get(100L).window()).isEqualTo(s.requests().get(100L).window());
    assertThat(back.h0()).isEqualTo(s.h0());
    assertThat(back.lastEventTimeMs()).isEqualTo(200);
    assertThat(back.buffered()).hasSize(2);
    assertThat(back.buffered().get(0).kind()).isEqualTo(EventKind.ORDER);
    assertThat(back.buffered().get(1).profile()[0]).isEqualTo(1f);
    assertThat(Float.isNaN(back.requests().get(100L).profile()[1])).isTrue();
    assertThat(bytes[0]).isEqualTo((byte) UserStateCodec.CURRENT_VERSION);
  }

  @Test
  void unknownVersionAndTruncationAreRefusedClearly() {
    byte[] bytes = UserStateCodec.encode(busyState());
    byte[] future = bytes.clone();
    future[0] = 9;
    assertThatThrownBy(() -> UserStateCodec.decode(future))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown format version 9");
    assertThatThrownBy(() -> UserStateCodec.decode(Arrays.copyOf(bytes, bytes.length / 2)))
        .hasMessageContaining("truncated");
  }

  @Test
  void servingThrottleRoundTripsAndVersion1IsStillRead() {
    UserState s = busyState();
    s.markServingEmitted(150);
    s.markServingChanged();
    byte[] bytes = UserStateCodec.encode(s);
    UserState back = UserStateCodec.decode(bytes);
    assertThat(back.servingEmittedAtMs()).isEqualTo(150);
    assertThat(back.servingChanged()).isTrue();

    // A version-1 body is version 2's without the 9 trailing throttle bytes.
    byte[] v1 = Arrays.copyOf(bytes, bytes.length - 9);
    v1[0] = 1;
    UserState old = UserStateCodec.decode(v1);
    assertThat(old.servingEmittedAtMs()).isEqualTo(Long.MIN_VALUE);
    assertThat(old.servingChanged()).isFalse();
    assertThat(old.window()).isEqualTo(s.window());
    assertThat(old.timerAt()).isEqualTo(s.timerAt());
    byte[] v1Long = Arrays.copyOf(bytes, bytes.length);
    v1Long[0] = 1;
    assertThatThrownBy(() -> UserStateCodec.decode(v1Long))
        .hasMessageContaining("trailing bytes after a version-1 body");
  }
}
