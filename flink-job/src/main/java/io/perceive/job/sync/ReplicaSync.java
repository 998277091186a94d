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
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The learner side of parameter sync (DESIGN.md "Parameters and versions"), free of Flink: it cuts
 * the replica's delta since the previous send, and rebases the replica when a published version
 * arrives:
 *
 * <pre>
 * replica := published + Σ own deltas sent but not yet contained (seq &gt; coverage) + unsent changes
 * </pre>
 *
 * Deltas are exact in double precision ({@link ParameterDelta}), so at parallelism 1 a rebase gives
 * back the replica bit for bit and training equals a single-loop trainer's. Optimizer state is not
 * touched: it stays per learner.
 *
 * <p>Cost: diffs and copies visit only embedding rows that may differ, tracked per table as two row
 * sets — replica vs. sent (the rows the optimizer or a rebase wrote, drained from {@link
 * EmbeddingTable#drainWrittenInto}) and published vs. sent (rows of published updates and of own
 * sends) — so a sync costs the dense part plus the rows changed since the last send or version, not
 * the table sizes. Every other row is bit-equal in the sets concerned, so the results are the full
 * diff's and full copy's (docs/streaming-learner.md "Cost of one sync").
 *
 * <p>Which updates are followed: only those of this run; after a restore from a checkpoint, nothing
 * until a FULL from a newer server incarnation (the restored server's), since updates written after
 * the checkpoint by the failed lineage may reuse this learner's delta sequence numbers. A DELTA
 * must apply to the version held; otherwise it is skipped (counted) and the next FULL repairs the
 * gap.
 */
public final class ReplicaSync {

  /** What {@link #onUpdate} did. */
  public enum Outcome {
    REBASED,
    IGNORED,
    END
  }

  private record Pending(long seq, long sentAtMs, ParameterDelta delta) {}

  private static final byte[] MAGIC = "PRCVRSYN".getBytes(StandardCharsets.US_ASCII);
  private static final int CURRENT_VERSION = 1;

  private final boolean trackRows; // false: full diffs and copies (the reference)
  private final ParameterSet replica; // the one replica whose written rows this sync drains
  private final String runId;
  private final int subtask;
  private final int parallelism;
  private ParameterSet sent; // the replica as of the last send (or rebase)
  private ParameterSet published; // the latest published parameters followed; null until a FULL
  private long publishedVersion;
  private long incarnation = -1;
  private long incarnationFloor = -1; // after a restore: follow only incarnations above this
  private long seq;
  private final Deque<Pending> pending = new ArrayDeque<>();
  private long skipped;
  private long rebases;
  // per table: rows where the replica may differ from sent (besides those its tracker holds)
  private final Map<String, BitSet> replicaVsSent = new HashMap<>();
  // per table: rows where published may differ from sent (besides those its tracker holds)
  private final Map<String, BitSet> publishedVsSent = new HashMap<>();

  /**
   * A fresh sync state for a replica that starts at {@code replica} (the common initial model);
   * {@link #takeDelta} and {@link #onUpdate} take this same set.
   */
  public ReplicaSync(String runId, int subtask, int parallelism, ParameterSet replica) {
    this(runId, subtask, parallelism, replica, true);
  }

  /**
   * The same, diffing and copying every row on every send and version as before row tracking: the
   * reference the tracked sync is tested and measured against ({@code SyncCostProbe}).
   */
  static ReplicaSync fullScan(String runId, int subtask, int parallelism, ParameterSet replica) {
    return new ReplicaSync(runId, subtask, parallelism, replica, false);
  }

  private ReplicaSync(
      String runId, int subtask, int parallelism, ParameterSet replica, boolean trackRows) {
    this.trackRows = trackRows;
    this.replica = replica;
    this.runId = runId;
    this.subtask = subtask;
    this.parallelism = parallelism;
    this.sent = replica.copy();
    for (EmbeddingTable t : replica.tables().values()) {
      replicaVsSent.put(t.name(), new BitSet(t.rows()));
      publishedVsSent.put(t.name(), new BitSet(t.rows()));
      t.drainWrittenInto(new BitSet()); // sent is a copy: nothing written so far differs
    }
  }

  /**
   * The delta since the previous send, as the message for the parameter server; empty when nothing
   * changed (a final delta is always produced, the server counts them to end the run).
   */
  public Optional<LearnerDelta> takeDelta(
      ParameterSet replica, Map<String, Double> metrics, boolean last, long watermarkMs, long now) {
    if (!trackRows) {
      ParameterDelta d =
          ParameterDelta.diff(sent, replica, publishedVersion, ParameterDelta.DenseMode.DIFFERENCE);
      if (!last && isEmpty(d)) return Optional.empty();
      seq++;
      pending.addLast(new Pending(seq, now, d));
      copyValues(replica, sent);
      return Optional.of(
          new LearnerDelta(
              subtask, parallelism, seq, publishedVersion, last, watermarkMs, metrics, d.encode()));
    }
    requireOwnReplica(replica);
    drain(replica, replicaVsSent);
    ParameterDelta d =
        ParameterDelta.diff(
            sent, replica, publishedVersion, ParameterDelta.DenseMode.DIFFERENCE, replicaVsSent);
    // the candidate rows not in d are equal; those in d are about to be copied: none differ after
    for (BitSet b : replicaVsSent.values()) b.clear();
    if (!last && isEmpty(d)) return Optional.empty();
    seq++;
    pending.addLast(new Pending(seq, now, d));
    // in place, no new native buffers per sync: the dense buffer whole, of the tables only d's rows
    sent.flat().assign(replica.flat());
    for (ParameterDelta.TableRows t : d.tables().values()) {
      copyRows(replica.table(t.table()), sent.table(t.table()), t.rows());
      BitSet pub = publishedVsSent.get(t.table());
      for (int r : t.rows()) pub.set(r); // sent moved away from published on these rows
    }

    return Optional.of(
        new LearnerDelta(
            subtask, parallelism, seq, publishedVersion, last, watermarkMs, metrics, d.encode()));
  }

  static boolean isEmpty(ParameterDelta d) {
    if (d.changedRows() > 0) return false;
    return d.dense().length() == 0 || d.dense().amaxNumber().doubleValue() == 0.0;
  }

  /**
   * Follows a published update; on a DELTA or FULL of the current lineage rebases {@code replica}.
   */
  public Outcome onUpdate(ModelUpdate u, ParameterSet replica) throws MalformedDataException {
    if (!u.runId().equals(runId) || u.incarnation() <= incarnationFloor) return Outcome.IGNORED;
    if (u.kind() == ModelUpdate.Kind.END)
      return u.incarnation() == incarnation ? Outcome.END : Outcome.IGNORED;
    if (u.incarnation() < incarnation) return Outcome.IGNORED;
    if (u.kind() == ModelUpdate.Kind.FULL) {
      boolean newer =
          published == null || u.incarnation() > incarnation || u.version() > publishedVersion;
      if (!newer) return Outcome.IGNORED; // the periodic FULL of a version already followed
      Snapshot s;
      try {
        s = SnapshotFile.fromBytes(u.payload(), "FULL update v" + u.version());
      } catch (MalformedDataException e) {
        throw e;
      } catch (IOException e) {
        throw new MalformedDataException("FULL update v" + u.version() + ": " + e.getMessage(), e);
      }
      if (published == null) published = replica.copy();
      s.copyInto(published);
      s.parameters()
          .close(); // model-sized, every FULL: freed now, not by a pointer GC (may be off)
      incarnation = u.incarnation();
    } else {
      if (published == null
          || u.incarnation() != incarnation
          || u.baseVersion() != publishedVersion) {
        skipped++;
        return Outcome.IGNORED;
      }
      ParameterDelta d = ParameterDelta.decode(u.payload());
      d.applyTo(published);
      d.release();
    }
    publishedVersion = u.version();
    rebase(replica, u.covered(subtask));
    return Outcome.REBASED;
  }

  private void rebase(ParameterSet replica, long covered) {
    if (!trackRows) {
      ParameterDelta unsent =
          ParameterDelta.diff(sent, replica, publishedVersion, ParameterDelta.DenseMode.DIFFERENCE);
      while (!pending.isEmpty() && pending.peekFirst().seq() <= covered)
        pending.removeFirst().delta().release();
      copyValues(published, sent);
      for (Pending p : pending) p.delta().applyTo(sent);
      copyValues(sent, replica);
      unsent.applyTo(replica);
      unsent.release();
      rebases++;
      return;
    }
    requireOwnReplica(replica);
    drain(replica, replicaVsSent);
    drain(published, publishedVsSent);
    ParameterDelta unsent =
        ParameterDelta.diff(
            sent, replica, publishedVersion, ParameterDelta.DenseMode.DIFFERENCE, replicaVsSent);
    while (!pending.isEmpty() && pending.peekFirst().seq() <= covered)
      pending.removeFirst().delta().release();
    // sent := published (in place: no new native buffers per version); equal outside
    // publishedVsSent
    sent.flat().assign(published.flat());
    for (EmbeddingTable t : published.tables().values())
      copyRows(t, sent.table(t.name()), publishedVsSent.get(t.name()));
    // rows the replica must take from the new sent: where it differed from the old sent, and where
    // the new sent differs from the old (published's changes, the pending deltas re-applied below)
    for (var e : replicaVsSent.entrySet()) e.getValue().or(publishedVsSent.get(e.getKey()));
    for (BitSet b : publishedVsSent.values()) b.clear();
    for (Pending p : pending)
      for (ParameterDelta.TableRows t : p.delta().tables().values())
        for (int r : t.rows()) {
          publishedVsSent.get(t.table()).set(r); // sent = published + pending: differ only here
          replicaVsSent.get(t.table()).set(r);
        }
    for (Pending p : pending) p.delta().applyTo(sent);
    replica.flat().assign(sent.flat());
    for (EmbeddingTable t : sent.tables().values())
      copyRows(t, replica.table(t.name()), replicaVsSent.get(t.name()));
    unsent.applyTo(replica);
    // replica = sent + unsent: they differ on unsent's rows only
    for (BitSet b : replicaVsSent.values()) b.clear();
    for (ParameterDelta.TableRows t : unsent.tables().values())
      for (int r : t.rows()) replicaVsSent.get(t.table()).set(r);
    drain(replica, null); // this method's own writes, accounted for just above
    drain(sent, null);
    unsent.release();
    rebases++;
  }

  /**
   * Why: the rows a sync visits are those written in the replica it was created for; another set's
   * changes would go unseen.
   */
  private void requireOwnReplica(ParameterSet p) {
    if (p != replica)
      throw new IllegalArgumentException(
          "ReplicaSync of subtask " + subtask + " follows the replica it was created for only");
  }

  /** Moves the rows written in {@code p}'s tables since the last drain into {@code into}. */
  private static void drain(ParameterSet p, Map<String, BitSet> into) {
    for (EmbeddingTable t : p.tables().values())
      t.drainWrittenInto(into == null ? new BitSet() : into.get(t.name()));
  }

  /** Copies the values and last-update times of {@code rows} of {@code from} into {@code to}. */
  static void copyRows(EmbeddingTable from, EmbeddingTable to, int[] rows) {
    ByteBuffer src = HostView.of(from.weights()).bytes();
    ByteBuffer dst = HostView.of(to.weights()).bytes();
    int rowBytes = from.dim() * from.weights().dataType().width();
    for (int r : rows) {
      dst.put(r * rowBytes, src, r * rowBytes, rowBytes);
      to.lastUpdate()[r] = from.lastUpdate()[r];
    }
    Reference.reachabilityFence(from.weights());
    Reference.reachabilityFence(to.weights());
  }

  /** The same for the rows set in {@code rows}. */
  static void copyRows(EmbeddingTable from, EmbeddingTable to, BitSet rows) {
    copyRows(from, to, rows.stream().toArray());
  }

  /** Copies all values and row last-update times of {@code from} into {@code to} (same layout). */
  static void copyValues(ParameterSet from, ParameterSet to) {
    to.flat().assign(from.flat());
    for (EmbeddingTable t : from.tables().values()) {
      EmbeddingTable dst = to.table(t.name());
      dst.weights().assign(t.weights());
      System.arraycopy(t.lastUpdate(), 0, dst.lastUpdate(), 0, t.rows());
    }
  }

  /**
   * The largest absolute difference between {@code replica} and the published parameters followed
   * (0 when the replica equals the published model; NaN before the first FULL).
   */
  public double divergence(ParameterSet replica) {
    if (published == null) return Double.NaN;
    ParameterDelta d =
        ParameterDelta.diff(
            published, replica, publishedVersion, ParameterDelta.DenseMode.DIFFERENCE);
    double max = d.dense().length() == 0 ? 0 : d.dense().amaxNumber().doubleValue();
    for (ParameterDelta.TableRows t : d.tables().values())
      if (t.size() > 0) max = Math.max(max, t.values().amaxNumber().doubleValue());
    return max;
  }

  /** The published version the replica is based on (0 before the first). */
  public long publishedVersion() {
    return publishedVersion;
  }

  /** The replica as of the last send or rebase; for tests. */
  ParameterSet sent() {
    return sent;
  }

  /** The latest published parameters followed (null before the first FULL); for tests. */
  public ParameterSet published() {
    return published;
  }

  public long incarnation() {
    return incarnation;
  }

  /** Deltas sent that no published version contains yet. */
  public int pendingDeltas() {
    return pending.size();
  }

  /** Milliseconds since the oldest delta not yet contained in a published version was sent. */
  public long lagMs(long now) {
    return pending.isEmpty() ? 0 : now - pending.peekFirst().sentAtMs();
  }

  public long sequence() {
    return seq;
  }

  /** DELTA updates skipped because they did not apply to the version held. */
  public long skippedUpdates() {
    return skipped;
  }

  public long rebases() {
    return rebases;
  }

  /**
   * Checkpoint form: magic "PRCVRSYN" | int32 version | seq | incarnation | published version |
   * replica-at-last-send (snapshot bytes) | pending deltas (seq, sent at, delta bytes).
   */
  public byte[] save() {
    try {
      byte[] s = SnapshotFile.toBytes(new Snapshot(0, 0, Map.of(), sent, Optional.empty()));
      byte[][] deltas = new byte[pending.size()][];
      long size = MAGIC.length + 4 + 8 + 8 + 8 + 4 + s.length + 4;
      int i = 0;
      for (Pending p : pending) {
        deltas[i] = p.delta().encode();
        size += 8 + 8 + 4 + deltas[i++].length;
      }
      // one exactly sized buffer: the state is model-sized and written at every checkpoint
      ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(size));
      out.put(MAGIC).putInt(CURRENT_VERSION).putLong(seq).putLong(incarnation);
      out.putLong(publishedVersion).putInt(s.length).put(s).putInt(pending.size());
      i = 0;
      for (Pending p : pending) {
        out.putLong(p.seq()).putLong(p.sentAtMs()).putInt(deltas[i].length).put(deltas[i++]);
      }
      return out.array();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialise the sync state", e);
    }
  }

  /**
   * Restores what {@link #save()} wrote. The restored learner then waits for a FULL from a newer
   * server incarnation before it follows updates again.
   */
  public void restore(byte[] b) throws IOException {
    if (b.length < MAGIC.length + 4 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC))
      throw new MalformedDataException("not a Perceive sync state (bad magic)");
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
    in.skipNBytes(MAGIC.length);
    int version = in.readInt();
    if (version != CURRENT_VERSION)
      throw new MalformedDataException(
          "unsupported sync state version " + version + " (understood: " + CURRENT_VERSION + ")");
    seq = in.readLong();
    incarnation = in.readLong();
    publishedVersion = in.readLong();
    byte[] s = in.readNBytes(in.readInt());
    Snapshot snap = SnapshotFile.fromBytes(s, "checkpointed sync state");
    snap.copyInto(sent);
    snap.parameters().close();
    // the replica and the published model to come may differ from this sent anywhere
    for (EmbeddingTable t : sent.tables().values()) {
      replicaVsSent.get(t.name()).set(0, t.rows());
      publishedVsSent.get(t.name()).set(0, t.rows());
    }
    drain(sent, null);
    pending.clear();
    int n = in.readInt();
    for (int i = 0; i < n; i++) {
      long q = in.readLong();
      long at = in.readLong();
      byte[] d = in.readNBytes(in.readInt());
      pending.addLast(new Pending(q, at, ParameterDelta.decode(d)));
    }
    incarnationFloor = incarnation;
    published = null;
  }
}
