package io.perceive.job.domain;

/**
 * A clicked impression waiting for an order of the same item or for its attribution window, with
 * the impression-time score (null when not taken yet).
 */
public record PendingClick(
    String impressionEventId,
    long requestId,
    Item item,
    int position,
    long impressionTimeMs,
    long clickTimeMs,
    long deadlineMs,
    ImpressionScore score) {

  public PendingClick withScore(ImpressionScore s) {
    return new PendingClick(
        impressionEventId, requestId, item, position, impressionTimeMs, clickTimeMs, deadlineMs, s);
  }
}
