package io.perceive.job.sync;

import io.perceive.job.publish.SnapshotStore;
import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.delta.ChunkAssembler;
import io.perceive.model.snapshot.MalformedDataException;
import io.perceive.schemas.SnapshotManifest;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The ParameterServer operator (parallelism 1, DESIGN.md data flow): reassembles the learners'
 * delta chunks, merges them into the global model ({@link ParameterServer}), advances the version
 * and publishes on {@code model-updates}; every snapshot interval (and at the end of a bounded run)
 * writes a versioned snapshot with its manifest and publishes the manifest on {@code
 * model-manifests}. Emits each published version number.
 *
 * <p>Versions are never reused: on every (re)start the server continues from max(checkpointed,
 * highest on either topic, highest in the snapshot directory) + 1, and announces itself with a FULL
 * update under that version (its incarnation). Publishing is synchronous, so a version counts as
 * taken once it is on the broker. A snapshot with NaN/Inf parameters, or taken while the learners'
 * recent click AUC has collapsed, is not published (logged and counted).
 */
public final class ParameterServerOperator extends AbstractStreamOperator<Long>
    implements OneInputStreamOperator<byte[], Long> {

  private static final long serialVersionUID = 1L;

  private final SyncSettings settings;
  private final Map<String, String> modelConfig;

  private transient ListState<byte[]> state;
  private transient byte[] restored;
  private transient ParameterServer server;
  private transient ModelTopics topics;
  private transient SnapshotStore store;
  private transient Map<Integer, ChunkAssembler> assemblers;
  private transient long incarnation;
  private transient long lastFull;
  private transient long lastSnapshotVersion;
  private transient long lastSnapshotAtMs;
  private transient long firstGatheredAtMs;
  private transient double bestAuc;
  private transient boolean ended;
  private transient Counter updatesPublished;
  private transient Counter snapshotsPublished;
  private transient Counter refused;
  private transient Counter snapshotFailures;
  private transient Counter badDeltas;

  public ParameterServerOperator(SyncSettings settings, Map<String, String> modelConfig) {
    this.settings = settings;
    this.modelConfig = new HashMap<>(modelConfig);
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    state =
        context
            .getOperatorStateStore()
            .getListState(
                new ListStateDescriptor<>(
                    "parameter-server", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    restored = null;
    if (context.isRestored()) for (byte[] b : state.get()) restored = b;
  }

  @Override
  public void open() throws Exception {
    super.open();
    ModelConfig config = ModelConfig.fromProperties(modelConfig);
    server =
        new ParameterServer(
            config.toProperties(),
            new MultiTaskModel(config).initialise(DataType.FLOAT),
            settings.mergeMode());
    if (restored != null) server.restore(restored);
    topics =
        new ModelTopics(
            settings.bootstrap(),
            settings.updatesTopic(),
            settings.manifestsTopic(),
            settings.maxChunkBytes());
    long highest = Math.max(server.version(), topics.highestVersion());
    if (settings.snapshotDir() != null) {
      store = new SnapshotStore(toPath(settings.snapshotDir()), settings.snapshotsKept());
      highest = Math.max(highest, store.highestVersion());
    }
    assemblers = new HashMap<>();
    bestAuc = Double.NaN;
    lastSnapshotVersion = -1;
    lastSnapshotAtMs = System.currentTimeMillis();
    firstGatheredAtMs = -1;
    registerMetrics(getMetricGroup());
    incarnation = highest + 1;
    long now = System.currentTimeMillis();
    topics.publish(server.full(settings.runId(), incarnation, incarnation, now));
    updatesPublished.inc();
    lastFull = incarnation;
    LOG.info(
        "parameter server of run {} starts at version {} (checkpointed {}, restored {})",
        settings.runId(),
        incarnation,
        restored == null ? "none" : "yes",
        restored != null);
    armSyncTimer();
    if (store != null) armSnapshotTimer();
    // Restored after every learner had sent its final delta: the learners will not send again.
    if (server.allFinished()) endRun();
  }

  private void registerMetrics(MetricGroup g) {
    updatesPublished = g.counter("model_updates_published");
    snapshotsPublished = g.counter("snapshots_published");
    refused = g.counter("publications_refused");
    snapshotFailures = g.counter("snapshots_failed");
    badDeltas = g.counter("deltas_refused");
    g.gauge("published_version", () -> server.version());
    g.gauge("deltas_merged", () -> server.deltasMerged());
    g.gauge(
        "snapshot_age_ms",
        () -> store == null ? -1L : System.currentTimeMillis() - lastSnapshotAtMs);
  }

  @Override
  public void processElement(StreamRecord<byte[]> record) throws Exception {
    byte[] chunk = record.getValue();
    Optional<byte[]> whole;
    LearnerDelta d;
    try {
      long id = io.perceive.model.delta.DeltaChunks.parse(chunk).messageId();
      int subtask = (int) (id >>> 40);
      whole = assemblers.computeIfAbsent(subtask, s -> new ChunkAssembler()).accept(chunk);
      if (whole.isEmpty()) return;
      d = LearnerDelta.decode(whole.get());
      server.accept(d);
    } catch (MalformedDataException e) {
      // A delta that cannot be read is refused and counted; the learner's next FULL-based rebase
      // (coverage) still tells it that this delta is not in the model.
      badDeltas.inc();
      LOG.warn("refused a learner delta: {}", e.getMessage());
      return;
    }
    if (firstGatheredAtMs < 0) firstGatheredAtMs = System.currentTimeMillis();
    if (server.everyLearnerContributed()) publishVersion();
    if (server.allFinished() && !ended) endRun();
  }

  private void armSyncTimer() {
    long at = getProcessingTimeService().getCurrentProcessingTime() + settings.syncIntervalMs();
    getProcessingTimeService()
        .registerTimer(
            at,
            ts -> {
              if (!ended
                  && server.hasGathered()
                  && System.currentTimeMillis() - firstGatheredAtMs >= settings.syncIntervalMs())
                publishVersion(); // a slow or idle learner does not hold the others back
              armSyncTimer();
            });
  }

  private void armSnapshotTimer() {
    long at = getProcessingTimeService().getCurrentProcessingTime() + settings.snapshotIntervalMs();
    getProcessingTimeService()
        .registerTimer(
            at,
            ts -> {
              if (!ended) writeSnapshot();
              armSnapshotTimer();
            });
  }

  private void publishVersion() throws Exception {
    long now = System.currentTimeMillis();
    Optional<ModelUpdate> u =
        server.mergeGathered(settings.runId(), incarnation, server.version() + 1, now);
    if (u.isEmpty()) return;
    topics.publish(u.get());
    updatesPublished.inc();
    firstGatheredAtMs = -1;
    output.collect(new StreamRecord<>(server.version()));
    if (server.version() - lastFull >= settings.fullEvery()) {
      topics.publish(server.full(settings.runId(), incarnation, server.version(), now));
      updatesPublished.inc();
      lastFull = server.version();
    }
  }

  /** End of a bounded run: final version, final snapshot, then END so the learners finish. */
  private void endRun() throws Exception {
    publishVersion();
    writeSnapshot();
    topics.publish(server.end(settings.runId(), incarnation, System.currentTimeMillis()));
    updatesPublished.inc();
    ended = true;
    LOG.info("run {} ended at model version {}", settings.runId(), server.version());
  }

  /** Writes the current version as a snapshot unless it is already written or refused. */
  private void writeSnapshot() {
    if (store == null || server.version() == lastSnapshotVersion) return;
    Map<String, Double> metrics = server.combinedMetrics();
    Optional<String> reason = refusal(metrics);
    if (reason.isPresent()) {
      refused.inc();
      LOG.warn("model version {} not published: {}", server.version(), reason.get());
      return;
    }
    try {
      metrics.values().removeIf(v -> !Double.isFinite(v));
      SnapshotManifest m =
          store.publish(
              server.snapshot(System.currentTimeMillis()), server.watermarkMs(), Map.of(), metrics);
      topics.publish(m);
      lastSnapshotVersion = server.version();
      lastSnapshotAtMs = System.currentTimeMillis();
      snapshotsPublished.inc();
    } catch (Exception e) {
      snapshotFailures.inc();
      LOG.warn("snapshot of version {} failed; training goes on", server.version(), e);
    }
  }

  /** Why the current model must not be published, if it must not. */
  private Optional<String> refusal(Map<String, Double> metrics) {
    Optional<String> bad = server.nonFinite();
    if (bad.isPresent()) return Optional.of("non-finite parameters in " + bad.get());
    double auc = metrics.getOrDefault("auc_click", Double.NaN);
    double samples = metrics.getOrDefault("samples_click", 0.0);
    if (!Double.isFinite(auc) || samples < settings.minSamples()) return Optional.empty();
    if (Double.isFinite(bestAuc) && auc < bestAuc - settings.maxAucDrop())
      return Optional.of(
          String.format(
              "recent click AUC %.4f collapsed below the best %.4f by more than %.3f",
              auc, bestAuc, settings.maxAucDrop()));
    bestAuc = Double.isFinite(bestAuc) ? Math.max(bestAuc, auc) : auc;
    return Optional.empty();
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    state.update(List.of(server.save()));
  }

  @Override
  public void close() throws Exception {
    if (topics != null) topics.close();
    super.close();
  }

  static Path toPath(String dirOrUri) {
    return dirOrUri.startsWith("file:")
        ? Paths.get(java.net.URI.create(dirOrUri))
        : Paths.get(dirOrUri);
  }

  /** The server's model logic (tests). */
  public ParameterServer server() {
    return server;
  }
}
