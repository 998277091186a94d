package io.perceive.model;

import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.TrainingBatch.Labels;
import io.perceive.model.TrainingBatch.Users;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.sharing.SharingMode;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Small configurations and random batches for model tests. */
final class ModelFixtures {
  private ModelFixtures() {}

  /** Tiny sizes so double-precision gradient checks run in seconds. */
  static ModelConfig.Builder small(SharingMode mode) {
    return ModelConfig.builder()
        .set(ModelConfig.SHARING_MODE, mode)
        // The fixtures pin their own small feature lists: the defaults follow the product's events.
        .set(
            ModelConfig.PROFILE_FEATURES,
            ModelConfig.parseFeatures("p", "age:standard:35:12,purchases_30d:log1p"))
        .set(
            ModelConfig.ITEM_FEATURES,
            ModelConfig.parseFeatures("i", "price:log1p,ctr_7d:standard:0.05:0.05"))
        .set(ModelConfig.ITEM_ROWS, 50)
        .set(ModelConfig.ITEM_DIM, 3)
        .set(ModelConfig.SHOP_ROWS, 20)
        .set(ModelConfig.SHOP_DIM, 2)
        .set(ModelConfig.BRAND_ROWS, 20)
        .set(ModelConfig.BRAND_DIM, 2)
        .set(ModelConfig.CATEGORY_ROWS, 10)
        .set(ModelConfig.CATEGORY_DIM, 2)
        .set(ModelConfig.BEHAVIOUR_TYPE_ROWS, 4)
        .set(ModelConfig.BEHAVIOUR_TYPE_DIM, 2)
        .set(ModelConfig.SCENE_ROWS, 5)
        .set(ModelConfig.SCENE_DIM, 2)
        .set(ModelConfig.TIME_GAP_ROWS, 6)
        .set(ModelConfig.TIME_GAP_DIM, 2)
        .set(ModelConfig.USER_ROWS, 30)
        .set(ModelConfig.USER_DIM, 3)
        .set(ModelConfig.EMBEDDING_INIT_STD, 0.3)
        .set(ModelConfig.LSTM_HIDDEN, 5)
        .set(ModelConfig.ATTENTION_WINDOW, 4)
        .set(ModelConfig.BPTT_STEPS, 4)
        .set(ModelConfig.USER_VECTOR, 4)
        .set(ModelConfig.EXPERTS, 3)
        .set(ModelConfig.EXPERT_HIDDEN, 4)
        .set(ModelConfig.BOTTOM_HIDDEN, 5)
        .set(ModelConfig.TOWER_HIDDEN, 3)
        .set(ModelConfig.PRICE_LEVELS, 3)
        // the deep model alone unless a test turns the wide part on (WideAndDeepTest)
        .set(ModelConfig.WIDE_ENABLED, false);
  }

  /** G users with windows of T = window steps (some left-padded), S samples over them. */
  static TrainingBatch randomBatch(
      ModelConfig cfg, int groups, int samples, long seed, DataType type) {
    Random r = new Random(seed);
    int t = cfg.get(ModelConfig.ATTENTION_WINDOW);
    int n = groups * t;
    long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
    int[] bt = new int[n], sc = new int[n], gap = new int[n];
    float[] mask = new float[n];
    for (int g = 0; g < groups; g++) {
      int pad = g % 3 == 2 ? 2 : 0; // some windows shorter than T, left-padded
      for (int s = 0; s < t; s++) {
        int i = g * t + s;
        boolean real = s >= pad;
        mask[i] = real ? 1 : 0;
        item[i] = real ? r.nextInt(200) : -1;
        shop[i] = real ? r.nextInt(40) : -1;
        brand[i] = real && r.nextDouble() < 0.8 ? r.nextInt(40) : -1;
        cat[i] = real ? r.nextInt(15) : -1;
        bt[i] = real ? r.nextInt(cfg.get(ModelConfig.BEHAVIOUR_TYPE_ROWS) - 1) : -1;
        sc[i] = real ? r.nextInt(cfg.get(ModelConfig.SCENE_ROWS) - 1) : -1;
        gap[i] = real ? r.nextInt(cfg.get(ModelConfig.TIME_GAP_ROWS) - 1) : -1;
      }
    }
    int h = cfg.get(ModelConfig.LSTM_HIDDEN);
    Nd4j.getRandom().setSeed(seed);
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
            Nd4j.randn(type, groups, h).muli(0.3),
            Nd4j.randn(type, groups, h).muli(0.3));
    long[] users = new long[groups];
    int[] scenes = new int[groups];
    int fp = cfg.profileFeatures().size();
    float[] profile = new float[groups * fp];
    for (int g = 0; g < groups; g++) {
      users[g] = r.nextInt(100);
      scenes[g] = r.nextInt(cfg.get(ModelConfig.SCENE_ROWS) - 1);
      for (int k = 0; k < fp; k++)
        profile[g * fp + k] = r.nextDouble() < 0.25 ? Float.NaN : (float) (r.nextDouble() * 50);
    }
    int[] group = new int[samples];
    long[] ci = new long[samples],
        cs = new long[samples],
        cb = new long[samples],
        cc = new long[samples];
    int fi = cfg.itemFeatures().size();
    float[] feats = new float[samples * fi];
    float[] click = new float[samples], conv = new float[samples], order = new float[samples];
    int[] price = new int[samples];
    for (int s = 0; s < samples; s++) {
      group[s] = s % groups;
      ci[s] = r.nextInt(200);
      cs[s] = r.nextInt(40);
      cb[s] = r.nextDouble() < 0.9 ? r.nextInt(40) : -1;
      cc[s] = r.nextInt(15);
      for (int k = 0; k < fi; k++)
        feats[s * fi + k] = r.nextDouble() < 0.2 ? Float.NaN : (float) (r.nextDouble() * 0.1);
      click[s] = r.nextDouble() < 0.4 ? 1 : 0;
      conv[s] = click[s] == 1 ? (r.nextDouble() < 0.5 ? 1 : 0) : Float.NaN;
      order[s] = r.nextDouble() < 0.1 ? Float.NaN : (click[s] == 1 && conv[s] == 1 ? 1 : 0);
      price[s] = r.nextDouble() < 0.3 ? -1 : r.nextInt(cfg.get(ModelConfig.PRICE_LEVELS));
    }
    return new TrainingBatch(
        new Users(seq, users, profile, scenes),
        group,
        new Candidates(ci, cs, cb, cc, feats),
        new Labels(click, conv, order, price));
  }
}
