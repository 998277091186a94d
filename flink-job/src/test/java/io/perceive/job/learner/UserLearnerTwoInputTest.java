package io.perceive.job.learner;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.Item;
import io.perceive.job.sync.SyncSettings;
import io.perceive.model.input.SceneCodes;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The learner wired as with parameter sync (two inputs): event time is input 1's alone — a model
 * update input that never sends a watermark does not hold back label timers, and a stale watermark
 * on input 2 does not either.
 */
class UserLearnerTwoInputTest {

  static final long MIN = 60_000L;

  @Test
  void theModelUpdateInputNeverHoldsBackEventTime() throws Exception {
    SyncSettings sync = UserLearnerOperatorTest.sync(1_000, 0, 4);
    var op =
        new UserLearnerOperator(
            UserLearnerOperatorTest.SETTINGS, (i, n) -> new RecordingLearner(), sync);
    try (var h =
        new KeyedTwoInputStreamOperatorTestHarness<Long, Event, byte[], ScoredSample>(
            op, Event::userId, b -> 0L, Types.LONG)) {
      h.setStateBackend(new EmbeddedRocksDBStateBackend());
      h.open();
      Event imp =
          new Event(
              "e1",
              1,
              EventKind.IMPRESSION,
              0,
              100,
              0,
              SceneCodes.of("search"),
              new Item(7, 1, 2, 3, new float[] {25f}),
              null);
      h.processElement1(new StreamRecord<>(imp, 0));
      h.processWatermark2(new Watermark(-1)); // input 2 far behind
      h.processWatermark1(new Watermark(30 * MIN));
      assertThat(h.extractOutputValues()).hasSize(1); // the click window closed: a negative row
      assertThat(h.extractOutputValues().get(0).click()).isZero();
      assertThat(h.getOutput())
          .filteredOn(o -> o instanceof Watermark)
          .extracting(o -> ((Watermark) o).getTimestamp())
          .contains(30 * MIN);
    }
  }
}
