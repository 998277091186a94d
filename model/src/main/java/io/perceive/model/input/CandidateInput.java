package io.perceive.model.input;

import java.util.Map;

/**
 * One candidate item: ids (-1 = missing) and its continuous features by model feature name ({@code
 * price} and the item feature map; absent or NaN = missing).
 */
public record CandidateInput(
    long itemId, long shopId, long brandId, long categoryId, Map<String, Double> features) {

  public CandidateInput {
    features = features == null ? Map.of() : features;
  }
}
