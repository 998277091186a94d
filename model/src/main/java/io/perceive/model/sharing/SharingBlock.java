package io.perceive.model.sharing;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.Activation;
import io.perceive.model.layers.Dense;
import io.perceive.model.layers.SplitDense;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The task-sharing block of Ma et al., KDD 2018 ("Modeling Task Relationships in Multi-task
 * Learning with Multi-gate Mixture-of-Experts"): shared-bottom (eq. 1), one-gate MoE (eq. 4) or
 * multi-gate MoE (eq. 5–6: f^k(x) = Σ_i g^k(x)_i f_i(x), g^k(x) = softmax(W_gk x)), followed by one
 * tower per task whose output is a raw value (a logit for binary tasks, the prediction for
 * regression). Parameters: {@code bottom/...}, {@code expert_<i>/...}, {@code gate/...} (OMoE),
 * {@code gate_<task>/...} (MMoE), {@code tower_<task>/{hidden,out}/...}.
 *
 * <p>The input is [user, item]: every first layer (bottom, experts, gates) is a {@link SplitDense}
 * whose user half is computed once per user ({@link #encodeUser}) and gathered for that user's
 * samples — DUPN's model split, used in training (once per request group) and in serving. With
 * {@code userWidth == 0} the block is a plain block over a dense input [B, D]: {@link
 * #forward(ParameterSet, INDArray, Cache)} (the entry point of the MMoE paper experiment).
 *
 * <p>Experts break symmetry: each expert's weights are drawn from the parameter set's seeded
 * generator in turn, so no two start equal, and gates start from distinct random weights too.
 */
public final class SharingBlock {

  /**
   * The per-user half of every first layer, computed once per user: user [G, userWidth]; halves [G,
   * N] = u W_user + b of every first layer side by side (bottom | experts then gates).
   */
  public record UserPart(INDArray user, INDArray halves) {}

  /** Per-task tower outputs [B, 1] (task order of the config) and mean gate weights per gate. */
  public record Output(INDArray[] taskOutputs, double[][] gateMeans) {
    /** Mean gate weight per expert for task {@code t} over the batch (null for shared-bottom). */
    public double[] gateMeansOfTask(int t) {
      if (gateMeans == null) return null;
      return gateMeans.length == 1 ? gateMeans[0] : gateMeans[t];
    }
  }

  /** Input gradients: dItem [B, itemWidth]; dUser [G, userWidth] (null when userWidth == 0). */
  public record Grad(INDArray dItem, INDArray dUser) {}

  /** What forward keeps for backward. */
  public static final class Cache {
    UserPart user;
    int[] group;
    INDArray groupOneHot; // [G, B]
    SplitDense.Cache[] first;
    int rows;
    double[][] experts; // [B * expertHidden] each
    double[][] gates; // [B * E] each (softmax outputs)
    Dense.Cache[] towerHidden;
    Dense.Cache[] towerOut;
  }

  private final SharingConfig cfg;
  private final List<SplitDense> first = new ArrayList<>(); // bottom | experts then gates
  private final int expertCount;
  private final int gateCount;
  private final Dense[] towerHidden;
  private final Dense[] towerOut;

  public SharingBlock(SharingConfig cfg) {
    this.cfg = cfg;
    int u = cfg.userWidth();
    int i = cfg.itemWidth();
    int towerIn;
    switch (cfg.mode()) {
      case SHARED_BOTTOM -> {
        first.add(new SplitDense("bottom", u, i, cfg.bottomHidden(), Activation.RELU));
        expertCount = 0;
        gateCount = 0;
        towerIn = cfg.bottomHidden();
      }
      case OMOE, MMOE -> {
        expertCount = cfg.experts();
        for (int k = 0; k < expertCount; k++)
          first.add(new SplitDense("expert_" + k, u, i, cfg.expertHidden(), Activation.RELU));
        if (cfg.mode() == SharingMode.OMOE) {
          gateCount = 1;
          first.add(new SplitDense("gate", u, i, expertCount, Activation.IDENTITY));
        } else {
          gateCount = cfg.tasks().size();
          for (String t : cfg.tasks())
            first.add(new SplitDense("gate_" + t, u, i, expertCount, Activation.IDENTITY));
        }
        towerIn = cfg.expertHidden();
      }
      default -> throw new IllegalArgumentException(cfg.mode().toString());
    }
    int n = cfg.tasks().size();
    towerHidden = new Dense[n];
    towerOut = new Dense[n];
    for (int t = 0; t < n; t++) {
      String name = "tower_" + cfg.tasks().get(t);
      if (cfg.towerHidden() > 0) {
        towerHidden[t] = new Dense(name + "/hidden", towerIn, cfg.towerHidden(), Activation.RELU);
        towerOut[t] = new Dense(name + "/out", cfg.towerHidden(), 1, Activation.IDENTITY);
      } else {
        towerOut[t] = new Dense(name + "/out", towerIn, 1, Activation.IDENTITY);
      }
    }
  }

  public SharingConfig config() {
    return cfg;
  }

  public List<String> tasks() {
    return cfg.tasks();
  }

  /** Names of the expert first layers ({@code expert_<i>}); empty for shared-bottom. */
  public List<String> expertNames() {
    List<String> r = new ArrayList<>();
    for (int k = 0; k < expertCount; k++) r.add(first.get(k).name());
    return r;
  }

  /** The weight parameters of expert {@code k} that see the item (or whole) input. */
  public String expertItemWeight(int k) {
    return first.get(k).itemWeightName();
  }

  public void register(ParameterSet.Builder b) {
    for (SplitDense d : first) d.register(b);
    for (int t = 0; t < towerOut.length; t++) {
      if (towerHidden[t] != null) towerHidden[t].register(b);
      towerOut[t].register(b);
    }
  }

  /** u [G, userWidth] → the user half of every first layer (once per user). */
  public UserPart encodeUser(ParameterSet p, INDArray u) {
    if (cfg.userWidth() == 0) throw new IllegalStateException("this block has no user input");
    if (u.columns() != cfg.userWidth())
      throw new IllegalArgumentException(
          "user input has " + u.columns() + " columns, expected " + cfg.userWidth());
    // every layer's half into its column block of one [G, N] array, biases in one Java pass: one
    // native array per user instead of a gemm output + an ND4J broadcast per layer
    DataType type = u.dataType();
    INDArray x = cContiguous(u);
    int g = (int) x.rows(), width = firstWidth(), in = cfg.userWidth();
    INDArray halves = Nd4j.createUninitialized(type, g, width); // [G, N]
    double[] bias = new double[width];
    int off = 0;
    for (SplitDense layer : first) {
      int out = layer.out();
      Gemm.gemm(
          g,
          out,
          in,
          x,
          0,
          in,
          false,
          p.get(layer.userWeightName()),
          0,
          out,
          false,
          halves,
          off,
          width,
          1.0,
          0.0);
      HostView.of(p.get(layer.biasName())).read(0, bias, off, out);
      off += out;
    }
    HostView.addRowVector(halves, bias, false);
    return new UserPart(u, halves);
  }

  /** Standalone: x [B, D] → per-task outputs [B, 1]. Requires {@code userWidth == 0}. */
  public Output forward(ParameterSet p, INDArray x, Cache cache) {
    if (cfg.userWidth() != 0)
      throw new IllegalStateException(
          "block has a user part: use forward(p, user, group, item, c)");
    return forward(p, null, null, x, cache);
  }

  /**
   * user (from {@link #encodeUser}, G users), group [S] (the user of each sample, 0..G-1), item [S,
   * itemWidth] → per-task outputs [S, 1].
   */
  public Output forward(ParameterSet p, UserPart user, int[] group, INDArray item, Cache cache) {
    int rows = (int) item.rows();
    if (cfg.userWidth() > 0) {
      if (user == null || group == null)
        throw new IllegalArgumentException("a split block needs the user part and sample groups");
      if (group.length != rows)
        throw new IllegalArgumentException(
            "group has " + group.length + " entries for " + rows + " samples");
      int g = (int) user.user().rows();
      for (int s = 0; s < rows; s++)
        if (group[s] < 0 || group[s] >= g)
          throw new IllegalArgumentException("sample " + s + " has group " + group[s] + " of " + g);
    }
    if (cache == null) return infer(p, user, group, item);
    DataType type = item.dataType();
    int width = firstWidth();
    // Every first layer's item half in ONE gemm over the side-by-side item weights [itemIn, N]:
    // one BLAS call of S×N instead of 2 gemms + an activation per expert and gate (the per-call
    // floor dominated scoring; docs/model-performance.md).
    INDArray z = Nd4j.createUninitialized(type, rows, width); // [S, N]
    Gemm.gemm(item, itemWeights(p), z, false, false, 1.0, 0.0);
    double[] zv = HostView.toDoubles(z);
    double[] add = rowAddend(p, user, width);
    int off;
    double[][] firstValues = new double[first.size()][];
    SplitDense.Cache[] fc = cache == null ? null : new SplitDense.Cache[first.size()];
    off = 0;
    for (int l = 0; l < first.size(); l++) {
      SplitDense layer = first.get(l);
      int out = layer.out();
      boolean relu = isRelu(l);
      double[] v = new double[rows * out];
      for (int r = 0; r < rows; r++) {
        int zo = r * width + off;
        int ao = (user == null ? 0 : group[r]) * width + off;
        int vo = r * out;
        for (int j = 0; j < out; j++) {
          double x = zv[zo + j] + add[ao + j];
          v[vo + j] = relu && x < 0 ? 0 : x;
        }
      }
      firstValues[l] = v;
      if (fc != null) fc[l] = SplitDense.Cache.of(item, HostView.fromDoubles(v, rows, out, type));
      off += out;
    }
    if (cache != null && user != null)
      cache.groupOneHot = oneHot(group, (int) user.user().rows(), item); // [G, S]
    return afterFirstLayers(p, user, group, rows, type, fc, firstValues, cache);
  }

  /** {@code a} when it is a c-contiguous matrix, else a c-order copy (gemm blocks need one). */
  private static INDArray cContiguous(INDArray a) {
    return a.ordering() == 'c'
            && (a.columns() <= 1 || a.stride(1) == 1)
            && (a.rows() <= 1 || a.stride(0) == a.columns())
        ? a
        : a.dup('c');
  }

  /** What every row of the first layers' output adds: its user's halves [G, N] or the biases. */
  private double[] rowAddend(ParameterSet p, UserPart user, int width) {
    if (user != null) return HostView.toDoubles(user.halves()); // [G, N], same layout
    double[] add = new double[width];
    int off = 0;
    for (SplitDense layer : first) {
      HostView.of(p.get(layer.biasName())).read(0, add, off, layer.out());
      off += layer.out();
    }
    return add;
  }

  /**
   * Rows per inference chunk. Why chunks: the inference path's native work arrays then have fixed
   * shapes and are kept per thread (allocating [1,000, 524] + 3 × [1,000, 128] native arrays per
   * call was a quarter of {@code score}'s time, docs/model-performance.md), and a chunk's
   * first-layer output (256 × 524 floats, 0.5 MB) stays in cache while the row pass reads it.
   */
  public static final int INFERENCE_CHUNK = 256;

  /** One thread's native work arrays for {@link Inference} (fixed shapes, reused call to call). */
  private static final class InferenceWork {
    final DataType type;
    final INDArray z; // [CHUNK, firstWidth]
    final INDArray[] mixtures; // [CHUNK, mixWidth] each
    final INDArray towerHidden; // [CHUNK, towerHidden] or null
    final HostView zView;
    final HostView[] mixViews;
    final HostView towerView;

    InferenceWork(DataType type, int width, int mixCount, int mixWidth, int towerWidth) {
      this.type = type;
      try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        z = Nd4j.createUninitialized(type, INFERENCE_CHUNK, width);
        mixtures = new INDArray[mixCount];
        mixViews = new HostView[mixCount];
        for (int j = 0; j < mixCount; j++) {
          mixtures[j] = Nd4j.createUninitialized(type, INFERENCE_CHUNK, mixWidth);
          mixViews[j] = HostView.of(mixtures[j]);
        }
        towerHidden =
            towerWidth > 0 ? Nd4j.createUninitialized(type, INFERENCE_CHUNK, towerWidth) : null;
      }
      zView = HostView.of(z);
      towerView = towerHidden == null ? null : HostView.of(towerHidden);
    }
  }

  private final ThreadLocal<InferenceWork[]> inferenceWork =
      ThreadLocal.withInitial(() -> new InferenceWork[2]); // [0] FLOAT, [1] DOUBLE

  private InferenceWork inferenceWork(DataType type) {
    InferenceWork[] w = inferenceWork.get();
    int slot = type == DataType.DOUBLE ? 1 : 0;
    if (w[slot] == null || w[slot].type != type)
      w[slot] =
          new InferenceWork(
              type,
              firstWidth(),
              Math.max(gateCount, 1),
              mixWidth(),
              towerHidden[0] != null ? cfg.towerHidden() : 0);
    return w[slot];
  }

  private int mixWidth() {
    return gateCount == 0 ? first.get(0).out() : cfg.expertHidden();
  }

  /**
   * The inference forward of one set of parameters and users, run chunk by chunk ({@link
   * #INFERENCE_CHUNK} rows at most per {@link #run}): the same arithmetic as the training forward,
   * but streamed row by row through the calling thread's reused buffers — one bulk read of a
   * candidate's first-layer row, ReLU, per-gate softmax, the mixtures (eq. 5) written straight into
   * the towers' gemm inputs, one gemm per tower hidden layer and the one-unit output layer as a
   * Java dot product. Equality with the training forward is tested
   * (MultiTaskModelTest.splitScoresEqualUnsplitForward). Not thread-safe: one per call and thread.
   */
  public final class Inference {
    private final ParameterSet p;
    private final UserPart user;
    private final int[] group;
    private final InferenceWork w;
    private final int width;
    private final double[] add; // [G or 1, width]: users' first-layer halves or the biases
    private final double[][] towerOutW; // [task][inWidth]
    private final double[] towerOutB;
    private final double[][] towerHiddenB; // [task][towerHidden] or null
    private final double[][] gateSums; // [gate][expert] or null
    private final double[] row;
    private final double[] mix;
    private final double[] x;
    private int rowsSeen;

    private Inference(ParameterSet p, UserPart user, int[] group, DataType type) {
      this.p = p;
      this.user = user;
      this.group = group;
      this.w = inferenceWork(type);
      this.width = firstWidth();
      this.add = rowAddend(p, user, width);
      int n = cfg.tasks().size();
      towerOutW = new double[n][];
      towerOutB = new double[n];
      towerHiddenB = new double[n][];
      for (int t = 0; t < n; t++) {
        towerOutW[t] = HostView.toDoubles(p.get(towerOut[t].weightName()));
        towerOutB[t] = HostView.toDoubles(p.get(towerOut[t].biasName()))[0];
        if (towerHidden[t] != null)
          towerHiddenB[t] = HostView.toDoubles(p.get(towerHidden[t].biasName()));
      }
      gateSums = gateCount == 0 ? null : new double[gateCount][expertCount];
      row = new double[width];
      mix = new double[mixWidth()];
      x = new double[Math.max(mixWidth(), cfg.towerHidden())];
    }

    /**
     * Rows [from, from + rows) of the candidates: their item inputs are rows [itemRow, itemRow +
     * rows) of {@code item} (c-order [*, itemWidth]); their group is {@code group[from + r]}; the
     * task outputs go to {@code out[t][from + r]}. At most {@link #INFERENCE_CHUNK} rows.
     */
    public void run(INDArray item, int itemRow, int from, int rows, double[][] out) {
      if (rows > INFERENCE_CHUNK)
        throw new IllegalArgumentException(rows + " rows > chunk of " + INFERENCE_CHUNK);
      if (rows <= 0) return;
      int itemWidth = cfg.itemWidth();
      // every first layer's item half, each into its column block of z (no side-by-side weight
      // copy per call, nothing to invalidate when the parameters change)
      int off = 0;
      for (SplitDense layer : first) {
        INDArray wl = p.get(layer.itemWeightName()); // [itemWidth, out]
        Gemm.gemm(
            rows,
            layer.out(),
            itemWidth,
            item,
            (long) itemRow * itemWidth,
            itemWidth,
            false,
            wl,
            0,
            layer.out(),
            false,
            w.z,
            off,
            width,
            1.0,
            0.0);
        off += layer.out();
      }
      int e = expertCount;
      int mixWidth = mixWidth();
      int gateOff = e * mixWidth; // experts come first, then the gates' logits
      for (int r = 0; r < rows; r++) {
        w.zView.read(r * width, row, 0, width);
        int ao = (user == null ? 0 : group[from + r]) * width;
        for (int i = 0; i < width; i++) row[i] += add[ao + i];
        if (gateCount == 0) {
          for (int i = 0; i < mixWidth; i++) row[i] = Math.max(row[i], 0); // bottom ReLU
          w.mixViews[0].write(r * mixWidth, row, 0, mixWidth);
          continue;
        }
        for (int i = 0; i < gateOff; i++) row[i] = Math.max(row[i], 0); // expert ReLU
        for (int j = 0; j < gateCount; j++) {
          int go = gateOff + j * e;
          softmaxRow(row, go, e);
          java.util.Arrays.fill(mix, 0);
          double[] sums = gateSums[j];
          for (int k = 0; k < e; k++) { // f_j = Σ_k g_j[k] e_k  (eq. 5)
            double gk = row[go + k];
            sums[k] += gk;
            int eo = k * mixWidth;
            for (int h = 0; h < mixWidth; h++) mix[h] += gk * row[eo + h];
          }
          w.mixViews[j].write(r * mixWidth, mix, 0, mixWidth);
        }
      }
      rowsSeen += rows;
      for (int t = 0; t < cfg.tasks().size(); t++) {
        INDArray in = w.mixtures[mixtureOf(t)];
        HostView iv = w.mixViews[mixtureOf(t)];
        int inWidth = mixWidth;
        double[] hb = towerHiddenB[t];
        boolean hRelu = false;
        Activation hAct = null;
        if (towerHidden[t] != null) {
          Dense d = towerHidden[t];
          Gemm.gemm(
              rows,
              d.out(),
              inWidth,
              in,
              0,
              inWidth,
              false,
              p.get(d.weightName()),
              0,
              d.out(),
              false,
              w.towerHidden,
              0,
              d.out(),
              1.0,
              0.0); // [rows, towerHidden]
          iv = w.towerView;
          inWidth = d.out();
          hAct = d.activation();
          hRelu = hAct == Activation.RELU;
        }
        double[] wt = towerOutW[t];
        double b = towerOutB[t];
        Activation act = towerOut[t].activation();
        double[] o = out[t];
        for (int r = 0; r < rows; r++) {
          iv.read(r * inWidth, x, 0, inWidth);
          double sum = b;
          if (hAct == null) {
            for (int j = 0; j < inWidth; j++) sum += x[j] * wt[j];
          } else if (hRelu) {
            for (int j = 0; j < inWidth; j++) sum += Math.max(x[j] + hb[j], 0) * wt[j];
          } else {
            for (int j = 0; j < inWidth; j++) sum += hAct.apply(x[j] + hb[j]) * wt[j];
          }
          o[from + r] = act.apply(sum);
        }
      }
    }

    /** Mean gate weight per expert of every gate over the rows run so far (null: no gates). */
    public double[][] gateMeans() {
      if (gateSums == null) return null;
      if (rowsSeen == 0) return new double[gateSums.length][expertCount];
      double[][] m = new double[gateSums.length][];
      for (int j = 0; j < m.length; j++) {
        m[j] = gateSums[j].clone();
        for (int k = 0; k < m[j].length; k++) m[j][k] /= rowsSeen;
      }
      return m;
    }
  }

  /**
   * Starts an inference pass over candidates of the users in {@code user} (null for a block without
   * user input); {@code group} [S] says whose candidate each row is (checked by the caller).
   */
  public Inference inference(ParameterSet p, UserPart user, int[] group, DataType type) {
    if (cfg.userWidth() > 0 && (user == null || group == null))
      throw new IllegalArgumentException("a split block needs the user part and sample groups");
    return new Inference(p, user, group, type);
  }

  /** The inference forward (no cache) of a whole item array, chunk by chunk. */
  private Output infer(ParameterSet p, UserPart user, int[] group, INDArray item) {
    DataType type = item.dataType();
    int rows = (int) item.rows();
    INDArray in =
        item.ordering() == 'c' && item.stride(1) == 1 && item.stride(0) == item.columns()
            ? item
            : item.dup('c');
    Inference inf = inference(p, user, group, type);
    int n = cfg.tasks().size();
    double[][] out = new double[n][rows];
    for (int from = 0; from < rows; from += INFERENCE_CHUNK)
      inf.run(in, from, from, Math.min(INFERENCE_CHUNK, rows - from), out);
    INDArray[] outs = new INDArray[n];
    for (int t = 0; t < n; t++) outs[t] = HostView.fromDoubles(out[t], rows, 1, type); // [S, 1]
    return new Output(outs, inf.gateMeans());
  }

  /** Softmax of z[off, off + n) in place, shifted by the max. */
  private static void softmaxRow(double[] z, int off, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k < n; k++) max = Math.max(max, z[off + k]);
    double sum = 0;
    for (int k = 0; k < n; k++) sum += z[off + k] = Math.exp(z[off + k] - max);
    for (int k = 0; k < n; k++) z[off + k] /= sum;
  }

  /** Total output width of the first layers (bottom, or experts then gates). */
  private int firstWidth() {
    int n = 0;
    for (SplitDense d : first) n += d.out();
    return n;
  }

  /** The first layers' item weights side by side, [itemIn, N] (a copy when more than one). */
  private INDArray itemWeights(ParameterSet p) {
    if (first.size() == 1) return p.get(first.get(0).itemWeightName());
    INDArray[] w = new INDArray[first.size()];
    for (int l = 0; l < w.length; l++) w[l] = p.get(first.get(l).itemWeightName());
    return Nd4j.hstack(w);
  }

  /** Bottom and experts are ReLU layers, gates are linear (their softmax follows). */
  private boolean isRelu(int layer) {
    return gateCount == 0 || layer < expertCount;
  }

  /**
   * The unsplit forward (inference only), to check and benchmark the model split: every first layer
   * multiplies the concatenated [userInput, item] [S, userWidth + itemWidth] by its full weight.
   * Equal to {@link #forward(ParameterSet, UserPart, int[], INDArray, Cache)} up to rounding.
   */
  public Output forwardUnsplit(ParameterSet p, INDArray userInput, INDArray item) {
    double[][] firstValues = new double[first.size()][];
    for (int l = 0; l < first.size(); l++)
      firstValues[l] = HostView.toDoubles(first.get(l).forwardUnsplit(p, userInput, item));
    return afterFirstLayers(
        p, null, null, (int) item.rows(), item.dataType(), null, firstValues, null);
  }

  /** From the first layers' outputs (firstValues[l] [S * out_l], row-major) to the towers. */
  private Output afterFirstLayers(
      ParameterSet p,
      UserPart user,
      int[] group,
      int rows,
      DataType type,
      SplitDense.Cache[] fc,
      double[][] firstValues,
      Cache cache) {
    int he = cfg.expertHidden();
    INDArray[] mixtures = new INDArray[Math.max(gateCount, 1)];
    double[][] mixtureValues = new double[mixtures.length][]; // the same, [S * width] in Java
    double[][] gateMeans = gateCount == 0 ? null : new double[gateCount][];
    double[][] expertValues = new double[expertCount][]; // [S * he] each
    double[][] gateValues = new double[gateCount][]; // [S * E] each, softmax outputs
    if (gateCount == 0) {
      mixtureValues[0] = firstValues[0];
      mixtures[0] = HostView.fromDoubles(firstValues[0], rows, first.get(0).out(), type);
    } else {
      // Gates and mixtures in plain Java: 2·E ND4J broadcasts per gate cost more than the
      // S·E·he multiply-adds themselves (STACK.md: 10–70 µs per ND4J call).
      System.arraycopy(firstValues, 0, expertValues, 0, expertCount);
      for (int j = 0; j < gateCount; j++) {
        double[] gv = firstValues[expertCount + j].clone(); // [S * E] logits
        softmaxRows(gv, rows, expertCount);
        gateValues[j] = gv;
        double[] mean = new double[expertCount];
        for (int i = 0; i < gv.length; i++) mean[i % expertCount] += gv[i] / rows;
        gateMeans[j] = mean;
        double[] f = new double[rows * he]; // f_j = Σ_k g_j[:, k] ⊙ e_k  (eq. 5)
        for (int r = 0; r < rows; r++)
          for (int k = 0; k < expertCount; k++) {
            double gk = gv[r * expertCount + k];
            double[] e = expertValues[k];
            int o = r * he;
            for (int h = 0; h < he; h++) f[o + h] += gk * e[o + h];
          }
        mixtureValues[j] = f;
        mixtures[j] = HostView.fromDoubles(f, rows, he, type); // [S, he]
      }
    }
    int n = cfg.tasks().size();
    INDArray[] outs = new INDArray[n];
    Dense.Cache[] th = new Dense.Cache[n];
    Dense.Cache[] to = new Dense.Cache[n];
    for (int t = 0; t < n; t++) {
      INDArray in = mixtures[mixtureOf(t)];
      double[] x = mixtureValues[mixtureOf(t)];
      int width = (int) in.columns();
      if (towerHidden[t] != null) {
        // the hidden layer's gemm in BLAS; bias and activation in the Java pass that reads it back
        Dense d = towerHidden[t];
        INDArray y = Nd4j.createUninitialized(type, rows, d.out()); // [S, towerHidden]
        Gemm.gemm(in, p.get(d.weightName()), y, false, false, 1.0, 0.0);
        x = HostView.toDoubles(y);
        double[] b = HostView.toDoubles(p.get(d.biasName()));
        Activation act = d.activation();
        for (int r = 0, i = 0; r < rows; r++)
          for (int j = 0; j < b.length; j++, i++) x[i] = act.apply(x[i] + b[j]);
        if (cache != null) {
          HostView.of(y).write(0, x, 0, x.length);
          th[t] = Dense.Cache.of(in, y);
        }
        in = y;
        width = d.out();
      }
      // the one-unit output layer as a dot product per row in Java (no gemm, no broadcasts)
      Dense d = towerOut[t];
      double[] w = HostView.toDoubles(p.get(d.weightName())); // [width, 1]
      double b = HostView.toDoubles(p.get(d.biasName()))[0];
      Activation act = d.activation();
      double[] z = new double[rows];
      for (int r = 0; r < rows; r++) {
        double sum = b;
        int o = r * width;
        for (int j = 0; j < width; j++) sum += x[o + j] * w[j];
        z[r] = act.apply(sum);
      }
      outs[t] = HostView.fromDoubles(z, rows, 1, type); // [S, 1]
      if (cache != null) to[t] = Dense.Cache.of(in, outs[t]);
    }
    if (cache != null) {
      cache.user = user;
      cache.group = group;
      cache.first = fc;
      cache.rows = rows;
      cache.experts = expertValues;
      cache.gates = gateValues;
      cache.towerHidden = th;
      cache.towerOut = to;
    }
    return new Output(outs, gateMeans);
  }

  /** dOut[t] [S, 1] per task (null = task unused) → input gradients; adds parameter gradients. */
  public Grad backward(ParameterSet p, Gradients g, INDArray[] dOut, Cache cache) {
    int n = cfg.tasks().size();
    if (dOut.length != n) throw new IllegalArgumentException("need one gradient per task");
    int rows = cache.rows;
    DataType type = dOut[0] != null ? dOut[0].dataType() : p.dataType();
    int mixWidth = gateCount == 0 ? first.get(0).out() : cfg.expertHidden();
    INDArray[] dMix = new INDArray[Math.max(gateCount, 1)];
    for (int t = 0; t < n; t++) {
      if (dOut[t] == null) continue;
      INDArray d = towerOut[t].backward(p, g, dOut[t].dup(), cache.towerOut[t]);
      if (towerHidden[t] != null) d = towerHidden[t].backward(p, g, d, cache.towerHidden[t]);
      int m = mixtureOf(t);
      if (dMix[m] == null) dMix[m] = d;
      else dMix[m].addi(d);
    }
    INDArray[] dFirst = new INDArray[first.size()];
    if (gateCount == 0) {
      dFirst[0] = dMix[0] != null ? dMix[0] : Nd4j.zeros(type, rows, mixWidth);
    } else {
      int he = cfg.expertHidden();
      int e = expertCount;
      double[][] dExpert = new double[e][rows * he];
      for (int j = 0; j < gateCount; j++) {
        double[] gv = cache.gates[j]; // [S * E]
        double[] dz = new double[rows * e]; // gradient of gate j's logits
        if (dMix[j] != null) {
          double[] dm = doubles(dMix[j]); // [S * he]
          for (int r = 0; r < rows; r++) {
            int o = r * he;
            double weighted = 0; // Σ_k g_k dg_k
            for (int k = 0; k < e; k++) {
              double[] ek = cache.experts[k];
              double[] dek = dExpert[k];
              double gk = gv[r * e + k];
              double dot = 0;
              for (int h = 0; h < he; h++) {
                dot += dm[o + h] * ek[o + h];
                dek[o + h] += gk * dm[o + h];
              }
              dz[r * e + k] = dot;
              weighted += gk * dot;
            }
            // softmax backward: dz = g ⊙ (dg − Σ_k g_k dg_k)
            for (int k = 0; k < e; k++) dz[r * e + k] = gv[r * e + k] * (dz[r * e + k] - weighted);
          }
        }
        dFirst[expertCount + j] = matrix(dz, rows, e, type);
      }
      for (int k = 0; k < e; k++) dFirst[k] = matrix(dExpert[k], rows, he, type);
    }
    // every first layer adds its dItem and du into one array each (gemm beta = 1), not a new
    // array plus an ND4J add per layer
    INDArray dItem = null;
    INDArray dUser = null;
    INDArray dHalf = null;
    for (int l = 0; l < first.size(); l++) {
      SplitDense layer = first.get(l);
      INDArray dy = dFirst[l]; // becomes dz
      if (dItem == null) dItem = Nd4j.createUninitialized(dy.dataType(), dy.rows(), layer.itemIn());
      layer.backwardInto(p, g, dy, cache.first[l], dItem, l > 0);
      if (layer.split()) {
        INDArray oh = cache.groupOneHot; // [G, S]
        if (dHalf == null || dHalf.columns() != layer.out())
          dHalf = Nd4j.createUninitialized(oh.dataType(), oh.rows(), layer.out()); // [G, out]
        Gemm.gemm(oh, dy, dHalf, false, false, 1.0, 0.0);
        INDArray u = cache.user.user();
        boolean started = dUser != null;
        if (!started) dUser = Nd4j.createUninitialized(dy.dataType(), u.rows(), layer.userIn());
        layer.backwardUserInto(p, g, dHalf, u, dUser, started);
      }
    }
    return new Grad(dItem, dUser);
  }

  private int mixtureOf(int task) {
    return cfg.mode() == SharingMode.MMOE ? task : 0;
  }

  /** Row-wise softmax of z [rows × cols] (row-major), in place, shifted by the row max. */
  static void softmaxRows(double[] z, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
      int o = r * cols;
      double max = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < cols; k++) max = Math.max(max, z[o + k]);
      double sum = 0;
      for (int k = 0; k < cols; k++) sum += z[o + k] = Math.exp(z[o + k] - max);
      for (int k = 0; k < cols; k++) z[o + k] /= sum;
    }
  }

  static double[] doubles(INDArray a) {
    return HostView.toDoubles(a);
  }

  static INDArray matrix(double[] v, int rows, int cols, DataType type) {
    return HostView.fromDoubles(v, rows, cols, type);
  }

  private static INDArray oneHot(int[] group, int groups, INDArray like) {
    double[] m = new double[groups * group.length];
    for (int s = 0; s < group.length; s++) m[group[s] * group.length + s] = 1;
    return Nd4j.create(m, new long[] {groups, group.length}, 'c').castTo(like.dataType());
  }
}
