package io.perceive.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.TrainingBatch.Labels;
import io.perceive.model.TrainingBatch.Users;
import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.core.SparseRows;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.metrics.Auc;
import io.perceive.model.sharing.SharingMode;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A planted problem the model must learn in each sharing mode: every user prefers one category,
 * visible only through the categories of the behaviour window; an impression is clicked with
 * probability σ(2.5·[item category = preferred] + 1.2·quality(item) − 1.5). Plain SGD.
 */
class LearnabilityTest {

  private static final int ITEMS = 40;
  private static final int CATEGORIES = 4;
  private static final int USERS = 60;

  private static final class World {
    final Random r;
    final double[] quality = new double[ITEMS];
    final int[] preferred = new int[USERS];

    World(long seed) {
      r = new Random(seed);
      for (int i = 0; i < ITEMS; i++) quality[i] = r.nextBoolean() ? 1 : -1;
      for (int u = 0; u < USERS; u++) preferred[u] = r.nextInt(CATEGORIES);
    }

    int category(int item) {
      return item % CATEGORIES;
    }

    double clickProbability(int user, int item) {
      double z = 2.5 * (category(item) == preferred[user] ? 1 : 0) + 1.2 * quality[item] - 1.5;
      return 1 / (1 + Math.exp(-z));
    }

    TrainingBatch batch(ModelConfig cfg, int groups, int perGroup) {
      int t = cfg.get(ModelConfig.ATTENTION_WINDOW);
      int h = cfg.get(ModelConfig.LSTM_HIDDEN);
      int n = groups * t;
      long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
      int[] bt = new int[n], sc = new int[n], gap = new int[n];
      float[] mask = new float[n];
      long[] users = new long[groups];
      int[] scenes = new int[groups];
      int fp = cfg.profileFeatures().size();
      float[] profile = new float[groups * fp];
      java.util.Arrays.fill(profile, Float.NaN);
      int s = groups * perGroup;
      int[] group = new int[s];
      long[] ci = new long[s], cs = new long[s], cb = new long[s], cc = new long[s];
      int fi = cfg.itemFeatures().size();
      float[] feats = new float[s * fi];
      float[] click = new float[s], conv = new float[s], order = new float[s];
      int[] price = new int[s];
      for (int g = 0; g < groups; g++) {
        int u = r.nextInt(USERS);
        users[g] = u;
        scenes[g] = 0;
        for (int k = 0; k < t; k++) {
          int i = g * t + k;
          // the window: items of the preferred category, one random item now and then
          int it =
              r.nextDouble() < 0.8
                  ? preferred[u] + CATEGORIES * r.nextInt(ITEMS / CATEGORIES)
                  : r.nextInt(ITEMS);
          item[i] = it;
          shop[i] = it % 7;
          brand[i] = -1;
          cat[i] = category(it);
          bt[i] = 0;
          sc[i] = 0;
          gap[i] = 1;
          mask[i] = 1;
        }
        for (int j = 0; j < perGroup; j++) {
          int x = g * perGroup + j;
          int it = r.nextInt(ITEMS);
          group[x] = g;
          ci[x] = it;
          cs[x] = it % 7;
          cb[x] = -1;
          cc[x] = category(it);
          for (int f = 0; f < fi; f++) feats[x * fi + f] = Float.NaN;
          click[x] = r.nextDouble() < clickProbability(u, it) ? 1 : 0;
          conv[x] = click[x] == 1 ? (quality[it] > 0 ? 1 : 0) : Float.NaN;
          order[x] = click[x] == 1 && conv[x] == 1 ? 1 : 0;
          price[x] = preferred[u] % cfg.get(ModelConfig.PRICE_LEVELS);
        }
      }
      SequenceInput seq =
          new SequenceInput(
              groups,
              t,
              item,
              shop,
              brand,
              cat,
              bt,
              sc,
              gap,
              mask,
              Nd4j.zeros(DataType.FLOAT, groups, h),
              Nd4j.zeros(DataType.FLOAT, groups, h));
      return new TrainingBatch(
          new Users(seq, users, profile, scenes),
          group,
          new Candidates(ci, cs, cb, cc, feats),
          new Labels(click, conv, order, price));
    }
  }

  /** Plain SGD on dense parameters and touched embedding rows. */
  static void sgd(ParameterSet p, Gradients g, double lr) {
    p.flat().subi(g.flat().mul(lr));
    for (String name : g.tableNames()) {
      SparseRows rows = g.sparse(name);
      if (rows.size() == 0) continue;
      EmbeddingTable t = p.table(name);
      INDArray w = t.weights();
      INDArray current = Nd4j.pullRows(w, 1, rows.rows());
      current.subi(rows.values().mul(lr));
      for (int k = 0; k < rows.size(); k++) w.putRow(rows.rows()[k], current.getRow(k));
    }
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void lossFallsAndClickAucRisesWellAboveChance(SharingMode mode) {
    ModelConfig cfg =
        ModelFixtures.small(mode)
            .set(ModelConfig.ITEM_ROWS, 64)
            .set(ModelConfig.ITEM_DIM, 6)
            .set(ModelConfig.CATEGORY_DIM, 4)
            .set(ModelConfig.LSTM_HIDDEN, 12)
            .set(ModelConfig.USER_VECTOR, 8)
            .set(ModelConfig.EXPERT_HIDDEN, 12)
            .set(ModelConfig.BOTTOM_HIDDEN, 16)
            .set(ModelConfig.TOWER_HIDDEN, 8)
            .set(ModelConfig.EMBEDDING_INIT_STD, 0.1)
            .build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    World w = new World(3);
    TrainingBatch heldOut = w.batch(cfg, 64, 8);
    double aucBefore =
        Auc.of(m.forwardBackward(p, heldOut).predictions().click(), heldOut.labels().click());
    double lossBefore = m.evaluate(p, heldOut).click();
    double oracle = oracleAuc(w, heldOut);
    for (int step = 0; step < 300; step++) {
      MultiTaskModel.StepResult r = m.forwardBackward(p, w.batch(cfg, 16, 8));
      sgd(p, r.gradients(), 0.8);
    }
    double aucAfter =
        Auc.of(m.forwardBackward(p, heldOut).predictions().click(), heldOut.labels().click());
    double lossAfter = m.evaluate(p, heldOut).click();
    System.out.printf(
        "%s: click loss %.4f -> %.4f, click AUC %.3f -> %.3f (oracle %.3f)%n",
        mode, lossBefore, lossAfter, aucBefore, aucAfter, oracle);
    assertThat(lossAfter).isLessThan(lossBefore * 0.9);
    assertThat(aucAfter).isGreaterThan(0.75);
  }

  private static double oracleAuc(World w, TrainingBatch b) {
    double[] s = new double[b.samples()];
    for (int i = 0; i < s.length; i++)
      s[i] =
          w.clickProbability(
              (int) b.users().userIds()[b.group()[i]], (int) b.candidates().itemIds()[i]);
    return Auc.of(s, b.labels().click());
  }
}
