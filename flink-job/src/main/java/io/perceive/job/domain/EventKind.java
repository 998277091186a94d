package io.perceive.job.domain;

/**
 * The kinds of user event, in the order the label contract processes events that share a timestamp:
 * impression &lt; click &lt; cart &lt; order (MovieLens gives all of a rating's events one
 * timestamp).
 */
public enum EventKind {
  IMPRESSION,
  CLICK,
  CART,
  ORDER;

  /** Behaviour-type id fed to the model's property embedding (0 is reserved for "none"). */
  public int behaviourType() {
    return ordinal();
  }

  /** True for events that are user behaviours (they enter the behaviour window). */
  public boolean isBehaviour() {
    return this != IMPRESSION;
  }
}
