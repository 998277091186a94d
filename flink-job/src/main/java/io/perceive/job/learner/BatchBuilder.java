package io.perceive.job.learner;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.RequestContext;
import io.perceive.job.domain.Sample;
import io.perceive.model.TrainingBatch;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.layers.TimeGapBuckets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Turns a minibatch of samples into the model's {@link TrainingBatch}: samples of the same (user,
 * request) share one group, so the user side — LSTM over the frozen window, attention, user tower —
 * is computed once per group (DUPN's model split applied to training). Windows are left-padded to T
 * steps; a behaviour's time-gap property is its age at the request's time.
 */
public final class BatchBuilder {

  private final int steps;
  private final int hidden;
  private final int timeGapBuckets;
  private final FeatureLayout features;

  public BatchBuilder(int steps, int hidden, int timeGapBuckets, FeatureLayout features) {
    this.steps = steps;
    this.hidden = hidden;
    this.timeGapBuckets = timeGapBuckets;
    this.features = features;
  }

  private record GroupKey(long user, long request) {}

  public TrainingBatch build(List<Sample> samples) {
    Map<GroupKey, Integer> groupOf = new LinkedHashMap<>();
    Map<Integer, RequestContext> contexts = new LinkedHashMap<>();
    int s = samples.size();
    int[] group = new int[s];
    for (int i = 0; i < s; i++) {
      RequestContext c = samples.get(i).context();
      GroupKey k = new GroupKey(c.userId(), c.requestId());
      Integer g = groupOf.get(k);
      if (g == null) {
        g = groupOf.size();
        groupOf.put(k, g);
        contexts.put(g, c);
      }
      group[i] = g;
    }
    int groups = groupOf.size();
    int n = groups * steps;
    long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
    int[] type = new int[n], scene = new int[n], gap = new int[n];
    float[] mask = new float[n];
    float[] h0 = new float[groups * hidden], c0 = new float[groups * hidden];
    long[] users = new long[groups];
    int[] scenes = new int[groups];
    float[] profile = new float[groups * features.profileWidth()];
    java.util.Arrays.fill(item, -1);
    java.util.Arrays.fill(shop, -1);
    java.util.Arrays.fill(brand, -1);
    java.util.Arrays.fill(cat, -1);
    java.util.Arrays.fill(type, -1);
    java.util.Arrays.fill(scene, -1);
    java.util.Arrays.fill(gap, -1);
    for (var e : contexts.entrySet()) {
      int g = e.getKey();
      RequestContext c = e.getValue();
      List<Behaviour> w = c.window();
      int pad = steps - Math.min(w.size(), steps);
      int from = w.size() - (steps - pad); // when the window is longer than T keep the newest
      for (int t = pad; t < steps; t++) {
        Behaviour b = w.get(from + t - pad);
        int k = g * steps + t;
        item[k] = b.itemId();
        shop[k] = b.shopId();
        brand[k] = b.brandId();
        cat[k] = b.categoryId();
        type[k] = b.behaviourType();
        scene[k] = b.scene();
        gap[k] = TimeGapBuckets.of(Math.max(0, c.timeMs() - b.timeMs()), timeGapBuckets);
        mask[k] = 1f;
      }
      System.arraycopy(c.h0(), 0, h0, g * hidden, hidden);
      System.arraycopy(c.c0(), 0, c0, g * hidden, hidden);
      users[g] = c.userId();
      scenes[g] = c.scene();
      features.profileRow(c.profile(), c.stats(), profile, g * features.profileWidth());
    }
    SequenceInput seq =
        new SequenceInput(
            groups,
            steps,
            item,
            shop,
            brand,
            cat,
            type,
            scene,
            gap,
            mask,
            Nd4j.create(h0, new long[] {groups, hidden}, 'c').castTo(DataType.FLOAT),
            Nd4j.create(c0, new long[] {groups, hidden}, 'c').castTo(DataType.FLOAT));

    long[] ci = new long[s], cs = new long[s], cb = new long[s], cc = new long[s];
    float[] cf = new float[s * features.itemWidth()];
    float[] click = new float[s], conversion = new float[s], order = new float[s];
    int[] price = new int[s];
    for (int i = 0; i < s; i++) {
      Sample x = samples.get(i);
      ci[i] = x.item().itemId();
      cs[i] = x.item().shopId();
      cb[i] = x.item().brandId();
      cc[i] = x.item().categoryId();
      features.itemRow(x.item().features(), x.position(), cf, i * features.itemWidth());
      click[i] = label(x.click());
      conversion[i] = label(x.conversion());
      order[i] = label(x.order());
      price[i] = x.priceLevel();
    }
    return new TrainingBatch(
        new TrainingBatch.Users(seq, users, profile, scenes),
        group,
        new TrainingBatch.Candidates(ci, cs, cb, cc, cf),
        new TrainingBatch.Labels(click, conversion, order, price));
  }

  private static float label(byte v) {
    return v < 0 ? Float.NaN : v;
  }
}
