package io.perceive.job.learner;

import io.perceive.model.optim.OptimizerConfig;

/**
 * Defaults of the streaming job that differ from the model library's: the learners train with
 * Adagrad, η = 0.1, and the parameter server sums their deltas (asynchronous Adagrad, the
 * DistBelief "Downpour" recipe). Why: averaged Adam learners trail one learner by 0.08–0.10 click
 * AUC at parallelism 2 in ParameterSyncITCase, summed Adagrad learners by 0.02, and one Adagrad
 * learner is level with or better than one Adam learner (docs/streaming-learner.md, "Where the P=2
 * gap comes from").
 */
public final class PerceiveDefaults {
  private PerceiveDefaults() {}

  /** The learners' optimizer when no {@code perceive.optimizer.*} setting names a kind. */
  public static final OptimizerConfig OPTIMIZER = OptimizerConfig.adagrad(0.1);
}
