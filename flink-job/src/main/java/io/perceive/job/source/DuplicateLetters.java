package io.perceive.job.source;

import io.perceive.job.domain.Event;
import io.perceive.schemas.DeadLetters;
import io.perceive.schemas.RejectionReason;
import java.nio.charset.StandardCharsets;
import org.apache.flink.api.common.functions.MapFunction;

/**
 * Turns a duplicate found in keyed state into a dead letter (reason DUPLICATE). The original bytes
 * are no longer at hand there, so the letter carries a JSON description of the event instead.
 */
public final class DuplicateLetters implements MapFunction<Event, byte[]> {

  private static final long serialVersionUID = 1L;

  private final String topic;

  public DuplicateLetters(String topic) {
    this.topic = topic;
  }

  @Override
  public byte[] map(Event e) {
    String json =
        String.format(
            java.util.Locale.ROOT,
            "{\"eventId\":\"%s\",\"userId\":%d,\"type\":\"%s\",\"eventTimeMs\":%d,\"requestId\":%d,\"itemId\":%d}",
            e.eventId().replace("\"", "\\\""),
            e.userId(),
            e.kind(),
            e.timeMs(),
            e.requestId(),
            e.item().itemId());
    return DeadLetters.encode(
        DeadLetters.of(
            Long.toString(e.userId()).getBytes(StandardCharsets.UTF_8),
            json.getBytes(StandardCharsets.UTF_8),
            topic,
            -1,
            -1,
            RejectionReason.DUPLICATE,
            "event id " + e.eventId() + " already seen for user " + e.userId(),
            e.timeMs(),
            System.currentTimeMillis()));
  }
}
