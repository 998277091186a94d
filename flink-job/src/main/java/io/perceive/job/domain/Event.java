package io.perceive.job.domain;

import java.util.Objects;

/**
 * One validated user event as the learner sees it, independent of the wire format. Continuous
 * features use NaN for "missing" (the model's Missing Value Layer learns what to put there).
 *
 * @param eventId producer-assigned id, used for de-duplication
 * @param userId the key
 * @param kind impression, click, cart or order
 * @param timeMs event time
 * @param requestId the page view an impression belongs to; clicks carry the request they came from
 * @param position slot of the impression on the page (0-based), -1 when unknown
 * @param scene scene id (see {@link Scenes})
 * @param item the item with its side information
 * @param profile the user's profile features in the job's configured order (NaN = missing), or null
 *     when the event carries none
 */
public record Event(
    String eventId,
    long userId,
    EventKind kind,
    long timeMs,
    long requestId,
    int position,
    int scene,
    Item item,
    float[] profile) {

  public Event {
    Objects.requireNonNull(eventId, "eventId");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(item, "item");
  }

  /** Sort order of the contract: time, then impression &lt; click &lt; cart &lt; order. */
  public static int compareProcessingOrder(Event a, Event b) {
    int c = Long.compare(a.timeMs, b.timeMs);
    return c != 0 ? c : Integer.compare(a.kind.ordinal(), b.kind.ordinal());
  }
}
