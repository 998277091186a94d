package io.perceive.job.learner;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.ImpressionScore;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.RequestContext;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.job.domain.UserStateCodec;
import io.perceive.job.publish.SnapshotStore;
import io.perceive.job.sync.ModelUpdate;
import io.perceive.job.sync.ReplicaSync;
import io.perceive.job.sync.SyncSettings;
import io.perceive.model.delta.DeltaChunks;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.accumulators.DoubleMaximum;
import org.apache.flink.api.common.accumulators.Histogram;
import org.apache.flink.api.common.accumulators.LongMaximum;
import org.apache.flink.api.common.accumulators.LongMinimum;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.BasicTypeInfo;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedMultiInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.util.OutputTag;

/**
 * The per-user learner (DESIGN.md "UserLearner"), keyed by user id. Keyed RocksDB state holds each
 * user's {@link UserState}; events wait in it until the watermark passes them and are then applied
 * in the contract's order (time, then impression &lt; click &lt; cart &lt; order) by {@link
 * LabelJoiner}. Matured samples from all users of the subtask are gathered into a minibatch; a full
 * minibatch (or the flush timer, a checkpoint, or end of input) is scored and trained on in one
 * batched call of the subtask's {@link Learner}, whose replica lives in operator state. Training
 * never writes keyed state.
 *
 * <p>Parameter sync (with {@link SyncSettings}): wired as a two-input operator, events on input 1
 * (keyed) and the published model updates on input 2 (broadcast). Every sync interval and at end of
 * input 1 the learner sends its parameter delta, in chunks, through {@link #DELTAS} to the
 * parameter server, and it rebases its replica on every published version ({@link ReplicaSync}).
 * Input 2 never holds back event time: only input 1's watermark and status are forwarded. A bounded
 * run ends when the server's END update closes input 2. Without sync settings the operator is a
 * one-input operator that publishes snapshots itself from subtask 0 (the operator tests' form).
 *
 * <p>Every new impression is also scored once, batched, before the next training step (or when a
 * minibatch of them has gathered): the score is attached to the pending impression in keyed state
 * and becomes the prequential score of its rows (docs/streaming-learner.md, "Learning quality").
 * Both happen before any training on its labels, so the score is still prequential.
 */
public class UserLearnerOperator extends AbstractStreamOperator<ScoredSample>
    implements OneInputStreamOperator<Event, ScoredSample>,
        TwoInputStreamOperator<Event, byte[], ScoredSample>,
        BoundedMultiInput,
        Triggerable<Long, VoidNamespace> {

  private static final long serialVersionUID = 1L;

  /** Duplicates (within the horizon) leave through this side output for the dead-letter topic. */
  public static final OutputTag<Event> DUPLICATES = new OutputTag<>("duplicates") {};

  /** Chunks of parameter deltas for the parameter server (with sync settings). */
  public static final OutputTag<byte[]> DELTAS =
      new OutputTag<>("parameter-deltas", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);

  private final LearnerSettings settings;
  private final LearnerFactory learnerFactory;
  private final SyncSettings sync;

  private transient Learner learner;
  private transient LabelJoiner joiner;
  private transient ValueState<byte[]> userState;
  private transient ListState<byte[]> learnerState;
  private transient InternalTimerService<VoidNamespace> timers;
  private transient List<Sample> batch;
  private transient List<Sample> unscored;
  private transient Map<LabelJoiner.Counter, Counter> counters;
  private transient Counter lateEvents;
  private transient Counter batches;
  private transient PrequentialMetrics clickMetrics;
  private transient PrequentialMetrics conversionMetrics;
  private transient PrequentialMetrics orderMetrics;
  private transient volatile double lastBatchMillis;
  private transient byte[] restoredLearner;
  private transient boolean flushTimerArmed;
  private transient SnapshotStore snapshots;
  private transient UserStateCache cache;
  private transient UserStateCache.Writer writeBack;
  private transient Counter published;
  private transient Counter publishFailures;
  private transient ListState<byte[]> syncState;
  private transient byte[] restoredSync;
  private transient ReplicaSync replicaSync;
  private transient Counter deltasSent;
  private transient Counter deltasDeferred;
  private transient Counter rebases;
  private transient Counter badUpdates;
  private transient DoubleMaximum finalDivergence;
  private transient PhaseTimes phases;
  private transient FreshnessTracker freshness;
  private transient Histogram freshnessTotal;
  private transient Histogram freshnessMaturity;
  private transient Histogram freshnessTrainSync;
  private transient LongMinimum firstEventAt;
  private transient LongMaximum inputEndedAt;
  private transient boolean seenEvent;
  private transient volatile double freshnessP50;
  private transient volatile double freshnessP99;

  public UserLearnerOperator(LearnerSettings settings, LearnerFactory learnerFactory) {
    this(settings, learnerFactory, null);
  }

  /** A learner that syncs its replica through the parameter server ({@code sync} non-null). */
  public UserLearnerOperator(
      LearnerSettings settings, LearnerFactory learnerFactory, SyncSettings sync) {
    this.settings = settings;
    this.learnerFactory = learnerFactory;
    this.sync = sync;
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    learnerState =
        context
            .getOperatorStateStore()
            .getUnionListState(
                new ListStateDescriptor<>(
                    "learner-replica", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    restoredLearner = null;
    if (context.isRestored()) {
      // Union state hands every subtask all replicas; take our own, else the first (rescaling).
      int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
      byte[] first = null;
      for (byte[] entry : learnerState.get()) {
        int owner = ReplicaEntry.owner(entry);
        if (first == null) first = entry;
        if (owner == me) restoredLearner = entry;
      }
      if (restoredLearner == null) restoredLearner = first;
    }
    initializeSyncState(context);
  }

  private void initializeSyncState(StateInitializationContext context) throws Exception {
    syncState =
        context
            .getOperatorStateStore()
            .getUnionListState(
                new ListStateDescriptor<>(
                    "replica-sync", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    restoredSync = null;
    if (context.isRestored()) {
      int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
      for (byte[] entry : syncState.get())
        if (ReplicaEntry.owner(entry) == me) restoredSync = ReplicaEntry.payload(entry);
    }
  }

  @Override
  public void open() throws Exception {
    super.open();
    int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    int n = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    learner = learnerFactory.create(me, n);
    if (restoredLearner != null) learner.restoreState(ReplicaEntry.payload(restoredLearner));
    joiner = new LabelJoiner(settings.labels(), settings.profileSize(), learner);
    userState =
        getPartitionedState(
            VoidNamespace.INSTANCE,
            VoidNamespaceSerializer.INSTANCE,
            new ValueStateDescriptor<>(
                "user", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    timers = getInternalTimerService("user-learner", VoidNamespaceSerializer.INSTANCE, this);
    batch = new ArrayList<>(settings.batchSize());
    unscored = new ArrayList<>(settings.batchSize());
    cache = new UserStateCache(settings.stateCacheUsers());
    writeBack =
        (user, state) -> {
          long t0 = System.nanoTime();
          Object current = getCurrentKey();
          setCurrentKey(user);
          userState.update(UserStateCodec.encode(state));
          if (current != null) setCurrentKey(current);
          phases.since(PhaseTimes.Phase.STATE_ACCESS, t0);
        };
    sink = newSink();
    registerMetrics(getMetricGroup());
    learner.timePhases(phases);
    openUserStates(getMetricGroup());
    // Part 1 publishes from the learner itself; only subtask 0 may, so versions stay unique.
    if (settings.snapshotDir() != null && me == 0 && sync == null) {
      snapshots = new SnapshotStore(toPath(settings.snapshotDir()), settings.snapshotsKept());
      armSnapshotTimer();
    }
    openSync(me, n);
  }

  private void openSync(int me, int n) throws Exception {
    if (sync == null || learner.parameters() == null) return;
    replicaSync = new ReplicaSync(sync.runId(), me, n, learner.parameters());
    // A rescaled restore has no entry for this subtask: it starts a fresh sequence (its replica
    // came from another subtask) and waits for the restarted server's FULL like every learner.
    if (restoredSync != null) replicaSync.restore(restoredSync);
    MetricGroup g = getMetricGroup();
    deltasSent = g.counter("deltas_sent");
    deltasDeferred = g.counter("deltas_deferred");
    rebases = g.counter("rebases");
    badUpdates = g.counter("model_updates_refused");
    g.gauge("sync_lag_ms", () -> replicaSync.lagMs(System.currentTimeMillis()));
    g.gauge("published_version", () -> replicaSync.publishedVersion());
    finalDivergence = new DoubleMaximum();
    getRuntimeContext().addAccumulator("replica_vs_published_max_abs", finalDivergence);
    armSyncTimer();
  }

  /** Minibatches trained since the last delta was sent (not state: a restore starts at 0). */
  private transient int minibatchesSinceSend;

  private void armSyncTimer() {
    long at = getProcessingTimeService().getCurrentProcessingTime() + sync.syncIntervalMs();
    getProcessingTimeService()
        .registerTimer(
            at,
            ts -> {
              sendDelta(false, true);
              armSyncTimer();
            });
  }

  /**
   * Sends the replica's delta since the previous send to the parameter server, in chunks; a
   * periodic send ({@code periodic}: interval or minibatch count) waits while too many deltas are
   * pending (their changes stay in the replica and go with the next send).
   */
  private void sendDelta(boolean last, boolean periodic) {
    if (periodic && !last && replicaSync.pendingDeltas() >= sync.maxPendingDeltas()) {
      deltasDeferred.inc();
      return;
    }
    long t0 = System.nanoTime();
    Map<String, Double> m = new java.util.LinkedHashMap<>();
    m.put("auc_click", clickMetrics.auc());
    m.put("logloss_click", clickMetrics.logLoss());
    m.put("samples_click", (double) clickMetrics.total());
    m.put("auc_conversion", conversionMetrics.auc());
    m.put("samples_conversion", (double) conversionMetrics.total());
    m.put("auc_order", orderMetrics.auc());
    m.put("samples_order", (double) orderMetrics.total());
    long now = getProcessingTimeService().getCurrentProcessingTime();
    minibatchesSinceSend = 0;
    replicaSync
        .takeDelta(learner.parameters(), m, last, timers.currentWatermark(), now)
        .ifPresent(
            d -> {
              for (byte[] chunk :
                  DeltaChunks.split(d.encode(), d.messageId(), sync.maxChunkBytes()))
                output.collect(DELTAS, new StreamRecord<>(chunk));
              deltasSent.inc();
              freshness.sent(d.seq());
            });
    phases.since(PhaseTimes.Phase.SYNC_EXTRACT, t0);
  }

  @Override
  public void processElement1(StreamRecord<Event> record) throws Exception {
    processElement(record);
  }

  /** A published model update (broadcast): rebase the replica on it. Never touches keyed state. */
  @Override
  public void processElement2(StreamRecord<byte[]> record) throws Exception {
    if (replicaSync == null) return;
    long t0 = System.nanoTime();
    try {
      ModelUpdate u = ModelUpdate.decode(record.getValue());
      ReplicaSync.Outcome o = replicaSync.onUpdate(u, learner.parameters());
      if (o == ReplicaSync.Outcome.REBASED) {
        learner.setVersion(replicaSync.publishedVersion());
        rebases.inc();
        freshness.published(
            u.covered(getRuntimeContext().getTaskInfo().getIndexOfThisSubtask()),
            u.createdAtMs(),
            ms -> freshnessTotal.add(FreshnessTracker.bucket(ms)),
            ms -> freshnessMaturity.add(FreshnessTracker.bucket(ms)),
            ms -> freshnessTrainSync.add(FreshnessTracker.bucket(ms)));
        freshnessP50 = FreshnessTracker.percentile(freshnessTotal.getLocalValue(), 0.5);
        freshnessP99 = FreshnessTracker.percentile(freshnessTotal.getLocalValue(), 0.99);
      }
    } catch (io.perceive.model.snapshot.MalformedDataException e) {
      badUpdates.inc();
      LOG.warn("refused a model update: {}", e.getMessage());
    }
    phases.since(PhaseTimes.Phase.SYNC_APPLY, t0);
  }

  /** Event time comes from the events alone: the model-update input has no say. */
  @Override
  public void processWatermark1(Watermark mark) throws Exception {
    processWatermark(mark);
  }

  @Override
  public void processWatermark2(Watermark mark) {}

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    // the final watermark closes every label window at once: no real maturity from here on
    if (mark.getTimestamp() == Long.MAX_VALUE) freshness.endOfInput();
    super.processWatermark(mark);
  }

  @Override
  protected void processWatermarkStatus(WatermarkStatus status, int inputIndex) throws Exception {
    if (inputIndex == 0) processWatermarkStatus(status);
  }

  @Override
  public void endInput(int inputId) throws Exception {
    if (inputId != 1) return;
    inputEndedAt.add(System.currentTimeMillis());
    if (replicaSync == null) return;
    // End of events (the final watermark has fired every label timer): train on what is left and
    // send the final delta; the server publishes the final version, the snapshot, then END.
    train();
    cache.flush(writeBack);
    sendDelta(true, false);
  }

  private void registerMetrics(MetricGroup g) {
    counters = new EnumMap<>(LabelJoiner.Counter.class);
    for (LabelJoiner.Counter c : LabelJoiner.Counter.values())
      counters.put(
          c, g.counter(metricName(c), new CountingAccumulator(getRuntimeContext(), metricName(c))));
    lateEvents =
        g.counter("late_events", new CountingAccumulator(getRuntimeContext(), "late_events"));
    batches = g.counter("minibatches", new CountingAccumulator(getRuntimeContext(), "minibatches"));
    phases = PhaseTimes.register(g, getRuntimeContext());
    freshness = new FreshnessTracker();
    freshnessTotal = new Histogram();
    freshnessMaturity = new Histogram();
    freshnessTrainSync = new Histogram();
    getRuntimeContext().addAccumulator(FRESHNESS_TOTAL, freshnessTotal);
    getRuntimeContext().addAccumulator(FRESHNESS_MATURITY, freshnessMaturity);
    getRuntimeContext().addAccumulator(FRESHNESS_TRAIN_SYNC, freshnessTrainSync);
    // since the start of this subtask; updated by the task thread at each published version (a
    // reporter thread must not walk the histogram while the task thread adds to it)
    freshnessP50 = Double.NaN;
    freshnessP99 = Double.NaN;
    g.gauge("freshness_p50_ms", () -> freshnessP50);
    g.gauge("freshness_p99_ms", () -> freshnessP99);
    // the span of the input at this learner, for throughput without job start-up and shutdown
    firstEventAt = new LongMinimum(Long.MAX_VALUE);
    inputEndedAt = new LongMaximum(Long.MIN_VALUE);
    getRuntimeContext().addAccumulator(FIRST_EVENT_WALL_MS, firstEventAt);
    getRuntimeContext().addAccumulator(INPUT_ENDED_WALL_MS, inputEndedAt);
    published = g.counter("snapshots_published");
    publishFailures = g.counter("snapshots_failed");
    clickMetrics = new PrequentialMetrics(settings.metricsWindow());
    conversionMetrics = new PrequentialMetrics(settings.metricsWindow());
    orderMetrics = new PrequentialMetrics(settings.metricsWindow());
    registerTask(g.addGroup("task", "click"), clickMetrics);
    registerTask(g.addGroup("task", "conversion"), conversionMetrics);
    registerTask(g.addGroup("task", "order"), orderMetrics);
    g.gauge("model_version", () -> learner.version());
    g.gauge("optimizer_steps", () -> learner.steps());
    g.gauge("minibatch_millis", () -> lastBatchMillis);
    g.gauge("state_cache_hit_rate", () -> cache.hitRate());
    g.gauge("gate_utilisation", () -> GateText.of(learner.gateUtilisation()));
  }

  private static void registerTask(MetricGroup g, PrequentialMetrics m) {
    g.gauge("auc", m::auc);
    g.gauge("logloss", m::logLoss);
    g.gauge("samples", m::total);
  }

  /** Accumulator: histogram of freshness buckets ({@link FreshnessTracker#bucket}), total. */
  public static final String FRESHNESS_TOTAL = "freshness_total_ms";

  /** Accumulator: histogram of freshness buckets, event time → label matured. */
  public static final String FRESHNESS_MATURITY = "freshness_maturity_ms";

  /** Accumulator: histogram of freshness buckets, label matured → first published version. */
  public static final String FRESHNESS_TRAIN_SYNC = "freshness_train_sync_ms";

  /** Accumulator: wall time (epoch ms) of the first event a learner subtask received. */
  public static final String FIRST_EVENT_WALL_MS = "learner_first_event_wall_ms";

  /** Accumulator: wall time (epoch ms) at which the last learner subtask's event input ended. */
  public static final String INPUT_ENDED_WALL_MS = "learner_input_ended_wall_ms";

  static String metricName(LabelJoiner.Counter c) {
    return switch (c) {
      case EVENTS -> "events_in";
      case DUPLICATES -> "duplicates";
      case ORPHAN_CLICKS -> "orphan_clicks";
      case UNATTRIBUTED_ORDERS -> "unattributed_orders";
      case CLICK_ROWS -> "click_rows";
      case CONVERSION_ROWS -> "conversion_rows";
      case USERS_EXPIRED -> "users_expired";
    };
  }

  private transient LabelJoiner.Output sink;

  private LabelJoiner.Output newSink() {
    return new LabelJoiner.Output() {
      @Override
      public void sample(Sample s) {
        batch.add(s);
        freshness.matured(s.context().timeMs(), System.currentTimeMillis());
      }

      @Override
      public void impression(Sample unlabelled) {
        unscored.add(unlabelled);
      }

      @Override
      public void count(LabelJoiner.Counter c) {
        counters.get(c).inc();
      }
    };
  }

  @Override
  public void processElement(StreamRecord<Event> record) throws Exception {
    Event e = record.getValue();
    if (!seenEvent) {
      seenEvent = true;
      firstEventAt.add(System.currentTimeMillis());
    }
    UserState s = load();
    long t0 = System.nanoTime();
    boolean duplicate = joiner.isDuplicate(s, e);
    phases.since(PhaseTimes.Phase.LABEL_JOINING, t0);
    if (duplicate) {
      counters.get(LabelJoiner.Counter.DUPLICATES).inc();
      output.collect(DUPLICATES, new StreamRecord<>(e, e.timeMs()));
      save(s);
      return;
    }
    if (e.timeMs() <= timers.currentWatermark()) {
      // Late: everything up to the watermark has been applied already, so apply it now rather
      // than lose it; its labels join whatever is still pending.
      lateEvents.inc();
      long t1 = System.nanoTime();
      joiner.onEvent(s, e, sink);
      phases.since(PhaseTimes.Phase.LABEL_JOINING, t1);
      userStateApplied(s, e);
      userStateAfter(s, Math.max(e.timeMs(), timers.currentWatermark()));
    } else {
      s.buffered().add(e);
    }
    scheduleTimer(s, Long.MIN_VALUE);
    save(s);
    trainIfFull();
  }

  @Override
  public void onEventTime(InternalTimer<Long, VoidNamespace> timer) throws Exception {
    UserState s = loadExisting();
    if (s == null) return; // user already cleared
    long t = timer.getTimestamp();
    s.setTimerAt(Long.MAX_VALUE); // the earliest timer fired; later ones are re-derived below
    List<Event> due = new ArrayList<>();
    for (Iterator<Event> it = s.buffered().iterator(); it.hasNext(); ) {
      Event e = it.next();
      if (e.timeMs() <= t) {
        due.add(e);
        it.remove();
      }
    }
    long t0 = System.nanoTime();
    due.sort(Event::compareProcessingOrder);
    for (Event e : due) {
      joiner.onTime(s, e.timeMs() - 1, sink); // deadlines strictly before the event close first
      joiner.onEvent(s, e, sink);
      userStateApplied(s, e);
    }
    boolean idle = joiner.onTime(s, t, sink);
    phases.since(PhaseTimes.Phase.LABEL_JOINING, t0);
    if (idle) {
      // Cleared; events that arrived after the idle gap (still waiting) start a fresh state.
      userStateBeforeClear(s, t);
      UserState fresh = s.restartedAfterIdle();
      if (fresh.buffered().isEmpty()) {
        cache.remove(currentUser());
        userState.clear();
        trainIfFull();
        return;
      }
      s = fresh;
    }
    userStateAfter(s, t);
    scheduleTimer(s, t + 1);
    save(s);
    trainIfFull();
  }

  @Override
  public void onProcessingTime(InternalTimer<Long, VoidNamespace> timer) {
    // keyed processing-time timers are not used; the flush timer is the operator-wide one
  }

  /**
   * Keeps one event-time timer per user at the earliest moment it has work (a buffered event to
   * apply, a label deadline, idle expiry) instead of one per event: a timer is registered only when
   * that moment moves earlier than the one already registered.
   */
  private void scheduleTimer(UserState s, long floor) {
    long want = Math.min(joiner.nextDeadline(s), s.earliestBuffered());
    if (want == Long.MAX_VALUE) return;
    // Inside a timer callback never at or before the firing timer: it would fire again at once.
    want = Math.max(want, floor);
    if (want < s.timerAt()) {
      timers.registerEventTimeTimer(VoidNamespace.INSTANCE, want);
      s.setTimerAt(want);
    }
  }

  private long currentUser() {
    return (Long) getCurrentKey();
  }

  /** The current user's state, or null when the user has none. */
  private UserState loadExisting() throws Exception {
    long user = currentUser();
    UserState s = cache.get(user);
    if (s != null) return s;
    long t0 = System.nanoTime();
    byte[] bytes = userState.value();
    if (bytes == null) {
      phases.since(PhaseTimes.Phase.STATE_ACCESS, t0);
      return null;
    }
    s = UserStateCodec.decode(bytes);
    phases.since(PhaseTimes.Phase.STATE_ACCESS, t0);
    cache.putClean(user, s);
    return s;
  }

  private UserState load() throws Exception {
    UserState s = loadExisting();
    return s != null ? s : new UserState(settings.labels().hiddenSize());
  }

  private void save(UserState s) throws Exception {
    cache.put(currentUser(), s, writeBack);
  }

  /**
   * Called after the current user's state is saved (so the cache holds every user's latest state).
   */
  private void trainIfFull() {
    if (unscored.size() >= settings.batchSize()) scoreImpressions();
    if (batch.size() >= settings.batchSize()) train();
    else if ((!batch.isEmpty() || !unscored.isEmpty()) && !flushTimerArmed) armFlushTimer();
  }

  /**
   * Scores the impressions gathered since the last call in one batched forward and attaches each
   * score to its pending impression (or click) in keyed state, and to rows of it already waiting in
   * the minibatch buffer. Runs before every training step, so no label is trained on before its
   * impression's score is taken.
   */
  private void scoreImpressions() {
    if (unscored.isEmpty()) return;
    long t0 = System.nanoTime();
    float[][] p = learner.score(unscored);
    phases.since(PhaseTimes.Phase.IMPRESSION_SCORING, t0);
    long version = learner.version();
    Map<String, ImpressionScore> byImpression = new HashMap<>();
    Object current = getCurrentKey();
    try {
      for (int i = 0; i < p.length; i++) {
        Sample x = unscored.get(i);
        ImpressionScore score = new ImpressionScore(p[i][0], p[i][1], p[i][2], version);
        byImpression.put(x.impressionEventId(), score);
        setCurrentKey(x.userId());
        UserState s = loadExisting();
        if (s != null && s.attachScore(x.impressionEventId(), score)) save(s);
      }
    } catch (Exception e) {
      throw new IllegalStateException("cannot attach impression scores to user state", e);
    } finally {
      if (current != null) setCurrentKey(current);
    }
    for (int i = 0; i < batch.size(); i++) {
      Sample b = batch.get(i);
      ImpressionScore score =
          b.impressionScore() == null ? byImpression.get(b.impressionEventId()) : null;
      if (score != null) batch.set(i, b.withImpressionScore(score));
    }
    unscored.clear();
  }

  private void armFlushTimer() {
    flushTimerArmed = true;
    long at = getProcessingTimeService().getCurrentProcessingTime() + settings.flushIntervalMs();
    getProcessingTimeService()
        .registerTimer(
            at,
            ts -> {
              flushTimerArmed = false;
              train();
            });
  }

  /** Scores, then trains on, everything gathered so far (in minibatches of the configured size). */
  private void train() {
    scoreImpressions();
    while (!batch.isEmpty()) {
      int n = Math.min(batch.size(), settings.batchSize());
      List<Sample> mb = new ArrayList<>(batch.subList(0, n));
      batch.subList(0, n).clear();
      freshness.trained(n);
      long version = learner.version();
      long t0 = System.nanoTime();
      float[][] p = learner.scoreThenTrain(mb);
      lastBatchMillis = (System.nanoTime() - t0) / 1e6;
      batches.inc();
      for (int i = 0; i < n; i++) emitScored(mb.get(i), p[i], version);
      // bounded drift: at most max-minibatches of own training between two sends
      if (replicaSync != null
          && sync.maxMinibatches() > 0
          && ++minibatchesSinceSend >= sync.maxMinibatches()) sendDelta(false, true);
      clickMetrics.publish();
      conversionMetrics.publish();
      orderMetrics.publish();
    }
  }

  private void emitScored(Sample s, float[] trained, long trainedVersion) {
    // The impression-time score when it was taken, else (state from format 1) the minibatch's.
    ImpressionScore at = s.impressionScore();
    float[] p = at == null ? trained : new float[] {at.click(), at.conversion(), at.order()};
    long version = at == null ? trainedVersion : at.modelVersion();
    if (s.click() >= 0) clickMetrics.add(s.click(), p[0]);
    if (s.conversion() >= 0) conversionMetrics.add(s.conversion(), p[1]);
    if (s.order() >= 0) orderMetrics.add(s.order(), p[2]);
    output.collect(
        new StreamRecord<>(
            new ScoredSample(
                s.userId(),
                s.requestId(),
                s.item().itemId(),
                s.impressionEventId(),
                s.row() == Sample.Row.CONVERSION,
                s.click(),
                s.conversion(),
                s.order(),
                p[0],
                p[1],
                p[2],
                version,
                s.labelTimeMs()),
            s.labelTimeMs()));
  }

  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    train(); // the minibatch buffer is never part of a checkpoint: it is trained on first
    cache.flush(writeBack); // keyed state must hold every user's latest state at the barrier
    // No checkpoint holds training only the replica knows: the unsent delta goes ahead of the
    // barrier, so it is in the parameter server's checkpointed state. Why: on scale-in a
    // subtask's replica is dropped (union state, one entry kept per remaining subtask), and the
    // training it did since its last sync would go with it.
    if (replicaSync != null) sendDelta(false, false);
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    long t0 = System.nanoTime();
    learnerState.clear();
    int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    learnerState.add(ReplicaEntry.of(me, learner.saveState()));
    syncState.clear();
    if (replicaSync != null) syncState.add(ReplicaEntry.of(me, replicaSync.save()));
    phases.since(PhaseTimes.Phase.CHECKPOINT, t0);
  }

  @Override
  public void finish() throws Exception {
    train();
    cache.flush(writeBack);
    if (snapshots != null) publish(); // end of input: the final snapshot
    if (replicaSync != null && replicaSync.published() != null)
      finalDivergence.add(replicaSync.divergence(learner.parameters()));
    servingCheck();
    super.finish();
  }

  private void armSnapshotTimer() {
    long at = getProcessingTimeService().getCurrentProcessingTime() + settings.snapshotIntervalMs();
    getProcessingTimeService()
        .registerTimer(
            at,
            ts -> {
              train(); // publish what has been learned from every sample gathered so far
              publish();
              armSnapshotTimer();
            });
  }

  /**
   * Publishes the replica under the next version: max(checkpointed version, highest published) + 1,
   * so a restart never reuses a version number. A failed write is logged and counted, and the
   * learner keeps learning.
   */
  private void publish() {
    try {
      long next = Math.max(learner.version(), snapshots.highestVersion()) + 1;
      java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
      m.put("auc_click", clickMetrics.auc());
      m.put("auc_conversion", conversionMetrics.auc());
      m.put("auc_order", orderMetrics.auc());
      m.put("samples_click", (double) clickMetrics.total());
      m.values().removeIf(v -> !Double.isFinite(v));
      snapshots.publish(
          learner.snapshot(next, false), timers.currentWatermark(), java.util.Map.of(), m);
      learner.setVersion(next);
      published.inc();
    } catch (Exception e) {
      publishFailures.inc();
      LOG.warn("snapshot publication failed; the learner goes on", e);
    }
  }

  static Path toPath(String dirOrUri) {
    return dirOrUri.startsWith("file:")
        ? Paths.get(java.net.URI.create(dirOrUri))
        : Paths.get(dirOrUri);
  }

  /** The learner of this subtask (for the job's end-of-input snapshot and for tests). */
  public Learner learner() {
    return learner;
  }

  // ---- User state for serving (issue 5 item 4): the compacted user-state topic + serving check

  /**
   * Serving states (user id, {@code UserServingState} bytes) for the compacted user-state topic.
   */
  public static final OutputTag<Tuple2<Long, byte[]>> USER_STATES =
      new OutputTag<>(
          "user-states",
          new TupleTypeInfo<>(
              BasicTypeInfo.LONG_TYPE_INFO, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));

  /** The end-of-input serving check: one JSON line per checked user (see {@link #servingCheck}). */
  public static final OutputTag<String> SERVING_CHECKS =
      new OutputTag<>("serving-checks", BasicTypeInfo.STRING_TYPE_INFO);

  /** The scene of the serving check's requests. */
  static final String CHECK_SCENE = "home";

  /** The serving check's request time: this long after the user's latest event (ages > 0). */
  static final long CHECK_DELAY_MS = 60_000;

  private UserStateSettings userStateSettings; // null = no user-state output

  private transient Counter userStatesEmitted;
  private transient Map<Long, CheckedUser> checkUsers;
  private transient java.util.LinkedHashMap<Long, io.perceive.job.domain.Item> checkItems;

  /** The state of a user as emitted, kept for the serving check. */
  private record CheckedUser(RequestContext context, long version) {}

  /**
   * Emits users' serving states to {@link #USER_STATES} (and runs the serving check when {@code
   * settings.checkUsers() > 0}); without this call the learner emits none. Call before the job
   * starts.
   */
  public UserLearnerOperator withUserStates(UserStateSettings settings) {
    this.userStateSettings = settings;
    return this;
  }

  private void openUserStates(MetricGroup g) {
    userStatesEmitted =
        g.counter(
            "user_states_emitted",
            new CountingAccumulator(getRuntimeContext(), "user_states_emitted"));
    checkUsers = new java.util.LinkedHashMap<>();
    checkItems = new java.util.LinkedHashMap<>(16, 0.75f, true);
  }

  /** An applied event changed what serving sees (window, (h, c), profile, activity counts). */
  private void userStateApplied(UserState s, Event e) {
    if (userStateSettings == null) return;
    s.markServingChanged();
    if (userStateSettings.checkUsers() > 0
        && e.kind() == io.perceive.job.domain.EventKind.IMPRESSION) {
      // candidates of the check: the most recently impressed distinct items of this subtask
      checkItems.put(e.item().itemId(), e.item());
      if (checkItems.size() > userStateSettings.checkCandidates())
        checkItems.remove(checkItems.keySet().iterator().next());
    }
  }

  /**
   * Throttle, per user and in event time: a changed state is emitted when the last emission is at
   * least the minimum interval before {@code nowMs}; otherwise an event-time timer at the end of
   * the interval emits it then (the timer callback comes back here), so the newest state is never
   * held back for longer than the interval.
   */
  private void userStateAfter(UserState s, long nowMs) {
    if (userStateSettings == null || !s.servingChanged()) return;
    long last = s.servingEmittedAtMs();
    long interval = userStateSettings.minIntervalMs();
    if (last == Long.MIN_VALUE || nowMs - last >= interval) emitUserState(s, nowMs);
    else timers.registerEventTimeTimer(VoidNamespace.INSTANCE, last + interval);
  }

  /**
   * A user about to be cleared (idle expiry, also at end of input when the final watermark fires
   * every timer) gets its last state emitted regardless of the throttle. No tombstone follows: the
   * last state stays on the compacted topic so serving can still use the returning user's window
   * (docs/streaming-learner.md, "User state for serving").
   */
  private void userStateBeforeClear(UserState s, long nowMs) {
    if (userStateSettings != null && s.servingChanged()) emitUserState(s, nowMs);
  }

  private void emitUserState(UserState s, long nowMs) {
    long user = currentUser();
    long version = learner.version();
    var state = userStateSettings.states().of(user, s, version);
    output.collect(
        USER_STATES,
        new StreamRecord<>(
            Tuple2.of(user, userStateSettings.states().encode(state)), s.lastEventTimeMs()));
    s.markServingEmitted(nowMs);
    userStatesEmitted.inc();
    if (userStateSettings.checkUsers() > 0
        && (checkUsers.containsKey(user) || checkUsers.size() < userStateSettings.checkUsers()))
      checkUsers.put(user, new CheckedUser(checkContext(user, s), version));
  }

  /** The user side of a serving-check request, in the job's own (training) form. */
  private RequestContext checkContext(long user, UserState s) {
    return new RequestContext(
        user,
        -1,
        io.perceive.model.input.SceneCodes.of(CHECK_SCENE),
        s.lastEventTimeMs() + CHECK_DELAY_MS,
        s.h0().clone(),
        s.c0().clone(),
        s.window(),
        s.profileFeatures(settings.profileSize()),
        s.statsFeatures());
  }

  /**
   * The serving check (issue 7): at end of input, after the final snapshot, scores every remembered
   * user's last emitted state on the check candidates with this learner's final weights, through
   * the training forward's own input path, and writes each as a JSON line: {@code {"request": <a
   * POST /score body>, "modelVersion": V, "stateVersion": v, "click": [...], "conversion": [...],
   * "order": [...]}}. Serving, given the final snapshot and the user-state topic, must answer that
   * request with the same scores.
   */
  private void servingCheck() {
    if (userStateSettings == null || checkUsers.isEmpty() || checkItems.isEmpty()) return;
    List<io.perceive.job.domain.Item> items = new ArrayList<>(checkItems.values());
    List<Sample> samples = new ArrayList<>();
    for (CheckedUser u : checkUsers.values())
      for (io.perceive.job.domain.Item item : items)
        samples.add(
            new Sample(
                u.context(),
                "serving-check",
                item,
                0,
                Sample.Row.CLICK,
                Sample.MASKED,
                Sample.MASKED,
                Sample.MASKED,
                -1,
                u.context().timeMs(),
                null));
    float[][] p = learner.predict(samples);
    long version = learner.version();
    FeatureLayout layout = userStateSettings.states().features();
    int k = 0;
    for (CheckedUser u : checkUsers.values()) {
      RequestContext c = u.context();
      StringBuilder j = new StringBuilder(256 + 160 * items.size());
      j.append("{\"request\":{\"userId\":").append(c.userId());
      j.append(",\"scene\":\"").append(CHECK_SCENE).append('"');
      j.append(",\"requestTimeMs\":").append(c.timeMs());
      j.append(",\"candidates\":[");
      for (int i = 0; i < items.size(); i++) {
        io.perceive.model.input.CandidateInput ci =
            BatchBuilder.candidateInput(items.get(i), 0, layout);
        if (i > 0) j.append(',');
        j.append("{\"itemId\":").append(ci.itemId());
        if (ci.shopId() != -1) j.append(",\"shopId\":").append(ci.shopId());
        if (ci.brandId() != -1) j.append(",\"brandId\":").append(ci.brandId());
        if (ci.categoryId() != -1) j.append(",\"categoryId\":").append(ci.categoryId());
        j.append(",\"features\":{");
        int f = 0;
        for (var e : new java.util.TreeMap<>(ci.features()).entrySet()) {
          if (f++ > 0) j.append(',');
          j.append('"').append(e.getKey()).append("\":").append(e.getValue());
        }
        j.append("}}");
      }
      j.append("]},\"modelVersion\":").append(version);
      j.append(",\"stateVersion\":").append(u.version());
      String[] tasks = {"click", "conversion", "order"};
      for (int t = 0; t < 3; t++) {
        j.append(",\"").append(tasks[t]).append("\":[");
        for (int i = 0; i < items.size(); i++) {
          if (i > 0) j.append(',');
          j.append(p[k + i][t]);
        }
        j.append(']');
      }
      k += items.size();
      output.collect(SERVING_CHECKS, new StreamRecord<>(j.append('}').toString()));
    }
  }

  /** A replica in union operator state: owner subtask index + the learner's own bytes. */
  static final class ReplicaEntry {
    private ReplicaEntry() {}

    static byte[] of(int owner, byte[] payload) {
      byte[] b = new byte[payload.length + 4];
      b[0] = (byte) (owner >>> 24);
      b[1] = (byte) (owner >>> 16);
      b[2] = (byte) (owner >>> 8);
      b[3] = (byte) owner;
      System.arraycopy(payload, 0, b, 4, payload.length);
      return b;
    }

    static int owner(byte[] b) {
      return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
    }

    static byte[] payload(byte[] b) {
      return java.util.Arrays.copyOfRange(b, 4, b.length);
    }
  }
}
