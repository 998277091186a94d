package io.perceive.model.layers;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A minibatch of behaviour windows: {@code groups} sequences of {@code steps} behaviours each. All
 * arrays are [groups * steps], group-major then step; ids may be -1 (missing → the table's missing
 * row), property values are small non-negative codes or -1 (missing). {@code mask} is 1 for a real
 * step and 0 for padding; windows shorter than {@code steps} are left-padded so every sequence ends
 * at step {@code steps - 1}. {@code h0}/{@code c0} [groups, hidden] are the LSTM state at the
 * window start.
 */
public record SequenceInput(
    int groups,
    int steps,
    long[] itemIds,
    long[] shopIds,
    long[] brandIds,
    long[] categoryIds,
    int[] behaviourTypes,
    int[] scenes,
    int[] timeGapBuckets,
    float[] mask,
    INDArray h0,
    INDArray c0) {

  public SequenceInput {
    if (groups < 1) throw new IllegalArgumentException("groups must be >= 1, got " + groups);
    if (steps < 1) throw new IllegalArgumentException("steps must be >= 1, got " + steps);
    int n = Math.multiplyExact(groups, steps);
    requireLength("itemIds", itemIds == null ? -1 : itemIds.length, n);
    requireLength("shopIds", shopIds == null ? -1 : shopIds.length, n);
    requireLength("brandIds", brandIds == null ? -1 : brandIds.length, n);
    requireLength("categoryIds", categoryIds == null ? -1 : categoryIds.length, n);
    requireLength("behaviourTypes", behaviourTypes == null ? -1 : behaviourTypes.length, n);
    requireLength("scenes", scenes == null ? -1 : scenes.length, n);
    requireLength("timeGapBuckets", timeGapBuckets == null ? -1 : timeGapBuckets.length, n);
    requireLength("mask", mask == null ? -1 : mask.length, n);
    for (int i = 0; i < n; i++)
      if (mask[i] != 0f && mask[i] != 1f)
        throw new IllegalArgumentException("mask[" + i + "] must be 0 or 1, got " + mask[i]);
    if (h0 == null || c0 == null) throw new IllegalArgumentException("h0 and c0 are required");
    if (h0.rank() != 2 || h0.rows() != groups || !java.util.Arrays.equals(h0.shape(), c0.shape()))
      throw new IllegalArgumentException(
          "h0/c0 must both be [groups="
              + groups
              + ", hidden], got "
              + java.util.Arrays.toString(h0.shape())
              + " and "
              + java.util.Arrays.toString(c0.shape()));
  }

  /** Index of (group, step) in the flat arrays. */
  public int index(int group, int step) {
    return group * steps + step;
  }

  private static void requireLength(String name, int actual, int expected) {
    if (actual != expected)
      throw new IllegalArgumentException(
          name
              + (actual < 0 ? " is missing" : " has length " + actual)
              + ", expected groups * steps = "
              + expected);
  }
}
