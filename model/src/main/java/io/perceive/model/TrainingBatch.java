package io.perceive.model;

import io.perceive.model.layers.SequenceInput;

/**
 * One training minibatch: G (user, request) groups and S samples (impressions) that each belong to
 * a group. The user side is computed once per group; the per-sample part once per sample.
 *
 * @param users the G groups' user inputs
 * @param group [S] the group (0..G-1) of each sample
 * @param candidates [S] the candidate item of each sample
 * @param labels [S] the labels of each sample
 */
public record TrainingBatch(Users users, int[] group, Candidates candidates, Labels labels) {

  public TrainingBatch {
    int s = group.length;
    if (s == 0) throw new IllegalArgumentException("a training batch needs at least one sample");
    if (candidates.size() != s)
      throw new IllegalArgumentException(
          "candidates have " + candidates.size() + " rows for " + s + " samples");
    if (labels.size() != s)
      throw new IllegalArgumentException(
          "labels have " + labels.size() + " rows for " + s + " samples");
    for (int i = 0; i < s; i++)
      if (group[i] < 0 || group[i] >= users.size())
        throw new IllegalArgumentException(
            "sample "
                + i
                + " has group "
                + group[i]
                + " but there are "
                + users.size()
                + " groups");
  }

  public int samples() {
    return group.length;
  }

  /**
   * The user side of G (user, request) groups.
   *
   * @param sequence behaviour windows [G × T] with h0/c0 [G, H]
   * @param userIds [G] user ids (-1 = unknown user → the missing row)
   * @param profile [G × F_profile] row-major continuous profile features, NaN = missing
   * @param scenes [G] the request's scene code (0..rows-2, -1 = missing)
   */
  public record Users(SequenceInput sequence, long[] userIds, float[] profile, int[] scenes) {
    public Users {
      int g = sequence.groups();
      if (userIds.length != g || scenes.length != g)
        throw new IllegalArgumentException(
            "userIds/scenes need one entry per group ("
                + g
                + "), got "
                + userIds.length
                + "/"
                + scenes.length);
      if (g > 0 && profile.length % g != 0)
        throw new IllegalArgumentException(
            "profile length " + profile.length + " is not G × features");
    }

    public int size() {
      return userIds.length;
    }
  }

  /**
   * Candidate items, [S] each; ids may be -1 (missing → the table's missing row).
   *
   * @param features [S × F_item] row-major continuous item features (price, ...), NaN = missing
   */
  public record Candidates(
      long[] itemIds, long[] shopIds, long[] brandIds, long[] categoryIds, float[] features) {
    public Candidates {
      int s = itemIds.length;
      if (shopIds.length != s || brandIds.length != s || categoryIds.length != s)
        throw new IllegalArgumentException("candidate id arrays differ in length");
      if (s > 0 && features.length % s != 0)
        throw new IllegalArgumentException(
            "features length " + features.length + " is not S × features");
      if (s == 0 && features.length != 0)
        throw new IllegalArgumentException("features given for zero candidates");
    }

    public int size() {
      return itemIds.length;
    }
  }

  /**
   * Labels [S]: click, conversion (on clicked rows; NaN otherwise) and order, each 0, 1 or NaN
   * (masked); price level 0..levels-1 or -1 (masked).
   */
  public record Labels(float[] click, float[] conversion, float[] order, int[] priceLevel) {
    public Labels {
      int s = click.length;
      if (conversion.length != s || order.length != s || priceLevel.length != s)
        throw new IllegalArgumentException("label arrays differ in length");
    }

    public int size() {
      return click.length;
    }
  }
}
