package io.perceive.job.sync;

/**
 * How the parameter server combines the deltas of several learners gathered for one version (each
 * learner's own deltas are always summed first).
 */
public enum MergeMode {
  /** Every learner's change is applied in full (asynchronous SGD semantics). */
  SUM,
  /** The learners' changes are averaged over the learners that contributed (model averaging). */
  AVERAGE,
  /**
   * Dense weights averaged; each embedding row averaged over the learners whose delta touched it (a
   * user's rows, trained by one learner only, keep that learner's full change).
   */
  ROW_AVERAGE
}
