package io.perceive.serving;

import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.BehaviourTypes;
import io.perceive.model.input.SceneCodes;
import io.perceive.model.input.UserInput;
import io.perceive.schemas.Behaviour;
import io.perceive.schemas.UserServingState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a stored {@link UserServingState} into the model's {@link UserInput} for one request. A
 * state computed under an older model version stays usable: the window's raw behaviours are
 * re-encoded with the live model's weights, only (h, c) at the window start come from the older
 * weights; a state whose (h, c) width does not fit the live model falls back to zeros (a fresh LSTM
 * start) rather than failing the request. The optional precomputed user vector is ignored because
 * the split recomputes u under the live version anyway.
 */
final class UserStates {

  private UserStates() {}

  /** Whether the state's LSTM width fits a model with {@code hidden} units. */
  static boolean fits(UserServingState s, int hidden) {
    return s.getHidden().size() == hidden && s.getCell().size() == hidden;
  }

  static UserInput toInput(
      UserServingState s, int hidden, Map<String, Double> extraProfile, int scene, long nowMs) {
    float[] h = null, c = null;
    if (fits(s, hidden)) {
      h = new float[hidden];
      c = new float[hidden];
      for (int i = 0; i < hidden; i++) {
        h[i] = s.getHidden().get(i);
        c[i] = s.getCell().get(i);
      }
    }
    List<BehaviourRecord> window = new ArrayList<>(s.getWindow().size());
    for (Behaviour b : s.getWindow())
      window.add(
          new BehaviourRecord(
              b.getItemId(),
              orMissing(b.getShopId()),
              orMissing(b.getBrandId()),
              orMissing(b.getCategoryId()),
              BehaviourTypes.of(b.getType().name()),
              SceneCodes.of(b.getScene() == null ? null : b.getScene().toString()),
              b.getEventTimeMs()));
    Map<String, Double> profile = new HashMap<>();
    if (s.getProfile() != null)
      s.getProfile()
          .forEach(
              (k, v) -> {
                if (v != null) profile.put(k.toString(), v);
              });
    if (extraProfile != null) profile.putAll(extraProfile);
    return new UserInput(s.getUserId(), h, c, window, profile, scene, nowMs);
  }

  private static long orMissing(Long id) {
    return id == null ? -1 : id;
  }
}
