package io.perceive.job.learner;

import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Where a learner subtask's time goes: cumulative nanoseconds per {@link Phase}, each a Flink
 * counter metric ({@code phase.<name>.nanos}) that also feeds an accumulator {@code
 * phase_nanos_<name>} (so a finished job reports them). Cheap by construction: one {@code
 * System.nanoTime()} pair per phase per minibatch, per RocksDB access (cache misses and write-backs
 * only) and per label-joiner call; never per tensor op.
 */
public final class PhaseTimes {

  /** The phases of a learner subtask's work, in the order a minibatch goes through them. */
  public enum Phase {
    /** RocksDB get + decode of a user state (state-cache misses) and encode + put (write-backs). */
    STATE_ACCESS("state_access"),
    /**
     * The label joiner: duplicate check, applying events, closing label windows. Includes {@link
     * #STATE_ADVANCE}, which the joiner calls.
     */
    LABEL_JOINING("label_joining"),
    /** Batched impression-time scoring (a forward without gradients) and attaching the scores. */
    IMPRESSION_SCORING("impression_scoring"),
    /** Samples → the model's input tensors (BatchBuilder, InputBuilder). */
    INPUT_ASSEMBLY("input_assembly"),
    /** The training forward: user encoding (LSTM + attention), sharing block, heads, losses. */
    FORWARD("forward"),
    /** Back-propagation into the gradient buffers. */
    BACKWARD("backward"),
    /** The optimizer step and the model's structural constraints. */
    OPTIMIZER("optimizer"),
    /** Advancing a user's LSTM state when a behaviour leaves the window (one step per event). */
    STATE_ADVANCE("state_advance"),
    /** Cutting the parameter delta, encoding and chunking it for the parameter server. */
    SYNC_EXTRACT("sync_extract"),
    /** Applying a published update and rebasing the replica on it. */
    SYNC_APPLY("sync_apply"),
    /**
     * Serialising the replica, its optimizer and sync state into operator state at a checkpoint.
     */
    CHECKPOINT("checkpoint");

    private final String key;

    Phase(String key) {
      this.key = key;
    }

    /** The metric / accumulator name part, e.g. {@code state_access}. */
    public String key() {
      return key;
    }

    /** The accumulator that carries this phase's nanoseconds in a job result. */
    public String accumulator() {
      return "phase_nanos_" + key;
    }
  }

  private final Counter[] counters;

  private PhaseTimes(Counter[] counters) {
    this.counters = counters;
  }

  /** Times nothing (a learner used outside the Flink operator, e.g. offline tools). */
  public static PhaseTimes disabled() {
    return new PhaseTimes(null);
  }

  /** Registers one counter + accumulator per phase on the operator's metric group. */
  public static PhaseTimes register(MetricGroup group, RuntimeContext ctx) {
    Phase[] phases = Phase.values();
    Counter[] c = new Counter[phases.length];
    for (Phase p : phases)
      c[p.ordinal()] =
          group
              .addGroup("phase", p.key())
              .counter("nanos", new CountingAccumulator(ctx, p.accumulator()));
    return new PhaseTimes(c);
  }

  /** Adds the time since {@code startNanos} (a {@code System.nanoTime()}) to {@code phase}. */
  public void since(Phase phase, long startNanos) {
    if (counters != null) counters[phase.ordinal()].inc(System.nanoTime() - startNanos);
  }

  /** Adds {@code nanos} to {@code phase}. */
  public void add(Phase phase, long nanos) {
    if (counters != null) counters[phase.ordinal()].inc(nanos);
  }

  /** Cumulative nanoseconds of {@code phase} in this subtask (0 when disabled). */
  public long nanos(Phase phase) {
    return counters == null ? 0 : counters[phase.ordinal()].getCount();
  }
}
