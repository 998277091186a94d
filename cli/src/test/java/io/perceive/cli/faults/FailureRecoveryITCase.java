package io.perceive.cli.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.PerceiveJob;
import io.perceive.job.learner.ScoredSample;
import io.perceive.sandbox.EmbeddedKafka;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A task of the job throws once in the middle of the stream (inside a minibatch step, after several
 * checkpoints): the job restores from its last checkpoint and finishes, and its exactly-once output
 * holds every sample exactly once with the same labels as an undisturbed run of the same events —
 * no event lost, none counted twice, no label emitted twice.
 */
class FailureRecoveryITCase {

  @TempDir Path reference;
  @TempDir Path faulty;

  @Test
  void aTaskFailureMidStreamLosesNothingAndCountsNothingTwice() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    String topic = "faults-task-failure";
    FaultRun world = new FaultRun();
    world.produce(kafka, topic, 8_000, 11);

    Map<String, String> expected = run(kafka, topic + "-ref", topic, reference, Integer.MAX_VALUE);
    assertThat(FailOnceLearners.FAILED).isFalse();
    int stepsUndisturbed = FailOnceLearners.STEPS.get();
    assertThat(stepsUndisturbed).as("minibatch steps of the undisturbed run").isGreaterThan(20);

    // every impression of the world has its click row, and the clicks are the world's clicks
    long impressions = world.truth.size();
    long clicked = world.truth.stream().filter(t -> t.getClicked()).count();
    assertThat(expected.keySet().stream().filter(k -> k.endsWith("/click")).count())
        .isEqualTo(impressions);
    long positives =
        expected.entrySet().stream()
            .filter(e -> e.getKey().endsWith("/click") && e.getValue().startsWith("1,"))
            .count();
    assertThat(expected.keySet().stream().filter(k -> k.endsWith("/conversion")).count())
        .as("one conversion row per clicked impression")
        .isEqualTo(positives);
    // the world can draw a click whose delivery falls after its last event: a handful at most
    assertThat((double) Math.abs(clicked - positives)).isLessThanOrEqualTo(0.005 * clicked);

    Map<String, String> got = run(kafka, topic + "-faulty", topic, faulty, stepsUndisturbed / 2);
    assertThat(FailOnceLearners.FAILED).as("the failure was injected").isTrue();
    assertThat(got).isEqualTo(expected);
  }

  /** Runs the job to the end of the topic; returns labels per sample, asserting each is unique. */
  private static Map<String, String> run(
      EmbeddedKafka kafka, String group, String topic, Path out, int failAtStep) throws Exception {
    FailOnceLearners.reset();
    Configuration conf = FaultRun.job(kafka.bootstrapServers(), topic, out);
    conf.set(io.perceive.job.JobOptions.GROUP_ID, group);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
    env.setParallelism(1);
    PerceiveJob.build(
        env, conf, new FailOnceLearners(PerceiveJob.learnerFactory(conf), failAtStep));
    env.execute("fault-test");

    List<ScoredSample> rows = FaultRun.committedPredictions(out);
    assertThat(FaultRun.rowsPerSample(rows).values())
        .as("rows per sample in the exactly-once output")
        .containsOnly(1);
    Map<String, String> labels = new TreeMap<>();
    for (ScoredSample r : rows)
      labels.put(
          r.impressionEventId() + (r.conversionRow() ? "/conversion" : "/click"),
          r.click() + "," + r.conversion() + "," + r.order());
    return labels;
  }
}
