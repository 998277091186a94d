package io.perceive.job.sync;

import java.io.Serializable;

/**
 * Parameter sync and publication settings shared by the learners and the parameter server (from
 * {@code perceive.sync.*}, {@code perceive.snapshots.*}, {@code perceive.publish.*}).
 *
 * @param runId identifies this submission of the job on the model topics
 * @param syncIntervalMs processing time between a learner's deltas (and the server's longest wait
 *     before publishing what it has)
 * @param maxMinibatches a learner also sends its delta after this many of its own minibatches since
 *     its previous send, however short the interval (0 = by interval only): parallel learners drift
 *     apart between syncs, and in a fast replay a whole stream fits in one interval
 * @param maxPendingDeltas a learner defers an interval or minibatch-count send while this many of
 *     its deltas wait for a published version (the deferred changes go with its next send): every
 *     pending delta is kept in memory and in each checkpoint until a version contains it, so a
 *     parameter server that falls behind must slow the senders down, not fill their heaps
 * @param fullEvery a FULL update follows every this many versions (and one on every server start)
 * @param snapshotDir directory of snapshot files and manifests; null = no snapshots
 * @param maxAucDrop a snapshot is refused when the learners' recent click AUC fell more than this
 *     below the best seen in this run
 * @param minSamples click samples the learners must have scored before the AUC gate applies
 */
public record SyncSettings(
    String runId,
    String bootstrap,
    String updatesTopic,
    String manifestsTopic,
    long syncIntervalMs,
    int maxMinibatches,
    int maxPendingDeltas,
    MergeMode mergeMode,
    int fullEvery,
    String snapshotDir,
    long snapshotIntervalMs,
    int snapshotsKept,
    double maxAucDrop,
    long minSamples,
    int maxChunkBytes)
    implements Serializable {

  public SyncSettings {
    if (runId == null || runId.isBlank()) throw new IllegalArgumentException("run id required");
    if (syncIntervalMs < 1) throw new IllegalArgumentException("sync interval must be >= 1 ms");
    if (maxMinibatches < 0)
      throw new IllegalArgumentException("sync max-minibatches must be >= 0 (0 = interval only)");
    if (maxPendingDeltas < 1)
      throw new IllegalArgumentException("sync max-pending must be >= 1 delta");
    if (fullEvery < 1) throw new IllegalArgumentException("full-every must be >= 1 version");
    if (snapshotIntervalMs < 1)
      throw new IllegalArgumentException("snapshot interval must be >= 1 ms");
    if (snapshotsKept < 1) throw new IllegalArgumentException("snapshots kept must be >= 1");
    if (!(maxAucDrop >= 0 && maxAucDrop <= 1))
      throw new IllegalArgumentException("max AUC drop must be in [0, 1], got " + maxAucDrop);
    if (minSamples < 0) throw new IllegalArgumentException("min samples must be >= 0");
    if (mergeMode == null) throw new IllegalArgumentException("merge mode required");
  }
}
