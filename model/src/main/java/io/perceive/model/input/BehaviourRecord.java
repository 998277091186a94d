package io.perceive.model.input;

/**
 * One behaviour of a user's recent window as the model sees it (DUPN's x_t: item + side
 * information, and its properties): ids (-1 = missing), the behaviour-type code ({@link
 * BehaviourTypes}), the scene code ({@link SceneCodes}) and the behaviour's event time, from which
 * the time-gap property (its age at the request) is computed.
 */
public record BehaviourRecord(
    long itemId,
    long shopId,
    long brandId,
    long categoryId,
    int behaviourType,
    int scene,
    long timeMs) {}
