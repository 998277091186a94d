package io.perceive.job;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/**
 * Every setting of the Perceive job as a Flink {@link ConfigOption} with its default and
 * description (the README's Key | Default | Description table is generated from {@link #ALL}).
 * Model hyperparameters are {@code perceive.model.<key>} for every key of {@code
 * io.perceive.model.ModelConfig} (e.g. {@code perceive.model.sharing.mode}) and optimizer settings
 * {@code perceive.optimizer.<key>} (e.g. {@code perceive.optimizer.learningRate}); Flink's own
 * options (parallelism, checkpointing, state backend) are set the Flink way.
 */
public final class JobOptions {

  private JobOptions() {}

  public static final ConfigOption<String> BOOTSTRAP =
      ConfigOptions.key("perceive.kafka.bootstrap")
          .stringType()
          .defaultValue("127.0.0.1:9092")
          .withDescription("Kafka bootstrap servers of the events and model topics.");

  public static final ConfigOption<String> EVENTS_TOPIC =
      ConfigOptions.key("perceive.topic.events")
          .stringType()
          .defaultValue("events")
          .withDescription("Topic of user events (Avro single-object or JSON, key = user id).");

  public static final ConfigOption<String> DLQ_TOPIC =
      ConfigOptions.key("perceive.topic.dead-letters")
          .stringType()
          .defaultValue("events-dlq")
          .withDescription("Topic that receives rejected records with their reason and bytes.");

  public static final ConfigOption<String> GROUP_ID =
      ConfigOptions.key("perceive.kafka.group-id")
          .stringType()
          .defaultValue("perceive-learner")
          .withDescription("Consumer group id (offsets are committed on checkpoints).");

  public static final ConfigOption<String> START =
      ConfigOptions.key("perceive.source.start")
          .stringType()
          .defaultValue("earliest")
          .withDescription(
              "Where a fresh job starts reading: earliest | latest | committed | timestamp:<epoch ms>."
                  + " A restored job continues from its checkpoint.");

  public static final ConfigOption<Boolean> BOUNDED =
      ConfigOptions.key("perceive.source.bounded")
          .booleanType()
          .defaultValue(false)
          .withDescription(
              "Read up to the end offsets seen at start, then flush pending labels, write a final"
                  + " snapshot and stop (demo, replay, daily bootstrap).");

  public static final ConfigOption<Duration> OUT_OF_ORDERNESS =
      ConfigOptions.key("perceive.watermark.out-of-orderness")
          .durationType()
          .defaultValue(Duration.ofMinutes(2))
          .withDescription(
              "Bounded out-of-orderness of event times (watermark lag). Events later than this are"
                  + " still applied, counted as late_events.");

  public static final ConfigOption<Duration> IDLENESS =
      ConfigOptions.key("perceive.watermark.idleness")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription(
              "A partition without events for this long stops holding back event time.");

  public static final ConfigOption<Duration> MAX_DRIFT =
      ConfigOptions.key("perceive.watermark.max-drift")
          .durationType()
          .noDefaultValue()
          .withDescription(
              "Watermark alignment (unset = off): a Kafka partition whose event time runs further"
                  + " than this ahead of the slowest one is paused, so a replay does not buffer"
                  + " days of events in keyed state while waiting for the watermark. Off by"
                  + " default: with bounded reads, connector 5.0.0-2.2 can fail pausing a finished"
                  + " partition (FLINK-39728).");

  public static final ConfigOption<String> MIN_EVENT_TIME =
      ConfigOptions.key("perceive.events.min-time")
          .stringType()
          .defaultValue("2000-01-01T00:00:00Z")
          .withDescription(
              "Earliest accepted event time (ISO-8601); older events are dead-lettered."
                  + " The MovieLens replay uses 1995-01-01T00:00:00Z.");

  public static final ConfigOption<String> MAX_EVENT_TIME =
      ConfigOptions.key("perceive.events.max-time")
          .stringType()
          .defaultValue("2100-01-01T00:00:00Z")
          .withDescription("Latest accepted event time (ISO-8601).");

  public static final ConfigOption<Duration> CLICK_WINDOW =
      ConfigOptions.key("perceive.labels.click-window")
          .durationType()
          .defaultValue(Duration.ofMinutes(30))
          .withDescription("An impression without a click for this long becomes a click-negative.");

  public static final ConfigOption<Duration> ATTRIBUTION_WINDOW =
      ConfigOptions.key("perceive.labels.attribution-window")
          .durationType()
          .defaultValue(Duration.ofHours(24))
          .withDescription(
              "A click without an order of the item for this long becomes an order-negative.");

  public static final ConfigOption<Duration> DEDUPE_HORIZON =
      ConfigOptions.key("perceive.labels.dedupe-horizon")
          .durationType()
          .defaultValue(Duration.ofHours(24))
          .withDescription(
              "Event ids are remembered per user this long (event time) to drop duplicates.");

  public static final ConfigOption<Duration> IDLE_TIMEOUT =
      ConfigOptions.key("perceive.labels.idle-timeout")
          .durationType()
          .defaultValue(Duration.ofHours(48))
          .withDescription(
              "A user without events for this long (event time) is cleared after its labels are"
                  + " flushed; at least click + attribution window.");

  public static final ConfigOption<Integer> BATCH_SIZE =
      ConfigOptions.key("perceive.learner.batch-size")
          .intType()
          .defaultValue(256)
          .withDescription("Samples per minibatch step of a learner subtask.");

  public static final ConfigOption<Duration> FLUSH_INTERVAL =
      ConfigOptions.key("perceive.learner.flush-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(2))
          .withDescription("A partial minibatch is trained on after this much processing time.");

  public static final ConfigOption<Integer> STATE_CACHE_USERS =
      ConfigOptions.key("perceive.learner.state-cache-users")
          .intType()
          .defaultValue(20_000)
          .withDescription(
              "Decoded user states kept on the heap per learner subtask (write-back to RocksDB on"
                  + " eviction, before each checkpoint barrier and at end of input).");

  public static final ConfigOption<Integer> METRICS_WINDOW =
      ConfigOptions.key("perceive.metrics.window")
          .intType()
          .defaultValue(10_000)
          .withDescription(
              "Samples per task in the sliding window of the prequential AUC/log-loss metrics.");

  public static final ConfigOption<String> SNAPSHOT_DIR =
      ConfigOptions.key("perceive.snapshots.dir")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Local directory (path or file: URI) for versioned model snapshots and the"
                  + " latest manifest; unset = no snapshots.");

  public static final ConfigOption<Duration> SNAPSHOT_INTERVAL =
      ConfigOptions.key("perceive.snapshots.interval")
          .durationType()
          .defaultValue(Duration.ofMinutes(1))
          .withDescription(
              "Processing time between snapshots written by the parameter server (a final one is"
                  + " written at the end of a bounded run).");

  public static final ConfigOption<Integer> SNAPSHOTS_KEPT =
      ConfigOptions.key("perceive.snapshots.keep")
          .intType()
          .defaultValue(5)
          .withDescription("How many versioned snapshots are kept; older ones are deleted.");

  public static final ConfigOption<String> PREDICTIONS_DIR =
      ConfigOptions.key("perceive.predictions.dir")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Directory for the predictions output (CSV: ids, row, labels, scores, model version);"
                  + " unset = off.");

  public static final ConfigOption<Boolean> USER_STATE_ENABLED =
      ConfigOptions.key("perceive.user-state.enabled")
          .booleanType()
          .defaultValue(true)
          .withDescription(
              "Publish each user's serving state (LSTM (h, c) at the window start, the window's"
                  + " behaviours, profile features, model version) to the user-state topic when it"
                  + " changes, throttled per user.");

  public static final ConfigOption<String> USER_STATE_TOPIC =
      ConfigOptions.key("perceive.user-state.topic")
          .stringType()
          .defaultValue("user-state")
          .withDescription(
              "Compacted topic of UserServingState records (key = user id in decimal) that"
                  + " serving follows; create it with cleanup.policy=compact.");

  public static final ConfigOption<Duration> USER_STATE_MIN_INTERVAL =
      ConfigOptions.key("perceive.user-state.min-interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(30))
          .withDescription(
              "At most one user-state record per user per this much event time (0 = every"
                  + " change); the newest state follows when the interval ends, and always before"
                  + " an idle user is cleared.");

  public static final ConfigOption<String> SERVING_CHECK_DIR =
      ConfigOptions.key("perceive.user-state.check-dir")
          .stringType()
          .noDefaultValue()
          .withDescription(
              "Directory (path or URI) for the end-of-input serving check: after the final"
                  + " snapshot, each checked user's last published state is scored with the final"
                  + " weights and written as a JSON line (a POST /score body + the job's scores)."
                  + " Unset = off. Meaningful for bounded runs at parallelism 1.");

  public static final ConfigOption<Integer> SERVING_CHECK_USERS =
      ConfigOptions.key("perceive.user-state.check-users")
          .intType()
          .defaultValue(50)
          .withDescription("Users per learner subtask in the serving check (the first ones seen).");

  public static final ConfigOption<Integer> SERVING_CHECK_CANDIDATES =
      ConfigOptions.key("perceive.user-state.check-candidates")
          .intType()
          .defaultValue(5)
          .withDescription(
              "Candidate items per checked user: the subtask's most recently impressed distinct"
                  + " items.");
  public static final ConfigOption<String> UPDATES_TOPIC =
      ConfigOptions.key("perceive.topic.model-updates")
          .stringType()
          .defaultValue("model-updates")
          .withDescription(
              "Topic (exactly one partition) on which the parameter server publishes model updates"
                  + " (DELTA, FULL, END) that the learners rebase on.");

  public static final ConfigOption<String> MANIFESTS_TOPIC =
      ConfigOptions.key("perceive.topic.model-manifests")
          .stringType()
          .defaultValue("model-manifests")
          .withDescription("Topic on which every published snapshot's manifest (Avro) appears.");

  public static final ConfigOption<Duration> SYNC_INTERVAL =
      ConfigOptions.key("perceive.sync.interval")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "Processing time between a learner's parameter deltas to the parameter server; the"
                  + " server publishes a version once every learner has sent one, or this long"
                  + " after the first pending delta.");

  public static final ConfigOption<Integer> SYNC_MAX_MINIBATCHES =
      ConfigOptions.key("perceive.sync.max-minibatches")
          .intType()
          .defaultValue(0)
          .withDescription(
              "A learner also sends its delta after this many of its own minibatches since its"
                  + " previous send, however short perceive.sync.interval is (0 = interval only)."
                  + " Parallel learners drift apart between syncs, and a fast replay fits many"
                  + " minibatches into one interval; measured in docs/streaming-learner.md. Each"
                  + " send is a sync round (diff, merge, version, rebase): small values cost wall"
                  + " time.");

  public static final ConfigOption<Integer> SYNC_MAX_PENDING =
      ConfigOptions.key("perceive.sync.max-pending")
          .intType()
          .defaultValue(4)
          .withDescription(
              "A learner defers a periodic (interval or max-minibatches) send while this many of"
                  + " its deltas wait for a published version; the deferred changes go with its"
                  + " next send (counted in deltas_deferred). Pending deltas are kept in memory and"
                  + " in every checkpoint until a version contains them, so this bounds both when"
                  + " the parameter server falls behind. Sends before a checkpoint barrier and the"
                  + " final send are never deferred.");

  public static final ConfigOption<io.perceive.job.sync.MergeMode> SYNC_MERGE =
      ConfigOptions.key("perceive.sync.merge")
          .enumType(io.perceive.job.sync.MergeMode.class)
          .defaultValue(io.perceive.job.sync.MergeMode.SUM)
          .withDescription(
              "How the parameter server combines deltas of parallel learners: SUM (each learner's"
                  + " change applied in full), AVERAGE (model averaging) or ROW_AVERAGE (dense"
                  + " weights averaged, each embedding row averaged over the learners that touched"
                  + " it). Identical at parallelism 1. SUM suits the default Adagrad learners"
                  + " (asynchronous Adagrad); Adam learners need an averaging mode and still trail"
                  + " one learner; measurements in docs/streaming-learner.md.");

  public static final ConfigOption<Integer> SYNC_FULL_EVERY =
      ConfigOptions.key("perceive.sync.full-every")
          .intType()
          .defaultValue(20)
          .withDescription(
              "A FULL parameter update follows every this many versions (and one whenever the"
                  + " parameter server starts), so a (re)starting learner can bootstrap.");

  public static final ConfigOption<Integer> SYNC_MAX_CHUNK_BYTES =
      ConfigOptions.key("perceive.sync.max-chunk-bytes")
          .intType()
          .defaultValue(io.perceive.model.delta.DeltaChunks.DEFAULT_MAX_CHUNK_BYTES)
          .withDescription(
              "Largest chunk of a delta or full update, headers included; below the broker's"
                  + " message.max.bytes (1 MB by default).");

  public static final ConfigOption<Double> PUBLISH_MAX_AUC_DROP =
      ConfigOptions.key("perceive.publish.max-auc-drop")
          .doubleType()
          .defaultValue(0.1)
          .withDescription(
              "A snapshot is not published (logged, counted in publications_refused) when the"
                  + " learners' recent click AUC is more than this below the best seen in the run."
                  + " NaN/Inf parameters are always refused.");

  public static final ConfigOption<Long> PUBLISH_MIN_SAMPLES =
      ConfigOptions.key("perceive.publish.min-samples")
          .longType()
          .defaultValue(2_000L)
          .withDescription(
              "Click samples the learners must have scored before the AUC gate of"
                  + " perceive.publish.max-auc-drop applies.");

  /** Prefix of model hyperparameters: {@code perceive.model.} + a ModelConfig key. */
  public static final String MODEL_PREFIX = "perceive.model.";

  /** Prefix of optimizer settings: {@code perceive.} + an OptimizerConfig key. */
  public static final String OPTIMIZER_PREFIX = "perceive.optimizer.";

  /**
   * Prefix of Kafka consumer properties for the events source: {@code perceive.source.kafka.} + a
   * consumer property (e.g. {@code default.api.timeout.ms}), passed to the KafkaSource as is.
   * Bootstrap servers, group id and the deserialisers have their own settings and are refused.
   */
  public static final String SOURCE_KAFKA_PREFIX = "perceive.source.kafka.";

  /** Every option, in README order. */
  public static final List<ConfigOption<?>> ALL =
      List.of(
          BOOTSTRAP,
          EVENTS_TOPIC,
          DLQ_TOPIC,
          GROUP_ID,
          START,
          BOUNDED,
          OUT_OF_ORDERNESS,
          IDLENESS,
          MAX_DRIFT,
          MIN_EVENT_TIME,
          MAX_EVENT_TIME,
          CLICK_WINDOW,
          ATTRIBUTION_WINDOW,
          DEDUPE_HORIZON,
          IDLE_TIMEOUT,
          BATCH_SIZE,
          FLUSH_INTERVAL,
          STATE_CACHE_USERS,
          METRICS_WINDOW,
          SNAPSHOT_DIR,
          SNAPSHOT_INTERVAL,
          SNAPSHOTS_KEPT,
          PREDICTIONS_DIR,
          USER_STATE_ENABLED,
          USER_STATE_TOPIC,
          USER_STATE_MIN_INTERVAL,
          SERVING_CHECK_DIR,
          SERVING_CHECK_USERS,
          SERVING_CHECK_CANDIDATES,
          UPDATES_TOPIC,
          MANIFESTS_TOPIC,
          SYNC_INTERVAL,
          SYNC_MAX_MINIBATCHES,
          SYNC_MAX_PENDING,
          SYNC_MERGE,
          SYNC_FULL_EVERY,
          SYNC_MAX_CHUNK_BYTES,
          PUBLISH_MAX_AUC_DROP,
          PUBLISH_MIN_SAMPLES);
}
