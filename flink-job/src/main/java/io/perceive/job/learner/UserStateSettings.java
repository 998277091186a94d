package io.perceive.job.learner;

import java.io.Serializable;

/**
 * How a {@link UserLearnerOperator} publishes users' serving states (issue 5 item 4) and whether it
 * runs the end-of-input serving check.
 *
 * @param minIntervalMs at most one user-state record per user per this much event time (0 = on
 *     every change); a changed state is still emitted when the interval has passed (a timer), and
 *     always before the user is cleared
 * @param states the converter to the {@code user-state} record and its key
 * @param checkUsers users remembered for the serving check (0 = off): at end of input, after the
 *     final snapshot, each one's last emitted state is scored with the final weights
 * @param checkCandidates candidate items per checked user: the last distinct impressed items
 */
public record UserStateSettings(
    long minIntervalMs, UserServingStates states, int checkUsers, int checkCandidates)
    implements Serializable {

  public UserStateSettings {
    if (minIntervalMs < 0)
      throw new IllegalArgumentException("user-state min interval must be >= 0 ms");
    if (states == null) throw new IllegalArgumentException("user-state converter is required");
    if (checkUsers < 0) throw new IllegalArgumentException("serving check users must be >= 0");
    if (checkCandidates < 1)
      throw new IllegalArgumentException("serving check candidates must be >= 1");
  }
}
