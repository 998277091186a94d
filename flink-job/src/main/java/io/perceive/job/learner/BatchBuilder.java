package io.perceive.job.learner;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.Item;
import io.perceive.job.domain.RequestContext;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.model.ModelConfig;
import io.perceive.model.TrainingBatch;
import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.InputBuilder;
import io.perceive.model.input.UserInput;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a minibatch of samples into the model's {@link TrainingBatch}: samples of the same (user,
 * request) share one group, so the user side — LSTM over the frozen window, attention, user tower —
 * is computed once per group (DUPN's model split applied to training). Windows are left-padded to T
 * steps; a behaviour's time-gap property is its age at the request's time.
 */
public final class BatchBuilder {

  private final InputBuilder inputs;
  private final FeatureLayout features;

  public BatchBuilder(ModelConfig config) {
    this.inputs = new InputBuilder(config);
    this.features = new FeatureLayout(config);
  }

  private record GroupKey(long user, long request) {}

  public TrainingBatch build(List<Sample> samples) {
    Map<GroupKey, Integer> groupOf = new LinkedHashMap<>();
    List<UserInput> users = new ArrayList<>();
    int s = samples.size();
    int[] group = new int[s];
    for (int i = 0; i < s; i++) {
      RequestContext c = samples.get(i).context();
      GroupKey k = new GroupKey(c.userId(), c.requestId());
      Integer g = groupOf.get(k);
      if (g == null) {
        g = groupOf.size();
        groupOf.put(k, g);
        users.add(userInput(c));
      }
      group[i] = g;
    }
    List<CandidateInput> candidates = new ArrayList<>(s);
    float[] click = new float[s], conversion = new float[s], order = new float[s];
    int[] price = new int[s];
    for (int i = 0; i < s; i++) {
      Sample x = samples.get(i);
      candidates.add(candidateInput(x.item(), x.position()));
      click[i] = label(x.click());
      conversion[i] = label(x.conversion());
      order[i] = label(x.order());
      price[i] = x.priceLevel();
    }
    return new TrainingBatch(
        inputs.users(users),
        group,
        inputs.candidates(candidates, users, group),
        new TrainingBatch.Labels(click, conversion, order, price));
  }

  /** The frozen user side of a request as the model library's input (one place for both sides). */
  UserInput userInput(RequestContext c) {
    List<BehaviourRecord> window = new ArrayList<>(c.window().size());
    for (Behaviour b : c.window())
      window.add(
          new BehaviourRecord(
              b.itemId(),
              b.shopId(),
              b.brandId(),
              b.categoryId(),
              b.behaviourType(),
              b.scene(),
              b.timeMs()));
    Map<String, Double> profile = new HashMap<>();
    List<String> names = features.eventProfileNames();
    for (int i = 0; i < names.size() && i < c.profile().length; i++)
      put(profile, names.get(i), c.profile()[i]);
    for (int i = 0; i < UserState.STAT_NAMES.size(); i++)
      put(profile, UserState.STAT_NAMES.get(i), c.stats()[i]);
    return new UserInput(c.userId(), c.h0(), c.c0(), window, profile, c.scene(), c.timeMs());
  }

  /** A candidate item: price, the impression's slot (position-bias feature), further features. */
  CandidateInput candidateInput(Item item, int position) {
    return candidateInput(item, position, features);
  }

  /** {@link #candidateInput(Item, int)} for a given feature layout (the serving check uses it). */
  static CandidateInput candidateInput(Item item, int position, FeatureLayout features) {
    Map<String, Double> f = new HashMap<>();
    float[] values = item.features();
    if (values.length > 0) put(f, "price", values[0]);
    List<String> names = features.eventItemNames();
    for (int i = 0; i < names.size() && i + 1 < values.length; i++)
      put(f, names.get(i), values[i + 1]);
    if (position >= 0) f.put("position", (double) position);
    return new CandidateInput(item.itemId(), item.shopId(), item.brandId(), item.categoryId(), f);
  }

  private static void put(Map<String, Double> m, String name, float v) {
    if (!Float.isNaN(v)) m.put(name, (double) v);
  }

  private static float label(byte v) {
    return v < 0 ? Float.NaN : v;
  }
}
