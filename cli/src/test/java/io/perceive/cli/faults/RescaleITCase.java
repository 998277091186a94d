package io.perceive.cli.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveJob;
import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.PendingClick;
import io.perceive.job.domain.PendingImpression;
import io.perceive.job.domain.UserState;
import io.perceive.job.learner.ScoredSample;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.TruthRecord;
import io.perceive.schemas.UserEvent;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.assertj.core.api.recursive.comparison.RecursiveComparisonConfiguration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A savepoint of the running (unbounded) job restores at another parallelism — 1 → 2 and 2 → 1 —
 * with every user's state, the pending labels and the model intact:
 *
 * <ol>
 *   <li>the first 60 % of a small world's events run through the job at parallelism {@code from}
 *       until they are consumed (offsets committed on a checkpoint) and the parameter sync has gone
 *       quiet; then the job <b>stops with a savepoint</b> (canonical format);
 *   <li>the savepoint is read with Flink's State Processor API: keyed user states, the learner
 *       replicas (union state) and the parameter server's state;
 *   <li>the job restarts from it at parallelism {@code to} and at once (no new input) takes a
 *       second savepoint: user states must be identical key by key (byte for byte: LSTM state,
 *       window, profile, pending impressions and clicks, buffered events), every learner must have
 *       started from the saved replica (same optimizer state and steps, same parameters), and the
 *       model version must have gone on from the saved one with the same parameters;
 *   <li>the rest of the events are produced, the job is drained (stop with savepoint and end of
 *       event time, which closes every label window like a bounded run's end), and the exactly-once
 *       predictions output must hold every label once: every label pending at the savepoint is
 *       emitted after the restore exactly once, and the counts equal the world's truth.
 * </ol>
 */
class RescaleITCase {

  /** World size: small enough for about a minute per direction on a quiet machine. */
  static final int EVENTS = 4_000;

  /** Events produced before the first savepoint. */
  static final int FIRST_PART = 2_400;

  /** Sync and flush intervals short enough that the job goes quiet soon after its input. */
  static final Duration SYNC = Duration.ofMillis(300);

  /** How long the model-updates topic must stay unchanged for the sync to count as quiet. */
  static final long QUIET_MS = 2_500;

  /** Field-by-field comparison in which a missing feature (NaN) equals a missing feature. */
  static final RecursiveComparisonConfiguration NAN_EQUAL =
      RecursiveComparisonConfiguration.builder()
          .withEqualsForType((x, y) -> Float.compare(x, y) == 0, Float.class)
          .build();

  @TempDir Path out;

  @Test
  void aSavepointAtParallelism1RestoresAtParallelism2() throws Exception {
    rescale(1, 2, 21);
  }

  @Test
  void aSavepointAtParallelism2RestoresAtParallelism1() throws Exception {
    rescale(2, 1, 22);
  }

  private void rescale(int from, int to, long seed) throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared(); // started by the first test: not timed
    long started = System.nanoTime();
    String id = "rescale-" + from + "-" + to + "-" + UUID.randomUUID().toString().substring(0, 6);
    kafka.createTopic(id, 2);
    kafka.createTopic(id + "-dlq", 1);
    kafka.createTopic(id + "-updates", 1);
    kafka.createTopic(id + "-manifests", 1);
    List<TruthRecord> truth = new ArrayList<>();
    List<UserEvent> events = new ArrayList<>();
    new World(
            WorldConfig.of(
                Map.of("events", "" + EVENTS, "users", "100", "items", "500", "seed", "" + seed)))
        .events(truth::add)
        .forEachRemaining(events::add);
    Configuration conf = conf(kafka, id);
    String savepoints = out.resolve("savepoints").toUri().toString();

    // 1. the first part, unbounded, at parallelism `from`; stop with a savepoint once quiet
    produce(kafka, id, events.subList(0, FIRST_PART));
    JobClient first = start(conf, from, null);
    awaitConsumed(kafka, conf.get(JobOptions.GROUP_ID), id, first);
    phase("first part consumed", started);
    awaitQuietSync(kafka, id + "-updates", first);
    phase("sync quiet", started);
    String sp1 = first.stopWithSavepoint(false, savepoints, SavepointFormatType.CANONICAL).get();
    phase("first savepoint", started);
    first.getJobExecutionResult().get(); // finished (its MiniCluster shuts down with it)
    List<ScoredSample> beforeRestore = FaultRun.committedPredictions(out);

    // 2. what the savepoint holds
    SavepointContents s1 = SavepointContents.read(sp1);
    phase("first savepoint read", started);
    Map<Long, UserState> users1 = s1.decodedUsers();
    // users idle for longer than the idle timeout (52 h of event time) are already cleared
    assertThat(users1).as("users in the savepoint").hasSizeGreaterThanOrEqualTo(10);
    Set<String> pendingImpressions = new HashSet<>();
    Set<String> pendingClicks = new HashSet<>();
    for (UserState u : users1.values()) {
      for (PendingImpression p : u.pendingImpressions()) pendingImpressions.add(p.eventId());
      for (Event e : u.buffered())
        if (e.kind() == EventKind.IMPRESSION) pendingImpressions.add(e.eventId());
      for (PendingClick c : u.pendingClicks()) pendingClicks.add(c.impressionEventId());
    }
    assertThat(pendingImpressions).as("impressions waiting for their click label").isNotEmpty();
    assertThat(pendingClicks).as("clicks waiting for their order label").isNotEmpty();
    assertThat(s1.replicas()).extracting(SavepointContents.Replica::owner).hasSize(from);
    assertThat(s1.server().coverage()).as("deltas merged before the savepoint").isNotEmpty();
    // quiet: every replica is the published model, which is the server's
    for (SavepointContents.Replica r : s1.replicas()) {
      assertThat(r.parameters()).as("replica %d", r.owner()).isEqualTo(s1.server().parameters());
      assertThat(r.modelVersion()).isLessThanOrEqualTo(s1.server().version());
      assertThat(r.optimizerSteps()).as("replica %d trained", r.owner()).isPositive();
    }
    // labels pending at the savepoint were not emitted before it; clicks' own rows were
    Set<String> clickRowsBefore = ids(beforeRestore, false);
    Set<String> conversionRowsBefore = ids(beforeRestore, true);
    assertThat(clickRowsBefore).doesNotContainAnyElementsOf(pendingImpressions);
    assertThat(conversionRowsBefore).doesNotContainAnyElementsOf(pendingClicks);
    assertThat(clickRowsBefore).containsAll(pendingClicks);

    // 3. restore at parallelism `to`; a second savepoint before any new input
    JobClient restored = start(conf, to, sp1);
    String sp2 = triggerWhenRunning(restored, savepoints);
    phase("second savepoint", started);
    SavepointContents s2 = SavepointContents.read(sp2);
    phase("second savepoint read", started);

    assertThat(s2.users().keySet()).as("users after the rescale").isEqualTo(s1.users().keySet());
    for (var e : s1.users().entrySet())
      assertThat(Arrays.equals(s2.users().get(e.getKey()), e.getValue()))
          .as("state bytes of user %d after the rescale", e.getKey())
          .isTrue();
    Map<Long, UserState> users2 = s2.decodedUsers();
    for (var e : users1.entrySet()) {
      UserState a = e.getValue();
      UserState b = users2.get(e.getKey());
      assertThat(b.h0()).isEqualTo(a.h0());
      assertThat(b.c0()).isEqualTo(a.c0());
      assertThat(b.profileFeatures(0)).isEqualTo(a.profileFeatures(0));
      assertThat(b.statsFeatures()).isEqualTo(a.statsFeatures());
      // records holding float[] (items): compared field by field, arrays by content, NaN = NaN
      assertThat(b.window()).usingRecursiveComparison(NAN_EQUAL).isEqualTo(a.window());
      assertThat(b.pendingImpressions())
          .usingRecursiveComparison(NAN_EQUAL)
          .isEqualTo(a.pendingImpressions());
      assertThat(b.pendingClicks())
          .usingRecursiveComparison(NAN_EQUAL)
          .isEqualTo(a.pendingClicks());
      assertThat(b.buffered()).usingRecursiveComparison(NAN_EQUAL).isEqualTo(a.buffered());
    }
    // every restored learner started from a saved replica: subtask 0's when scaling out (union
    // state hands it to every subtask), its own otherwise
    assertThat(s2.replicas()).extracting(SavepointContents.Replica::owner).hasSize(to);
    for (SavepointContents.Replica r : s2.replicas()) {
      SavepointContents.Replica source =
          s1.replicas().stream()
              .filter(x -> x.owner() == r.owner())
              .findFirst()
              .orElse(s1.replicas().get(0));
      assertThat(r.optimizerSteps())
          .as("steps of restored replica %d", r.owner())
          .isEqualTo(source.optimizerSteps());
      assertThat(r.optimizer())
          .as("optimizer state of replica %d", r.owner())
          .isEqualTo(source.optimizer());
      assertThat(r.parameters())
          .as("parameters of replica %d", r.owner())
          .isEqualTo(source.parameters());
      assertThat(r.modelVersion())
          .as("version of replica %d", r.owner())
          .isGreaterThanOrEqualTo(source.modelVersion())
          .isLessThanOrEqualTo(s2.server().version());
    }
    // the model version goes on (a new incarnation above the saved version), same parameters
    assertThat(s2.server().version()).isGreaterThan(s1.server().version());
    assertThat(s2.server().coverage()).isEqualTo(s1.server().coverage());
    assertThat(s2.server().parameters()).isEqualTo(s1.server().parameters());
    for (var sync : s2.syncs().entrySet())
      assertThat(SavepointContents.syncPublishedVersion(sync.getValue()))
          .as("published version followed by learner %d", sync.getKey())
          .isGreaterThanOrEqualTo(
              s1.syncs().containsKey(sync.getKey())
                  ? SavepointContents.syncPublishedVersion(s1.syncs().get(sync.getKey()))
                  : 0);

    // 4. the rest of the events; drain (end of event time closes every window) and count
    produce(kafka, id, events.subList(FIRST_PART, events.size()));
    awaitConsumed(kafka, conf.get(JobOptions.GROUP_ID), id, restored);
    phase("second part consumed", started);
    restored.stopWithSavepoint(true, savepoints, SavepointFormatType.CANONICAL).get();
    restored.getJobExecutionResult().get();
    phase("drained", started);

    List<ScoredSample> rows = FaultRun.committedPredictions(out);
    assertThat(FaultRun.rowsPerSample(rows).values())
        .as("rows per sample in the exactly-once output")
        .containsOnly(1);
    assertThat(rows).as("rows committed before the savepoint").containsAll(beforeRestore);
    Set<String> clickRows = ids(rows, false);
    Set<String> conversionRows = ids(rows, true);
    assertThat(clickRows)
        .as("pending impressions labelled after the restore")
        .containsAll(pendingImpressions);
    assertThat(conversionRows)
        .as("pending clicks labelled after the restore")
        .containsAll(pendingClicks);
    Set<String> impressions =
        truth.stream().map(t -> t.getImpressionEventId().toString()).collect(Collectors.toSet());
    assertThat(clickRows)
        .as("a click row for every impression of the world")
        .isEqualTo(impressions);
    Map<String, Boolean> clickedInTruth = new HashMap<>();
    for (TruthRecord t : truth)
      clickedInTruth.put(t.getImpressionEventId().toString(), t.getClicked());
    long positives = rows.stream().filter(r -> !r.conversionRow() && r.click() == 1).count();
    long wrong =
        rows.stream()
            .filter(r -> !r.conversionRow())
            .filter(r -> (r.click() == 1) != clickedInTruth.get(r.impressionEventId()))
            .count();
    long clicked = truth.stream().filter(TruthRecord::getClicked).count();
    assertThat(conversionRows)
        .as("one conversion row per clicked impression")
        .hasSize((int) positives);
    // the world can draw a click whose delivery falls after its last event: a handful at most
    assertThat((double) wrong)
        .as("click labels unlike the world's")
        .isLessThanOrEqualTo(0.005 * clicked);
    System.out.printf(
        "rescale %d -> %d: %d users, %d pending impressions and %d pending clicks at the"
            + " savepoint, versions %d -> %d, %d rows, %d click labels unlike the truth, %.1f s%n",
        from,
        to,
        users1.size(),
        pendingImpressions.size(),
        pendingClicks.size(),
        s1.server().version(),
        s2.server().version(),
        rows.size(),
        wrong,
        (System.nanoTime() - started) / 1e9);
  }

  private static void phase(String what, long started) {
    System.out.printf("  %-22s at %5.1f s%n", what, (System.nanoTime() - started) / 1e9);
  }

  /** FaultRun's job settings, unbounded, on this test's own topics, with a small model. */
  static Configuration conf(EmbeddedKafka kafka, String id) {
    Configuration c = FaultRun.job(kafka.bootstrapServers(), id, Path.of("unused"));
    c.set(JobOptions.BOUNDED, false);
    c.set(JobOptions.UPDATES_TOPIC, id + "-updates");
    c.set(JobOptions.MANIFESTS_TOPIC, id + "-manifests");
    c.set(JobOptions.SYNC_INTERVAL, SYNC);
    c.set(JobOptions.FLUSH_INTERVAL, Duration.ofMillis(200));
    c.set(JobOptions.PUBLISH_MIN_SAMPLES, 1_000_000L); // the AUC gate is not under test here
    // hashed tables sized for the 100-user, 500-item world: savepoints stay a few MB
    c.setString(JobOptions.MODEL_PREFIX + "emb.item.rows", "4096");
    c.setString(JobOptions.MODEL_PREFIX + "emb.user.rows", "1024");
    c.setString(JobOptions.MODEL_PREFIX + "emb.shop.rows", "1024");
    c.setString(JobOptions.MODEL_PREFIX + "emb.brand.rows", "1024");
    return c;
  }

  private JobClient start(Configuration conf, int parallelism, String savepoint) throws Exception {
    Configuration c = conf.clone();
    c.set(JobOptions.PREDICTIONS_DIR, out.resolve("predictions").toUri().toString());
    c.set(JobOptions.SNAPSHOT_DIR, out.resolve("snapshots").toString());
    c.setString("execution.checkpointing.dir", out.resolve("checkpoints").toUri().toString());
    if (savepoint != null) c.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(c);
    env.setParallelism(parallelism);
    PerceiveJob.build(env, c);
    return env.executeAsync("rescale-" + parallelism);
  }

  private static void produce(EmbeddedKafka kafka, String topic, List<UserEvent> events)
      throws Exception {
    try (EventProducer p = new EventProducer(kafka.bootstrapServers(), topic)) {
      p.send(events.iterator(), (n, rate) -> {});
      p.flush();
    }
  }

  /** Waits until a checkpoint has committed the end offset of every partition of the topic. */
  private static void awaitConsumed(EmbeddedKafka kafka, String group, String topic, JobClient job)
      throws Exception {
    try (Admin admin = kafka.admin()) {
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (var p :
          admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions())
        latest.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest());
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get().forEach((tp, r) -> ends.put(tp, r.offset()));
      // a guard against a hung job, not a speed limit: a loaded 2-core machine is slow
      long deadline = System.nanoTime() + Duration.ofMinutes(8).toNanos();
      int polls = 0;
      while (true) {
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        boolean all = true;
        for (var e : ends.entrySet()) {
          OffsetAndMetadata o = committed.get(e.getKey());
          all &= o != null && o.offset() >= e.getValue();
        }
        if (all) return;
        if (++polls % 100 == 0) System.out.printf("  committed %s of %s%n", committed, ends);
        assertThat(System.nanoTime()).as("all events consumed in time").isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  /**
   * Waits until the model-updates topic has not grown for {@link #QUIET_MS}: the learners have
   * trained on everything, sent their last deltas and rebased on the version that contains them.
   */
  private static void awaitQuietSync(EmbeddedKafka kafka, String topic, JobClient job)
      throws Exception {
    try (Admin admin = kafka.admin()) {
      TopicPartition tp = new TopicPartition(topic, 0);
      long last = -1;
      long since = System.nanoTime();
      long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (true) {
        assertThat(job.getJobStatus().get()).isEqualTo(JobStatus.RUNNING);
        long end = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).all().get().get(tp).offset();
        if (end != last) {
          last = end;
          since = System.nanoTime();
        } else if (end > 0 && (System.nanoTime() - since) / 1_000_000 >= QUIET_MS) return;
        assertThat(System.nanoTime()).as("model sync quiet in time").isLessThan(deadline);
        Thread.sleep(100);
      }
    }
  }

  /** Triggers a savepoint as soon as every task of the restored job runs (it fails before). */
  private static String triggerWhenRunning(JobClient job, String dir) throws Exception {
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (true) {
      try {
        return job.triggerSavepoint(dir, SavepointFormatType.CANONICAL).get();
      } catch (ExecutionException e) {
        if (System.nanoTime() > deadline) throw e;
        Thread.sleep(200);
      }
    }
  }

  /** Impression ids of the click rows ({@code conversion == false}) or of the conversion rows. */
  private static Set<String> ids(List<ScoredSample> rows, boolean conversion) {
    return rows.stream()
        .filter(r -> r.conversionRow() == conversion)
        .map(ScoredSample::impressionEventId)
        .collect(Collectors.toSet());
  }
}
