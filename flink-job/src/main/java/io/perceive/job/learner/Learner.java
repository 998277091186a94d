package io.perceive.job.learner;

import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.Sample;
import io.perceive.model.snapshot.Snapshot;
import java.util.List;
import java.util.Map;

/**
 * The model side of a learner subtask: its replica, optimizer and step logic. The Flink operator
 * moves state and calls this; it does no math itself.
 */
public interface Learner extends LabelJoiner.StateAdvancer {

  /**
   * Scores every sample with the current weights and its frozen inputs (prequential: predict, then
   * train), then takes one minibatch step on them. Returns p(click), p(conversion), p(order) per
   * sample, in order.
   */
  float[][] scoreThenTrain(List<Sample> batch);

  /**
   * Scores samples with the current weights and their frozen inputs without training (the
   * impression-time score, batched). Returns p(click), p(conversion), p(order) per sample, in
   * order.
   */
  float[][] score(List<Sample> samples);

  /** Number of optimizer steps taken by this replica. */
  long steps();

  /** The published model version this replica is based on. */
  long version();

  /** Marks the replica as (based on) published version {@code version}. */
  void setVersion(long version);

  /** The replica as a model snapshot stamped with {@code version}, for publication. */
  Snapshot snapshot(long version, boolean withOptimizer);

  /** Mean gate weight per task and expert over the last batch (empty without gates). */
  Map<String, double[]> gateUtilisation();

  /** Serialised replica + optimizer state (a versioned format) for operator state. */
  byte[] saveState();

  /** Restores what {@link #saveState()} wrote. */
  void restoreState(byte[] state);

  /**
   * Scores samples with the current weights and their frozen inputs, without training (the
   * end-of-input serving check). Returns p(click), p(conversion), p(order) per sample, in order.
   */
  default float[][] predict(List<Sample> samples) {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " cannot predict");
  }

  /**
   * Where to add the time of the phases this learner runs itself (input assembly, forward,
   * backward, optimizer, LSTM state advance); the operator calls it once when it opens.
   */
  default void timePhases(PhaseTimes phases) {}

  /**
   * The replica's parameters, which parameter sync reads and rebases in place; null for a learner
   * without a parameter set (test doubles), which then never syncs.
   */
  default io.perceive.model.core.ParameterSet parameters() {
    return null;
  }
}
