package io.perceive.job.source;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.Item;
import io.perceive.model.input.SceneCodes;
import io.perceive.schemas.UserEvent;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * Maps a validated wire event ({@link UserEvent}) to the learner's {@link Event}: optional ids
 * become -1, continuous features are placed in the configured order with NaN for missing (the
 * model's Missing Value Layer learns what to use instead).
 */
public final class EventMapping implements Serializable {

  private static final long serialVersionUID = 1L;

  private final List<String> profileFeatures;
  private final List<String> itemFeatures;

  /**
   * @param profileFeatures names of profile features, in model order
   * @param itemFeatures names of item features after the price, in model order
   */
  public EventMapping(List<String> profileFeatures, List<String> itemFeatures) {
    this.profileFeatures = List.copyOf(profileFeatures);
    this.itemFeatures = List.copyOf(itemFeatures);
  }

  public int profileSize() {
    return profileFeatures.size();
  }

  /** Price plus the configured item features. */
  public int itemFeatureSize() {
    return 1 + itemFeatures.size();
  }

  public Event toEvent(UserEvent u) {
    io.perceive.schemas.Item wi = u.getItem();
    float[] f = new float[itemFeatureSize()];
    f[0] = wi.getPrice() == null ? Float.NaN : wi.getPrice().floatValue();
    Map<String, Double> extra = wi.getFeatures();
    for (int i = 0; i < itemFeatures.size(); i++) f[i + 1] = valueOf(extra, itemFeatures.get(i));
    Item item =
        new Item(
            wi.getItemId(),
            orMissing(wi.getShopId()),
            orMissing(wi.getBrandId()),
            orMissing(wi.getCategoryId()),
            f);
    float[] profile = null;
    if (u.getProfile() != null) {
      profile = new float[profileFeatures.size()];
      for (int i = 0; i < profile.length; i++)
        profile[i] = valueOf(u.getProfile(), profileFeatures.get(i));
    }
    return new Event(
        u.getEventId(),
        u.getUserId(),
        EventKind.valueOf(u.getType().name()),
        u.getEventTimeMs(),
        u.getRequestId(),
        u.getPosition(),
        SceneCodes.of(u.getScene()),
        item,
        profile);
  }

  private static long orMissing(Long id) {
    return id == null ? -1 : id;
  }

  private static float valueOf(Map<String, Double> m, String key) {
    if (m == null) return Float.NaN;
    Double v = m.get(key);
    return v == null ? Float.NaN : v.floatValue();
  }
}
