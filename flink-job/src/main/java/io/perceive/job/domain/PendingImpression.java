package io.perceive.job.domain;

/**
 * An impression waiting for its click or for its click window to close; {@code score} is its
 * impression-time score once the learner has taken it (null before, or in state written before
 * format version 2).
 */
public record PendingImpression(
    String eventId,
    long requestId,
    Item item,
    int position,
    long timeMs,
    long deadlineMs,
    ImpressionScore score) {

  public PendingImpression withScore(ImpressionScore s) {
    return new PendingImpression(eventId, requestId, item, position, timeMs, deadlineMs, s);
  }
}
