package io.perceive.job.learner;

import io.perceive.job.domain.UserState;
import io.perceive.model.ModelConfig;
import io.perceive.model.layers.MissingValueLayer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where each continuous model feature comes from, derived from the model configuration's feature
 * names so the names live in one place: profile features named {@code activity_*} are the job's
 * activity statistics, the others are read from the event's profile map; the item feature {@code
 * price} is the item's price, {@code position} the impression's slot on the page (the position-bias
 * feature: serving passes the slot being filled, or 0), the others are read from the item's feature
 * map.
 */
public final class FeatureLayout implements Serializable {

  private static final long serialVersionUID = 1L;

  private final List<String> eventProfileNames = new ArrayList<>();
  private final List<String> eventItemNames = new ArrayList<>();

  /** Per model profile feature: &gt;= 0 index into the event profile, else -(stat index) - 1. */
  private final int[] profileSources;

  /** Per model item feature: index into {@code Item.features} (0 = price), or POSITION. */
  private final int[] itemSources;

  public FeatureLayout(ModelConfig cfg) {
    List<MissingValueLayer.Feature> profile = cfg.profileFeatures();
    profileSources = new int[profile.size()];
    for (int i = 0; i < profile.size(); i++) {
      String n = profile.get(i).name();
      int stat = UserState.STAT_NAMES.indexOf(n);
      if (stat >= 0) profileSources[i] = -stat - 1;
      else if (n.startsWith("activity_"))
        throw new IllegalArgumentException(
            "unknown activity statistic '" + n + "'; known: " + UserState.STAT_NAMES);
      else {
        profileSources[i] = eventProfileNames.size();
        eventProfileNames.add(n);
      }
    }
    List<MissingValueLayer.Feature> item = cfg.itemFeatures();
    itemSources = new int[item.size()];
    for (int i = 0; i < item.size(); i++) {
      String n = item.get(i).name();
      if (n.equals("price")) itemSources[i] = 0;
      else if (n.equals("position")) itemSources[i] = POSITION;
      else {
        eventItemNames.add(n);
        itemSources[i] = eventItemNames.size();
      }
    }
  }

  /** Profile feature names read from events (the event mapping's order). */
  public List<String> eventProfileNames() {
    return eventProfileNames;
  }

  /** Item feature names read from events after the price (the event mapping's order). */
  public List<String> eventItemNames() {
    return eventItemNames;
  }

  public int profileWidth() {
    return profileSources.length;
  }

  public int itemWidth() {
    return itemSources.length;
  }

  /** Writes the model-order profile row of a request into {@code out} at {@code offset}. */
  public void profileRow(float[] eventProfile, float[] stats, float[] out, int offset) {
    for (int i = 0; i < profileSources.length; i++) {
      int src = profileSources[i];
      out[offset + i] =
          src >= 0 ? (src < eventProfile.length ? eventProfile[src] : Float.NaN) : stats[-src - 1];
    }
  }

  /**
   * Writes the model-order item feature row into {@code out} at {@code offset}; {@code position} is
   * the impression's slot (negative = unknown → missing).
   */
  public void itemRow(float[] itemFeatures, int position, float[] out, int offset) {
    for (int i = 0; i < itemSources.length; i++) {
      int src = itemSources[i];
      if (src == POSITION) out[offset + i] = position < 0 ? Float.NaN : position;
      else out[offset + i] = src < itemFeatures.length ? itemFeatures[src] : Float.NaN;
    }
  }

  private static final int POSITION = -1;
}
