package io.perceive.job.sync;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta;
import io.perceive.model.snapshot.MalformedDataException;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The parameter server's model logic, free of Flink (the ParameterServerOperator moves state and
 * publishes): the global parameters, the model version, which learner deltas each version contains,
 * and the learners' latest prequential metrics for the publication gate.
 *
 * <p>Deltas of one learner gathered for a version are summed; the learners' sums are then combined
 * per {@link MergeMode}. Staleness is not bounded: a delta cut against an older version is applied
 * to the current one (asynchronous SGD); with sync intervals of about a second, a delta is at most
 * a version or two stale.
 */
public final class ParameterServer {

  private static final byte[] MAGIC = "PRCVPSRV".getBytes(StandardCharsets.US_ASCII);
  private static final int CURRENT_VERSION = 1;

  private final Map<String, String> modelConfig;
  private final ParameterSet global;
  private final MergeMode mergeMode;
  private long version;
  private final Map<Integer, Long> coverage = new TreeMap<>();
  private final Map<Integer, ParameterDelta> gathered = new TreeMap<>();
  private final Map<Integer, Long> gatheredSeq = new TreeMap<>();
  private final Map<Integer, Map<String, Double>> metrics = new TreeMap<>();
  private final Set<Integer> finished = new HashSet<>();
  private int learners;
  private long watermarkMs = Long.MIN_VALUE;
  private long merged;

  /** A server whose global model starts at {@code initial} (the learners' common start). */
  public ParameterServer(Map<String, String> modelConfig, ParameterSet initial, MergeMode mode) {
    this.modelConfig = Map.copyOf(modelConfig);
    this.global = initial;
    this.mergeMode = mode;
  }

  /** Takes one learner delta; it is merged into the next published version. */
  public void accept(LearnerDelta d) throws MalformedDataException {
    ParameterDelta delta = ParameterDelta.decode(d.delta());
    if (delta.layoutFingerprint() != ParameterDelta.fingerprint(global)) {
      delta.release();
      throw new MalformedDataException(
          "delta of learner " + d.subtask() + " has another parameter layout than the model");
    }
    long have =
        Math.max(coverage.getOrDefault(d.subtask(), 0L), gatheredSeq.getOrDefault(d.subtask(), 0L));
    if (d.seq() <= have) { // a redelivered delta (already gathered or merged)
      delta.release();
      return;
    }
    learners = d.parallelism(); // the current run's (a rescaled restore may have fewer)
    ParameterDelta prior = gathered.get(d.subtask());
    if (prior == null) gathered.put(d.subtask(), delta);
    else {
      gathered.put(
          d.subtask(), ParameterDelta.merge(List.of(prior, delta), ParameterDelta.MergeMode.SUM));
      // native buffers are freed now, not by a pointer GC the test JVMs and launcher may run
      // without: a learner syncing every few minibatches sends hundreds of deltas
      prior.release();
      delta.release();
    }
    gatheredSeq.put(d.subtask(), d.seq());
    metrics.put(d.subtask(), d.metrics());
    if (d.last()) finished.add(d.subtask());
    watermarkMs = Math.max(watermarkMs, d.watermarkMs());
    merged++;
  }

  /** True when every learner has contributed since the last version (or announced its end). */
  public boolean everyLearnerContributed() {
    if (learners == 0 || gathered.isEmpty()) return false;
    for (int i = 0; i < learners; i++)
      if (!gathered.containsKey(i) && !finished.contains(i)) return false;
    return true;
  }

  public boolean hasGathered() {
    return !gathered.isEmpty();
  }

  /** True when every learner subtask has sent its final delta (end of a bounded run). */
  public boolean allFinished() {
    return learners > 0 && finished.size() == learners;
  }

  /**
   * Merges everything gathered into the global parameters as version {@code newVersion}; returns
   * the DELTA update (the merged delta), or empty when nothing was gathered.
   */
  public Optional<ModelUpdate> mergeGathered(
      String runId, long incarnation, long newVersion, long now) {
    if (gathered.isEmpty()) return Optional.empty();
    if (newVersion <= version)
      throw new IllegalStateException(
          "versions only increase: " + newVersion + " after " + version);
    List<ParameterDelta> sums = new ArrayList<>(gathered.values());
    ParameterDelta m =
        ParameterDelta.merge(sums, ParameterDelta.MergeMode.valueOf(mergeMode.name()));
    m.applyTo(global);
    for (ParameterDelta d : sums) d.release();
    coverage.putAll(gatheredSeq);
    gathered.clear();
    gatheredSeq.clear();
    long base = version;
    version = newVersion;
    return Optional.of(
        new ModelUpdate(
            runId,
            incarnation,
            ModelUpdate.Kind.DELTA,
            version,
            base,
            now,
            watermarkMs,
            coverage,
            encodeAndRelease(m)));
  }

  private static byte[] encodeAndRelease(ParameterDelta m) {
    byte[] b = m.encode();
    m.release();
    return b;
  }

  /**
   * The current global parameters as a FULL update of version {@code atVersion} (a restarted server
   * announces itself with a FULL under a fresh version number).
   */
  public ModelUpdate full(String runId, long incarnation, long atVersion, long now) {
    if (atVersion < version)
      throw new IllegalStateException("versions only increase: " + atVersion + " after " + version);
    version = atVersion;
    try {
      return new ModelUpdate(
          runId,
          incarnation,
          ModelUpdate.Kind.FULL,
          version,
          version,
          now,
          watermarkMs,
          coverage,
          SnapshotFile.toBytes(snapshot(now)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public ModelUpdate end(String runId, long incarnation, long now) {
    return new ModelUpdate(
        runId,
        incarnation,
        ModelUpdate.Kind.END,
        version,
        version,
        now,
        watermarkMs,
        coverage,
        new byte[0]);
  }

  /** The global model as a snapshot stamped with the current version. */
  public Snapshot snapshot(long now) {
    return new Snapshot(version, now, modelConfig, global, Optional.empty());
  }

  /** Names of the first non-finite parameter found (dense name or table), or empty. */
  public Optional<String> nonFinite() {
    HostView flat = HostView.of(global.flat());
    long n = global.denseLength();
    for (int i = 0; i < n; i++)
      if (!Double.isFinite(flat.get(i))) return Optional.of("dense parameter #" + i);
    for (EmbeddingTable t : global.tables().values()) {
      HostView w = HostView.of(t.weights());
      for (int i = 0; i < w.length(); i++)
        if (!Double.isFinite(w.get(i))) return Optional.of("table " + t.name());
    }
    return Optional.empty();
  }

  /**
   * The learners' latest metrics combined: {@code samples_<task>} summed, every other metric {@code
   * <m>_<task>} averaged weighted by that task's samples.
   */
  public Map<String, Double> combinedMetrics() {
    Map<String, Double> weighted = new LinkedHashMap<>();
    Map<String, Double> weights = new LinkedHashMap<>();
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map<String, Double> m : metrics.values())
      m.forEach(
          (k, v) -> {
            if (k.startsWith("samples_")) {
              out.merge(k, v, Double::sum);
              return;
            }
            if (!Double.isFinite(v)) return;
            String task = k.substring(k.lastIndexOf('_') + 1);
            double w = m.getOrDefault("samples_" + task, 1.0);
            weighted.merge(k, v * w, Double::sum);
            weights.merge(k, w, Double::sum);
          });
    weighted.forEach((k, v) -> out.put(k, weights.get(k) > 0 ? v / weights.get(k) : v));
    return out;
  }

  public long version() {
    return version;
  }

  public Map<Integer, Long> coverage() {
    return coverage;
  }

  public ParameterSet global() {
    return global;
  }

  public long watermarkMs() {
    return watermarkMs;
  }

  /** Learner deltas accepted so far. */
  public long deltasMerged() {
    return merged;
  }

  /**
   * Checkpoint form: magic "PRCVPSRV" | int32 version | model version | learners | coverage |
   * gathered deltas (subtask, seq, bytes) | finished subtasks | global parameters (snapshot bytes).
   * Metrics are not kept: the learners send fresh ones with every delta.
   */
  public byte[] save() {
    try {
      byte[][] deltas = new byte[gathered.size()][];
      long size = MAGIC.length + 4 + 8 + 4 + 8 + 4 + 12L * coverage.size() + 4;
      int i = 0;
      for (ParameterDelta d : gathered.values()) {
        deltas[i] = d.encode();
        size += 4 + 8 + 4 + deltas[i++].length;
      }
      byte[] g = SnapshotFile.toBytes(snapshot(0));
      size += 4 + 4L * finished.size() + 4 + g.length;
      // one exactly sized buffer: the state is model-sized and written at every checkpoint
      ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
      out.put(MAGIC).putInt(CURRENT_VERSION).putLong(version).putInt(learners).putLong(watermarkMs);
      out.putInt(coverage.size());
      for (var e : coverage.entrySet()) out.putInt(e.getKey()).putLong(e.getValue());
      out.putInt(gathered.size());
      i = 0;
      for (var e : gathered.entrySet()) {
        out.putInt(e.getKey()).putLong(gatheredSeq.get(e.getKey()));
        out.putInt(deltas[i].length).put(deltas[i++]);
      }
      out.putInt(finished.size());
      for (int f : finished) out.putInt(f);
      out.putInt(g.length).put(g);
      return out.array();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialise the parameter server", e);
    }
  }

  /** Restores what {@link #save()} wrote into this server (same model layout). */
  public void restore(byte[] b) throws IOException {
    if (b.length < MAGIC.length + 4 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC))
      throw new MalformedDataException("not a Perceive parameter-server state (bad magic)");
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
    in.skipNBytes(MAGIC.length);
    int v = in.readInt();
    if (v != CURRENT_VERSION)
      throw new MalformedDataException(
          "unsupported parameter-server state version "
              + v
              + " (understood: "
              + CURRENT_VERSION
              + ")");
    version = in.readLong();
    learners = in.readInt();
    watermarkMs = in.readLong();
    coverage.clear();
    for (int i = 0, n = in.readInt(); i < n; i++) coverage.put(in.readInt(), in.readLong());
    gathered.clear();
    gatheredSeq.clear();
    for (int i = 0, n = in.readInt(); i < n; i++) {
      int s = in.readInt();
      gatheredSeq.put(s, in.readLong());
      gathered.put(s, ParameterDelta.decode(in.readNBytes(in.readInt())));
    }
    finished.clear();
    for (int i = 0, n = in.readInt(); i < n; i++) finished.add(in.readInt());
    Snapshot g = SnapshotFile.fromBytes(in.readNBytes(in.readInt()), "checkpointed global model");
    g.copyInto(global);
    g.parameters().close();
  }
}
