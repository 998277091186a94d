package io.perceive.job.learner;

import io.perceive.job.domain.UserState;
import io.perceive.model.ModelConfig;
import io.perceive.model.input.InputBuilder;
import io.perceive.model.layers.MissingValueLayer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where each continuous model feature comes from, derived from the model configuration's feature
 * names so the names live in one place: profile features named {@code activity_*} are the job's
 * activity statistics, the others are read from the event's profile map; the item feature {@code
 * price} is the item's price, {@code position} the impression's slot on the page (the position-bias
 * feature: serving passes the slot being filled, or 0), {@code affinity_*} are computed from the
 * user's window by the model's InputBuilder, the others are read from the item's feature map.
 */
public final class FeatureLayout implements Serializable {

  private static final long serialVersionUID = 1L;

  private final List<String> eventProfileNames = new ArrayList<>();
  private final List<String> eventItemNames = new ArrayList<>();

  public FeatureLayout(ModelConfig cfg) {
    for (MissingValueLayer.Feature f : cfg.profileFeatures()) {
      String n = f.name();
      if (UserState.STAT_NAMES.contains(n)) continue;
      if (n.startsWith("activity_"))
        throw new IllegalArgumentException(
            "unknown activity statistic '" + n + "'; known: " + UserState.STAT_NAMES);
      eventProfileNames.add(n);
    }
    for (MissingValueLayer.Feature f : cfg.itemFeatures())
      if (!f.name().equals("price")
          && !f.name().equals("position")
          && !InputBuilder.AFFINITY_FEATURES.contains(f.name())) eventItemNames.add(f.name());
  }

  /** Profile feature names read from events (the event mapping's order). */
  public List<String> eventProfileNames() {
    return eventProfileNames;
  }

  /** Item feature names read from events after the price (the event mapping's order). */
  public List<String> eventItemNames() {
    return eventItemNames;
  }
}
