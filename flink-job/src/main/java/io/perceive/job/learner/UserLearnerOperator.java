package io.perceive.job.learner;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.ImpressionScore;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.job.domain.UserStateCodec;
import io.perceive.job.publish.SnapshotStore;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
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
 * <p>Every new impression is also scored once, batched, before the next training step (or when a
 * minibatch of them has gathered): the score is attached to the pending impression in keyed state
 * and becomes the prequential score of its rows (docs/streaming-learner.md, "Learning quality").
 * Both happen before any training on its labels, so the score is still prequential.
 */
public class UserLearnerOperator extends AbstractStreamOperator<ScoredSample>
    implements OneInputStreamOperator<Event, ScoredSample>, Triggerable<Long, VoidNamespace> {

  private static final long serialVersionUID = 1L;

  /** Duplicates (within the horizon) leave through this side output for the dead-letter topic. */
  public static final OutputTag<Event> DUPLICATES = new OutputTag<>("duplicates") {};

  private final LearnerSettings settings;
  private final LearnerFactory learnerFactory;

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

  public UserLearnerOperator(LearnerSettings settings, LearnerFactory learnerFactory) {
    this.settings = settings;
    this.learnerFactory = learnerFactory;
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
          Object current = getCurrentKey();
          setCurrentKey(user);
          userState.update(UserStateCodec.encode(state));
          if (current != null) setCurrentKey(current);
        };
    sink = newSink();
    registerMetrics(getMetricGroup());
    // Part 1 publishes from the learner itself; only subtask 0 may, so versions stay unique.
    if (settings.snapshotDir() != null && me == 0) {
      snapshots = new SnapshotStore(toPath(settings.snapshotDir()), settings.snapshotsKept());
      armSnapshotTimer();
    }
  }

  private void registerMetrics(MetricGroup g) {
    counters = new EnumMap<>(LabelJoiner.Counter.class);
    for (LabelJoiner.Counter c : LabelJoiner.Counter.values())
      counters.put(
          c, g.counter(metricName(c), new CountingAccumulator(getRuntimeContext(), metricName(c))));
    lateEvents =
        g.counter("late_events", new CountingAccumulator(getRuntimeContext(), "late_events"));
    batches = g.counter("minibatches");
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
    UserState s = load();
    if (joiner.isDuplicate(s, e)) {
      counters.get(LabelJoiner.Counter.DUPLICATES).inc();
      output.collect(DUPLICATES, new StreamRecord<>(e, e.timeMs()));
      save(s);
      return;
    }
    if (e.timeMs() <= timers.currentWatermark()) {
      // Late: everything up to the watermark has been applied already, so apply it now rather
      // than lose it; its labels join whatever is still pending.
      lateEvents.inc();
      joiner.onEvent(s, e, sink);
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
    due.sort(Event::compareProcessingOrder);
    for (Event e : due) {
      joiner.onTime(s, e.timeMs() - 1, sink); // deadlines strictly before the event close first
      joiner.onEvent(s, e, sink);
    }
    boolean idle = joiner.onTime(s, t, sink);
    if (idle) {
      // Cleared; events that arrived after the idle gap (still waiting) start a fresh state.
      UserState fresh = s.restartedAfterIdle();
      if (fresh.buffered().isEmpty()) {
        cache.remove(currentUser());
        userState.clear();
        trainIfFull();
        return;
      }
      s = fresh;
    }
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
    byte[] bytes = userState.value();
    if (bytes == null) return null;
    s = UserStateCodec.decode(bytes);
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
    float[][] p = learner.score(unscored);
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
      long version = learner.version();
      long t0 = System.nanoTime();
      float[][] p = learner.scoreThenTrain(mb);
      lastBatchMillis = (System.nanoTime() - t0) / 1e6;
      batches.inc();
      for (int i = 0; i < n; i++) emitScored(mb.get(i), p[i], version);
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
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    learnerState.clear();
    int me = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    learnerState.add(ReplicaEntry.of(me, learner.saveState()));
  }

  @Override
  public void finish() throws Exception {
    train();
    cache.flush(writeBack);
    if (snapshots != null) publish(); // end of input: the final snapshot
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
