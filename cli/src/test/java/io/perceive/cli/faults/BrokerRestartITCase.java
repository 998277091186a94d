package io.perceive.cli.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveJob;
import io.perceive.job.learner.ScoredSample;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.schemas.TruthRecord;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The broker stops in the middle of the stream and starts again on the same directory and ports:
 * the job rides it out (retries, or a restart from its checkpoint) and its exactly-once output
 * still holds every impression of the world exactly once.
 */
class BrokerRestartITCase {

  @TempDir Path kafkaDir;
  @TempDir Path out;

  @Test
  void theJobRecoversFromABrokerRestartWithoutLosingEvents() throws Exception {
    int[] ports = EmbeddedKafka.freePorts(2);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(kafkaDir, ports[0], ports[1])) {
      String topic = "faults-broker-restart";
      FaultRun world = new FaultRun();
      world.produce(kafka, topic, 10_000, 13);

      Configuration conf = FaultRun.job(kafka.bootstrapServers(), topic, out);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
      env.setParallelism(1);
      PerceiveJob.build(env, conf);
      JobClient job = env.executeAsync("broker-restart-test");

      // mid-stream: the job has committed some offsets on a checkpoint, but not all of them
      long committed = 0;
      while (committed == 0) {
        Thread.sleep(200);
        assertThat(job.getJobStatus().get()).isNotEqualTo(JobStatus.FINISHED);
        committed = committedOffsets(kafka, conf.get(JobOptions.GROUP_ID));
      }
      // Mid-run: a checkpoint has completed and the job is still running. On a quiet machine the
      // source may already have read every event (they wait in keyed state for the watermark),
      // but the job still needs the broker: model updates are read back from it, user states,
      // dead letters and offsets go to it.
      assertThat(job.getJobStatus().get()).as("stopped mid-run").isEqualTo(JobStatus.RUNNING);
      kafka.stop();
      Thread.sleep(5_000);
      kafka.start();
      job.getJobExecutionResult().get();

      List<ScoredSample> rows = FaultRun.committedPredictions(out);
      assertThat(FaultRun.rowsPerSample(rows).values()).containsOnly(1);
      Set<String> impressions =
          world.truth.stream()
              .map(t -> t.getImpressionEventId().toString())
              .collect(Collectors.toSet());
      Set<String> clickRows =
          rows.stream()
              .filter(r -> !r.conversionRow())
              .map(ScoredSample::impressionEventId)
              .collect(Collectors.toSet());
      assertThat(clickRows).as("a click row for every impression").isEqualTo(impressions);
      long clicked = world.truth.stream().filter(TruthRecord::getClicked).count();
      long conversionRows = rows.stream().filter(ScoredSample::conversionRow).count();
      assertThat((double) Math.abs(clicked - conversionRows)).isLessThanOrEqualTo(0.005 * clicked);
    }
  }

  private static long committedOffsets(EmbeddedKafka kafka, String group) throws Exception {
    try (Admin admin = kafka.admin()) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      return m.values().stream().filter(o -> o != null).mapToLong(OffsetAndMetadata::offset).sum();
    }
  }
}
