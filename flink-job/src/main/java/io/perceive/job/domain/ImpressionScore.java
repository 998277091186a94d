package io.perceive.job.domain;

/**
 * The prequential score of an impression taken when it happened: p(click), p(conversion), p(order)
 * from its frozen inputs and the model version of that moment. Kept with the pending impression
 * (and its click) until its labels mature, so positives and negatives are scored at the same point
 * of their lives — not positives at their click or order and negatives when their window closes,
 * with a model trained for up to a day longer (docs/streaming-learner.md, "Learning quality").
 */
public record ImpressionScore(float click, float conversion, float order, long modelVersion) {}
