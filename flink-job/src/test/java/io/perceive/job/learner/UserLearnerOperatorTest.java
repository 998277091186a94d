package io.perceive.job.learner;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.Item;
import io.perceive.job.domain.LabelConfig;
import io.perceive.model.input.SceneCodes;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The learner operator in Flink's keyed test harness with the RocksDB state backend. */
class UserLearnerOperatorTest {

  static final long MIN = 60_000L;

  /**
   * Sync settings for harness tests: no broker behind them, no snapshots, the given sync interval,
   * minibatch count and pending bound.
   */
  static io.perceive.job.sync.SyncSettings sync(
      long intervalMs, int maxMinibatches, int maxPending) {
    return new io.perceive.job.sync.SyncSettings(
        "run",
        "127.0.0.1:1",
        "u",
        "m",
        intervalMs,
        maxMinibatches,
        maxPending,
        io.perceive.job.sync.MergeMode.SUM,
        5,
        null,
        60_000,
        1,
        0.1,
        0,
        900_000);
  }

  static final LearnerSettings SETTINGS =
      new LearnerSettings(
          new LabelConfig(30 * MIN, 60 * MIN, 120 * MIN, 200 * MIN, 4, 3, new float[] {10f}),
          0,
          1, // train every sample at once so outputs appear immediately
          1_000,
          100,
          null,
          60_000,
          3,
          2); // a tiny state cache: evictions and write-backs happen in every test

  KeyedOneInputStreamOperatorTestHarness<Long, Event, ScoredSample> harness;
  int seq;

  KeyedOneInputStreamOperatorTestHarness<Long, Event, ScoredSample> newHarness(
      OperatorSubtaskState restore) throws Exception {
    return newHarness(restore, SETTINGS);
  }

  KeyedOneInputStreamOperatorTestHarness<Long, Event, ScoredSample> newHarness(
      OperatorSubtaskState restore, LearnerSettings settings) throws Exception {
    var h =
        new KeyedOneInputStreamOperatorTestHarness<>(
            new UserLearnerOperator(settings, (i, n) -> new RecordingLearner()),
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

  Event ev(EventKind kind, long user, long request, long item, long time) {
    return new Event(
        "e" + (++seq),
        user,
        kind,
        time,
        request,
        0,
        SceneCodes.of("search"),
        new Item(item, 1, 2, 3, new float[] {25f}),
        null);
  }

  void send(Event e) throws Exception {
    harness.processElement(new StreamRecord<>(e, e.timeMs()));
  }

  List<ScoredSample> out() {
    return harness.extractOutputValues();
  }

  @Test
  void outOfOrderClickBeforeItsImpressionStillJoinsOnceTheWatermarkPasses() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.CLICK, 1, 100, 7, 5 * MIN)); // arrives first
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 4 * MIN));
    assertThat(out()).isEmpty(); // nothing before the watermark
    harness.processWatermark(5 * MIN);
    assertThat(out()).hasSize(1);
    ScoredSample s = out().get(0);
    assertThat(s.click()).isEqualTo(1);
    assertThat(s.conversionRow()).isFalse();
    assertThat(s.modelVersion()).isEqualTo(7);
    assertThat(s.pClick()).isEqualTo(0f); // frozen window was empty: the click is not in it
  }

  @Test
  void clickWindowClosesOnEventTimeOnlyAndEqualTimestampsJoin() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 0));
    send(ev(EventKind.IMPRESSION, 1, 100, 8, 0));
    send(ev(EventKind.CLICK, 1, 100, 8, 0)); // same timestamp as its impression
    harness.setProcessingTime(10 * 60 * MIN); // processing time is irrelevant for labels
    harness.processWatermark(30 * MIN - 1);
    assertThat(out()).extracting(ScoredSample::itemId).containsExactly(8L);
    harness.processWatermark(30 * MIN);
    assertThat(out()).extracting(ScoredSample::itemId).containsExactly(8L, 7L);
    assertThat(out().get(1).click()).isZero();
    assertThat(out().get(1).order()).isZero();
  }

  @Test
  void lateEventsAreAppliedNotDropped() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 0));
    harness.processWatermark(10 * MIN);
    send(ev(EventKind.CLICK, 1, 100, 7, 5 * MIN)); // behind the watermark
    assertThat(out()).hasSize(1);
    assertThat(out().get(0).click()).isEqualTo(1);
  }

  @Test
  void duplicatesGoToTheSideOutputAndAreNotApplied() throws Exception {
    harness = newHarness(null);
    Event imp = ev(EventKind.IMPRESSION, 1, 100, 7, 0);
    send(imp);
    send(imp);
    harness.processWatermark(30 * MIN);
    assertThat(out()).hasSize(1);
    assertThat(harness.getSideOutput(UserLearnerOperator.DUPLICATES)).hasSize(1);
  }

  @Test
  void rowsCarryTheirImpressionTimeScoreThroughTrainingAndRestore() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 0));
    send(ev(EventKind.IMPRESSION, 2, 200, 9, 0));
    send(ev(EventKind.CLICK, 2, 200, 9, MIN));
    harness.processWatermark(2 * MIN); // both impressions scored at step 0, then user 2's click row
    UserLearnerOperator op = (UserLearnerOperator) harness.getOperator();
    assertThat(op.learner().steps()).isEqualTo(1);
    assertThat(out()).singleElement().extracting(ScoredSample::pOrder).isEqualTo(0f);
    harness.prepareSnapshotPreBarrier(1);
    OperatorSubtaskState snap = harness.snapshot(1, 1);
    harness.close();

    harness = newHarness(snap);
    send(ev(EventKind.IMPRESSION, 3, 300, 4, 3 * MIN));
    send(ev(EventKind.CLICK, 3, 300, 4, 4 * MIN));
    harness.processWatermark(5 * MIN); // user 3's impression scored after 1 step
    harness.processWatermark(200 * MIN); // user 1's click window, user 2's attribution window close
    Map<String, Float> orderScore = new java.util.HashMap<>();
    for (ScoredSample s : out())
      orderScore.put(s.userId() + (s.conversionRow() ? "/conversion" : "/click"), s.pOrder());
    assertThat(((UserLearnerOperator) harness.getOperator()).learner().steps()).isEqualTo(5);
    // every row reports the score of its impression's moment, not of its own training step
    assertThat(orderScore)
        .containsOnly(
            Map.entry("1/click", 0f),
            Map.entry("2/conversion", 0f),
            Map.entry("3/click", 0.001f),
            Map.entry("3/conversion", 0.001f));
  }

  @Test
  void pendingLabelsAndTheReplicaSurviveSnapshotAndRestore() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 0));
    send(ev(EventKind.IMPRESSION, 2, 200, 9, 0));
    send(ev(EventKind.CLICK, 2, 200, 9, MIN));
    send(ev(EventKind.IMPRESSION, 3, 300, 4, 3 * MIN)); // still waiting for the watermark
    harness.processWatermark(2 * MIN);
    assertThat(out()).hasSize(1); // user 2's click row
    harness.prepareSnapshotPreBarrier(1); // the harness' snapshot() does not call it
    OperatorSubtaskState snap = harness.snapshot(1, 1);
    harness.close();

    harness = newHarness(snap);
    assertThat(((UserLearnerOperator) harness.getOperator()).learner().steps()).isEqualTo(1);
    harness.processWatermark(200 * MIN);
    // user 1: click negative; user 2: conversion negative; user 3: buffered impression → negative
    List<ScoredSample> o = out();
    assertThat(o).hasSize(3);
    assertThat(o)
        .extracting(ScoredSample::userId, ScoredSample::conversionRow)
        .containsExactlyInAnyOrder(
            org.assertj.core.groups.Tuple.tuple(1L, false),
            org.assertj.core.groups.Tuple.tuple(2L, true),
            org.assertj.core.groups.Tuple.tuple(3L, false));
  }

  @Test
  void publishesAFinalSnapshotAtEndOfInputAndNeverReusesAVersionAfterRestore(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    LearnerSettings publishing =
        new LearnerSettings(SETTINGS.labels(), 0, 1, 1_000, 100, dir.toString(), 3_600_000, 10, 2);
    harness = newHarness(null, publishing);
    send(ev(EventKind.IMPRESSION, 1, 100, 7, 0));
    send(ev(EventKind.CLICK, 1, 100, 7, 0));
    harness.processWatermark(MIN);
    harness.prepareSnapshotPreBarrier(1);
    OperatorSubtaskState snap = harness.snapshot(1, 1); // replica at version 7
    harness.close(); // end of input: final snapshot
    harness = null;
    var store = new io.perceive.job.publish.SnapshotStore(dir, 10);
    assertThat(store.highestVersion()).isEqualTo(8);

    harness = newHarness(snap, publishing); // restored at version 7, but 8 is taken
    harness.close();
    harness = null;
    assertThat(store.highestVersion()).isEqualTo(9);
    assertThat(
            io.perceive.job.publish.SnapshotStore.readManifest(
                    dir.resolve(io.perceive.job.publish.SnapshotStore.LATEST))
                .getModelVersion())
        .isEqualTo(9);
  }

  @Test
  void aUserWhoGoesIdleWhileANewerEventWaitsStartsFreshWithThatEvent() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.CART, 1, -1, 7, 0));
    harness.processWatermark(100 * MIN);
    send(ev(EventKind.IMPRESSION, 1, 5, 8, 300 * MIN)); // waits: the watermark is at 100 min
    send(ev(EventKind.CLICK, 1, 5, 8, 300 * MIN));
    harness.processWatermark(250 * MIN); // idle expiry (200 min) fires with events waiting
    assertThat(out()).isEmpty();
    harness.processWatermark(301 * MIN);
    assertThat(out()).hasSize(1);
    assertThat(out().get(0).click()).isEqualTo(1);
    assertThat(out().get(0).pClick())
        .isEqualTo(0f); // the old cart was forgotten with the idle user
  }

  @Test
  void idleUserIsClearedByTheEventTimeTimer() throws Exception {
    harness = newHarness(null);
    send(ev(EventKind.CART, 1, -1, 7, 0));
    harness.processWatermark(200 * MIN - 1);
    assertThat(harness.numEventTimeTimers()).isPositive();
    harness.processWatermark(200 * MIN);
    assertThat(harness.numEventTimeTimers()).isZero();
    // a returning user starts fresh: its first impression sees an empty window
    send(ev(EventKind.IMPRESSION, 1, 5, 8, 201 * MIN));
    send(ev(EventKind.CLICK, 1, 5, 8, 201 * MIN));
    harness.processWatermark(202 * MIN);
    assertThat(out().get(0).pClick()).isEqualTo(0f);
  }
}
