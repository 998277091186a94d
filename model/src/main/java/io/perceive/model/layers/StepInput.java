package io.perceive.model.layers;

/**
 * One behaviour for each of B users (a streaming LSTM step, e.g. when a behaviour leaves the
 * attention window). Arrays are [B]; ids and property codes may be -1 (missing).
 */
public record StepInput(
    long[] itemIds,
    long[] shopIds,
    long[] brandIds,
    long[] categoryIds,
    int[] behaviourTypes,
    int[] scenes,
    int[] timeGapBuckets) {

  public StepInput {
    if (itemIds == null) throw new IllegalArgumentException("itemIds is missing");
    int n = itemIds.length;
    check("shopIds", shopIds == null ? -1 : shopIds.length, n);
    check("brandIds", brandIds == null ? -1 : brandIds.length, n);
    check("categoryIds", categoryIds == null ? -1 : categoryIds.length, n);
    check("behaviourTypes", behaviourTypes == null ? -1 : behaviourTypes.length, n);
    check("scenes", scenes == null ? -1 : scenes.length, n);
    check("timeGapBuckets", timeGapBuckets == null ? -1 : timeGapBuckets.length, n);
  }

  /** Number of users B. */
  public int size() {
    return itemIds.length;
  }

  private static void check(String name, int actual, int expected) {
    if (actual != expected)
      throw new IllegalArgumentException(
          name
              + (actual < 0 ? " is missing" : " has length " + actual)
              + ", expected "
              + expected
              + " (as itemIds)");
  }
}
