package io.perceive.model.layers;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * DUPN's property-gated LSTM (Ni et al., "Perceive Your Users in Depth", KDD 2018, section
 * "Property Gated LSTM"): the behaviour's property p_t (type, scene, time gap) steers how the item
 * e_t is remembered, but is not itself written into the memory.
 *
 * <pre>
 *   i_t = σ(W_ei e_t + W_hi h_{t-1} + W_pi p_t + b_i)
 *   f_t = σ(W_ef e_t + W_hf h_{t-1} + W_pf p_t + b_f)
 *   o_t = σ(W_eo e_t + W_ho h_{t-1} + W_po p_t + b_o)
 *   g_t = tanh(W_eg e_t + W_hg h_{t-1} + b_g)            (no property term)
 *   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,   h_t = o_t ⊙ tanh(c_t)
 * </pre>
 *
 * <p>Implementation: gate columns [i | f | o | g] of W [D, 4H], D = E + H + P (208 by default),
 * rows [W_e; W_h; W_p]. The input projection of all T steps is one pair of gemms per call ([T*G, E]
 * × W_e + [T*G, P] × W_p, plus the bias), so a step does only h_{t-1} W_h ([G, H] × [H, 4H]), one
 * ND4J sigmoid and one Java pass (see {@link #run} and docs/model-performance.md). The block of W
 * from the p rows to the g columns is <em>structurally zero</em>: initialised to 0 and its gradient
 * is zeroed in every backward pass, so no optimizer moves it. Bias b [4H] starts at 0 except the
 * forget gate at 1. Parameters: {@code <prefix>/W} [D, 4H], {@code <prefix>/b} [4H].
 *
 * <p>A padding step (mask 0) carries (h, c) through unchanged and its output is h_{t-1}.
 *
 * <p><b>Truncated back-propagation through time</b> with K = {@code bpttSteps} ≤ T: the gradient is
 * that of the loss in which the state entering step T-K, (h_{T-K-1}, c_{T-K-1}), and every output
 * h_t of the steps t &lt; T-K are constants. So the parameters, e_t and p_t receive gradient only
 * from the last K steps; steps before them, h0 and c0 receive none (dH0/dC0 are zero unless K = T).
 * Gradient arriving at outputs of the early steps (from attention) is dropped.
 */
public final class PropertyGatedLstm {

  /**
   * What forward keeps for backward. Its arrays are reused by the next forward/backward with the
   * same shapes (allocating ~50 MB of native arrays per minibatch was the largest single cost of
   * training, docs/model-performance.md), and they are allocated outside any ND4J workspace so that
   * a cache may outlive the scope of the call that filled it.
   */
  public static final class Cache {
    int groups;
    int steps;
    float[] mask; // [T*G] step-major, null = all real
    INDArray item; // [T*G, E] (the caller's array, not owned)
    INDArray property; // [T*G, P] (not owned)
    INDArray gates; // [T, G, 4H] activations i, f, o and σ(2 z_g) (g = 2σ(2 z_g) − 1)
    INDArray states; // [T+1, G, H] h_0 .. h_T
    INDArray hidden; // [T, G, H] h_1 .. h_T (the output; a view of states)
    INDArray finalCell; // [G, H] c_T
    double[] cells = new double[0]; // [T+1, G, H] c_0 .. c_T
    double[] tanhCells = new double[0]; // [T, G, H]
    INDArray scaledW; // [D, 4H] W with the cell-input columns doubled
    INDArray scaledB; // [4H] b with the cell-input entries doubled
    INDArray[] stepGates; // per step [G, 4H] views of gates
    INDArray allGates; // [T*G, 4H] view of gates
    INDArray dZ; // [K*G, 4H] backward: dL/dz of the last K steps
    INDArray dStatePrev; // [G, H]
    INDArray dItem; // [K*G, E]
    INDArray dProperty; // [K*G, P]
    INDArray stepInputs; // [K*G, E+H+P] backward: [e_t, h_{t-1}, p_t] of the last K steps
    final Scratch scratch = new Scratch();
    final boolean detached;
    boolean javaGates; // the gates hold raw z: no backward

    public Cache() {
      this(true);
    }

    private Cache(boolean detached) {
      this.detached = detached;
    }

    /** The state after the last step: h [G, H] and c [G, H] (views into the cache). */
    public LstmState finalState() {
      int h = (int) states.size(2);
      return new LstmState(
          NativeValues.block(states, (long) steps * groups * h, groups, h), finalCell);
    }
  }

  /** Gradients w.r.t. the inputs of the last K steps (rows (t - firstStep) * G + g). */
  public record Grad(
      INDArray dItem, INDArray dProperty, int firstStep, INDArray dH0, INDArray dC0) {}

  private final String prefix;
  private final int itemWidth; // E
  private final int propertyWidth; // P
  private final int hidden; // H
  private final int inputWidth; // D = E + H + P

  public PropertyGatedLstm(String prefix, int itemWidth, int propertyWidth, int hidden) {
    if (itemWidth < 1 || propertyWidth < 1 || hidden < 1)
      throw new IllegalArgumentException(prefix + ": sizes must be >= 1");
    this.prefix = prefix;
    this.itemWidth = itemWidth;
    this.propertyWidth = propertyWidth;
    this.hidden = hidden;
    this.inputWidth = itemWidth + hidden + propertyWidth;
  }

  public String weightName() {
    return prefix + "/W";
  }

  public String biasName() {
    return prefix + "/b";
  }

  public int hidden() {
    return hidden;
  }

  public int inputWidth() {
    return inputWidth;
  }

  /** W: Xavier per gate block (fan-in D, fan-out H) with the p→g block zero; b: forget gate 1. */
  public void register(ParameterSet.Builder b) {
    Init xavier = Init.xavier(inputWidth, hidden);
    b.dense(
        weightName(),
        (w, rnd) -> {
          xavier.fill(w, rnd);
          propertyToCellBlock(w).assign(0);
        },
        inputWidth,
        4L * hidden);
    b.dense(
        biasName(),
        (v, rnd) -> {
          v.assign(0);
          v.get(NDArrayIndex.interval(hidden, 2 * hidden)).assign(1.0);
        },
        4L * hidden);
  }

  /** The [P, H] block of a [D, 4H] weight (or its gradient) from p_t to the cell input g. */
  public INDArray propertyToCellBlock(INDArray w) {
    return w.get(
        NDArrayIndex.interval(itemWidth + hidden, inputWidth),
        NDArrayIndex.interval(3L * hidden, 4L * hidden));
  }

  /** Re-imposes the structural zero (e.g. after an optimizer that decays weights). */
  public void enforceStructure(ParameterSet p) {
    propertyToCellBlock(p.get(weightName())).assign(0);
  }

  /**
   * Runs the LSTM over T steps of G sequences from (h0, c0). {@code item} [T*G, E] and {@code
   * property} [T*G, P] are step-major (row t*G + g), as is {@code mask} (null = no padding).
   * Returns all hidden states [T, G, H] (step-major; owned by the cache when one is given).
   */
  public INDArray forward(
      ParameterSet p,
      INDArray item,
      INDArray property,
      float[] mask,
      int groups,
      INDArray h0,
      INDArray c0,
      Cache cache) {
    return run(
            p,
            item,
            property,
            mask,
            groups,
            h0,
            c0,
            cache != null ? cache : new Cache(false),
            cache == null)
        .hidden;
  }

  /**
   * The scoring forward (gates in Java, as {@link #forward} without a cache) into {@code work}, a
   * cache kept by the caller only for its arrays: the returned hidden states [T, G, H] belong to it
   * and are overwritten by the next call with the same cache. No backward from it.
   */
  INDArray forwardInference(
      ParameterSet p,
      INDArray item,
      INDArray property,
      float[] mask,
      int groups,
      INDArray h0,
      INDArray c0,
      Cache work) {
    return run(p, item, property, mask, groups, h0, c0, work, true).hidden;
  }

  /**
   * The forward pass. The input projection of every step is hoisted out of the recurrence: Z = E
   * W_e + P W_p + b for all T*G rows in two gemms and one bias add, so a step only adds h_{t-1} W_h
   * ([G, H] × [H, 4H]) and applies one sigmoid. The weights and bias are used with their cell-input
   * columns doubled (a copy per call), so the one sigmoid yields σ(2 z_g) and tanh(z_g) = 2σ(2 z_g)
   * − 1 costs no further call.
   */
  private Cache run(
      ParameterSet p,
      INDArray item,
      INDArray property,
      float[] mask,
      int groups,
      INDArray h0,
      INDArray c0,
      Cache c,
      boolean javaGates) {
    DataType type = p.dataType();
    int g = groups, e = itemWidth, pw = propertyWidth, h = hidden, d = inputWidth, n4 = 4 * h;
    if (item.rows() % g != 0
        || item.columns() != e
        || property.columns() != pw
        || property.rows() != item.rows())
      throw new IllegalArgumentException(
          "item must be [T*G, " + e + "] and property [T*G, " + pw + "] for G = " + g);
    int t = (int) (item.rows() / g);
    requireState(h0, g, "h0");
    requireState(c0, g, "c0");
    if (mask != null && mask.length != t * g)
      throw new IllegalArgumentException("mask length " + mask.length + " != T*G = " + t * g);
    c.groups = g;
    c.steps = t;
    c.mask = mask;
    c.item = contiguous(item, type);
    c.property = contiguous(property, type);
    INDArray oldGates = c.gates, oldStates = c.states;
    c.gates = reuse(c.gates, c.detached, type, t, g, n4);
    c.states = reuse(c.states, c.detached, type, t + 1, g, h);
    c.finalCell = reuse(c.finalCell, c.detached, type, g, h);
    // javaGates (a forward without a cache: scoring): the sigmoid is done in Java, so no ND4J op
    // and no view is made per step and the call creates a fixed handful of native objects
    // whatever T (with nopointergc every ND4J op leaks ~0.2-1 KB, docs/model-performance.md).
    // Otherwise (training, streaming steps) one vectorised ND4J sigmoid per step over views made
    // once per shape is cheaper; it differs from the Java sigmoid in the last float bits only.
    c.javaGates = javaGates;
    if (c.gates != oldGates || c.states != oldStates || c.hidden == null) {
      c.hidden = NativeValues.block3(c.states, (long) g * h, t, g, h);
      c.stepGates = null;
    }
    if (!javaGates && c.stepGates == null) {
      c.stepGates = new INDArray[t];
      for (int s = 0; s < t; s++)
        c.stepGates[s] = NativeValues.block(c.gates, (long) s * g * n4, g, n4);
      c.allGates = NativeValues.block(c.gates, 0, (long) t * g, n4);
    }
    if (c.cells.length < (t + 1) * g * h) c.cells = new double[(t + 1) * g * h];
    if (c.tanhCells.length < t * g * h) c.tanhCells = new double[t * g * h];

    Scratch scratch = c.scratch;
    double[] bd = scratch.get(0, n4);
    NativeValues.of(p.get(biasName())).read(0, bd, 0, n4);
    INDArray w = p.get(weightName());
    if (!javaGates) {
      // W and b with the cell-input columns doubled (exact in binary floating point), so that one
      // sigmoid gives σ(2 z_g).
      c.scaledW = reuse(c.scaledW, c.detached, type, d, n4);
      c.scaledB = reuse(c.scaledB, c.detached, type, n4);
      w = c.scaledW.assign(w);
      w.get(NDArrayIndex.all(), NDArrayIndex.interval(3L * h, n4)).muli(2.0);
      for (int j = 3 * h; j < n4; j++) bd[j] *= 2.0;
      NativeValues.of(c.scaledB).write(0, bd, 0, n4);
    }

    // Z = E W_e + P W_p (+ b) for all steps at once: [T*G, 4H].
    int rows = t * g;
    Gemm.gemm(rows, n4, e, c.item, 0, e, false, w, 0, n4, false, c.gates, 0, n4, 1.0, 0.0);
    Gemm.gemm(
        rows,
        n4,
        pw,
        c.property,
        0,
        pw,
        false,
        w,
        (long) (e + h) * n4,
        n4,
        false,
        c.gates,
        0,
        n4,
        1.0,
        1.0);
    if (!javaGates) c.allGates.addiRowVector(c.scaledB);

    NativeValues states = NativeValues.of(c.states);
    NativeValues gates = NativeValues.of(c.gates);
    double[] hPrev = scratch.get(1, g * h), hNext = scratch.get(2, g * h);
    double[] zd = scratch.get(3, g * n4);
    NativeValues.of(contiguous(h0, type)).read(0, hPrev, 0, g * h);
    states.write(0, hPrev, 0, g * h);
    NativeValues.of(contiguous(c0, type)).read(0, c.cells, 0, g * h);
    long whOffset = (long) e * n4; // W_h: rows E .. E+H of W
    for (int s = 0; s < t; s++) {
      Gemm.gemm(
          g,
          n4,
          h,
          c.states,
          (long) s * g * h,
          h,
          false,
          w,
          whOffset,
          n4,
          false,
          c.gates,
          (long) s * g * n4,
          n4,
          1.0,
          1.0);
      if (!javaGates) Transforms.sigmoid(c.stepGates[s], false); // i, f, o and σ(2·z_g)
      gates.read(s * g * n4, zd, 0, g * n4);
      if (javaGates) activate(g, zd, bd);
      cellForward(g, zd, hPrev, c.cells, s * g * h, hNext, c.tanhCells, mask, s * g);
      states.write((s + 1) * g * h, hNext, 0, g * h);
      double[] swap = hPrev;
      hPrev = hNext;
      hNext = swap;
    }
    NativeValues.of(c.finalCell).write(0, c.cells, t * g * h, g * h);
    return c;
  }

  /** Java gate activations: i, f, o = σ(z + b) and σ(2 (z_g + b_g)) in place. */
  private void activate(int rows, double[] z, double[] bias) {
    int h = hidden, n4 = 4 * h, g0 = 3 * h;
    for (int r = 0; r < rows; r++) {
      int o = r * n4;
      for (int j = 0; j < g0; j++) z[o + j] = NativeValues.sigmoid(z[o + j] + bias[j]);
      for (int j = g0; j < n4; j++) z[o + j] = NativeValues.sigmoid(2.0 * (z[o + j] + bias[j]));
    }
  }

  /**
   * One batched step for B users (streaming: a behaviour leaves the window): {@code item} [B, E],
   * {@code property} [B, P], state [B, H] → the new state (new arrays).
   */
  public LstmState step(ParameterSet p, INDArray item, INDArray property, INDArray h, INDArray c) {
    int b = (int) item.rows();
    if (item.columns() != itemWidth || property.rows() != b || property.columns() != propertyWidth)
      throw new IllegalArgumentException(
          "item must be [B, " + itemWidth + "] and property [B, " + propertyWidth + "]");
    requireState(h, b, "h");
    requireState(c, b, "c");
    // the ND4J sigmoid, as in training's forward: the streamed state equals the window's exactly
    return run(p, item, property, null, b, h, c, new Cache(false), false).finalState();
  }

  /**
   * The Java part of one step for {@code rows} rows after the sigmoid: g = 2σ(2 z_g) − 1, the cell
   * c = f ⊙ c_prev + i ⊙ g, tanh(c) through one exp per unit, h = o ⊙ tanh(c), and the padding
   * carry. {@code z} holds the activated gates [rows, 4H]; the cells of this step start at {@code
   * cells[c0]} and the new ones go H·rows further; h_{t-1} is {@code hPrev}, h_t goes to {@code
   * hOut}.
   */
  private void cellForward(
      int rows,
      double[] z,
      double[] hPrev,
      double[] cells,
      int c0,
      double[] hOut,
      double[] tanhCells,
      float[] mask,
      int mask0) {
    int h = hidden, n4 = 4 * h, g0 = 3 * h, next = c0 + rows * h;
    for (int r = 0; r < rows; r++) {
      int zo = r * n4, o = r * h;
      if (mask != null && mask[mask0 + r] == 0f) { // padding: carry (h, c)
        System.arraycopy(cells, c0 + o, cells, next + o, h);
        System.arraycopy(hPrev, o, hOut, o, h);
        java.util.Arrays.fill(tanhCells, c0 + o, c0 + o + h, 0.0);
        continue;
      }
      for (int j = 0; j < h; j++) {
        double g = 2.0 * z[zo + g0 + j] - 1.0; // tanh(x) = 2σ(2x) − 1; stored as σ(2x)
        double cell = z[zo + h + j] * cells[c0 + o + j] + z[zo + j] * g;
        double t = NativeValues.tanh(cell);
        cells[next + o + j] = cell;
        tanhCells[c0 + o + j] = t;
        hOut[o + j] = z[zo + 2 * h + j] * t;
      }
    }
  }

  /** Java work arrays of one cache, reused across its steps and calls. */
  static final class Scratch {
    private final double[][] arrays = new double[12][0];

    double[] get(int k, int n) {
      if (arrays[k].length < n) arrays[k] = new double[n];
      return arrays[k];
    }
  }

  /**
   * Back-propagates {@code dHidden} [T, G, H] (dL/dh_t for every step; null = none) through the
   * last {@code bpttSteps} steps, adding dW and db into {@code g}. See the class comment for what
   * is truncated. The returned dItem/dProperty are owned by the cache.
   */
  public Grad backward(ParameterSet p, Gradients grads, INDArray dHidden, int bpttSteps, Cache c) {
    if (bpttSteps < 1) throw new IllegalArgumentException("bpttSteps must be >= 1");
    if (c.javaGates) throw new IllegalStateException("backward needs a cache passed to forward");
    DataType type = p.dataType();
    int g = c.groups, t = c.steps, e = itemWidth, pw = propertyWidth, h = hidden, d = inputWidth;
    int n4 = 4 * h;
    int k = Math.min(bpttSteps, t), first = t - k;
    if (dHidden != null && dHidden.length() != (long) t * g * h)
      throw new IllegalArgumentException(
          "dHidden must be [T, G, H] = [" + t + ", " + g + ", " + h + "]");
    NativeValues dHid = dHidden == null ? null : NativeValues.of(contiguous(dHidden, type));
    NativeValues gates = NativeValues.of(c.gates);
    c.dZ = reuse(c.dZ, c.detached, type, (long) k * g, n4); // [K*G, 4H]
    c.dStatePrev = reuse(c.dStatePrev, c.detached, type, g, h); // [G, H]
    INDArray dZa = c.dZ;
    NativeValues dZ = NativeValues.of(dZa);
    INDArray w = p.get(weightName());
    INDArray dhPrevA = c.dStatePrev;
    NativeValues dhPrev = NativeValues.of(dhPrevA);
    Scratch sc = c.scratch;
    double[] dh = sc.get(4, g * h), dc = sc.get(5, g * h);
    java.util.Arrays.fill(dh, 0, g * h, 0.0);
    java.util.Arrays.fill(dc, 0, g * h, 0.0);
    double[] gd = sc.get(6, g * n4), dzd = sc.get(7, g * n4), db = sc.get(8, n4);
    java.util.Arrays.fill(db, 0, n4, 0.0);
    double[] dhd = sc.get(9, g * h), prev = sc.get(10, g * h);
    double[] cells = c.cells, tcs = c.tanhCells;
    float[] mask = c.mask;
    for (int s = t - 1; s >= first; s--) {
      int dz0 = (s - first) * g * n4;
      gates.read(s * g * n4, gd, 0, g * n4);
      if (dHid != null) dHid.read(s * g * h, dhd, 0, g * h);
      int cp0 = s * g * h; // c_{t-1} and tanh(c_t) of this step
      for (int u = 0; u < g; u++) {
        int zo = u * n4, o = u * h;
        boolean real = mask == null || mask[s * g + u] != 0f;
        if (!real) { // padding carried (h, c): gradients pass through untouched
          if (dHid != null) for (int j = 0; j < h; j++) dh[o + j] += dhd[o + j];
          java.util.Arrays.fill(dzd, zo, zo + n4, 0.0);
          continue;
        }
        for (int j = 0; j < h; j++) {
          double dhT = dh[o + j] + (dHid == null ? 0.0 : dhd[o + j]);
          double i = gd[zo + j];
          double f = gd[zo + h + j];
          double og = gd[zo + 2 * h + j];
          double gg = 2.0 * gd[zo + 3 * h + j] - 1.0; // the gates hold σ(2 z_g)
          double tc = tcs[cp0 + o + j];
          double dcT = dc[o + j] + dhT * og * (1 - tc * tc);
          dzd[zo + j] = dcT * gg * i * (1 - i);
          dzd[zo + h + j] = dcT * cells[cp0 + o + j] * f * (1 - f);
          dzd[zo + 2 * h + j] = dhT * tc * og * (1 - og);
          dzd[zo + 3 * h + j] = dcT * i * (1 - gg * gg);
          dc[o + j] = dcT * f;
        }
        for (int j = 0; j < n4; j++) db[j] += dzd[zo + j];
      }
      dZ.write(dz0, dzd, 0, g * n4);
      if (s == first && first > 0) break; // nothing reads dL/dh_{first-1}
      // dL/dh_{t-1} of real rows = dZ_t W_h^T; padding rows already hold their carried value.
      Gemm.gemm(g, h, n4, dZa, dz0, n4, false, w, (long) e * n4, n4, true, dhPrevA, 0, h, 1.0, 0.0);
      dhPrev.read(0, prev, 0, g * h);
      for (int u = 0; u < g; u++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        System.arraycopy(prev, u * h, dh, u * h, h);
      }
    }
    // Parameter gradients over all K steps at once: dW += [E_k, H_prev, P_k]^T dZ in ONE gemm over
    // the steps' inputs side by side (copied once, [K*G, E+H+P]): three gemms of 64, 128 and 16
    // rows ran at 18-67 GFLOP/s, the single 208-row one at ~85 (docs/model-performance.md).
    INDArray gw = grads.get(weightName());
    long kg = (long) k * g;
    c.stepInputs = reuse(c.stepInputs, c.detached, type, kg, d);
    stepInputs(c, first, k);
    Gemm.gemm(c.stepInputs, dZa, gw, true, false, 1.0, 1.0); // [D, 4H]
    propertyToCellBlock(gw).assign(0); // structural zero: p does not feed g
    NativeValues gb = NativeValues.of(grads.get(biasName()));
    for (int j = 0; j < n4; j++) gb.set(j, gb.get(j) + db[j]);
    c.dItem = reuse(c.dItem, c.detached, type, kg, e); // [K*G, E]
    Gemm.gemm(dZa, NativeValues.rows(w, 0, e, n4), c.dItem, false, true, 1.0, 0.0);
    c.dProperty = reuse(c.dProperty, c.detached, type, kg, pw); // [K*G, P]
    Gemm.gemm(dZa, NativeValues.rows(w, e + h, d, n4), c.dProperty, false, true, 1.0, 0.0);
    INDArray dH0 = Nd4j.zeros(type, g, h);
    INDArray dC0 = Nd4j.zeros(type, g, h);
    if (first == 0) {
      NativeValues.of(dH0).write(0, dh, 0, g * h);
      NativeValues.of(dC0).write(0, dc, 0, g * h);
    }
    return new Grad(c.dItem, c.dProperty, first, dH0, dC0);
  }

  /**
   * Fills {@code c.stepInputs} [K*G, E+H+P] with [e_t, h_{t-1}, p_t] of steps first .. first+K-1
   * (row-wise byte copies of the cache's item, states and property arrays).
   */
  private void stepInputs(Cache c, int first, int k) {
    int g = c.groups, e = itemWidth, h = hidden, pw = propertyWidth, d = inputWidth;
    int bytes = c.stepInputs.dataType().width();
    java.nio.ByteBuffer out = HostView.of(c.stepInputs).bytes();
    java.nio.ByteBuffer item = HostView.of(c.item).bytes();
    java.nio.ByteBuffer states = HostView.of(c.states).bytes();
    java.nio.ByteBuffer prop = HostView.of(c.property).bytes();
    long rows = (long) k * g;
    for (int r = 0; r < rows; r++) {
      int src = first * g + r; // step-major row of the window
      int o = r * d * bytes;
      out.put(o, item, src * e * bytes, e * bytes);
      out.put(o + e * bytes, states, src * h * bytes, h * bytes); // h_{t-1}: states row t*G+u
      out.put(o + (e + h) * bytes, prop, src * pw * bytes, pw * bytes);
    }
    java.lang.ref.Reference.reachabilityFence(c);
  }

  private void requireState(INDArray s, long rows, String name) {
    if (s == null || s.rank() != 2 || s.rows() != rows || s.columns() != hidden)
      throw new IllegalArgumentException(
          name
              + " must be ["
              + rows
              + ", "
              + hidden
              + "], got "
              + (s == null ? "null" : java.util.Arrays.toString(s.shape())));
  }

  static INDArray contiguous(INDArray a, DataType type) {
    INDArray r = a.dataType() == type ? a : a.castTo(type);
    return NativeValues.isContiguousC(r) ? r : r.dup('c');
  }

  /**
   * {@code a} when it already has this type and shape, else a new array — allocated outside any
   * ND4J workspace when {@code detached} (a cache that outlives the caller's workspace scope).
   */
  static INDArray reuse(INDArray a, boolean detached, DataType type, long... shape) {
    if (a != null && a.dataType() == type && java.util.Arrays.equals(a.shape(), shape)) return a;
    if (!detached) return Nd4j.createUninitialized(type, shape);
    try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      return Nd4j.createUninitialized(type, shape);
    }
  }
}
