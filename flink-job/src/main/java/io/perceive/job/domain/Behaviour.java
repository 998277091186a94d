package io.perceive.job.domain;

/**
 * One entry of a user's behaviour window: the raw inputs of one LSTM step (DUPN's behaviour x_t =
 * item + side information, and its properties: behaviour type, scene, and its event time, from
 * which the model's time-gap property — the age of the behaviour when it is used — is computed).
 */
public record Behaviour(
    long itemId,
    long shopId,
    long brandId,
    long categoryId,
    int behaviourType,
    int scene,
    long timeMs) {}
