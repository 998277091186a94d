package io.perceive.job.domain;

/** A clicked impression waiting for an order of the same item or for its attribution window. */
public record PendingClick(
    String impressionEventId,
    long requestId,
    Item item,
    int position,
    long impressionTimeMs,
    long clickTimeMs,
    long deadlineMs) {}
