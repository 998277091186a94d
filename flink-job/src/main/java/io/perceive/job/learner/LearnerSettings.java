package io.perceive.job.learner;

import io.perceive.job.domain.LabelConfig;
import java.io.Serializable;

/**
 * What a {@link UserLearnerOperator} needs besides its learner: label windows and state sizes,
 * minibatch size, how often a partial minibatch is flushed, the prequential metrics window, and
 * where and how often snapshots are published ({@code snapshotDir} null = never).
 */
public record LearnerSettings(
    LabelConfig labels,
    int profileSize,
    int batchSize,
    long flushIntervalMs,
    int metricsWindow,
    String snapshotDir,
    long snapshotIntervalMs,
    int snapshotsKept,
    int stateCacheUsers)
    implements Serializable {

  public LearnerSettings {
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1");
    if (flushIntervalMs < 1) throw new IllegalArgumentException("flush interval must be >= 1 ms");
    if (metricsWindow < 2) throw new IllegalArgumentException("metrics window must be >= 2");
    if (profileSize < 0) throw new IllegalArgumentException("profile size must be >= 0");
    if (snapshotIntervalMs < 1)
      throw new IllegalArgumentException("snapshot interval must be >= 1 ms");
    if (snapshotsKept < 1) throw new IllegalArgumentException("snapshots kept must be >= 1");
    if (stateCacheUsers < 1) throw new IllegalArgumentException("state cache must hold >= 1 user");
  }
}
