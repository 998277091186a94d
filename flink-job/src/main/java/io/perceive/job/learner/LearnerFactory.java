package io.perceive.job.learner;

import java.io.Serializable;

/** Creates a subtask's {@link Learner} when the operator opens (shipped with the job graph). */
@FunctionalInterface
public interface LearnerFactory extends Serializable {
  Learner create(int subtaskIndex, int parallelism);
}
