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
  private final long seed;
  private final boolean perSampleSteps;

  /**
   * @param buckets rows of the table, a power of two ≥ 2
   * @param tasks binary task logits (the table's width)
   * @param crosses the active feature families, at least one
   * @param seed seed of the bucket hash
   * @param perSampleSteps step this table on the minibatch's summed gradient (see the class doc)
   */
  public WidePart(
      int buckets, int tasks, List<WideCross> crosses, long seed, boolean perSampleSteps) {
    if (buckets < 2 || Integer.bitCount(buckets) != 1)
      throw new IllegalArgumentException(
          "wide buckets must be a power of two >= 2, got " + buckets);
    if (tasks < 1) throw new IllegalArgumentException("wide part needs >= 1 task, got " + tasks);
    if (crosses.isEmpty()) throw new IllegalArgumentException("wide part needs >= 1 cross");
    this.buckets = buckets;
    this.shift = 64 - Integer.numberOfTrailingZeros(buckets);
    this.tasks = tasks;
    this.crosses = crosses.toArray(new WideCross[0]);
    this.seed = seed;
    this.perSampleSteps = perSampleSteps;
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

  /** Registers the table, initialised to zero: an untrained wide part adds nothing. */
  public void register(ParameterSet.Builder b) {
    b.table(TABLE, buckets, tasks, 0.0);
  }

  /**
   * The active buckets of S samples: [S × crosses], -1 where a cross is inactive (an id missing).
   *
   * @param userIds [G] user of each group
   * @param scenes [G] the request's scene code of each group (-1 = missing)
   * @param group [S] the group of each sample
   */
  public int[] buckets(long[] userIds, int[] scenes, int[] group, Candidates cand) {
    int s = cand.size();
    if (group.length != s)
      throw new IllegalArgumentException(
          "group has " + group.length + " entries for " + s + " candidates");
    int n = crosses.length;
    int[] r = new int[s * n];
    for (int i = 0; i < s; i++) {
      int g = group[i];
      long user = userIds[g];
      long item = cand.itemIds()[i];
      long category = cand.categoryIds()[i];
      for (int c = 0; c < n; c++) {
        WideCross x = crosses[c];
        r[i * n + c] =
            switch (x) {
              case USER -> bucket(x, user, 0);
              case ITEM -> bucket(x, item, 0);
              case CATEGORY -> bucket(x, category, 0);
              case USER_CATEGORY -> bucket(x, user, category);
              case USER_SHOP -> bucket(x, user, cand.shopIds()[i]);
              case USER_BRAND -> bucket(x, user, cand.brandIds()[i]);
              case USER_ITEM -> bucket(x, user, item);
              case SCENE_CATEGORY -> bucket(x, scenes[g], category);
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
    long h = mix(seed ^ (0x9E3779B97F4A7C15L * (x.ordinal() + 1)));
    h = mix(h ^ a);
    h = mix(h ^ (b * 0xC2B2AE3D27D4EB4FL + 0x165667B19E3779F9L));
    return (int) (h >>> shift);
  }

  /** Adds every sample's wide logits to z [tasks][S] (the deep logits). */
  public void addLogits(ParameterSet p, int[] active, double[][] z) {
    if (z.length != tasks)
      throw new IllegalArgumentException("expected " + tasks + " task logits, got " + z.length);
    EmbeddingTable t = p.table(TABLE);
    HostView w = HostView.of(t.weights());
    int n = crosses.length;
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
    int n = crosses.length;
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
  }

  /** murmur3's 64-bit finaliser. */
  private static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
