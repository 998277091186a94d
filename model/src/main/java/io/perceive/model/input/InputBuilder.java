package io.perceive.model.input;

import io.perceive.model.ModelConfig;
import io.perceive.model.TrainingBatch;
import io.perceive.model.layers.MissingValueLayer;
import io.perceive.model.layers.SequenceConfig;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.layers.TimeGapBuckets;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Builds the model's inputs ({@link TrainingBatch.Users}, {@link TrainingBatch.Candidates}) from
 * domain records, the one place where both the streaming job and serving turn a user and its
 * candidates into tensors — so they build exactly the same inputs. Rules: the window is left-padded
 * to T = the attention window (the newest T behaviours are kept when it is longer); a behaviour's
 * time-gap bucket is its age at the request time ({@link TimeGapBuckets}, a behaviour stamped after
 * the request counts as age 0); profile and item features are looked up by the configuration's
 * feature names, absent or NaN = missing.
 *
 * <p>Item features named {@code affinity_*} ({@link #AFFINITY_FEATURES}) are not read from the
 * candidate: they are computed here from the candidate and its user's window, the same newest T
 * behaviours the sequence encoder sees (so a sample's affinity never sees an event after its
 * request). They hand the network the user×category and user×item match directly — what the world's
 * click propensity depends on most — instead of leaving it to emerge from embeddings that one pass
 * over a stream moves only a few hundred times (docs/streaming-learner.md, "Learning quality"). An
 * empty window gives NaN: the Missing Value Layer learns what "no history" means.
 */
public final class InputBuilder {

  private final int steps;
  private final int hidden;
  private final int timeGapBuckets;
  private final int behaviourTypeCodes;
  private final int sceneCodes;
  private final String[] profileNames;
  private final String[] itemNames;

  /** Share of the window's behaviours in the candidate's category (0..1). */
  public static final String AFFINITY_CATEGORY = "affinity_category";

  /**
   * Behaviours in the candidate's category within {@link #SESSION_MS} before the request (a count):
   * the session's intent.
   */
  public static final String AFFINITY_SESSION_CATEGORY = "affinity_session_category";

  /** Behaviours on the candidate item itself in the window (a count). */
  public static final String AFFINITY_ITEM = "affinity_item";

  /** The item features this builder computes from the user's window. */
  public static final List<String> AFFINITY_FEATURES =
      List.of(AFFINITY_CATEGORY, AFFINITY_SESSION_CATEGORY, AFFINITY_ITEM);

  /** How far back a behaviour counts as part of the request's session (one hour). */
  public static final long SESSION_MS = 3_600_000L;

  public InputBuilder(ModelConfig cfg) {
    SequenceConfig seq = cfg.sequenceConfig();
    this.steps = seq.attentionWindow();
    this.hidden = seq.hidden();
    this.timeGapBuckets = seq.timeGapBuckets();
    // row 0 of a property table is the missing row, so codes run 0..rows-2
    this.behaviourTypeCodes = seq.behaviourType().rows() - 1;
    this.sceneCodes = seq.scene().rows() - 1;
    this.profileNames =
        cfg.profileFeatures().stream().map(MissingValueLayer.Feature::name).toArray(String[]::new);
    this.itemNames =
        cfg.itemFeatures().stream().map(MissingValueLayer.Feature::name).toArray(String[]::new);
  }

  /** T: behaviours per window. */
  public int steps() {
    return steps;
  }

  /** Width of the LSTM state (h and c each). */
  public int hidden() {
    return hidden;
  }

  /** Profile feature names in model order. */
  public List<String> profileNames() {
    return List.of(profileNames);
  }

  /** Item feature names in model order. */
  public List<String> itemNames() {
    return List.of(itemNames);
  }

  /** The user side of G requests, one group each, in list order. */
  public TrainingBatch.Users users(List<UserInput> users) {
    int groups = users.size();
    if (groups == 0) throw new IllegalArgumentException("at least one user is required");
    int n = groups * steps;
    long[] item = filled(n), shop = filled(n), brand = filled(n), cat = filled(n);
    int[] type = new int[n], scene = new int[n], gap = new int[n];
    Arrays.fill(type, -1);
    Arrays.fill(scene, -1);
    Arrays.fill(gap, -1);
    float[] mask = new float[n];
    float[] h0 = new float[groups * hidden], c0 = new float[groups * hidden];
    long[] ids = new long[groups];
    int[] scenes = new int[groups];
    float[] profile = new float[groups * profileNames.length];
    for (int g = 0; g < groups; g++) {
      UserInput u = users.get(g);
      List<BehaviourRecord> w = u.window();
      int real = Math.min(w.size(), steps);
      int pad = steps - real;
      int from = w.size() - real; // a window longer than T keeps its newest behaviours
      for (int t = pad; t < steps; t++) {
        BehaviourRecord b = w.get(from + t - pad);
        int k = g * steps + t;
        item[k] = b.itemId();
        shop[k] = b.shopId();
        brand[k] = b.brandId();
        cat[k] = b.categoryId();
        type[k] = code("behaviour type", b.behaviourType(), behaviourTypeCodes);
        scene[k] = code("behaviour scene", b.scene(), sceneCodes);
        gap[k] = TimeGapBuckets.of(Math.max(0, u.requestTimeMs() - b.timeMs()), timeGapBuckets);
        mask[k] = 1f;
      }
      if (u.hidden() != null) {
        if (u.hidden().length != hidden)
          throw new IllegalArgumentException(
              "user "
                  + u.userId()
                  + " has an LSTM state of width "
                  + u.hidden().length
                  + " but the model's is "
                  + hidden);
        System.arraycopy(u.hidden(), 0, h0, g * hidden, hidden);
        System.arraycopy(u.cell(), 0, c0, g * hidden, hidden);
      }
      ids[g] = u.userId();
      scenes[g] = code("request scene", u.scene(), sceneCodes);
      for (int i = 0; i < profileNames.length; i++)
        profile[g * profileNames.length + i] = value(u.profile().get(profileNames[i]));
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
    return new TrainingBatch.Users(seq, ids, profile, scenes);
  }

  /**
   * Candidate items in list order, without user context: {@code affinity_*} features are missing.
   */
  public TrainingBatch.Candidates candidates(List<CandidateInput> candidates) {
    return candidates(candidates, null, null);
  }

  /** Candidates of one user (serving): {@code affinity_*} features from that user's window. */
  public TrainingBatch.Candidates candidates(UserInput user, List<CandidateInput> candidates) {
    return candidates(candidates, List.of(user), new int[candidates.size()]);
  }

  /**
   * Candidate items in list order; candidate i belongs to {@code users.get(group[i])}, whose window
   * gives its {@code affinity_*} features ({@code users} null: missing).
   */
  public TrainingBatch.Candidates candidates(
      List<CandidateInput> candidates, List<UserInput> users, int[] group) {
    int s = candidates.size();
    if (users != null && (group == null || group.length != s))
      throw new IllegalArgumentException(
          "group must name the user of each of the " + s + " candidates");
    long[] ci = new long[s], cs = new long[s], cb = new long[s], cc = new long[s];
    float[] features = new float[s * itemNames.length];
    for (int i = 0; i < s; i++) {
      CandidateInput c = candidates.get(i);
      ci[i] = c.itemId();
      cs[i] = c.shopId();
      cb[i] = c.brandId();
      cc[i] = c.categoryId();
      UserInput user = users == null ? null : users.get(group[i]);
      for (int k = 0; k < itemNames.length; k++)
        features[i * itemNames.length + k] =
            AFFINITY_FEATURES.contains(itemNames[k])
                ? affinity(itemNames[k], c, user)
                : value(c.features().get(itemNames[k]));
    }
    return new TrainingBatch.Candidates(ci, cs, cb, cc, features);
  }

  /** One {@code affinity_*} feature of a candidate for its user; NaN without history. */
  private float affinity(String name, CandidateInput c, UserInput user) {
    if (user == null || user.window().isEmpty()) return Float.NaN;
    List<BehaviourRecord> w = user.window();
    int from = Math.max(0, w.size() - steps); // the behaviours the sequence encoder sees
    int n = w.size() - from, same = 0;
    for (int i = from; i < w.size(); i++) {
      BehaviourRecord b = w.get(i);
      boolean hit =
          switch (name) {
            case AFFINITY_CATEGORY -> c.categoryId() >= 0 && b.categoryId() == c.categoryId();
            case AFFINITY_SESSION_CATEGORY ->
                c.categoryId() >= 0
                    && b.categoryId() == c.categoryId()
                    && user.requestTimeMs() - b.timeMs() <= SESSION_MS;
            case AFFINITY_ITEM -> c.itemId() >= 0 && b.itemId() == c.itemId();
            default -> throw new IllegalArgumentException("unknown affinity feature " + name);
          };
      if (hit) same++;
    }
    return name.equals(AFFINITY_CATEGORY) ? (float) same / n : same;
  }

  private static long[] filled(int n) {
    long[] a = new long[n];
    Arrays.fill(a, -1);
    return a;
  }

  private static float value(Double v) {
    return v == null ? Float.NaN : v.floatValue();
  }

  /** A property code must fit its table (row 0 is "missing"); -1 = missing. */
  private static int code(String what, int code, int codes) {
    if (code < -1 || code >= codes)
      throw new IllegalArgumentException(
          what + " code " + code + " is outside -1.." + (codes - 1) + " of the model's table");
    return code;
  }
}
