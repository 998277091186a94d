package io.perceive.schemas;

import java.util.Objects;

/**
 * Outcome of {@link EventCodec#decode(byte[])}: either a valid {@link UserEvent} or a {@link
 * Rejection}.
 */
public final class DecodeResult {
  private final UserEvent event;
  private final Rejection rejection;

  private DecodeResult(UserEvent event, Rejection rejection) {
    this.event = event;
    this.rejection = rejection;
  }

  /** A decoded event that passed validation. */
  public static DecodeResult accepted(UserEvent event) {
    return new DecodeResult(Objects.requireNonNull(event, "event"), null);
  }

  /** A refused record. */
  public static DecodeResult rejected(Rejection rejection) {
    return new DecodeResult(null, Objects.requireNonNull(rejection, "rejection"));
  }

  /** A refused record, built from its parts. */
  public static DecodeResult rejected(RejectionReason reason, String detail, byte[] original) {
    return rejected(new Rejection(reason, detail, original));
  }

  public boolean isValid() {
    return event != null;
  }

  /** The event; throws {@link IllegalStateException} on a rejection. */
  public UserEvent event() {
    if (event == null) {
      throw new IllegalStateException("not a valid event: " + rejection);
    }
    return event;
  }

  /** The rejection; throws {@link IllegalStateException} on a valid event. */
  public Rejection rejection() {
    if (rejection == null) {
      throw new IllegalStateException("the record was valid");
    }
    return rejection;
  }

  @Override
  public String toString() {
    return isValid() ? "accepted(" + event.getEventId() + ")" : "rejected(" + rejection + ")";
  }
}
