package io.perceive.job;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.LabelConfig;
import io.perceive.job.learner.FeatureLayout;
import io.perceive.job.learner.LearnerFactory;
import io.perceive.job.learner.LearnerSettings;
import io.perceive.job.learner.ModelLearnerFactory;
import io.perceive.job.learner.ScoredSample;
import io.perceive.job.learner.UserLearnerOperator;
import io.perceive.job.learner.UserServingStates;
import io.perceive.job.learner.UserStateSettings;
import io.perceive.job.source.DuplicateLetters;
import io.perceive.job.source.EventDeserializer;
import io.perceive.job.source.EventMapping;
import io.perceive.job.source.Incoming;
import io.perceive.job.source.RouteRejections;
import io.perceive.job.sync.ModelUpdateSource;
import io.perceive.job.sync.ParameterServerOperator;
import io.perceive.job.sync.SyncSettings;
import io.perceive.model.ModelConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.api.common.serialization.SimpleStringEncoder;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.file.sink.FileSink;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.filesystem.rollingpolicies.OnCheckpointRollingPolicy;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * Builds the Perceive topology on an environment — the same function serves {@code perceive run},
 * the demo and the integration tests:
 *
 * <pre>
 * KafkaSource(events) → decode + validate ──rejected──► events-dlq
 *        │ keyBy(user)
 *        ▼
 *   UserLearner (keyed RocksDB state, batched prequential training) ──duplicates──► events-dlq
 *        │  ──user states (throttled per user)──► user-state (compacted, key = user id)
 *        │  ──serving check (end of input, optional)──► JSON lines
 *        │   ▲ broadcast: ModelUpdateSource(model-updates), ends at the run's END
 *        │   │
 *        │   └── ParameterServer (parallelism 1) ◄── delta chunks (side output)
 *        │          ├─► model-updates (DELTA / FULL / END)
 *        │          └─► snapshots dir + model-manifests
 *        ▼ scored samples → predictions output (optional)
 * </pre>
 */
public final class PerceiveJob {

  /** Operator uids: stable across versions so savepoints restore. */
  public static final String SOURCE_UID = "events-source";

  public static final String VALIDATE_UID = "validate";
  public static final String LEARNER_UID = "user-learner";
  public static final String LEARNER_NAME = "UserLearner";
  public static final String UPDATES_SOURCE_UID = "model-updates-source";
  public static final String PARAMETER_SERVER_UID = "parameter-server";
  public static final String PARAMETER_SERVER_NAME = "ParameterServer";

  private PerceiveJob() {}

  /** The streams a caller may attach more to (tests, the demo). */
  public record Topology(
      SingleOutputStreamOperator<Event> events, SingleOutputStreamOperator<ScoredSample> scored) {}

  /** Builds the topology with the model learner the configuration describes. */
  public static Topology build(StreamExecutionEnvironment env, Configuration conf) {
    return build(env, conf, learnerFactory(conf));
  }

  /** The model hyperparameters: {@code perceive.model.<key>} entries without the prefix. */
  public static Map<String, String> modelProperties(Configuration conf) {
    Map<String, String> m = new LinkedHashMap<>();
    conf.toMap()
        .forEach(
            (k, v) -> {
              if (k.startsWith(JobOptions.MODEL_PREFIX))
                m.put(k.substring(JobOptions.MODEL_PREFIX.length()), v);
            });
    return m;
  }

  /**
   * The optimizer settings: {@code perceive.optimizer.<key>} entries as {@code optimizer.<key>}.
   */
  public static Map<String, String> optimizerProperties(Configuration conf) {
    Map<String, String> m = new LinkedHashMap<>();
    conf.toMap()
        .forEach(
            (k, v) -> {
              if (k.startsWith(JobOptions.OPTIMIZER_PREFIX))
                m.put("optimizer." + k.substring(JobOptions.OPTIMIZER_PREFIX.length()), v);
            });
    // the job's default optimizer (docs/streaming-learner.md, "Where the P=2 gap comes from"):
    // a learning rate alone applies to it; a kind without a learning rate takes that kind's own
    if (!m.containsKey("optimizer.kind")) {
      m.put("optimizer.kind", io.perceive.job.learner.PerceiveDefaults.OPTIMIZER.kind().name());
      m.putIfAbsent(
          "optimizer.learningRate",
          Double.toString(io.perceive.job.learner.PerceiveDefaults.OPTIMIZER.learningRate()));
    }
    return m;
  }

  public static ModelLearnerFactory learnerFactory(Configuration conf) {
    ModelConfig model = ModelConfig.fromProperties(modelProperties(conf));
    return new ModelLearnerFactory(model.toProperties(), optimizerProperties(conf));
  }

  public static Topology build(
      StreamExecutionEnvironment env, Configuration conf, LearnerFactory learners) {
    return build(env, conf, learners, null);
  }

  /**
   * Builds the topology; with {@code stopAt} non-null the events source is bounded at those offsets
   * instead of the end offsets seen at start (the benchmark's live run: a topic still being written
   * to, read up to a known end).
   */
  public static Topology build(
      StreamExecutionEnvironment env,
      Configuration conf,
      LearnerFactory learners,
      OffsetsInitializer stopAt) {
    ModelConfig model = ModelConfig.fromProperties(modelProperties(conf));
    FeatureLayout features = new FeatureLayout(model);
    EventMapping mapping =
        new EventMapping(features.eventProfileNames(), features.eventItemNames());
    KafkaSource<Incoming> source = source(conf, mapping, stopAt);
    WatermarkStrategy<Incoming> watermarks =
        WatermarkStrategy.<Incoming>forBoundedOutOfOrderness(conf.get(JobOptions.OUT_OF_ORDERNESS))
            // rejections carry no event time and must not move the watermark
            .withTimestampAssigner((r, ts) -> r.isValid() ? r.event().timeMs() : Long.MIN_VALUE)
            .withIdleness(conf.get(JobOptions.IDLENESS));
    if (conf.getOptional(JobOptions.MAX_DRIFT).isPresent())
      watermarks =
          watermarks.withWatermarkAlignment(
              "perceive-events", conf.get(JobOptions.MAX_DRIFT), Duration.ofSeconds(1));

    SingleOutputStreamOperator<Event> events =
        env.fromSource(source, watermarks, "events")
            .uid(SOURCE_UID)
            .process(new RouteRejections())
            .uid(VALIDATE_UID)
            .name("validate");

    SyncSettings sync = syncSettings(conf, UUID.randomUUID().toString());
    // The model-updates reader starts a little before now: the parameter server's first FULL of
    // this run follows; older records (other runs) are skipped by run id.
    DataStream<byte[]> updates =
        env.fromSource(
                new ModelUpdateSource(
                    sync.bootstrap(),
                    sync.updatesTopic(),
                    sync.runId(),
                    System.currentTimeMillis() - UPDATES_LOOKBACK.toMillis()),
                WatermarkStrategy.noWatermarks(),
                "model-updates")
            .setParallelism(1)
            .uid(UPDATES_SOURCE_UID);
    LearnerSettings learnerSettings = settings(conf, mapping, model);
    SingleOutputStreamOperator<ScoredSample> scored =
        events
            .keyBy(Event::userId)
            .connect(updates.broadcast())
            .transform(
                LEARNER_NAME,
                TypeInformation.of(ScoredSample.class),
                learnerOperator(learnerSettings, conf, mapping, model, learners, sync))
            .uid(LEARNER_UID);
    scored
        .getSideOutput(UserLearnerOperator.DELTAS)
        .transform(
            PARAMETER_SERVER_NAME,
            Types.LONG,
            new ParameterServerOperator(sync, model.toProperties()))
        .setParallelism(1)
        .setMaxParallelism(1)
        // Always a task of its own: at parallelism 1 it would otherwise be chained behind the
        // learner, and a chained operator takes the chain head's max parallelism (128), so a
        // savepoint taken at parallelism 1 would not restore at 2 (max parallelism mismatch).
        .startNewChain()
        .uid(PARAMETER_SERVER_UID)
        .sinkTo(new DiscardingSink<>())
        .setParallelism(1)
        .uid("published-versions")
        .name("published versions");

    String dlqTopic = conf.get(JobOptions.DLQ_TOPIC);
    DataStream<byte[]> deadLetters =
        events
            .getSideOutput(RouteRejections.DEAD_LETTERS)
            .union(
                scored
                    .getSideOutput(UserLearnerOperator.DUPLICATES)
                    .map(new DuplicateLetters(conf.get(JobOptions.EVENTS_TOPIC)))
                    .returns(PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                    .uid("duplicate-letters")
                    .name("duplicate letters"));
    deadLetters.sinkTo(deadLetterSink(conf, dlqTopic)).uid("dead-letter-sink").name("events-dlq");

    conf.getOptional(JobOptions.PREDICTIONS_DIR)
        .ifPresent(
            dir ->
                scored
                    .map(ScoredSample::toCsv)
                    .uid("predictions-format")
                    .name("predictions csv")
                    .sinkTo(
                        FileSink.forRowFormat(
                                new Path(dir), new SimpleStringEncoder<String>("UTF-8"))
                            .withRollingPolicy(OnCheckpointRollingPolicy.build())
                            .build())
                    .uid("predictions-sink")
                    .name("predictions"));
    userStateOutputs(conf, scored);
    return new Topology(events, scored);
  }

  /** The learner, with its user-state output when that or the serving check is on. */
  static UserLearnerOperator learnerOperator(
      LearnerSettings learnerSettings,
      Configuration conf,
      EventMapping mapping,
      ModelConfig model,
      LearnerFactory learners,
      SyncSettings sync) {
    UserLearnerOperator op = new UserLearnerOperator(learnerSettings, learners, sync);
    boolean check = conf.getOptional(JobOptions.SERVING_CHECK_DIR).isPresent();
    if (conf.get(JobOptions.USER_STATE_ENABLED) || check)
      op.withUserStates(
          new UserStateSettings(
              conf.get(JobOptions.USER_STATE_MIN_INTERVAL).toMillis(),
              new UserServingStates(new FeatureLayout(model), mapping.profileSize()),
              check ? conf.get(JobOptions.SERVING_CHECK_USERS) : 0,
              conf.get(JobOptions.SERVING_CHECK_CANDIDATES)));
    return op;
  }

  /**
   * The compacted user-state topic (key = user id in decimal, value = UserServingState bytes) and
   * the serving check's JSON lines.
   */
  static void userStateOutputs(
      Configuration conf, SingleOutputStreamOperator<ScoredSample> scored) {
    if (conf.get(JobOptions.USER_STATE_ENABLED))
      scored
          .getSideOutput(UserLearnerOperator.USER_STATES)
          .sinkTo(userStateSink(conf))
          .uid("user-state-sink")
          .name(conf.get(JobOptions.USER_STATE_TOPIC));
    conf.getOptional(JobOptions.SERVING_CHECK_DIR)
        .ifPresent(
            dir ->
                scored
                    .getSideOutput(UserLearnerOperator.SERVING_CHECKS)
                    .sinkTo(
                        FileSink.forRowFormat(
                                new Path(dir), new SimpleStringEncoder<String>("UTF-8"))
                            .withRollingPolicy(OnCheckpointRollingPolicy.build())
                            .build())
                    .uid("serving-check-sink")
                    .name("serving check"));
  }

  static KafkaSink<Tuple2<Long, byte[]>> userStateSink(Configuration conf) {
    return KafkaSink.<Tuple2<Long, byte[]>>builder()
        .setBootstrapServers(conf.get(JobOptions.BOOTSTRAP))
        .setRecordSerializer(
            KafkaRecordSerializationSchema.<Tuple2<Long, byte[]>>builder()
                .setTopic(conf.get(JobOptions.USER_STATE_TOPIC))
                .setKeySerializationSchema(new UserKey())
                .setValueSerializationSchema(new StateBytes())
                .build())
        // a compacted topic keeps the newest record per key; a replayed duplicate is harmless
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }

  /** The user-state record key: the user id in decimal (what serving's follower parses). */
  static final class UserKey implements SerializationSchema<Tuple2<Long, byte[]>> {
    private static final long serialVersionUID = 1L;

    @Override
    public byte[] serialize(Tuple2<Long, byte[]> element) {
      return UserServingStates.key(element.f0);
    }
  }

  /** The user-state record value: the encoded UserServingState, unchanged. */
  static final class StateBytes implements SerializationSchema<Tuple2<Long, byte[]>> {
    private static final long serialVersionUID = 1L;

    @Override
    public byte[] serialize(Tuple2<Long, byte[]> element) {
      return element.f1;
    }
  }

  /** How far before the job is built the model-updates reader of a fresh run starts. */
  static final Duration UPDATES_LOOKBACK = Duration.ofMinutes(1);

  /** Sync and publication settings; {@code runId} names this submission on the model topics. */
  public static SyncSettings syncSettings(Configuration conf, String runId) {
    return new SyncSettings(
        runId,
        conf.get(JobOptions.BOOTSTRAP),
        conf.get(JobOptions.UPDATES_TOPIC),
        conf.get(JobOptions.MANIFESTS_TOPIC),
        conf.get(JobOptions.SYNC_INTERVAL).toMillis(),
        conf.get(JobOptions.SYNC_MAX_MINIBATCHES),
        conf.get(JobOptions.SYNC_MAX_PENDING),
        conf.get(JobOptions.SYNC_MERGE),
        conf.get(JobOptions.SYNC_FULL_EVERY),
        conf.getOptional(JobOptions.SNAPSHOT_DIR).orElse(null),
        conf.get(JobOptions.SNAPSHOT_INTERVAL).toMillis(),
        conf.get(JobOptions.SNAPSHOTS_KEPT),
        conf.get(JobOptions.PUBLISH_MAX_AUC_DROP),
        conf.get(JobOptions.PUBLISH_MIN_SAMPLES),
        conf.get(JobOptions.SYNC_MAX_CHUNK_BYTES));
  }

  static LearnerSettings settings(Configuration conf, EventMapping mapping, ModelConfig model) {
    LabelConfig labels =
        new LabelConfig(
            conf.get(JobOptions.CLICK_WINDOW).toMillis(),
            conf.get(JobOptions.ATTRIBUTION_WINDOW).toMillis(),
            conf.get(JobOptions.DEDUPE_HORIZON).toMillis(),
            conf.get(JobOptions.IDLE_TIMEOUT).toMillis(),
            model.sequenceConfig().attentionWindow(),
            model.sequenceConfig().hidden(),
            priceLevelBounds(model.get(ModelConfig.PRICE_LEVELS)));
    return new LearnerSettings(
        labels,
        mapping.profileSize(),
        conf.get(JobOptions.BATCH_SIZE),
        conf.get(JobOptions.FLUSH_INTERVAL).toMillis(),
        conf.get(JobOptions.METRICS_WINDOW),
        null, // the parameter server writes the snapshots
        conf.get(JobOptions.SNAPSHOT_INTERVAL).toMillis(),
        conf.get(JobOptions.SNAPSHOTS_KEPT),
        conf.get(JobOptions.STATE_CACHE_USERS));
  }

  /**
   * Boundaries of the price levels of the price-preference task: geometric from 5 to 2,000, so each
   * level spans the same price ratio (prices are log-normal per category in practice).
   */
  static float[] priceLevelBounds(int levels) {
    float[] b = new float[levels - 1];
    for (int i = 0; i < b.length; i++)
      b[i] = (float) (5 * Math.pow(400.0, b.length == 1 ? 0.5 : (double) i / (b.length - 1)));
    return b;
  }

  static KafkaSource<Incoming> source(
      Configuration conf, EventMapping mapping, OffsetsInitializer stopAt) {
    KafkaSourceBuilder<Incoming> b =
        KafkaSource.<Incoming>builder()
            .setBootstrapServers(conf.get(JobOptions.BOOTSTRAP))
            .setTopics(conf.get(JobOptions.EVENTS_TOPIC))
            .setGroupId(conf.get(JobOptions.GROUP_ID))
            .setStartingOffsets(startingOffsets(conf.get(JobOptions.START)))
            .setDeserializer(
                new EventDeserializer(
                    Instant.parse(conf.get(JobOptions.MIN_EVENT_TIME)).toEpochMilli(),
                    Instant.parse(conf.get(JobOptions.MAX_EVENT_TIME)).toEpochMilli(),
                    mapping))
            .setProperty("commit.offsets.on.checkpoint", "true")
            .setProperty("partition.discovery.interval.ms", "60000");
    sourceKafkaProperties(conf).forEach(b::setProperty);
    if (stopAt != null) b.setBounded(stopAt);
    else if (conf.get(JobOptions.BOUNDED)) b.setBounded(OffsetsInitializer.latest());
    return b.build();
  }

  /** Consumer properties the events source takes from the job's own settings. */
  private static final java.util.Set<String> JOB_SET_CONSUMER_PROPERTIES =
      java.util.Set.of(
          "bootstrap.servers",
          "group.id",
          "key.deserializer",
          "value.deserializer",
          "auto.offset.reset",
          "enable.auto.commit");

  /**
   * The consumer properties given as {@code perceive.source.kafka.<property>}; the ones the job
   * sets from its own settings are refused, so a configuration cannot contradict itself.
   */
  static Map<String, String> sourceKafkaProperties(Configuration conf) {
    Map<String, String> out = new java.util.TreeMap<>();
    conf.toMap()
        .forEach(
            (k, v) -> {
              if (!k.startsWith(JobOptions.SOURCE_KAFKA_PREFIX)) return;
              String prop = k.substring(JobOptions.SOURCE_KAFKA_PREFIX.length());
              if (JOB_SET_CONSUMER_PROPERTIES.contains(prop))
                throw new IllegalArgumentException(
                    k
                        + " is set by the job itself (perceive.kafka.bootstrap, perceive.kafka.group-id,"
                        + " perceive.source.start); remove it");
              out.put(prop, v);
            });
    return out;
  }

  /** Parses {@code earliest | latest | committed | timestamp:<ms>}. */
  static OffsetsInitializer startingOffsets(String spec) {
    String s = spec.trim();
    if (s.equals("earliest")) return OffsetsInitializer.earliest();
    if (s.equals("latest")) return OffsetsInitializer.latest();
    if (s.equals("committed"))
      return OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
    if (s.startsWith("timestamp:")) {
      try {
        return OffsetsInitializer.timestamp(Long.parseLong(s.substring("timestamp:".length())));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "perceive.source.start: bad timestamp in '" + spec + "'");
      }
    }
    throw new IllegalArgumentException(
        "perceive.source.start must be earliest | latest | committed | timestamp:<epoch ms>, got '"
            + spec
            + "'");
  }

  /** Writes a byte array as the record value, unchanged. */
  static final class RawBytes implements SerializationSchema<byte[]> {
    private static final long serialVersionUID = 1L;

    @Override
    public byte[] serialize(byte[] element) {
      return element;
    }
  }

  static KafkaSink<byte[]> deadLetterSink(Configuration conf, String topic) {
    return KafkaSink.<byte[]>builder()
        .setBootstrapServers(conf.get(JobOptions.BOOTSTRAP))
        .setRecordSerializer(
            KafkaRecordSerializationSchema.<byte[]>builder()
                .setTopic(topic)
                .setValueSerializationSchema(new RawBytes())
                .build())
        .setDeliveryGuarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build();
  }
}
