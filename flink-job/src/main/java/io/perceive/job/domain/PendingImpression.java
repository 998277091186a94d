package io.perceive.job.domain;

/** An impression waiting for its click or for its click window to close. */
public record PendingImpression(
    String eventId, long requestId, Item item, int position, long timeMs, long deadlineMs) {}
