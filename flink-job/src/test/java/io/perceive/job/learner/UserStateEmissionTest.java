package io.perceive.job.learner;

import static io.perceive.job.learner.UserLearnerOperatorTest.MIN;
import static io.perceive.job.learner.UserLearnerOperatorTest.SETTINGS;
import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.Item;
import io.perceive.model.ModelConfig;
import io.perceive.model.input.SceneCodes;
import io.perceive.schemas.EventType;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.UserServingState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The learner's user-state output (issue 5 item 4) in Flink's keyed harness with RocksDB: what a
 * record holds, the per-user event-time throttle with its trailing emission, the final emission
 * before an idle user is cleared, and the throttle surviving snapshot → restore.
 */
class UserStateEmissionTest {

  static final long SEC = 1_000L;
  static final RecordCodec<UserServingState> CODEC = RecordCodec.of(UserServingState.class);

  KeyedOneInputStreamOperatorTestHarness<Long, Event, ScoredSample> harness;
  int seq;

  KeyedOneInputStreamOperatorTestHarness<Long, Event, ScoredSample> newHarness(
      OperatorSubtaskState restore, long minIntervalMs) throws Exception {
    UserStateSettings states =
        new UserStateSettings(
            minIntervalMs,
            new UserServingStates(new FeatureLayout(ModelConfig.defaults()), 0),
            0,
            1);
    var h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new UserLearnerOperator(SETTINGS, (i, n) -> new RecordingLearner())
                .withUserStates(states),
            Event::userId,
            Types.LONG);
    h.setStateBackend(new EmbeddedRocksDBStateBackend());
    if (restore != null) h.initializeState(restore);
    h.open();
    return h;
  }

  @AfterEach
  void tearDown() throws Exception {
    if (harness != null) harness.close();
  }

  Event ev(EventKind kind, long user, long item, long time) {
    return new Event(
        "e" + (++seq),
        user,
        kind,
        time,
        kind == EventKind.IMPRESSION ? 100 : -1,
        0,
        SceneCodes.of("search"),
        new Item(item, -1, 2, 3, new float[] {25f}),
        null);
  }

  void send(Event e) throws Exception {
    harness.processElement(new StreamRecord<>(e, e.timeMs()));
  }

  /** Every user-state record so far: key as sent, decoded value. */
  List<UserServingState> states() throws Exception {
    List<UserServingState> out = new ArrayList<>();
    var records = harness.getSideOutput(UserLearnerOperator.USER_STATES);
    if (records == null) return out;
    for (StreamRecord<Tuple2<Long, byte[]>> r : records) {
      assertThat(r.getValue().f1).as("no tombstones").isNotNull();
      assertThat(new String(UserServingStates.key(r.getValue().f0), StandardCharsets.UTF_8))
          .isEqualTo(Long.toString(r.getValue().f0));
      UserServingState s = CODEC.decode(r.getValue().f1);
      assertThat(s.getUserId()).isEqualTo(r.getValue().f0);
      out.add(s);
    }
    return out;
  }

  @Test
  void aRecordCarriesWhatServingNeeds() throws Exception {
    harness = newHarness(null, 30 * SEC);
    send(ev(EventKind.IMPRESSION, 1, 7, SEC));
    send(ev(EventKind.CLICK, 1, 7, SEC)); // same time: applied in the same timer callback
    harness.processWatermark(SEC);
    List<UserServingState> s = states();
    assertThat(s).hasSize(1); // the first change goes out at once
    UserServingState u = s.get(0);
    assertThat(u.getModelVersion()).isEqualTo(7); // RecordingLearner's version
    assertThat(u.getUpdatedAtEventTimeMs()).isEqualTo(SEC);
    assertThat(u.getHidden()).hasSize(3);
    assertThat(u.getCell()).hasSize(3);
    assertThat(u.getWindow()).hasSize(1); // impressions are not behaviours of the window
    var b = u.getWindow().get(0);
    assertThat(b.getItemId()).isEqualTo(7);
    assertThat(b.getShopId()).isNull(); // -1 = missing goes back to null
    assertThat(b.getBrandId()).isEqualTo(2);
    assertThat(b.getType()).isEqualTo(EventType.CLICK);
    assertThat(b.getScene()).isEqualTo("search");
    assertThat(b.getEventTimeMs()).isEqualTo(SEC);
    // the activity statistics by model feature name: 1 impression, 1 click, ctr (1+1)/(1+20)
    assertThat(u.getProfile())
        .containsEntry("activity_impressions", 1.0)
        .containsEntry("activity_clicks", 1.0)
        .containsEntry("activity_orders", 0.0);
    assertThat(u.getProfile().get("activity_ctr")).isCloseTo(2.0 / 21, within(1e-6));
    assertThat(u.getUserVector()).isNull();
  }

  private static org.assertj.core.data.Offset<Double> within(double d) {
    return org.assertj.core.data.Offset.offset(d);
  }

  @Test
  void throttledPerUserInEventTimeWithTheNewestStateAtTheEndOfTheInterval() throws Exception {
    harness = newHarness(null, 30 * SEC);
    send(ev(EventKind.CART, 1, 1, 0));
    send(ev(EventKind.CART, 2, 5, 0));
    harness.processWatermark(0);
    assertThat(states()).hasSize(2);
    send(ev(EventKind.CART, 1, 2, 10 * SEC));
    send(ev(EventKind.CART, 1, 3, 20 * SEC));
    harness.processWatermark(29 * SEC);
    assertThat(states()).hasSize(2); // user 1 changed twice, inside its interval: held back
    harness.processWatermark(30 * SEC); // the interval ends: the newest state goes out
    List<UserServingState> s = states();
    assertThat(s).hasSize(3);
    assertThat(s.get(2).getUserId()).isEqualTo(1);
    assertThat(s.get(2).getWindow())
        .extracting(io.perceive.schemas.Behaviour::getItemId)
        .containsExactly(1L, 2L, 3L);
    assertThat(s.get(2).getUpdatedAtEventTimeMs()).isEqualTo(20 * SEC);
    harness.processWatermark(90 * SEC);
    assertThat(states()).hasSize(3); // nothing changed since: nothing more
  }

  @Test
  void anIdleUserIsEmittedOnceMoreBeforeItIsClearedAndNoTombstoneFollows() throws Exception {
    harness = newHarness(null, 24 * 60 * MIN); // an interval longer than the idle timeout
    send(ev(EventKind.CART, 1, 1, 0));
    harness.processWatermark(0);
    send(ev(EventKind.CART, 1, 2, MIN));
    harness.processWatermark(100 * MIN);
    assertThat(states()).hasSize(1);
    harness.processWatermark(Long.MAX_VALUE); // end of input: every timer fires, idle expiry too
    List<UserServingState> s = states();
    assertThat(s).hasSize(2);
    assertThat(s.get(1).getWindow()).hasSize(2);
    assertThat(harness.numEventTimeTimers()).isZero();
  }

  @Test
  void aLateEventIsPublishedThroughTheSameThrottle() throws Exception {
    harness = newHarness(null, 0);
    send(ev(EventKind.CART, 1, 1, 0));
    harness.processWatermark(10 * MIN);
    send(ev(EventKind.CART, 1, 2, 5 * MIN)); // behind the watermark: applied at once
    List<UserServingState> s = states();
    assertThat(s).hasSize(2);
    assertThat(s.get(1).getWindow()).hasSize(2);
  }

  @Test
  void theThrottleAndItsPendingEmissionSurviveSnapshotAndRestore() throws Exception {
    harness = newHarness(null, 30 * SEC);
    send(ev(EventKind.CART, 1, 1, 0));
    harness.processWatermark(0);
    send(ev(EventKind.CART, 1, 2, 10 * SEC));
    harness.processWatermark(10 * SEC);
    assertThat(states()).hasSize(1);
    harness.prepareSnapshotPreBarrier(1);
    OperatorSubtaskState snap = harness.snapshot(1, 1);
    harness.close();
    harness = newHarness(snap, 30 * SEC);
    harness.processWatermark(20 * SEC);
    assertThat(states()).isEmpty(); // still inside the interval after the restore
    harness.processWatermark(30 * SEC);
    List<UserServingState> s = states();
    assertThat(s).hasSize(1);
    assertThat(s.get(0).getWindow()).hasSize(2);
  }
}
