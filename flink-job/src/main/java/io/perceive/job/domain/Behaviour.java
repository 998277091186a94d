package io.perceive.job.domain;

/**
 * One entry of a user's behaviour window: the raw inputs of one LSTM step (DUPN's behaviour x_t =
 * item + side information, and its properties: behaviour type, scene, time since the previous
 * behaviour — bucketed when a batch is built).
 */
public record Behaviour(
    long itemId,
    long shopId,
    long brandId,
    long categoryId,
    int behaviourType,
    int scene,
    long gapMs,
    long timeMs) {

  /** No previous behaviour: the time gap is unknown. */
  public static final long NO_GAP = -1;
}
