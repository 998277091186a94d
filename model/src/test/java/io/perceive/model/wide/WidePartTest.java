package io.perceive.model.wide;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.loss.MaskedBinaryCrossEntropy;
import io.perceive.model.metrics.Auc;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.testing.GradientCheck;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class WidePartTest {

  private static final List<WideCross> ALL = List.of(WideCross.values());

  private static Candidates candidates(long[] items, long[] shops, long[] brands, long[] cats) {
    return new Candidates(items, shops, brands, cats, new float[0]);
  }

  @Test
  void bucketsAreSeededDeterministicAndMissingIdsMakeACrossInactive() {
    WidePart w = new WidePart(1 << 10, 3, ALL, 2, 7, true, 1.0);
    Candidates c =
        candidates(
            new long[] {5, 5, -1},
            new long[] {2, -1, 2},
            new long[] {-1, 3, 3},
            new long[] {1, 1, 1});
    // user 10 (scene 0) saw categories 7 then 8 (newest last, one padding step); the unknown
    // user has an empty window
    WidePart.UserKeys keys =
        WidePart.UserKeys.of(
            new long[] {10, -1},
            new int[] {0, -1},
            new long[] {-1, 7, 8, -1, -1, -1},
            new float[] {0, 1, 1, 0, 0, 0},
            3,
            2);
    assertThat(keys.recentCategories()).containsExactly(8, 7, -1, -1);
    int[] a = w.buckets(keys, new int[] {0, 0, 1}, c);
    int n = w.slots();
    assertThat(n).isEqualTo(ALL.size() + 1); // the recent cross takes two slots
    assertThat(a).hasSize(3 * n);
    assertThat(w.buckets(keys, new int[] {0, 0, 1}, c)).containsExactly(a);
    for (int b : a) assertThat(b).isBetween(-1, (1 << 10) - 1);
    // sample 0: user 10, item 5, shop 2, brand missing, category 1, scene 0
    assertThat(a[w.slotOf(WideCross.USER_BRAND)]).isEqualTo(-1);
    assertThat(a[w.slotOf(WideCross.USER_SHOP)]).isNotNegative();
    assertThat(a[w.slotOf(WideCross.SCENE_CATEGORY)]).isNotNegative();
    int recent = w.slotOf(WideCross.RECENT_CATEGORY_CATEGORY);
    assertThat(a[recent]).isEqualTo(w.bucket(WideCross.RECENT_CATEGORY_CATEGORY, 8, 1));
    assertThat(a[recent + 1]).isEqualTo(w.bucket(WideCross.RECENT_CATEGORY_CATEGORY, 7, 1));
    // sample 2: unknown user, scene and window → only the category-only cross (its item is missing)
    for (WideCross x : ALL)
      assertThat(a[2 * n + w.slotOf(x)])
          .as(x.key())
          .matches(b -> x == WideCross.CATEGORY ? b >= 0 : b == -1);
    assertThat(a[2 * n + recent + 1]).isEqualTo(-1);
    // the same ids in another cross, or with another seed, land elsewhere (over many ids)
    WidePart other = new WidePart(1 << 10, 3, ALL, 2, 8, true, 1.0);
    int same = 0, swapped = 0;
    for (long u = 0; u < 200; u++) {
      if (w.bucket(WideCross.USER_ITEM, u, 3) == other.bucket(WideCross.USER_ITEM, u, 3)) same++;
      if (w.bucket(WideCross.USER_ITEM, u, 3) == w.bucket(WideCross.USER_CATEGORY, u, 3)) same++;
      if (w.bucket(WideCross.USER_ITEM, u, 3) == w.bucket(WideCross.USER_ITEM, 3, u)) swapped++;
    }
    assertThat(same).isLessThan(5);
    assertThat(swapped).isLessThan(5);
  }

  @Test
  void collisionRateIsThatOfAUniformHash() {
    // 50,000 distinct user×item crosses into 2^18 buckets: a uniform hash leaves
    // B(1 - (1 - 1/B)^n) distinct buckets
    int buckets = 1 << 18;
    WidePart w = new WidePart(buckets, 3, List.of(WideCross.USER_ITEM), 1, 1, true, 1.0);
    Set<Integer> used = new HashSet<>();
    int n = 0;
    for (long u = 0; u < 500; u++)
      for (long i = 0; i < 100; i++, n++) used.add(w.bucket(WideCross.USER_ITEM, u, i * 7919));
    double expected = buckets * (1 - Math.pow(1 - 1.0 / buckets, n));
    assertThat((double) used.size())
        .isCloseTo(expected, org.assertj.core.data.Offset.offset(300.0));
  }

  @Test
  void refusesBadSizes() {
    assertThatThrownBy(() -> new WidePart(1000, 3, ALL, 1, 1, true, 1.0))
        .hasMessageContaining("power of two");
    assertThatThrownBy(() -> new WidePart(1024, 3, List.of(), 1, 1, true, 1.0))
        .hasMessageContaining("cross");
    assertThatThrownBy(() -> new WidePart(1024, 3, ALL, 0, 1, true, 1.0))
        .hasMessageContaining("recent behaviours");
    assertThatThrownBy(() -> WideCross.parseList("user,usr_item")).hasMessageContaining("usr_item");
    assertThatThrownBy(() -> WideCross.parseList("user,user")).hasMessageContaining("twice");
    assertThat(WideCross.parseList(WideCross.formatList(ALL))).isEqualTo(ALL);
  }

  /** A planted world: P(click | user, category) = σ(effect[user][category] − 0.5). */
  private static final class World {
    static final int USERS = 50, CATEGORIES = 6, ITEMS = 300;
    final double[][] effect = new double[USERS][CATEGORIES];
    final Random r;

    World(long seed) {
      r = new Random(seed);
      for (double[] e : effect)
        for (int k = 0; k < CATEGORIES; k++) e[k] = r.nextBoolean() ? 1.5 : -1.5;
    }
  }

  private static final class Batch {
    long[] users;
    Candidates cand;
    float[] click;
    double[] truth;
  }

  private static Batch draw(World w, int s) {
    Batch b = new Batch();
    b.users = new long[s];
    long[] items = new long[s], none = new long[s], cats = new long[s];
    b.click = new float[s];
    b.truth = new double[s];
    Arrays.fill(none, -1);
    for (int i = 0; i < s; i++) {
      int u = w.r.nextInt(World.USERS);
      int item = w.r.nextInt(World.ITEMS);
      b.users[i] = u;
      items[i] = item;
      cats[i] = item % World.CATEGORIES;
      b.truth[i] = 1 / (1 + Math.exp(-(w.effect[u][(int) cats[i]] - 0.5)));
      b.click[i] = w.r.nextDouble() < b.truth[i] ? 1 : 0;
    }
    b.cand = candidates(items, none, none, cats);
    return b;
  }

  /** One group per sample, scene 0, no behaviours. */
  private static WidePart.UserKeys keys(long[] users) {
    int s = users.length;
    return new WidePart.UserKeys(users, new int[s], filled(s * 2, -1), 2);
  }

  private static long[] filled(int n, long v) {
    long[] a = new long[n];
    Arrays.fill(a, v);
    return a;
  }

  private static int[] identity(int s) {
    int[] g = new int[s];
    for (int i = 0; i < s; i++) g[i] = i;
    return g;
  }

  /**
   * The wide part alone (no deep model), trained by the job's optimizer (Adagrad η 0.1) on
   * minibatches of 64 with the click BCE, learns the planted per-user×category effect: its
   * prequential click AUC over the last quarter comes close to the oracle's. Returns [AUC, oracle,
   * log-loss].
   */
  private static double[] train(boolean perSampleSteps) {
    WidePart wide = new WidePart(1 << 12, 3, ALL, 2, 3, perSampleSteps, 1.0);
    ParameterSet.Builder pb = ParameterSet.builder(DataType.FLOAT);
    wide.register(pb);
    ParameterSet p = pb.build(1);
    Optimizer opt = OptimizerConfig.adagrad(0.1).create();
    opt.initialise(p);
    World w = new World(11);
    int batches = 300, s = 64, from = batches * 3 / 4;
    double[] scores = new double[(batches - from) * s], truth = new double[scores.length];
    float[] labels = new float[scores.length];
    double logLoss = 0;
    for (int k = 0; k < batches; k++) {
      Batch b = draw(w, s);
      int[] active = wide.buckets(keys(b.users), identity(s), b.cand);
      double[][] z = new double[3][s];
      wide.addLogits(p, active, z);
      double[][] dz = new double[3][s];
      MaskedBinaryCrossEntropy.apply(z[0], b.click, 1.0, dz[0]);
      if (k >= from)
        for (int i = 0; i < s; i++) {
          int o = (k - from) * s + i;
          scores[o] = z[0][i];
          truth[o] = b.truth[i];
          labels[o] = b.click[i];
          double q = 1 / (1 + Math.exp(-z[0][i]));
          logLoss -= b.click[i] == 1 ? Math.log(q) : Math.log(1 - q);
        }
      Gradients g = p.newGradients();
      wide.backward(g, active, dz);
      opt.step(p, g, k);
    }
    return new double[] {Auc.of(scores, labels), Auc.of(truth, labels), logLoss / scores.length};
  }

  @Test
  void learnsAPlantedUserTimesCategoryEffectAlone() {
    double[] perSample = train(true);
    double[] mean = train(false);
    System.out.printf(
        "wide alone, per-sample steps: AUC %.3f (oracle %.3f) log-loss %.4f; mean steps: AUC %.3f"
            + " log-loss %.4f%n",
        perSample[0], perSample[1], perSample[2], mean[0], mean[2]);
    assertThat(perSample[1]).isGreaterThan(0.75); // the planted effect is strong
    assertThat(perSample[0]).isGreaterThan(perSample[1] - 0.03);
    // the minibatch mean's steps are ~1/64 as large: after the same events they have hardly moved
    // the logits, which log-loss (unlike AUC) sees
    assertThat(perSample[2]).isLessThan(mean[2] - 0.05);
  }

  @Test
  void gradientsMatchFiniteDifferences() {
    WidePart wide = new WidePart(64, 3, ALL, 2, 5, true, 1.0); // few buckets: collisions sum
    ParameterSet.Builder pb = ParameterSet.builder(DataType.DOUBLE);
    wide.register(pb);
    ParameterSet p = pb.build(1);
    Nd4j.getRandom().setSeed(4);
    p.table(WidePart.TABLE).weights().assign(Nd4j.randn(DataType.DOUBLE, 64, 3).muli(0.5));
    World w = new World(5);
    Batch b = draw(w, 20);
    long[] shops = new long[20], brands = new long[20];
    for (int i = 0; i < 20; i++) {
      shops[i] = i % 4 == 0 ? -1 : i % 7;
      brands[i] = i % 5;
    }
    Candidates cand =
        new Candidates(b.cand.itemIds(), shops, brands, b.cand.categoryIds(), new float[0]);
    long[] users = {1, 2, -1};
    int[] scenes = {0, -1, 2};
    int[] group = new int[20];
    float[] conv = new float[20];
    for (int i = 0; i < 20; i++) {
      group[i] = i % 3;
      conv[i] = b.click[i] == 1 ? (i % 2 == 0 ? 1 : 0) : Float.NaN;
    }
    WidePart.UserKeys keys =
        WidePart.UserKeys.of(
            users, scenes, new long[] {3, 4, -1, 5, -1, -1}, new float[] {1, 1, 0, 1, 0, 0}, 2, 2);
    int[] active = wide.buckets(keys, group, cand);
    java.util.function.ToDoubleFunction<ParameterSet> loss =
        q -> {
          double[][] z = new double[3][20];
          wide.addLogits(q, active, z);
          return MaskedBinaryCrossEntropy.apply(z[0], b.click, 1, new double[20])
              + 0.5 * MaskedBinaryCrossEntropy.apply(z[1], conv, 1, new double[20])
              + 2 * MaskedBinaryCrossEntropy.apply(z[2], b.click, 1, new double[20]);
        };
    GradientCheck.check(
        p,
        loss,
        q -> {
          double[][] z = new double[3][20];
          wide.addLogits(q, active, z);
          double[][] dz = new double[3][20];
          MaskedBinaryCrossEntropy.apply(z[0], b.click, 1, dz[0]);
          MaskedBinaryCrossEntropy.apply(z[1], conv, 0.5, dz[1]);
          MaskedBinaryCrossEntropy.apply(z[2], b.click, 2, dz[2]);
          Gradients g = q.newGradients();
          wide.backward(g, active, dz);
          assertThat(g.stepScale(WidePart.TABLE)).isEqualTo(20.0);
          return g;
        },
        40,
        6);
  }
}
