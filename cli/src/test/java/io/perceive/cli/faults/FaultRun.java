package io.perceive.cli.faults;

import io.perceive.cli.demo.Demo;
import io.perceive.job.JobOptions;
import io.perceive.job.learner.ScoredSample;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.TruthRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/**
 * What the fault tests share: a small synthetic world streamed into the real embedded broker, the
 * job's configuration for a bounded run with frequent checkpoints and a restart strategy, and
 * reading the exactly-once predictions output back. Counts are taken from that output (committed on
 * checkpoints), never from metrics or accumulators, which a restart can count twice.
 */
final class FaultRun {

  final List<TruthRecord> truth = new ArrayList<>();
  long produced;

  /** Streams a small world (deterministic for the seed) into {@code topic}; keeps its truth. */
  void produce(EmbeddedKafka kafka, String topic, int events, long seed) throws Exception {
    kafka.createTopic(topic, 2);
    kafka.createTopic(topic + "-dlq", 1);
    WorldConfig wc =
        WorldConfig.of(
            Map.of(
                "events",
                String.valueOf(events),
                "users",
                "120",
                "items",
                "600",
                "seed",
                String.valueOf(seed)));
    try (EventProducer producer = new EventProducer(kafka.bootstrapServers(), topic)) {
      produced = producer.send(new World(wc).events(truth::add), (n, rate) -> {});
      producer.flush();
    }
  }

  /** A bounded run from the earliest offsets with checkpoints every 500 ms and restarts allowed. */
  static Configuration job(String bootstrap, String topic, Path out) {
    Configuration c = new Configuration();
    c.set(JobOptions.BOOTSTRAP, bootstrap);
    c.set(JobOptions.EVENTS_TOPIC, topic);
    c.set(JobOptions.DLQ_TOPIC, topic + "-dlq");
    c.set(JobOptions.GROUP_ID, "perceive-" + topic);
    c.set(JobOptions.BOUNDED, true);
    c.set(JobOptions.START, "earliest");
    c.set(JobOptions.BATCH_SIZE, 64);
    c.set(JobOptions.PREDICTIONS_DIR, out.resolve("predictions").toUri().toString());
    c.set(JobOptions.SNAPSHOT_DIR, out.resolve("snapshots").toString());
    c.set(JobOptions.OUT_OF_ORDERNESS, Duration.ofMinutes(2));
    c.set(JobOptions.ATTRIBUTION_WINDOW, Duration.ofHours(26));
    c.set(JobOptions.IDLE_TIMEOUT, Duration.ofHours(52));
    c.setString("state.backend.type", "rocksdb");
    c.setString("execution.checkpointing.incremental", "true");
    c.setString("execution.checkpointing.interval", "500 ms");
    c.setString("execution.checkpointing.dir", out.resolve("checkpoints").toUri().toString());
    c.setString("restart-strategy.type", "fixed-delay");
    c.setString("restart-strategy.fixed-delay.attempts", "5");
    c.setString("restart-strategy.fixed-delay.delay", "1 s");
    c.setString("taskmanager.numberOfTaskSlots", "2");
    return c;
  }

  /**
   * The committed predictions: the demo's reader skips the hidden in-progress and pending part
   * files, which are not committed.
   */
  static List<ScoredSample> committedPredictions(Path out) throws IOException {
    return Demo.readPredictions(out.resolve("predictions"));
  }

  /** Rows per (impression, row kind): every value must be 1 for an exactly-once result. */
  static Map<String, Integer> rowsPerSample(List<ScoredSample> rows) {
    Map<String, Integer> m = new HashMap<>();
    for (ScoredSample r : rows)
      m.merge(
          r.impressionEventId() + (r.conversionRow() ? "/conversion" : "/click"), 1, Integer::sum);
    return m;
  }
}
