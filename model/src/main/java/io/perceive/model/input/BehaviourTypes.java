package io.perceive.model.input;

import java.util.List;
import java.util.Locale;

/**
 * Behaviour-type codes of the model's property embedding: the event type's position in the wire
 * enum {@code EventType} (IMPRESSION, CLICK, CART, ORDER), the rule the streaming job applies.
 */
public final class BehaviourTypes {

  /** Event type names; code = index. Must follow the order of {@code UserEvent.avsc}'s enum. */
  public static final List<String> NAMES = List.of("IMPRESSION", "CLICK", "CART", "ORDER");

  private BehaviourTypes() {}

  /** The code of an event type name (case-insensitive); unknown names are refused. */
  public static int of(String eventType) {
    if (eventType == null) throw new IllegalArgumentException("behaviour type is missing");
    int i = NAMES.indexOf(eventType.trim().toUpperCase(Locale.ROOT));
    if (i < 0)
      throw new IllegalArgumentException(
          "unknown behaviour type '" + eventType + "'; known: " + NAMES);
    return i;
  }
}
