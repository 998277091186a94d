package io.perceive.model.wide;

import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import java.util.List;

/**
 * The wide component of Wide &amp; Deep (Cheng et al., DLRS 2016, eq. 3: P(Y = 1 | x) = σ(w_wide^T
 * [x, φ(x)] + w_deep^T a^(lf) + b)): a linear model over hashed sparse crosses ({@link WideCross})
 * whose per-task logit is added to the deep model's logit of the same task. The weights are one
 * hashed {@link EmbeddingTable} of {@code buckets × tasks} ({@link #TABLE}): row = bucket of an
 * active cross, column = task (click, conversion[, order]). Being a table, it gets sparse row
 * gradients, the optimizers' sparse row updates, parameter deltas, sync, snapshots and row tracking
 * exactly as the embeddings do.
 *
 * <p>Every cross is binary, so a sample's wide logit of task t is Σ_{active c} W[bucket(c), t] and
 * its gradient w.r.t. that entry is ∂L/∂z_t of the sample. The bucket is a seeded 64-bit hash of
 * (cross, ids), its top log2(buckets) bits; the seed is part of the model config, so a snapshot
 * scores with the buckets it was trained with.
 *
 * <p>Learning speed: the model's losses are means over a minibatch, so a row touched by one sample
 * of 256 sees 1/256 of that sample's gradient, which Adagrad's initial accumulator (0.1) shrinks to
 * a step of ~1e-3 — a user's level would take thousands of events to move. With {@code
 * perSampleSteps} the gradients ask the optimizer to step this table on the minibatch's sum of
 * per-sample gradients (the scale of per-sample online logistic regression, {@link
 * Gradients#setStepScale}); the gradients themselves stay the exact gradients of the loss.
 */
public final class WidePart {

  /** Name of the weight table. */
  public static final String TABLE = "wide/crosses";

  private final int buckets;
  private final int shift; // 64 - log2(buckets): the bucket is the hash's top bits
  private final int tasks;
  private final WideCross[] crosses;
  private final int[] slotOf; // first slot of each cross in a sample's row of active buckets
  private final int slots; // active-bucket slots per sample
  private final int recent; // behaviours of RECENT_CATEGORY_CATEGORY
  private final long seed;
  private final boolean perSampleSteps;
  private final double learningRateScale;

  /**
   * The user-side ids the crosses read, per group: user id, the request's scene code and the
   * categories of the newest behaviours of the window, newest first (-1 = none), {@code recent} per
   * group. Kept in the model's user representation so that split scoring sees the same crosses.
   */
  public record UserKeys(long[] userIds, int[] scenes, long[] recentCategories, int recent) {
    public UserKeys {
      if (scenes.length != userIds.length || recentCategories.length != userIds.length * recent)
        throw new IllegalArgumentException(
            "user keys: "
                + userIds.length
                + " users, "
                + scenes.length
                + " scenes, "
                + recentCategories.length
                + " recent categories (expected × "
                + recent
                + ")");
      userIds = userIds.clone();
      scenes = scenes.clone();
      recentCategories = recentCategories.clone();
    }

    public int users() {
      return userIds.length;
    }

    /**
     * The keys of G users from their ids, scenes and behaviour windows ({@code categoryIds} and
     * {@code mask} [G × steps], left-padded, newest last).
     */
    public static UserKeys of(
        long[] userIds, int[] scenes, long[] categoryIds, float[] mask, int steps, int recent) {
      int g = userIds.length;
      long[] rc = new long[g * recent];
      java.util.Arrays.fill(rc, -1);
      for (int u = 0; u < g; u++) {
        int k = 0;
        for (int t = steps - 1; t >= 0 && k < recent; t--) {
          int i = u * steps + t;
          if (mask[i] == 0f) break; // left padding: nothing older
          rc[u * recent + k++] = categoryIds[i];
        }
      }
      return new UserKeys(userIds, scenes, rc, recent);
    }
  }

  /**
   * @param buckets rows of the table, a power of two ≥ 2
   * @param tasks binary task logits (the table's width)
   * @param crosses the active feature families, at least one
   * @param seed seed of the bucket hash
   * @param recent behaviours of {@link WideCross#RECENT_CATEGORY_CATEGORY} (≥ 1)
   * @param perSampleSteps step this table on the minibatch's summed gradient (see the class doc)
   * @param learningRateScale multiplier of the optimizer's learning rate for this table (> 0)
   */
  public WidePart(
      int buckets,
      int tasks,
      List<WideCross> crosses,
      int recent,
      long seed,
      boolean perSampleSteps,
      double learningRateScale) {
    if (buckets < 2 || Integer.bitCount(buckets) != 1)
      throw new IllegalArgumentException(
          "wide buckets must be a power of two >= 2, got " + buckets);
    if (tasks < 1) throw new IllegalArgumentException("wide part needs >= 1 task, got " + tasks);
    if (crosses.isEmpty()) throw new IllegalArgumentException("wide part needs >= 1 cross");
    if (!(learningRateScale > 0) || !Double.isFinite(learningRateScale))
      throw new IllegalArgumentException(
          "wide learning-rate scale must be finite and > 0, got " + learningRateScale);
    if (recent < 1)
      throw new IllegalArgumentException("wide recent behaviours must be >= 1, got " + recent);
    this.buckets = buckets;
    this.shift = 64 - Integer.numberOfTrailingZeros(buckets);
    this.tasks = tasks;
    this.crosses = crosses.toArray(new WideCross[0]);
    this.recent = recent;
    this.slotOf = new int[this.crosses.length];
    int n = 0;
    for (int c = 0; c < this.crosses.length; c++) {
      slotOf[c] = n;
      n += this.crosses[c] == WideCross.RECENT_CATEGORY_CATEGORY ? recent : 1;
    }
    this.slots = n;
    this.seed = seed;
    this.perSampleSteps = perSampleSteps;
    this.learningRateScale = learningRateScale;
  }

  public int buckets() {
    return buckets;
  }

  public int tasks() {
    return tasks;
  }

  public List<WideCross> crosses() {
    return List.of(crosses);
  }

  /** Behaviours of {@link WideCross#RECENT_CATEGORY_CATEGORY}. */
  public int recent() {
    return recent;
  }

  /** Active-bucket slots per sample (one per cross, {@link #recent()} for the recent cross). */
  public int slots() {
    return slots;
  }

  /** The slot of cross {@code c}'s first bucket in a sample's row of {@link #buckets}. */
  public int slotOf(WideCross c) {
    for (int k = 0; k < crosses.length; k++) if (crosses[k] == c) return slotOf[k];
    throw new IllegalArgumentException("cross " + c.key() + " is not configured");
  }

  /** Registers the table, initialised to zero: an untrained wide part adds nothing. */
  public void register(ParameterSet.Builder b) {
    b.table(TABLE, buckets, tasks, 0.0);
  }

  /**
   * The active buckets of S samples: [S × {@link #slots()}], -1 where a cross is inactive (an id
   * missing).
   *
   * @param keys the user-side ids of G groups
   * @param group [S] the group of each sample
   */
  public int[] buckets(UserKeys keys, int[] group, Candidates cand) {
    int s = cand.size();
    if (group.length != s)
      throw new IllegalArgumentException(
          "group has " + group.length + " entries for " + s + " candidates");
    if (keys.recent() != recent)
      throw new IllegalArgumentException(
          "user keys hold " + keys.recent() + " recent behaviours, expected " + recent);
    long[] userIds = keys.userIds();
    int[] scenes = keys.scenes();
    long[] recentCategories = keys.recentCategories();
    int n = crosses.length;
    int[] r = new int[s * slots];
    for (int i = 0; i < s; i++) {
      int g = group[i];
      if (g < 0 || g >= userIds.length)
        throw new IllegalArgumentException(
            "sample " + i + " has group " + g + " of " + userIds.length);
      long user = userIds[g];
      long item = cand.itemIds()[i];
      long category = cand.categoryIds()[i];
      for (int c = 0; c < n; c++) {
        WideCross x = crosses[c];
        int o = i * slots + slotOf[c];
        if (x == WideCross.RECENT_CATEGORY_CATEGORY) {
          for (int k = 0; k < recent; k++)
            r[o + k] = bucket(x, recentCategories[g * recent + k], category);
          continue;
        }
        r[o] =
            switch (x) {
              case USER -> bucket(x, user, 0);
              case ITEM -> bucket(x, item, 0);
              case CATEGORY -> bucket(x, category, 0);
              case USER_CATEGORY -> bucket(x, user, category);
              case USER_SHOP -> bucket(x, user, cand.shopIds()[i]);
              case USER_BRAND -> bucket(x, user, cand.brandIds()[i]);
              case USER_ITEM -> bucket(x, user, item);
              case SCENE_CATEGORY -> bucket(x, scenes[g], category);
              case RECENT_CATEGORY_CATEGORY -> throw new AssertionError(); // handled above
            };
      }
    }
    return r;
  }

  /**
   * The bucket of cross {@code x} over ids a, b; -1 when either is missing (negative). Single-id
   * crosses (user, item, category) pass b = 0.
   */
  public int crossBucket(WideCross x, long a, long b) {
    return bucket(x, a, b);
  }

  /** The bucket of cross {@code x} over ids a, b; -1 when either is missing (negative). */
  int bucket(WideCross x, long a, long b) {
    if (a < 0 || b < 0) return -1;
    // chained bijective mixing: (a, b) and (b, a) land apart, and a pair collides with another
    // only through the final reduction to log2(buckets) bits
    long h = EmbeddingTable.mix(seed ^ (0x9E3779B97F4A7C15L * (x.ordinal() + 1)));
    h = EmbeddingTable.mix(h ^ a);
    h = EmbeddingTable.mix(h ^ (b * 0xC2B2AE3D27D4EB4FL + 0x165667B19E3779F9L));
    return (int) (h >>> shift);
  }

  /** Adds every sample's wide logits to z [tasks][S] (the deep logits). */
  public void addLogits(ParameterSet p, int[] active, double[][] z) {
    if (z.length != tasks)
      throw new IllegalArgumentException("expected " + tasks + " task logits, got " + z.length);
    EmbeddingTable t = p.table(TABLE);
    HostView w = HostView.of(t.weights());
    int n = slots;
    int s = active.length / n;
    for (int i = 0; i < s; i++)
      for (int c = 0; c < n; c++) {
        int row = active[i * n + c];
        if (row < 0) continue;
        for (int k = 0; k < tasks; k++) z[k][i] += w.get(row * tasks + k);
      }
  }

  /**
   * Accumulates the table's gradient from dz [tasks][S] (∂loss/∂logit per task and sample): each
   * active bucket of a sample receives that sample's dz row.
   */
  public void backward(Gradients g, int[] active, double[][] dz) {
    int n = slots;
    int s = active.length / n;
    double[] values = new double[s * tasks]; // [S, tasks] row-major
    for (int k = 0; k < tasks; k++) for (int i = 0; i < s; i++) values[i * tasks + k] = dz[k][i];
    int count = 0;
    for (int b : active) if (b >= 0) count++;
    int[] rows = new int[count];
    int[] sampleOf = new int[count];
    int j = 0;
    for (int i = 0; i < s; i++)
      for (int c = 0; c < n; c++) {
        int row = active[i * n + c];
        if (row < 0) continue;
        rows[j] = row;
        sampleOf[j++] = i;
      }
    g.accumulate(TABLE, rows, values, sampleOf, tasks, 0);
    if (perSampleSteps) g.setStepScale(TABLE, s);
    if (learningRateScale != 1) g.setLearningRateScale(TABLE, learningRateScale);
  }
}
