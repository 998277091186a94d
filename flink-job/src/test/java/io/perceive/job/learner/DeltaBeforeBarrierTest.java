package io.perceive.job.learner;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.Item;
import io.perceive.job.sync.LearnerDelta;
import io.perceive.job.sync.SyncSettings;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ChunkAssembler;
import io.perceive.model.input.SceneCodes;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Before every checkpoint barrier a syncing learner sends the delta it has not sent yet, so no
 * checkpoint (or savepoint) holds training that only the learner's replica knows. Why: on scale-in
 * the union state keeps one replica per remaining subtask and drops the others; without this, the
 * training a dropped subtask did since its last sync would be lost with its replica.
 */
class DeltaBeforeBarrierTest {

  static final long MIN = 60_000L;

  /** A recording learner whose one-parameter replica grows by 1 per training step. */
  static Learner syncingLearner() {
    RecordingLearner inner = new RecordingLearner();
    ParameterSet w = ParameterSet.builder(DataType.FLOAT).dense("w", Init.constant(0), 2).build(1);
    return (Learner)
        Proxy.newProxyInstance(
            Learner.class.getClassLoader(),
            new Class<?>[] {Learner.class},
            (proxy, method, args) -> {
              if (method.getName().equals("parameters")) return w;
              try {
                Object r = method.invoke(inner, args);
                if (method.getName().equals("scoreThenTrain")) w.flat().addi(1.0);
                return r;
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  @Test
  void theUnsentDeltaLeavesBeforeTheBarrierAndOnlyWhenThereIsOne() throws Exception {
    try (var h = harness(0)) {
      h.prepareSnapshotPreBarrier(1);
      assertThat(deltas(h)).as("nothing trained, nothing sent").isEmpty();

      oneMinibatch(h, 0); // the click window closes: one training step
      assertThat(h.extractOutputValues()).hasSize(1);
      assertThat(deltas(h)).as("no sync interval has passed").isEmpty();

      h.prepareSnapshotPreBarrier(2);
      List<LearnerDelta> sent = deltas(h);
      assertThat(sent).hasSize(1);
      assertThat(sent.get(0).seq()).isEqualTo(1);
      assertThat(sent.get(0).last()).isFalse();

      h.prepareSnapshotPreBarrier(3);
      assertThat(deltas(h)).as("no new training, no new delta").hasSize(1);
    }
  }

  @Test
  void maxMinibatchesSendsAfterThatManyOwnMinibatchesWithoutWaitingForTheInterval()
      throws Exception {
    try (var h = harness(2)) {
      // one impression per 31 minutes: each watermark closes one click window = one minibatch
      for (int k = 0; k < 5; k++) {
        oneMinibatch(h, k);
        assertThat(h.extractOutputValues()).hasSize(k + 1);
        assertThat(deltas(h)).as("after %d minibatches", k + 1).hasSize((k + 1) / 2);
      }
    }
  }

  @Test
  void periodicSendsWaitWhileTooManyDeltasArePendingButBarrierSendsDoNot() throws Exception {
    // every minibatch would send; no version ever arrives, so every sent delta stays pending
    try (var h = harness(1, 2)) {
      for (int k = 0; k < 5; k++) {
        oneMinibatch(h, k);
        assertThat(deltas(h)).as("after %d minibatches", k + 1).hasSize(Math.min(k + 1, 2));
      }
      h.prepareSnapshotPreBarrier(1);
      List<LearnerDelta> sent = deltas(h);
      assertThat(sent).as("the barrier's send is not deferred").hasSize(3);
      // nothing deferred was lost: the third delta carries the three deferred minibatches
      assertThat(sent.get(2).seq()).isEqualTo(3);
      var third = io.perceive.model.delta.ParameterDelta.decode(sent.get(2).delta());
      assertThat(third.dense().toDoubleVector()).containsExactly(3.0, 3.0);
    }
  }

  /**
   * An opened harness around a syncing learner whose sync timer never fires in these tests (1 h),
   * also sending after {@code maxMinibatches} own minibatches (0 = never).
   */
  private static KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample> harness(
      int maxMinibatches) throws Exception {
    return harness(maxMinibatches, 4);
  }

  private static KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample> harness(
      int maxMinibatches, int maxPending) throws Exception {
    SyncSettings sync = UserLearnerOperatorTest.sync(3_600_000, maxMinibatches, maxPending);
    var op =
        new UserLearnerOperator(UserLearnerOperatorTest.SETTINGS, (i, n) -> syncingLearner(), sync);
    var h =
        new KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample>(
            op, Event::userId, b -> 0L, Types.LONG);
    h.setStateBackend(new EmbeddedRocksDBStateBackend());
    h.open();
    return h;
  }

  /**
   * Impression {@code k} of user 1, 31 minutes after the previous one, then the watermark that
   * closes its click window: one sample, so one minibatch.
   */
  private static void oneMinibatch(
      KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample> h, int k)
      throws Exception {
    h.processElement1(
        new StreamRecord<>(
            new Event(
                "e" + k,
                1,
                EventKind.IMPRESSION,
                k * 31 * MIN,
                100 + k,
                0,
                SceneCodes.of("search"),
                new Item(7, 1, 2, 3, new float[] {25f}),
                null),
            k * 31 * MIN));
    h.processWatermark1(new Watermark(k * 31 * MIN + 30 * MIN));
  }

  private static List<LearnerDelta> deltas(
      KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample> h)
      throws Exception {
    List<LearnerDelta> out = new ArrayList<>();
    var records = h.getSideOutput(UserLearnerOperator.DELTAS);
    if (records == null) return out;
    ChunkAssembler assembler = new ChunkAssembler();
    for (StreamRecord<byte[]> r : records) {
      Optional<byte[]> whole = assembler.accept(r.getValue());
      if (whole.isPresent()) out.add(LearnerDelta.decode(whole.get()));
    }
    return out;
  }
}
