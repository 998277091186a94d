package io.perceive.model.input;

import java.util.List;
import java.util.Map;

/**
 * Everything the user side of the model needs for one request: the user id (-1 = unknown), the LSTM
 * state (h, c) at the start of the behaviour window (null = a fresh user, zeros), the window's
 * behaviours oldest first, the profile features by model feature name (including the {@code
 * activity_*} statistics; absent or NaN = missing, the Missing Value Layer fills it), the request's
 * scene code and the request time at which behaviour ages are measured.
 */
public record UserInput(
    long userId,
    float[] hidden,
    float[] cell,
    List<BehaviourRecord> window,
    Map<String, Double> profile,
    int scene,
    long requestTimeMs) {

  public UserInput {
    if ((hidden == null) != (cell == null))
      throw new IllegalArgumentException("hidden and cell state must be given together");
    if (hidden != null && hidden.length != cell.length)
      throw new IllegalArgumentException(
          "hidden has " + hidden.length + " values but cell has " + cell.length);
    window = window == null ? List.of() : List.copyOf(window);
    profile = profile == null ? Map.of() : profile;
  }
}
