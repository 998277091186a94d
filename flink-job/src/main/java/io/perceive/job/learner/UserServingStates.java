package io.perceive.job.learner;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.UserState;
import io.perceive.model.input.BehaviourTypes;
import io.perceive.model.input.SceneCodes;
import io.perceive.schemas.EventType;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.UserServingState;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a learner's {@link UserState} into the {@code user-state} topic's {@link UserServingState}
 * (DESIGN.md: LSTM (h, c) at the window start, the window's raw behaviours, profile features) and
 * its Kafka key. The profile map holds exactly what the job's {@link BatchBuilder} feeds the model
 * — the event profile features and the activity statistics, by model feature name, NaN left out —
 * so serving's {@code UserStates} rebuilds the same {@code UserInput} through the shared {@code
 * InputBuilder}. Codes go back to names ({@link BehaviourTypes}, {@link SceneCodes#nameOf}) and id
 * -1 (missing) to null, the inverse of what serving decodes.
 */
public final class UserServingStates implements Serializable {

  private static final long serialVersionUID = 1L;

  private final FeatureLayout features;
  private final int profileSize;
  private transient RecordCodec<UserServingState> codec;

  /**
   * @param features where the model's features come from (the job's {@link FeatureLayout})
   * @param profileSize values per event profile (the event mapping's profile size)
   */
  public UserServingStates(FeatureLayout features, int profileSize) {
    this.features = features;
    this.profileSize = profileSize;
  }

  /** The feature layout the states are written with. */
  public FeatureLayout features() {
    return features;
  }

  /** The serving state of {@code userId} as computed under {@code modelVersion}. */
  public UserServingState of(long userId, UserState s, long modelVersion) {
    List<io.perceive.schemas.Behaviour> window = new ArrayList<>();
    for (Behaviour b : s.window())
      window.add(
          io.perceive.schemas.Behaviour.newBuilder()
              .setItemId(b.itemId())
              .setShopId(idOrNull(b.shopId()))
              .setBrandId(idOrNull(b.brandId()))
              .setCategoryId(idOrNull(b.categoryId()))
              .setType(EventType.valueOf(BehaviourTypes.NAMES.get(b.behaviourType())))
              .setScene(SceneCodes.nameOf(b.scene()))
              .setEventTimeMs(b.timeMs())
              .build());
    Map<String, Double> profile = new LinkedHashMap<>();
    float[] values = s.profileFeatures(profileSize);
    List<String> names = features.eventProfileNames();
    for (int i = 0; i < names.size() && i < values.length; i++)
      put(profile, names.get(i), values[i]);
    float[] stats = s.statsFeatures();
    for (int i = 0; i < UserState.STAT_NAMES.size(); i++)
      put(profile, UserState.STAT_NAMES.get(i), stats[i]);
    return UserServingState.newBuilder()
        .setUserId(userId)
        .setModelVersion(modelVersion)
        .setUpdatedAtEventTimeMs(s.lastEventTimeMs())
        .setHidden(floats(s.h0()))
        .setCell(floats(s.c0()))
        .setWindow(window)
        .setProfile(new LinkedHashMap<>(profile))
        .setUserVector(null)
        .build();
  }

  /** The record's value bytes: Avro single-object encoding (schema fingerprint + body). */
  public byte[] encode(UserServingState state) {
    if (codec == null) codec = RecordCodec.of(UserServingState.class);
    return codec.encode(state);
  }

  /** The record's key: the user id in decimal, UTF-8 (what serving's store follower parses). */
  public static byte[] key(long userId) {
    return Long.toString(userId).getBytes(StandardCharsets.UTF_8);
  }

  private static Long idOrNull(long id) {
    return id == -1 ? null : id;
  }

  private static void put(Map<String, Double> m, String name, float v) {
    if (!Float.isNaN(v)) m.put(name, (double) v);
  }

  private static List<Float> floats(float[] a) {
    List<Float> l = new ArrayList<>(a.length);
    for (float v : a) l.add(v);
    return l;
  }
}
