package io.perceive.model.optim;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;

/**
 * A first-order update rule over a {@link ParameterSet} (Tribuo's contract: {@link #initialise} for
 * a layout → {@link #step} per minibatch → {@link #exportState}/{@link #importState}).
 *
 * <p>Dense parameters are updated on the flat buffer with a few large ND4J ops; embedding tables
 * only on the rows the gradient touched (sparse), and each touched row's {@code lastUpdate} is
 * stamped with the step's event time. Untouched rows and their optimizer state stay bit-identical.
 */
public interface Optimizer {

  /** Passed as event time when the caller has none: touched rows keep their last-update time. */
  long NO_EVENT_TIME = Long.MIN_VALUE;

  OptimizerConfig config();

  /** Allocates zeroed state for {@code p}'s layout (dense flat buffer + every table). */
  void initialise(ParameterSet p);

  boolean isInitialised();

  /** Updates {@code p} in place from {@code g}; stamps touched rows with {@code eventTimeMs}. */
  void step(ParameterSet p, Gradients g, long eventTimeMs);

  /** {@link #step(ParameterSet, Gradients, long)} without stamping rows. */
  default void step(ParameterSet p, Gradients g) {
    step(p, g, NO_EVENT_TIME);
  }

  /** Number of steps taken since initialisation (restored by {@link #importState}). */
  long steps();

  /** A deep copy of all state (moments, accumulators, per-row step counts, step count). */
  OptimizerState exportState();

  /**
   * Replaces the state with a copy of {@code s}. The optimizer must be initialised for the same
   * layout; the state's kind must match this optimizer's (its other hyperparameters may differ,
   * e.g. a learning rate changed on restart: this optimizer's own configuration wins).
   */
  void importState(OptimizerState s);

  /** Zeroes all state, as after {@link #initialise}. */
  void reset();

  /** An optimizer of the state's configuration, initialised for {@code p}, continuing from it. */
  static Optimizer restore(ParameterSet p, OptimizerState s) {
    Optimizer o = s.config().create();
    o.initialise(p);
    o.importState(s);
    return o;
  }
}
