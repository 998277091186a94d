package io.perceive.job.domain;

import static io.perceive.job.domain.Events.click;
import static io.perceive.job.domain.Events.impression;
import static io.perceive.job.domain.Events.order;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LabelJoinerTest {

  static final long MIN = 60_000L;
  static final LabelConfig CFG =
      new LabelConfig(30 * MIN, 60 * MIN, 120 * MIN, 200 * MIN, 4, 3, new float[] {10f, 50f});

  /** Collects what the joiner emits. */
  static final class Collect implements LabelJoiner.Output {
    final List<Sample> samples = new ArrayList<>();
    final Map<LabelJoiner.Counter, Integer> counts = new EnumMap<>(LabelJoiner.Counter.class);

    @Override
    public void sample(Sample s) {
      samples.add(s);
    }

    @Override
    public void count(LabelJoiner.Counter c) {
      counts.merge(c, 1, Integer::sum);
    }

    int n(LabelJoiner.Counter c) {
      return counts.getOrDefault(c, 0);
    }
  }

  final List<Behaviour> advanced = new ArrayList<>();
  LabelJoiner joiner;
  UserState state;
  Collect out;

  @BeforeEach
  void setUp() {
    // The advancer stands in for the LSTM step: adds 1 to h and the item id to c, so tests can
    // see that evictions happen, in order, exactly once.
    joiner =
        new LabelJoiner(
            CFG,
            2,
            (h, c, b, now) -> {
              advanced.add(b);
              for (int i = 0; i < h.length; i++) {
                h[i] += 1;
                c[i] += b.itemId();
              }
            });
    state = new UserState(CFG.hiddenSize());
    out = new Collect();
  }

  void feed(Event... events) {
    for (Event e : events) {
      joiner.onTime(state, e.timeMs() - 1, out); // deadlines strictly before the event
      joiner.onEvent(state, e, out);
    }
  }

  @Test
  void clickInsideWindowEmitsPositiveClickRowThenOrderEmitsConversionRow() {
    feed(impression(1, 100, 7, 0), click(1, 100, 7, 10 * MIN), order(1, 7, 40 * MIN));
    assertThat(out.samples).hasSize(2);
    Sample c = out.samples.get(0);
    assertThat(c.row()).isEqualTo(Sample.Row.CLICK);
    assertThat(c.click()).isEqualTo((byte) 1);
    assertThat(c.conversion()).isEqualTo(Sample.MASKED);
    assertThat(c.order()).isEqualTo(Sample.MASKED);
    assertThat(c.labelTimeMs()).isEqualTo(10 * MIN);
    Sample o = out.samples.get(1);
    assertThat(o.row()).isEqualTo(Sample.Row.CONVERSION);
    assertThat(o.click()).isEqualTo(Sample.MASKED);
    assertThat(o.conversion()).isEqualTo((byte) 1);
    assertThat(o.order()).isEqualTo((byte) 1);
    assertThat(o.priceLevel()).isEqualTo(1); // 30 is in [10, 50)
    assertThat(o.impressionEventId()).isEqualTo(c.impressionEventId());
    assertThat(o.context()).isSameAs(c.context());
    assertThat(state.requests()).isEmpty();
    assertThat(state.hasPendingLabels()).isFalse();
  }

  @Test
  void clickWindowClosingWithoutClickEmitsNegativeWithOrderZero() {
    feed(impression(1, 100, 7, 0));
    joiner.onTime(state, 30 * MIN - 1, out);
    assertThat(out.samples).isEmpty();
    joiner.onTime(state, 30 * MIN, out);
    assertThat(out.samples).hasSize(1);
    Sample s = out.samples.get(0);
    assertThat(s.click()).isEqualTo((byte) 0);
    assertThat(s.order()).isEqualTo((byte) 0);
    assertThat(s.conversion()).isEqualTo(Sample.MASKED);
    assertThat(s.labelTimeMs()).isEqualTo(30 * MIN);
  }

  @Test
  void clickExactlyAtTheDeadlineCountsButOneLaterIsAnOrphan() {
    feed(impression(1, 100, 7, 0), impression(1, 100, 8, 0));
    joiner.onEvent(state, click(1, 100, 7, 30 * MIN), out); // at the deadline: events first
    joiner.onTime(state, 30 * MIN, out);
    assertThat(out.samples).extracting(Sample::click).containsExactly((byte) 1, (byte) 0);
    feed(click(1, 100, 8, 30 * MIN + 1));
    assertThat(out.n(LabelJoiner.Counter.ORPHAN_CLICKS)).isEqualTo(1);
    assertThat(out.samples).hasSize(2);
  }

  @Test
  void attributionWindowClosingEmitsConversionNegative() {
    feed(impression(1, 100, 7, 0), click(1, 100, 7, MIN));
    joiner.onTime(state, MIN + 60 * MIN, out);
    assertThat(out.samples).hasSize(2);
    Sample s = out.samples.get(1);
    assertThat(s.row()).isEqualTo(Sample.Row.CONVERSION);
    assertThat(s.conversion()).isEqualTo((byte) 0);
    assertThat(s.order()).isEqualTo((byte) 0);
    assertThat(s.priceLevel()).isEqualTo(-1);
    assertThat(state.requests()).isEmpty();
  }

  @Test
  void orderIsAttributedToTheLastClickOnTheSameItem() {
    feed(
        impression(1, 100, 7, 0),
        click(1, 100, 7, MIN),
        impression(1, 101, 7, 2 * MIN),
        click(1, 101, 7, 3 * MIN),
        order(1, 7, 4 * MIN));
    Sample conv = out.samples.get(out.samples.size() - 1);
    assertThat(conv.row()).isEqualTo(Sample.Row.CONVERSION);
    assertThat(conv.requestId()).isEqualTo(101);
    assertThat(state.pendingClicks()).extracting(PendingClick::requestId).containsExactly(100L);
  }

  @Test
  void unmatchedEventsAreCountedAndStillAdvanceTheWindow() {
    feed(click(1, 5, 9, 0), order(1, 9, MIN));
    assertThat(out.n(LabelJoiner.Counter.ORPHAN_CLICKS)).isEqualTo(1);
    assertThat(out.n(LabelJoiner.Counter.UNATTRIBUTED_ORDERS)).isEqualTo(1);
    assertThat(out.samples).isEmpty();
    assertThat(state.window()).extracting(Behaviour::itemId).containsExactly(9L, 9L);
  }

  @Test
  void aLabelNeverLeaksIntoItsOwnSampleInputs() {
    feed(
        click(1, 1, 50, 0), // earlier behaviour: part of the inputs
        impression(1, 100, 7, MIN),
        click(1, 100, 7, MIN), // same timestamp: processed after the impression
        order(1, 7, 2 * MIN));
    for (Sample s : out.samples) {
      assertThat(s.context().window()).extracting(Behaviour::itemId).containsExactly(50L);
      assertThat(s.context().timeMs()).isEqualTo(MIN);
      assertThat(s.context().stats()[1]).isEqualTo(1f); // one click before
    }
    assertThat(state.window()).extracting(Behaviour::itemId).containsExactly(50L, 7L, 7L);
  }

  @Test
  void behavioursLeavingTheWindowAdvanceTheStateInOrder() {
    for (int i = 0; i < 6; i++) feed(Events.cart(1, 10 + i, i * MIN));
    assertThat(advanced).extracting(Behaviour::itemId).containsExactly(10L, 11L);
    assertThat(state.window()).extracting(Behaviour::itemId).containsExactly(12L, 13L, 14L, 15L);
    assertThat(state.h0()).containsOnly(2f);
    assertThat(state.c0()).containsOnly(21f);
    // a request frozen now sees the advanced state, a later advance does not change it
    feed(impression(1, 200, 3, 10 * MIN), Events.cart(1, 99, 11 * MIN));
    RequestContext ctx = state.requests().get(200L);
    assertThat(ctx.h0()).containsOnly(2f);
    assertThat(state.h0()).containsOnly(3f);
  }

  @Test
  void duplicatesAreDetectedWithinTheHorizonOnly() {
    Event e = impression(1, 100, 7, 0);
    assertThat(joiner.isDuplicate(state, e)).isFalse();
    assertThat(joiner.isDuplicate(state, e)).isTrue();
    Event later = impression(1, 101, 8, 121 * MIN);
    assertThat(joiner.isDuplicate(state, later)).isFalse();
    assertThat(joiner.isDuplicate(state, e)).isFalse(); // forgotten after the 120 min horizon
  }

  @Test
  void idleUserIsClearedOnlyAfterTheIdleTimeoutWithAllLabelsFlushed() {
    feed(impression(1, 100, 7, 0), click(1, 100, 7, MIN));
    assertThat(joiner.nextDeadline(state)).isEqualTo(30 * MIN - 29 * MIN + 60 * MIN);
    assertThat(joiner.onTime(state, 61 * MIN, out)).isFalse();
    assertThat(joiner.nextDeadline(state)).isEqualTo(MIN + 200 * MIN);
    assertThat(joiner.onTime(state, 201 * MIN - 1, out)).isFalse();
    assertThat(joiner.onTime(state, 201 * MIN, out)).isTrue();
    assertThat(out.n(LabelJoiner.Counter.USERS_EXPIRED)).isEqualTo(1);
    assertThat(out.samples).hasSize(2);
  }

  @Test
  void flushEmitsEveryPendingLabelAsNegative() {
    feed(impression(1, 100, 7, 0), impression(1, 100, 8, 0), click(1, 100, 8, MIN));
    joiner.flush(state, out);
    assertThat(out.samples).hasSize(3);
    assertThat(state.hasPendingLabels()).isFalse();
  }

  @Test
  void idleTimeoutShorterThanTheLabelWindowsIsRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> CFG.withWindows(30 * MIN, 60 * MIN, 89 * MIN))
        .hasMessageContaining("idle timeout");
  }
}
