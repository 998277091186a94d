package io.perceive.job.source;

import io.perceive.job.domain.Event;

/**
 * What the source emits for one Kafka record: a valid event, or the encoded dead letter of a
 * rejected record (original bytes, position, reason) bound for the dead-letter topic.
 */
public record Incoming(Event event, byte[] deadLetter) {

  public static Incoming valid(Event e) {
    return new Incoming(e, null);
  }

  public static Incoming rejected(byte[] deadLetter) {
    return new Incoming(null, deadLetter);
  }

  public boolean isValid() {
    return event != null;
  }
}
