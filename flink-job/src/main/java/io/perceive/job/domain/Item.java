package io.perceive.job.domain;

/**
 * An item with its hashed-id side information and continuous features. Ids are -1 when missing.
 *
 * @param features continuous features in the configured order (price first), NaN = missing
 */
public record Item(long itemId, long shopId, long brandId, long categoryId, float[] features) {

  /** Price, the first continuous feature by convention; NaN when missing. */
  public float price() {
    return features.length == 0 ? Float.NaN : features[0];
  }
}
