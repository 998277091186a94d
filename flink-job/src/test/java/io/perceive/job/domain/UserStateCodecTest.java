package io.perceive.job.domain;

import static io.perceive.job.domain.Events.click;
import static io.perceive.job.domain.Events.impression;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
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
  void impressionScoresRoundTripOnPendingImpressionsAndClicks() {
    UserState s = busyState();
    String impression = s.pendingImpressions().get(0).eventId();
    String clicked = s.pendingClicks().get(0).impressionEventId();
    assertThat(s.attachScore(impression, new ImpressionScore(0.1f, 0.2f, 0.03f, 7))).isTrue();
    assertThat(s.attachScore(clicked, new ImpressionScore(0.4f, 0.5f, 0.2f, 6))).isTrue();
    assertThat(s.attachScore("no-such-impression", new ImpressionScore(1, 1, 1, 1))).isFalse();
    UserState back = UserStateCodec.decode(UserStateCodec.encode(s));
    assertThat(back.pendingImpressions().get(0).score())
        .isEqualTo(new ImpressionScore(0.1f, 0.2f, 0.03f, 7));
    assertThat(back.pendingClicks().get(0).score())
        .isEqualTo(new ImpressionScore(0.4f, 0.5f, 0.2f, 6));
    assertThat(UserStateCodec.encode(back)).isEqualTo(UserStateCodec.encode(s));
  }

  /** golden/user-state-v1.bin: {@link #busyState()} written by the version-1 codec. */
  @Test
  void readsVersionOneStateWithoutScores() throws Exception {
    byte[] v1;
    try (var in = getClass().getResourceAsStream("/golden/user-state-v1.bin")) {
      v1 = in.readAllBytes();
    }
    assertThat(v1[0]).isEqualTo((byte) 1);
    UserState back = UserStateCodec.decode(v1);
    UserState expected = busyState(); // event ids differ (a global counter); the rest is equal
    PendingImpression p = back.pendingImpressions().get(0);
    PendingImpression e = expected.pendingImpressions().get(0);
    assertThat(List.of(p.requestId(), p.item().itemId(), (long) p.position(), p.deadlineMs()))
        .isEqualTo(List.of(e.requestId(), e.item().itemId(), (long) e.position(), e.deadlineMs()));
    assertThat(p.score()).isNull();
    PendingClick c = back.pendingClicks().get(0);
    assertThat(c.item().itemId()).isEqualTo(expected.pendingClicks().get(0).item().itemId());
    assertThat(c.clickTimeMs()).isEqualTo(expected.pendingClicks().get(0).clickTimeMs());
    assertThat(c.score()).isNull();
    assertThat(back.window()).isEqualTo(expected.window());
    assertThat(back.h0()).isEqualTo(expected.h0());
    assertThat(back.buffered()).hasSize(2);
    // written again it is the current version, and that round-trips
    byte[] v2 = UserStateCodec.encode(back);
    assertThat(v2[0]).isEqualTo((byte) UserStateCodec.CURRENT_VERSION);
    assertThat(UserStateCodec.encode(UserStateCodec.decode(v2))).isEqualTo(v2);
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
  void servingThrottleRoundTripsAndVersions1And2AreStillRead() {
    UserState s = busyState();
    // without pending impressions and clicks a version-3 body has no score bytes, so it is a
    // version-2 body under another version byte, and version 1 is that without the throttle
    s.pendingImpressions.clear();
    s.pendingClicks.clear();
    s.markServingEmitted(150);
    s.markServingChanged();
    byte[] bytes = UserStateCodec.encode(s);
    UserState back = UserStateCodec.decode(bytes);
    assertThat(back.servingEmittedAtMs()).isEqualTo(150);
    assertThat(back.servingChanged()).isTrue();

    byte[] v2 = bytes.clone();
    v2[0] = 2;
    UserState fromV2 = UserStateCodec.decode(v2);
    assertThat(fromV2.servingEmittedAtMs()).isEqualTo(150);
    assertThat(fromV2.window()).isEqualTo(s.window());
    assertThat(UserStateCodec.encode(fromV2)).isEqualTo(bytes);

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
