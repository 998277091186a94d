package io.perceive.model;

import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.TrainingBatch.Labels;
import io.perceive.model.TrainingBatch.Users;
import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.Activation;
import io.perceive.model.layers.Dense;
import io.perceive.model.layers.LstmState;
import io.perceive.model.layers.MissingValueLayer;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.layers.StepInput;
import io.perceive.model.layers.UserSequenceEncoder;
import io.perceive.model.loss.EsmmOrderLoss;
import io.perceive.model.loss.MaskedBinaryCrossEntropy;
import io.perceive.model.loss.PairwiseLogistic;
import io.perceive.model.loss.SoftmaxCrossEntropy;
import io.perceive.model.loss.SymmetricKlBound;
import io.perceive.model.sharing.SharingBlock;
import io.perceive.model.sharing.SharingConfig;
import io.perceive.model.wide.WidePart;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The assembled multi-task model of DESIGN.md: DUPN's user representation u = [attention over the
 * property-gated LSTM's hidden states, user vector] (the user vector from {@code emb/user} and the
 * profile through Meituan's Missing Value Layer), the candidate item from the tables it shares with
 * the behaviour sequence plus its continuous features through a Missing Value Layer, an MMoE-family
 * {@link SharingBlock} over [u, item] with towers for click, conversion and order (ESMM: no order
 * head), a price-preference head on u alone, and the losses of {@code io.perceive.model.loss}.
 * Optionally a {@link WidePart} (Wide &amp; Deep, Cheng et al. 2016, eq. 3) adds a linear model
 * over hashed sparse crosses to every task logit: each task's logit = deep logit + Σ wide weights
 * of the sample's active crosses, and every loss, mask, bound and prediction sees that sum.
 *
 * <p>A stateless description like every layer: parameters live in a {@link ParameterSet} made by
 * {@link #initialise}. Training computes the user side once per (user, request) group and the
 * per-sample part once per sample, including the user half of every first layer of the sharing
 * block (DUPN's model split); {@link #encodeUser} + {@link #score} do the same for serving.
 */
public final class MultiTaskModel {

  public static final String ITEM_TABLE = "emb/item";
  public static final String SHOP_TABLE = "emb/shop";
  public static final String BRAND_TABLE = "emb/brand";
  public static final String CATEGORY_TABLE = "emb/category";
  public static final String BEHAVIOUR_TYPE_TABLE = "emb/behaviour_type";
  public static final String SCENE_TABLE = "emb/scene";
  public static final String TIME_GAP_TABLE = "emb/time_gap";
  public static final String USER_TABLE = "emb/user";

  public static final String CLICK = "click";
  public static final String CONVERSION = "conversion";
  public static final String ORDER = "order";

  /**
   * Forward + backward of one batch: predictions made before any update, losses, gradients, and the
   * nanoseconds spent in each half (the job's minibatch profile; ND4J's CPU ops are synchronous, so
   * the wall clock between them is the ops' time).
   */
  public record StepResult(
      Predictions predictions,
      Losses losses,
      Gradients gradients,
      double[][] gateMeans,
      long forwardNanos,
      long backwardNanos) {}

  /**
   * The user side of G users, computed once ({@link #encodeUser}) and reused for any number of
   * candidates: u [G, 256], the user half of every first layer of the sharing block, and the
   * price-preference logits [G, levels].
   */
  public static final class UserRepresentation {
    private final INDArray u;
    private final SharingBlock.UserPart part;
    private final INDArray priceLogits;
    private final INDArray interaction; // W u [G, E_item] or null
    // the wide part's user-side ids (null when it is off): its crosses combine them with each
    // candidate's ids
    private final WidePart.UserKeys wideKeys;

    UserRepresentation(
        INDArray u,
        SharingBlock.UserPart part,
        INDArray priceLogits,
        INDArray interaction,
        WidePart.UserKeys wideKeys) {
      this.u = u;
      this.part = part;
      this.priceLogits = priceLogits;
      this.interaction = interaction;
      this.wideKeys = wideKeys;
    }

    /** u [G, userRepresentationWidth]. */
    public INDArray vector() {
      return u;
    }

    public int users() {
      return (int) u.rows();
    }

    /** Softmax over price levels of user {@code g}. */
    public double[] pricePreference(int g) {
      double[] z = HostView.toDoubles(priceLogits.getRow(g));
      double max = Double.NEGATIVE_INFINITY;
      for (double v : z) max = Math.max(max, v);
      double sum = 0;
      for (int k = 0; k < z.length; k++) sum += z[k] = Math.exp(z[k] - max);
      for (int k = 0; k < z.length; k++) z[k] /= sum;
      return z;
    }
  }

  private final ModelConfig cfg;
  private final UserSequenceEncoder encoder;
  private final MissingValueLayer profile;
  private final MissingValueLayer itemFeatures;
  private final Dense userTower;
  private final SharingBlock block;
  private final Dense priceHead;
  private final Dense interaction; // u [G, 256] → W u [G, E_item]; null when disabled
  private final WidePart wide; // null when disabled
  private final List<String> tasks;

  public MultiTaskModel(ModelConfig cfg) {
    this.cfg = cfg;
    this.encoder = new UserSequenceEncoder(cfg.sequenceConfig());
    this.profile = cfg.profileLayer();
    this.itemFeatures = cfg.itemFeatureLayer();
    this.userTower =
        new Dense(
            "user_tower",
            cfg.get(ModelConfig.USER_DIM) + profile.width(),
            cfg.get(ModelConfig.USER_VECTOR),
            Activation.RELU);
    this.interaction =
        cfg.get(ModelConfig.INTERACTION)
            ? new Dense(
                "interaction",
                cfg.userRepresentationWidth(),
                cfg.itemEmbeddingWidth(),
                Activation.IDENTITY)
            : null;
    this.tasks = cfg.esmm() ? List.of(CLICK, CONVERSION) : List.of(CLICK, CONVERSION, ORDER);
    this.block =
        new SharingBlock(
            new SharingConfig(
                cfg.sharingMode(),
                tasks,
                cfg.userRepresentationWidth(),
                itemWidth(),
                cfg.get(ModelConfig.EXPERTS),
                cfg.get(ModelConfig.EXPERT_HIDDEN),
                cfg.get(ModelConfig.BOTTOM_HIDDEN),
                cfg.get(ModelConfig.TOWER_HIDDEN)));
    this.priceHead =
        new Dense(
            "price",
            cfg.userRepresentationWidth(),
            cfg.get(ModelConfig.PRICE_LEVELS),
            Activation.IDENTITY);
    this.wide =
        cfg.get(ModelConfig.WIDE_ENABLED)
            ? new WidePart(
                cfg.get(ModelConfig.WIDE_BUCKETS),
                tasks.size(),
                cfg.get(ModelConfig.WIDE_CROSSES),
                cfg.get(ModelConfig.WIDE_RECENT_BEHAVIOURS),
                cfg.get(ModelConfig.WIDE_HASH_SEED),
                cfg.get(ModelConfig.WIDE_PER_SAMPLE_STEPS),
                cfg.get(ModelConfig.WIDE_LEARNING_RATE_SCALE))
            : null;
  }

  public ModelConfig config() {
    return cfg;
  }

  /** Tasks of the sharing block, in tower order: click, conversion[, order]. */
  public List<String> tasks() {
    return tasks;
  }

  public SharingBlock sharingBlock() {
    return block;
  }

  /** The wide part (Wide & Deep), or null when {@code wide.enabled} is false. */
  public WidePart widePart() {
    return wide;
  }

  /**
   * Width of the per-sample input of the sharing block: item embeddings + item features (+ the
   * user-item interaction, as wide as the item embeddings).
   */
  public int itemWidth() {
    return cfg.itemEmbeddingWidth() * (interaction != null ? 2 : 1) + itemFeatures.width();
  }

  /** Registers every table and dense parameter (the layout order is part of snapshots). */
  public void register(ParameterSet.Builder b) {
    double std = cfg.get(ModelConfig.EMBEDDING_INIT_STD);
    b.table(ITEM_TABLE, cfg.get(ModelConfig.ITEM_ROWS), cfg.get(ModelConfig.ITEM_DIM), std);
    b.table(SHOP_TABLE, cfg.get(ModelConfig.SHOP_ROWS), cfg.get(ModelConfig.SHOP_DIM), std);
    b.table(BRAND_TABLE, cfg.get(ModelConfig.BRAND_ROWS), cfg.get(ModelConfig.BRAND_DIM), std);
    b.table(
        CATEGORY_TABLE, cfg.get(ModelConfig.CATEGORY_ROWS), cfg.get(ModelConfig.CATEGORY_DIM), std);
    b.table(
        BEHAVIOUR_TYPE_TABLE,
        cfg.get(ModelConfig.BEHAVIOUR_TYPE_ROWS),
        cfg.get(ModelConfig.BEHAVIOUR_TYPE_DIM),
        std);
    b.table(SCENE_TABLE, cfg.get(ModelConfig.SCENE_ROWS), cfg.get(ModelConfig.SCENE_DIM), std);
    b.table(
        TIME_GAP_TABLE, cfg.get(ModelConfig.TIME_GAP_ROWS), cfg.get(ModelConfig.TIME_GAP_DIM), std);
    b.table(USER_TABLE, cfg.get(ModelConfig.USER_ROWS), cfg.get(ModelConfig.USER_DIM), std);
    encoder.register(b);
    profile.register(b);
    userTower.register(b);
    itemFeatures.register(b);
    block.register(b);
    priceHead.register(b);
    if (interaction != null) interaction.register(b);
    // last, so that the deep part's initial values do not depend on whether the wide part is on
    if (wide != null) wide.register(b);
  }

  /**
   * Re-imposes structural zeros (the LSTM's property → cell-input block, see {@code
   * PropertyGatedLstm}); call after an optimizer step that could move them (e.g. weight decay).
   */
  public void enforceStructure(ParameterSet p) {
    encoder.lstm().enforceStructure(p);
  }

  /** The behaviour sequence encoder (branch seq's property-gated LSTM + attention). */
  public UserSequenceEncoder sequenceEncoder() {
    return encoder;
  }

  /** New parameters, deterministic in the config's seed. */
  public ParameterSet initialise(DataType type) {
    ParameterSet.Builder b = ParameterSet.builder(type);
    register(b);
    return b.build(cfg.seed());
  }

  // ------------------------------------------------------------------ user side

  private static final class UserCache {
    int[] userRows;
    int[] sceneRows;
    MissingValueLayer.Cache profile = new MissingValueLayer.Cache();
    Dense.Cache tower = new Dense.Cache();
    UserSequenceEncoder.Cache encoder = new UserSequenceEncoder.Cache();
    Dense.Cache price = new Dense.Cache();
    Dense.Cache interaction = new Dense.Cache();
  }

  /**
   * forwardBackward's user-side caches, one per thread and reused from call to call: the sequence
   * encoder then writes into the same native arrays every minibatch instead of allocating ~50 MB
   * (the largest cost of a training step before, docs/model-performance.md). Nothing a call returns
   * points into them.
   */
  private final ThreadLocal<UserCache> userCaches = ThreadLocal.withInitial(UserCache::new);

  /** Encodes G users once: u, the first-layer user halves, the price logits. */
  public UserRepresentation encodeUser(ParameterSet p, Users users) {
    return encodeUser(p, users, null);
  }

  private UserRepresentation encodeUser(ParameterSet p, Users users, UserCache c) {
    DataType type = p.dataType();
    int g = users.size();
    EmbeddingTable userTable = p.table(USER_TABLE);
    int[] userRows = userTable.rowsOf(users.userIds());
    INDArray userEmb = userTable.gather(userRows); // [G, userDim]
    INDArray towerIn = userEmb;
    if (profile.width() > 0) {
      if (users.profile().length != g * profile.width())
        throw new IllegalArgumentException(
            "profile has "
                + users.profile().length
                + " values for "
                + g
                + " users × "
                + profile.width());
      INDArray raw = matrix(users.profile(), g, profile.width(), type); // [G, Fp]
      INDArray prof = profile.forward(p, raw, c == null ? null : c.profile); // [G, Fp]
      towerIn = HostView.hstack(type, userEmb, prof); // [G, userDim + Fp]
    } else if (users.profile().length != 0) {
      throw new IllegalArgumentException("profile values given but no profile features configured");
    }
    INDArray userVector = userTower.forward(p, towerIn, c == null ? null : c.tower); // [G, 128]
    int[] sceneRows = propertyRows(users.scenes(), p.table(SCENE_TABLE), "scene");
    INDArray scene = p.table(SCENE_TABLE).gather(sceneRows); // [G, sceneDim]
    INDArray query = HostView.hstack(type, userVector, scene); // [G, Q]
    INDArray attention =
        cfg.get(ModelConfig.SEQUENCE_ENABLED)
            ? encoder.forward(p, users.sequence(), query, c == null ? null : c.encoder) // [G, H]
            : Nd4j.zeros(type, g, cfg.get(ModelConfig.LSTM_HIDDEN)); // ablation: no sequence
    INDArray u = HostView.hstack(type, attention, userVector); // [G, 256]
    INDArray priceLogits = priceHead.forward(p, u, c == null ? null : c.price); // [G, levels]
    if (c != null) {
      c.userRows = userRows;
      c.sceneRows = sceneRows;
    }
    INDArray q =
        interaction == null
            ? null
            : interaction.forward(p, u, c == null ? null : c.interaction); // [G, E_item]
    return new UserRepresentation(u, block.encodeUser(p, u), priceLogits, q, wideKeys(users));
  }

  /** du [G, 256] → gradients of the whole user side. */
  private void backwardUser(ParameterSet p, Gradients g, INDArray du, UserCache c) {
    int hidden = cfg.get(ModelConfig.LSTM_HIDDEN);
    int uv = cfg.get(ModelConfig.USER_VECTOR);
    INDArray dAttention = cols(du, 0, hidden); // [G, H]
    INDArray dUserVector = cols(du, hidden, hidden + uv); // [G, 128]
    if (cfg.get(ModelConfig.SEQUENCE_ENABLED)) {
      INDArray dQuery = encoder.backward(p, g, dAttention, c.encoder).dQuery(); // [G, Q]
      dUserVector.addi(cols(dQuery, 0, uv));
      g.accumulate(SCENE_TABLE, c.sceneRows, cols(dQuery, uv, (int) dQuery.columns()));
    }
    INDArray dTowerIn = userTower.backward(p, g, dUserVector, c.tower); // [G, userDim + Fp]
    int userDim = cfg.get(ModelConfig.USER_DIM);
    g.accumulate(USER_TABLE, c.userRows, cols(dTowerIn, 0, userDim));
    if (profile.width() > 0)
      profile.backward(p, g, cols(dTowerIn, userDim, (int) dTowerIn.columns()), c.profile);
  }

  // ------------------------------------------------------------------ per-sample side

  private static final class ItemCache {
    int[][] rows; // item, shop, brand, category rows, [S] each
    INDArray emb; // [S, E_item] concatenated embeddings (interaction only)
    INDArray qRows; // [S, E_item] W u of each sample's user (interaction only)
    int[] group;
    MissingValueLayer.Cache features = new MissingValueLayer.Cache();
    SharingBlock.Cache block = new SharingBlock.Cache();
  }

  private static final String[] ITEM_TABLES = {ITEM_TABLE, SHOP_TABLE, BRAND_TABLE, CATEGORY_TABLE};

  /**
   * The candidate item input [S, itemWidth]: its four embeddings, its features (MVL) and, when
   * enabled, the interaction (W u)[group] ⊙ embeddings with its user's projection.
   */
  private INDArray itemInput(
      ParameterSet p, Candidates cand, UserRepresentation user, int[] group, ItemCache c) {
    int s = cand.size();
    long[][] ids = {cand.itemIds(), cand.shopIds(), cand.brandIds(), cand.categoryIds()};
    INDArray[] parts =
        new INDArray[(itemFeatures.width() > 0 ? 5 : 4) + (interaction != null ? 1 : 0)];
    int[][] rows = new int[4][];
    for (int k = 0; k < 4; k++) {
      EmbeddingTable t = p.table(ITEM_TABLES[k]);
      rows[k] = t.rowsOf(ids[k]);
      parts[k] = t.gather(rows[k]); // [S, dim_k]
    }
    if (itemFeatures.width() > 0) {
      if (cand.features().length != s * itemFeatures.width())
        throw new IllegalArgumentException(
            "candidate features have "
                + cand.features().length
                + " values for "
                + s
                + " items × "
                + itemFeatures.width());
      INDArray raw = matrix(cand.features(), s, itemFeatures.width(), p.dataType());
      parts[4] = itemFeatures.forward(p, raw, c == null ? null : c.features); // [S, Fi]
    } else if (cand.features().length != 0) {
      throw new IllegalArgumentException("item features given but none configured");
    }
    if (interaction != null) {
      INDArray emb =
          HostView.hstack(p.dataType(), parts[0], parts[1], parts[2], parts[3]); // [S, E_item]
      INDArray qRows = Nd4j.pullRows(user.interaction, 1, group); // [S, E_item]
      parts[parts.length - 1] = emb.mul(qRows); // [S, E_item]
      if (c != null) {
        c.emb = emb;
        c.qRows = qRows;
        c.group = group;
      }
    }
    if (c != null) c.rows = rows;
    return HostView.hstack(p.dataType(), parts); // [S, itemWidth]
  }

  /**
   * dItem [S, itemWidth] → table and feature gradients; returns dL/d(W u) [G, E_item] for the
   * interaction (null when disabled).
   */
  private INDArray backwardItem(
      ParameterSet p, Gradients g, INDArray dItem, ItemCache c, int users) {
    int e = cfg.itemEmbeddingWidth();
    INDArray dEmb = cols(dItem, 0, e).dup(); // [S, E_item]
    INDArray dQ = null;
    if (interaction != null) {
      int from = e + itemFeatures.width();
      INDArray dInt = cols(dItem, from, from + e); // [S, E_item]
      dEmb.addi(dInt.mul(c.qRows));
      INDArray dQRows = dInt.mul(c.emb); // [S, E_item]
      double[] rowsD = dQRows.castTo(DataType.DOUBLE).dup('c').data().asDouble();
      double[] acc = new double[users * e];
      for (int i = 0; i < c.group.length; i++) {
        int o = c.group[i] * e, r = i * e;
        for (int k = 0; k < e; k++) acc[o + k] += rowsD[r + k];
      }
      dQ = matrix(acc, users, e, p.dataType()); // [G, E_item]
    }
    int off = 0;
    for (int k = 0; k < 4; k++) {
      int d = p.table(ITEM_TABLES[k]).dim();
      g.accumulate(ITEM_TABLES[k], c.rows[k], cols(dEmb, off, off + d));
      off += d;
    }
    if (itemFeatures.width() > 0)
      itemFeatures.backward(p, g, cols(dItem, e, e + itemFeatures.width()), c.features);
    return dQ;
  }

  // ------------------------------------------------------------------ scoring

  /** One thread's scoring input buffer: a chunk of candidate rows [CHUNK, itemWidth]. */
  private static final class ScoringWork {
    final DataType type;
    final INDArray item; // [CHUNK, itemWidth], native (the first layers' gemm reads it)
    final HostView itemView;
    final double[] host; // the same rows in Java, filled by gathers and the MVL

    ScoringWork(DataType type, int itemWidth) {
      this.type = type;
      try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        item = Nd4j.createUninitialized(type, SharingBlock.INFERENCE_CHUNK, itemWidth);
      }
      itemView = HostView.of(item);
      host = new double[SharingBlock.INFERENCE_CHUNK * itemWidth];
    }
  }

  private final ThreadLocal<ScoringWork[]> scoringWork =
      ThreadLocal.withInitial(() -> new ScoringWork[2]); // [0] FLOAT, [1] DOUBLE

  /** Scores candidates of G encoded users; group [S] says whose candidate each row is. */
  public Predictions score(ParameterSet p, UserRepresentation user, int[] group, Candidates cand) {
    if (group.length != cand.size())
      throw new IllegalArgumentException(
          "group has " + group.length + " entries for " + cand.size() + " candidates");
    int s = cand.size();
    if (s == 0) return new Predictions(new double[0], new double[0], new double[0], new double[0]);
    int users = user.users();
    for (int i = 0; i < s; i++)
      if (group[i] < 0 || group[i] >= users)
        throw new IllegalArgumentException(
            "candidate " + i + " has group " + group[i] + " of " + users);
    int fi = itemFeatures.width();
    if (cand.features().length != s * fi)
      throw new IllegalArgumentException(
          fi == 0
              ? "item features given but none configured"
              : "candidate features have "
                  + cand.features().length
                  + " values for "
                  + s
                  + " items × "
                  + fi);
    DataType type = p.dataType();
    ScoringWork[] ws = scoringWork.get();
    int slot = type == DataType.DOUBLE ? 1 : 0;
    if (ws[slot] == null || ws[slot].type != type) ws[slot] = new ScoringWork(type, itemWidth());
    ScoringWork w = ws[slot];
    // The candidates' rows are gathered in Java straight into the chunk buffer (the training
    // path's 4 pullRows + MVL + hstack made 6 native arrays per call): the same values, since a
    // gather copies and the interaction's float product is exact in double before rounding.
    long[][] ids = {cand.itemIds(), cand.shopIds(), cand.brandIds(), cand.categoryIds()};
    EmbeddingTable[] tables = new EmbeddingTable[4];
    HostView[] views = new HostView[4];
    for (int k = 0; k < 4; k++) {
      tables[k] = p.table(ITEM_TABLES[k]);
      views[k] = HostView.of(tables[k].weights());
    }
    double[] fill = itemFeatures.fillValues(p);
    double[] q = interaction == null ? null : HostView.toDoubles(user.interaction); // [G, E]
    int e = cfg.itemEmbeddingWidth();
    int width = itemWidth();
    SharingBlock.Inference inf = block.inference(p, user.part, group, type);
    double[][] z = new double[tasks.size()][s];
    double[] host = w.host;
    for (int from = 0; from < s; from += SharingBlock.INFERENCE_CHUNK) {
      int rows = Math.min(SharingBlock.INFERENCE_CHUNK, s - from);
      for (int r = 0; r < rows; r++) {
        int o = r * width;
        int off = o;
        for (int k = 0; k < 4; k++) {
          int dim = tables[k].dim();
          views[k].read(tables[k].rowOf(ids[k][from + r]) * dim, host, off, dim);
          off += dim;
        }
        if (q != null) { // the interaction (W u)[user] ⊙ embeddings, after the features
          int io = o + e + fi;
          int qo = group[from + r] * e;
          for (int j = 0; j < e; j++) host[io + j] = host[o + j] * q[qo + j];
        }
      }
      if (fi > 0) itemFeatures.inferInto(cand.features(), from, rows, fill, host, e, width);
      w.itemView.write(0, host, 0, rows * width);
      inf.run(w.item, 0, from, rows, z);
    }
    addWide(p, user.wideKeys, group, cand, z);
    return predictions(z);
  }

  /** The wide part's user-side ids of G users (null when it is off). */
  private WidePart.UserKeys wideKeys(Users users) {
    if (wide == null) return null;
    SequenceInput seq = users.sequence();
    return WidePart.UserKeys.of(
        users.userIds(), users.scenes(), seq.categoryIds(), seq.mask(), seq.steps(), wide.recent());
  }

  /**
   * Adds the wide part's logits to the deep logits z [tasks][S] (when enabled) and returns the
   * samples' active buckets for its backward pass (null when disabled).
   */
  private int[] addWide(
      ParameterSet p, WidePart.UserKeys keys, int[] group, Candidates cand, double[][] z) {
    if (wide == null) return null;
    int[] active = wide.buckets(keys, group, cand);
    wide.addLogits(p, active, z);
    return active;
  }

  /** Scores many candidates of one encoded user (the model split's serving path). */
  public Predictions score(ParameterSet p, UserRepresentation user, Candidates cand) {
    if (user.users() != 1)
      throw new IllegalArgumentException(
          "one user expected, got " + user.users() + "; pass groups");
    return score(p, user, new int[cand.size()], cand);
  }

  /**
   * The unsplit computation for every (user, candidate) pair: the user side (including the sequence
   * encoder) is recomputed for each pair and every first layer multiplies the full [u, item] input.
   * The reference for the split's correctness and speed.
   */
  public Predictions scoreUnsplit(ParameterSet p, Users users, int[] group, Candidates cand) {
    Users perPair = expand(users, group);
    UserRepresentation rep = encodeUser(p, perPair, null);
    int[] identity = new int[cand.size()];
    for (int i = 0; i < identity.length; i++) identity[i] = i;
    INDArray item = itemInput(p, cand, rep, identity, null);
    double[][] z = logits(block.forwardUnsplit(p, rep.u, item));
    addWide(p, rep.wideKeys, identity, cand, z);
    return predictions(z);
  }

  // ------------------------------------------------------------------ training

  /**
   * Forward and backward on a batch with the given parameters: returns the predictions (made before
   * any update — the prequential score), the losses and the gradients of the weighted total loss
   * (each loss a mean over its rows). The caller applies the gradients with its optimizer.
   */
  public StepResult forwardBackward(ParameterSet p, TrainingBatch batch) {
    long t0 = System.nanoTime();
    UserCache uc = userCaches.get();
    UserRepresentation user = encodeUser(p, batch.users(), uc);
    ItemCache ic = new ItemCache();
    INDArray item = itemInput(p, batch.candidates(), user, batch.group(), ic);
    SharingBlock.Output out = block.forward(p, user.part, batch.group(), item, ic.block);
    double[][] z = logits(out);
    int[] active = addWide(p, user.wideKeys, batch.group(), batch.candidates(), z);
    int s = batch.samples();
    double[][] dz = new double[tasks.size()][s];
    int levels = cfg.get(ModelConfig.PRICE_LEVELS);
    double[] dPrice = new double[user.users() * levels];
    Losses losses = losses(z, user.priceLogits, batch, dz, dPrice);
    long t1 = System.nanoTime();

    Gradients g = p.newGradients();
    INDArray[] dOut = new INDArray[tasks.size()];
    for (int t = 0; t < tasks.size(); t++) dOut[t] = matrix(dz[t], s, 1, p.dataType());
    SharingBlock.Grad bg = block.backward(p, g, dOut, ic.block);
    if (wide != null) wide.backward(g, active, dz); // the wide logit's gradient is dz itself
    INDArray dQ = backwardItem(p, g, bg.dItem(), ic, user.users());
    INDArray du = bg.dUser(); // [G, 256]
    if (dQ != null) du.addi(interaction.backward(p, g, dQ, uc.interaction));
    INDArray dPriceLogits = matrix(dPrice, user.users(), levels, p.dataType());
    du.addi(priceHead.backward(p, g, dPriceLogits, uc.price));
    backwardUser(p, g, du, uc);
    double[][] gates = null;
    if (out.gateMeans() != null) {
      gates = new double[tasks.size()][];
      for (int t = 0; t < tasks.size(); t++) gates[t] = out.gateMeansOfTask(t);
    }
    return new StepResult(predictions(z), losses, g, gates, t1 - t0, System.nanoTime() - t1);
  }

  /** Predictions for a batch without gradients (user side once per group, then the split). */
  public Predictions predict(ParameterSet p, TrainingBatch batch) {
    return score(p, encodeUser(p, batch.users()), batch.group(), batch.candidates());
  }

  /**
   * Advances many users' LSTM state (h, c) [B, H] by one behaviour each — the streaming update when
   * a behaviour leaves the window (delegates to the sequence encoder).
   */
  public LstmState advance(ParameterSet p, INDArray h, INDArray c, StepInput step) {
    return encoder.advance(p, h, c, step);
  }

  /** The losses of a batch without gradients (evaluation, gradient checks). */
  public Losses evaluate(ParameterSet p, TrainingBatch batch) {
    UserRepresentation user = encodeUser(p, batch.users(), null);
    INDArray item = itemInput(p, batch.candidates(), user, batch.group(), null);
    double[][] z = logits(block.forward(p, user.part, batch.group(), item, null));
    addWide(p, user.wideKeys, batch.group(), batch.candidates(), z);
    int levels = cfg.get(ModelConfig.PRICE_LEVELS);
    return losses(
        z,
        user.priceLogits,
        batch,
        new double[tasks.size()][batch.samples()],
        new double[user.users() * levels]);
  }

  /** All losses and their weighted gradients w.r.t. the task logits and the price logits. */
  private Losses losses(
      double[][] z, INDArray priceLogits, TrainingBatch batch, double[][] dz, double[] dPrice) {
    Labels y = batch.labels();
    double wClick = cfg.get(ModelConfig.CLICK_WEIGHT);
    double wConv = cfg.get(ModelConfig.CONVERSION_WEIGHT);
    double wOrder = cfg.get(ModelConfig.ORDER_WEIGHT);
    double wKl = cfg.get(ModelConfig.KL_WEIGHT);
    double wPair = cfg.get(ModelConfig.PAIRWISE_WEIGHT);
    double wPrice = cfg.get(ModelConfig.PRICE_WEIGHT);
    double click = MaskedBinaryCrossEntropy.apply(z[0], y.click(), wClick, dz[0]);
    double conversion = MaskedBinaryCrossEntropy.apply(z[1], y.conversion(), wConv, dz[1]);
    double order;
    double kl = 0;
    if (cfg.esmm()) {
      order = EsmmOrderLoss.apply(z[0], z[1], y.order(), wOrder, dz[0], dz[1]);
    } else {
      order = MaskedBinaryCrossEntropy.apply(z[2], y.order(), wOrder, dz[2]);
      if (wKl > 0) kl = SymmetricKlBound.apply(z[2], z[0], z[1], null, wKl, dz[2], dz[0], dz[1]);
    }
    double pairwise =
        wPair > 0 ? PairwiseLogistic.apply(z[0], y.click(), batch.group(), wPair, dz[0]) : 0;
    double price = 0;
    if (wPrice > 0) {
      int levels = cfg.get(ModelConfig.PRICE_LEVELS);
      double[] perGroup = doubles(priceLogits); // [G * levels]
      int s = batch.samples();
      double[] zs = new double[s * levels];
      for (int i = 0; i < s; i++)
        System.arraycopy(perGroup, batch.group()[i] * levels, zs, i * levels, levels);
      double[] dzs = new double[s * levels];
      price = SoftmaxCrossEntropy.apply(zs, levels, y.priceLevel(), wPrice, dzs);
      for (int i = 0; i < s; i++) {
        int o = batch.group()[i] * levels;
        for (int k = 0; k < levels; k++) dPrice[o + k] += dzs[i * levels + k];
      }
    }
    double total =
        wClick * click
            + wConv * conversion
            + wOrder * order
            + wKl * kl
            + wPair * pairwise
            + wPrice * price;
    return new Losses(click, conversion, order, kl, pairwise, price, total);
  }

  // ------------------------------------------------------------------ helpers

  private double[][] logits(SharingBlock.Output out) {
    double[][] z = new double[tasks.size()][];
    for (int t = 0; t < tasks.size(); t++) z[t] = doubles(out.taskOutputs()[t]);
    return z;
  }

  private Predictions predictions(double[][] z) {
    int s = z[0].length;
    double[] click = new double[s];
    double[] conv = new double[s];
    double[] order = new double[s];
    for (int i = 0; i < s; i++) {
      click[i] = sigmoid(z[0][i]);
      conv[i] = sigmoid(z[1][i]);
      order[i] = cfg.esmm() ? click[i] * conv[i] : sigmoid(z[2][i]);
    }
    return new Predictions(click, conv, order, z[0].clone());
  }

  private static double sigmoid(double z) {
    return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }

  /** Property code → table row: code + 1, missing (-1) → row 0 (the sequence encoder's rule). */
  static int[] propertyRows(int[] codes, EmbeddingTable t, String what) {
    int[] r = new int[codes.length];
    for (int i = 0; i < codes.length; i++) {
      int c = codes[i];
      if (c < -1 || c + 1 >= t.rows())
        throw new IllegalArgumentException(
            what + " code " + c + " outside -1.." + (t.rows() - 2) + " (" + t.name() + ")");
      r[i] = c + 1;
    }
    return r;
  }

  /** One group per (user, candidate) pair: the users' rows repeated as {@code group} says. */
  private static Users expand(Users users, int[] group) {
    SequenceInput in = users.sequence();
    int t = in.steps();
    int n = group.length;
    long[] item = new long[n * t],
        shop = new long[n * t],
        brand = new long[n * t],
        cat = new long[n * t];
    int[] bt = new int[n * t], sc = new int[n * t], gap = new int[n * t];
    float[] mask = new float[n * t];
    int fp = users.size() == 0 ? 0 : users.profile().length / users.size();
    float[] prof = new float[n * fp];
    long[] ids = new long[n];
    int[] scenes = new int[n];
    for (int i = 0; i < n; i++) {
      int g = group[i];
      System.arraycopy(in.itemIds(), g * t, item, i * t, t);
      System.arraycopy(in.shopIds(), g * t, shop, i * t, t);
      System.arraycopy(in.brandIds(), g * t, brand, i * t, t);
      System.arraycopy(in.categoryIds(), g * t, cat, i * t, t);
      System.arraycopy(in.behaviourTypes(), g * t, bt, i * t, t);
      System.arraycopy(in.scenes(), g * t, sc, i * t, t);
      System.arraycopy(in.timeGapBuckets(), g * t, gap, i * t, t);
      System.arraycopy(in.mask(), g * t, mask, i * t, t);
      System.arraycopy(users.profile(), g * fp, prof, i * fp, fp);
      ids[i] = users.userIds()[g];
      scenes[i] = users.scenes()[g];
    }
    INDArray h0 = Nd4j.pullRows(in.h0(), 1, group);
    INDArray c0 = Nd4j.pullRows(in.c0(), 1, group);
    SequenceInput rep = new SequenceInput(n, t, item, shop, brand, cat, bt, sc, gap, mask, h0, c0);
    return new Users(rep, ids, prof, scenes);
  }

  private static INDArray cols(INDArray a, int from, int to) {
    return a.get(NDArrayIndex.all(), NDArrayIndex.interval(from, to)).dup('c');
  }

  static INDArray matrix(float[] v, int rows, int cols, DataType type) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) d[i] = v[i];
    return HostView.fromDoubles(d, rows, cols, type); // one native array, no create + cast
  }

  static INDArray matrix(double[] v, int rows, int cols, DataType type) {
    return HostView.fromDoubles(v, rows, cols, type);
  }

  static double[] doubles(INDArray a) {
    return HostView.toDoubles(a);
  }

  /** Names of the dense parameters by component, for docs and tests. */
  List<String> denseParameterNames(ParameterSet p) {
    return new ArrayList<>(p.denseSpecs().keySet());
  }
}
