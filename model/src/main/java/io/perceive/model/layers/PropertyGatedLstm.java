package io.perceive.model.layers;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.core.RationalTanh;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

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
 * Java pass over the step's gates (see {@link #run} and docs/model-performance.md). The block of W
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
    INDArray gates; // [T, G, 4H] pre-activations z without the bias (the gemms' output)
    INDArray states; // [T+1, G, H] h_0 .. h_T
    INDArray hidden; // [T, G, H] h_1 .. h_T (the output; a view of states)
    INDArray finalCell; // [G, H] c_T
    // What backward reads, kept in Java in the parameters' precision (one of the two sets is used):
    // activated gates as i, f, o, g (g = tanh) — FLOAT gate-major [T][4][G*H], DOUBLE [T, G, 4H] —
    // c_0 .. c_T [T+1, G, H], tanh(c_t) [T, G, H]. Keeping them here spares backward a read of the
    // [G, 4H] block through NIO per step.
    float[][] actF = new float[0][]; // FLOAT: one [G*H] array per step and gate (index 4t + k)
    float[][] cellsF = new float[0][]; // one [G*H] per step, c_0 .. c_T
    float[][] tanhCellsF = new float[0][]; // one [G*H] per step
    double[] actD = new double[0];
    double[] cellsD = new double[0];
    double[] tanhCellsD = new double[0];
    INDArray dZ; // [K*G, 4H] backward: dL/dz of the last K steps
    INDArray dStatePrev; // [G, H]
    INDArray dItem; // [K*G, E]
    INDArray dProperty; // [K*G, P]
    INDArray stepInputs; // [K*G, E+H+P+1] backward: [e_t, h_{t-1}, p_t, 1] of the last K steps
    INDArray dWeightAndBias; // [E+H+P+1, 4H] backward: dW over db of one call
    final Scratch scratch = new Scratch();
    final boolean detached;
    boolean inference; // filled by a forward without a cache: only the last step's gates kept

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
   * The scoring forward (as {@link #forward} without a cache, keeping only one step's gates) into
   * {@code work}, a cache kept by the caller only for its arrays: the returned hidden states [T, G,
   * H] belong to it and are overwritten by the next call with the same cache. No backward from it.
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
   * W_e + P W_p for all T*G rows in two gemms, so a step only adds h_{t-1} W_h ([G, H] × [H, 4H])
   * and runs one Java pass over the step's [G, 4H] block: bias, gate activations, cell, tanh(c) and
   * h (FLOAT: {@link #forwardFloat} with {@link RationalTanh}; DOUBLE: {@link #forwardDouble} with
   * exact exp). Why no ND4J op per step: a per-step ND4J sigmoid and the doubled-columns weight
   * copy it needed cost ~13 ms of a 137 ms minibatch, the float → double → float round trip of the
   * Java pass as much again (docs/model-performance.md, session 4).
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
      boolean inference) {
    DataType type = p.dataType();
    int g = groups, e = itemWidth, pw = propertyWidth, h = hidden, n4 = 4 * h;
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
    INDArray oldStates = c.states;
    c.gates = reuse(c.gates, c.detached, type, t, g, n4);
    c.states = reuse(c.states, c.detached, type, t + 1, g, h);
    c.finalCell = reuse(c.finalCell, c.detached, type, g, h);
    c.inference = inference;
    if (c.states != oldStates || c.hidden == null)
      c.hidden = NativeValues.block3(c.states, (long) g * h, t, g, h);
    INDArray w = p.get(weightName());

    // Z = E W_e + P W_p for all steps at once: [T*G, 4H] (the bias is added in the Java pass).
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
    INDArray hStart = contiguous(h0, type), cStart = contiguous(c0, type);
    if (type == DataType.FLOAT) forwardFloat(c, w, p.get(biasName()), hStart, cStart);
    else forwardDouble(c, w, p.get(biasName()), hStart, cStart);
    return c;
  }

  /** The recurrent term of step s: gates[s] += h_{s} W_h (h_s = states row block s). */
  private void recurrentGemm(Cache c, INDArray w, int s) {
    int g = c.groups, h = hidden, n4 = 4 * h;
    Gemm.gemm(
        g,
        n4,
        h,
        c.states,
        (long) s * g * h,
        h,
        false,
        w,
        (long) itemWidth * n4, // W_h: rows E .. E+H of W
        n4,
        false,
        c.gates,
        (long) s * g * n4,
        n4,
        1.0,
        1.0);
  }

  /**
   * The step loop in float arithmetic. Keeps the activated gates (one [G*H] array per step and
   * gate, g as tanh), c_0..c_T and tanh(c_t) in Java arrays for backward (an inference forward
   * keeps only the current step's gates and tanh(c)).
   *
   * <p>Why the step is cut into flat loops over step-local arrays: C2 (JDK 17) vectorises a loop
   * only if its body is small (the unroll limit) and every array in it is indexed by the same
   * expression — it cannot rule out that two float[] are one array at an unknown distance. One
   * fused loop per row ran at 5–10 ns per value, a flat same-index pass at 0.15–0.7
   * (docs/model-performance.md, session 4). The gemm's row-major [G, 4H] block is therefore split
   * into four gate arrays [G*H] once per step (row copies), and all element-wise work runs flat on
   * arrays small enough (128 KB at G = 256) to stay in L2. A padding row is stored as i = 0, f = 1,
   * o = 0, g = 0, tanh c = 0: then the same flat backward passes carry (dh, dc) through it
   * unchanged and give it dz = 0.
   */
  private void forwardFloat(Cache c, INDArray w, INDArray bias, INDArray h0, INDArray c0) {
    int g = c.groups, t = c.steps, h = hidden, n4 = 4 * h, gh = g * h, gn = g * n4;
    boolean keep = !c.inference;
    c.actF = grow(c.actF, (keep ? t : 1) * 4, gh);
    c.cellsF = grow(c.cellsF, t + 1, gh);
    c.tanhCellsF = grow(c.tanhCellsF, keep ? t : 1, gh);
    Scratch sc = c.scratch;
    float[] z = sc.floats(1, gn), hPrev = sc.floats(2, gh), hNext = sc.floats(3, gh);
    // the bias of each gate repeated for all G rows, so the bias pass is flat too
    float[] b = sc.floats(0, n4);
    float[][] gateBias = {
      sc.floats(11, gh), sc.floats(12, gh), sc.floats(13, gh), sc.floats(14, gh)
    };
    NativeValues.of(bias).readFloats(0, b, 0, n4);
    for (int k = 0; k < 4; k++)
      for (int r = 0; r < g; r++) System.arraycopy(b, k * h, gateBias[k], r * h, h);
    NativeValues states = NativeValues.of(c.states), gates = NativeValues.of(c.gates);
    NativeValues.of(h0).readFloats(0, hPrev, 0, gh);
    states.writeFloats(0, hPrev, 0, gh);
    NativeValues.of(c0).readFloats(0, c.cellsF[0], 0, gh);
    float[] mask = c.mask;
    for (int s = 0; s < t; s++) {
      // this step's arrays: the forward writes the stored gates, c_t and tanh(c_t) in place (each
      // its own array, so the flat passes need no copy in or out)
      int a0 = keep ? 4 * s : 0;
      float[] in = c.actF[a0], forget = c.actF[a0 + 1], out = c.actF[a0 + 2];
      float[] cellIn = c.actF[a0 + 3], tanhStep = c.tanhCellsF[keep ? s : 0];
      float[] cPrev = c.cellsF[s], cNext = c.cellsF[s + 1];
      float[][] gate = {in, forget, out, cellIn};
      recurrentGemm(c, w, s);
      gates.readFloats(s * gn, z, 0, gn);
      for (int r = 0; r < g; r++) { // [G, 4H] rows → four [G*H] gate arrays
        for (int k = 0; k < 4; k++) System.arraycopy(z, r * n4 + k * h, gate[k], r * h, h);
      }
      // σ(x) = ½ + ½·tanh(x/2): one rational tanh for all four gates
      for (int k = 0; k < 3; k++) {
        addScaled(gate[k], gateBias[k], 0.5f, gh); // (z + b) / 2
        tanhInPlace(gate[k], gh);
        affineInPlace(gate[k], 0.5f, 0.5f, gh);
      }
      addScaled(cellIn, gateBias[3], 1f, gh);
      tanhInPlace(cellIn, gh);
      cellUpdate(forget, cPrev, in, cellIn, cNext, gh);
      tanhInto(cNext, tanhStep, gh);
      multiply(out, tanhStep, hNext, gh);
      if (mask != null)
        for (int r = 0; r < g; r++) {
          if (mask[s * g + r] != 0f) continue;
          int o = r * h, e = o + h; // padding: carry (h, c)
          java.util.Arrays.fill(in, o, e, 0f);
          java.util.Arrays.fill(forget, o, e, 1f);
          java.util.Arrays.fill(out, o, e, 0f);
          java.util.Arrays.fill(cellIn, o, e, 0f);
          java.util.Arrays.fill(tanhStep, o, e, 0f);
          System.arraycopy(cPrev, o, cNext, o, h);
          System.arraycopy(hPrev, o, hNext, o, h);
        }
      states.writeFloats((s + 1) * gh, hNext, 0, gh);
      float[] swap = hPrev;
      hPrev = hNext;
      hNext = swap;
    }
    NativeValues.of(c.finalCell).writeFloats(0, c.cellsF[t], 0, gh);
  }

  /** z[i] = (z[i] + b[i])·scale. */
  private static void addScaled(float[] z, float[] b, float scale, int n) {
    for (int i = 0; i < n; i++) z[i] = (z[i] + b[i]) * scale;
  }

  /** z[i] = shift + scale·z[i]. */
  private static void affineInPlace(float[] z, float shift, float scale, int n) {
    for (int i = 0; i < n; i++) z[i] = shift + scale * z[i];
  }

  private static void tanhInPlace(float[] z, int n) {
    for (int i = 0; i < n; i++) z[i] = RationalTanh.tanh(z[i]);
  }

  private static void tanhInto(float[] x, float[] y, int n) {
    for (int i = 0; i < n; i++) y[i] = RationalTanh.tanh(x[i]);
  }

  /** c_t = f ⊙ c_{t-1} + i ⊙ g. */
  private static void cellUpdate(
      float[] forget, float[] cPrev, float[] in, float[] cellIn, float[] cNext, int n) {
    for (int i = 0; i < n; i++) cNext[i] = forget[i] * cPrev[i] + in[i] * cellIn[i];
  }

  /** z[i] = x[i]·y[i]. */
  private static void multiply(float[] x, float[] y, float[] z, int n) {
    for (int i = 0; i < n; i++) z[i] = x[i] * y[i];
  }

  /** The step loop in double arithmetic with exact exp (the gradient checks' precision). */
  private void forwardDouble(Cache c, INDArray w, INDArray bias, INDArray h0, INDArray c0) {
    int g = c.groups, t = c.steps, h = hidden, n4 = 4 * h, g0 = 3 * h, gh = g * h;
    boolean keep = !c.inference;
    c.actD = grow(c.actD, (keep ? t : 1) * g * n4);
    c.cellsD = grow(c.cellsD, (t + 1) * gh);
    c.tanhCellsD = grow(c.tanhCellsD, (keep ? t : 1) * gh);
    Scratch sc = c.scratch;
    double[] b = sc.get(0, n4), z = sc.get(1, g * n4), hPrev = sc.get(2, gh), hNext = sc.get(3, gh);
    NativeValues.of(bias).read(0, b, 0, n4);
    NativeValues states = NativeValues.of(c.states), gates = NativeValues.of(c.gates);
    NativeValues.of(h0).read(0, hPrev, 0, gh);
    states.write(0, hPrev, 0, gh);
    NativeValues.of(c0).read(0, c.cellsD, 0, gh);
    double[] act = c.actD, cells = c.cellsD, tanhCells = c.tanhCellsD;
    float[] mask = c.mask;
    for (int s = 0; s < t; s++) {
      recurrentGemm(c, w, s);
      gates.read(s * g * n4, z, 0, g * n4);
      int a0 = keep ? s * g * n4 : 0, tc0 = keep ? s * gh : 0, cp = s * gh, cn = cp + gh;
      for (int r = 0; r < g; r++) {
        int o = r * h, ao = a0 + r * n4, zo = r * n4;
        if (mask != null && mask[s * g + r] == 0f) { // padding: carry (h, c)
          System.arraycopy(cells, cp + o, cells, cn + o, h);
          System.arraycopy(hPrev, o, hNext, o, h);
          java.util.Arrays.fill(tanhCells, tc0 + o, tc0 + o + h, 0.0);
          java.util.Arrays.fill(act, ao, ao + n4, 0.0);
          continue;
        }
        for (int j = 0; j < g0; j++) act[ao + j] = NativeValues.sigmoid(z[zo + j] + b[j]);
        for (int j = g0; j < n4; j++) act[ao + j] = NativeValues.tanh(z[zo + j] + b[j]);
        for (int j = 0; j < h; j++) {
          double cell = act[ao + h + j] * cells[cp + o + j] + act[ao + j] * act[ao + g0 + j];
          double tanh = NativeValues.tanh(cell);
          cells[cn + o + j] = cell;
          tanhCells[tc0 + o + j] = tanh;
          hNext[o + j] = act[ao + 2 * h + j] * tanh;
        }
      }
      states.write((s + 1) * gh, hNext, 0, gh);
      double[] swap = hPrev;
      hPrev = hNext;
      hNext = swap;
    }
    NativeValues.of(c.finalCell).write(0, cells, t * gh, gh);
  }

  /** {@code count} arrays of at least {@code n} floats, reusing those {@code a} has. */
  private static float[][] grow(float[][] a, int count, int n) {
    float[][] r = a.length >= count ? a : java.util.Arrays.copyOf(a, count);
    for (int i = 0; i < count; i++) if (r[i] == null || r[i].length < n) r[i] = new float[n];
    return r;
  }

  private static double[] grow(double[] a, int n) {
    return a.length < n ? new double[n] : a;
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
    // the same step code as the window's forward: the streamed state equals the window's exactly
    return run(p, item, property, null, b, h, c, new Cache(false), true).finalState();
  }

  /** Java work arrays of one cache, reused across its steps and calls. */
  static final class Scratch {
    private final double[][] arrays = new double[12][0];
    private final float[][] floatArrays = new float[25][0];

    double[] get(int k, int n) {
      if (arrays[k].length < n) arrays[k] = new double[n];
      return arrays[k];
    }

    float[] floats(int k, int n) {
      if (floatArrays[k].length < n) floatArrays[k] = new float[n];
      return floatArrays[k];
    }
  }

  /**
   * Back-propagates {@code dHidden} [T, G, H] (dL/dh_t for every step; null = none) through the
   * last {@code bpttSteps} steps, adding dW and db into {@code g}. See the class comment for what
   * is truncated. The returned dItem/dProperty are owned by the cache.
   */
  public Grad backward(ParameterSet p, Gradients grads, INDArray dHidden, int bpttSteps, Cache c) {
    if (bpttSteps < 1) throw new IllegalArgumentException("bpttSteps must be >= 1");
    if (c.inference) throw new IllegalStateException("backward needs a cache passed to forward");
    DataType type = p.dataType();
    int g = c.groups, t = c.steps, e = itemWidth, pw = propertyWidth, h = hidden, d = inputWidth;
    int n4 = 4 * h;
    int k = Math.min(bpttSteps, t), first = t - k;
    if (dHidden != null && dHidden.length() != (long) t * g * h)
      throw new IllegalArgumentException(
          "dHidden must be [T, G, H] = [" + t + ", " + g + ", " + h + "]");
    NativeValues dHid = dHidden == null ? null : NativeValues.of(contiguous(dHidden, type));
    c.dZ = reuse(c.dZ, c.detached, type, (long) k * g, n4); // [K*G, 4H]
    c.dStatePrev = reuse(c.dStatePrev, c.detached, type, g, h); // [G, H]
    INDArray w = p.get(weightName());
    INDArray dH0 = Nd4j.zeros(type, g, h);
    INDArray dC0 = Nd4j.zeros(type, g, h);
    if (type == DataType.FLOAT) backwardFloat(c, w, dHid, first, dH0, dC0);
    else backwardDouble(c, w, dHid, first, dH0, dC0);
    INDArray dZa = c.dZ;
    // Parameter gradients over all K steps at once: [dW; db] = [E_k, H_prev, P_k, 1]^T dZ in ONE
    // gemm over the steps' inputs side by side (copied once, [K*G, E+H+P+1]): three gemms of 64,
    // 128 and 16 rows ran at 18-67 GFLOP/s, the single 208-row one at ~85, and the column of ones
    // gives the bias gradient (dZ's column sums) without a Java pass (docs/model-performance.md).
    long kg = (long) k * g;
    c.stepInputs = reuse(c.stepInputs, c.detached, type, kg, d + 1);
    stepInputs(c, first, k);
    c.dWeightAndBias = reuse(c.dWeightAndBias, c.detached, type, d + 1, n4);
    Gemm.gemm(c.stepInputs, dZa, c.dWeightAndBias, true, false, 1.0, 0.0); // [D+1, 4H]
    addWeightAndBiasGradient(c, grads.get(weightName()), grads.get(biasName()));
    c.dItem = reuse(c.dItem, c.detached, type, kg, e); // [K*G, E]
    Gemm.gemm(dZa, NativeValues.rows(w, 0, e, n4), c.dItem, false, true, 1.0, 0.0);
    c.dProperty = reuse(c.dProperty, c.detached, type, kg, pw); // [K*G, P]
    Gemm.gemm(dZa, NativeValues.rows(w, e + h, d, n4), c.dProperty, false, true, 1.0, 0.0);
    return new Grad(c.dItem, c.dProperty, first, dH0, dC0);
  }

  /**
   * gw [D, 4H] += rows 0..D-1 of c.dWeightAndBias, with the p → g block kept at its structural
   * zero; gb [4H] += its last row.
   */
  private void addWeightAndBiasGradient(Cache c, INDArray gw, INDArray gb) {
    int d = inputWidth, n4 = 4 * hidden, g0 = 3 * hidden, pRow = itemWidth + hidden;
    double[] sum = c.scratch.get(8, (d + 1) * n4), old = c.scratch.get(9, d * n4);
    NativeValues.of(c.dWeightAndBias).read(0, sum, 0, (d + 1) * n4);
    NativeValues w = NativeValues.of(gw), b = NativeValues.of(gb);
    w.read(0, old, 0, d * n4);
    for (int r = 0; r < d; r++)
      for (int j = 0; j < n4; j++)
        old[r * n4 + j] = r >= pRow && j >= g0 ? 0.0 : old[r * n4 + j] + sum[r * n4 + j];
    w.write(0, old, 0, d * n4);
    for (int j = 0; j < n4; j++) b.set(j, b.get(j) + sum[d * n4 + j]);
  }

  /** dL/dh_{s-1} of step s's real rows = dZ_s W_h^T (into c.dStatePrev). */
  private void hiddenGradientGemm(Cache c, INDArray w, int s, int first) {
    int g = c.groups, h = hidden, n4 = 4 * h;
    long dz0 = (long) (s - first) * g * n4;
    long wh = (long) itemWidth * n4; // W_h: rows E .. E+H of W
    Gemm.gemm(g, h, n4, c.dZ, dz0, n4, false, w, wh, n4, true, c.dStatePrev, 0, h, 1.0, 0.0);
  }

  /**
   * The backward step loop in float arithmetic: per step, flat same-index passes (see {@link
   * #forwardFloat}) over the forward's per-step arrays give dL/dz of the four gates; they are
   * interleaved into the row-major [G, 4H] block (row copies) and written to the step's block of
   * {@code c.dZ} in one bulk write; then the dh gemm and one bulk read. The dZ of all K steps ends
   * in {@code c.dZ} for the gemms after the loop (which also give db); dH0/dC0 are written when the
   * loop reaches step 0.
   */
  private void backwardFloat(
      Cache c, INDArray w, NativeValues dHid, int first, INDArray dH0, INDArray dC0) {
    int g = c.groups, t = c.steps, h = hidden, n4 = 4 * h, gh = g * h, gn = g * n4;
    Scratch sc = c.scratch;
    float[] dh = sc.floats(15, gh), dc = sc.floats(16, gh), dhd = sc.floats(17, gh);
    float[] prev = sc.floats(18, gh), dzRow = sc.floats(20, gn);
    float[][] dzGate = {sc.floats(21, gh), sc.floats(22, gh), sc.floats(23, gh), sc.floats(24, gh)};
    java.util.Arrays.fill(dh, 0, gh, 0f);
    java.util.Arrays.fill(dc, 0, gh, 0f);
    NativeValues dZ = NativeValues.of(c.dZ), dhPrev = NativeValues.of(c.dStatePrev);
    float[] mask = c.mask;
    for (int s = t - 1; s >= first; s--) {
      if (dHid != null) { // dL/dh_t = carried + the output's own gradient (padding rows too)
        dHid.readFloats(s * gh, dhd, 0, gh);
        addInPlace(dh, dhd, gh);
      }
      float[] in = c.actF[4 * s], forget = c.actF[4 * s + 1], out = c.actF[4 * s + 2];
      float[] cellIn = c.actF[4 * s + 3], cPrev = c.cellsF[s], tc = c.tanhCellsF[s];
      cellGradient(dc, dh, out, tc, gh); // dc = dL/dc_t
      sigmoidGateGradient(dzGate[0], dc, cellIn, in, gh); // dz_i = dc g i (1 - i)
      sigmoidGateGradient(dzGate[1], dc, cPrev, forget, gh); // dz_f = dc c_{t-1} f (1 - f)
      sigmoidGateGradient(dzGate[2], dh, tc, out, gh); // dz_o = dh tanh(c) o (1 - o)
      cellInputGradient(dzGate[3], dc, in, cellIn, gh); // dz_g = dc i (1 - g²)
      multiplyInPlace(dc, forget, gh); // dL/dc_{t-1} = dc f
      for (int u = 0; u < g; u++) // four [G*H] gate arrays → [G, 4H] rows
      for (int k = 0; k < 4; k++) System.arraycopy(dzGate[k], u * h, dzRow, u * n4 + k * h, h);
      dZ.writeFloats((s - first) * gn, dzRow, 0, gn);
      if (s == first && first > 0) break; // nothing reads dL/dh_{first-1}
      hiddenGradientGemm(c, w, s, first);
      dhPrev.readFloats(0, prev, 0, gh);
      for (int u = 0; u < g; u++) { // padding rows already hold their carried value
        if (mask != null && mask[s * g + u] == 0f) continue;
        System.arraycopy(prev, u * h, dh, u * h, h);
      }
    }
    if (first == 0) {
      NativeValues.of(dH0).writeFloats(0, dh, 0, gh);
      NativeValues.of(dC0).writeFloats(0, dc, 0, gh);
    }
  }

  private static void addInPlace(float[] y, float[] x, int n) {
    for (int i = 0; i < n; i++) y[i] += x[i];
  }

  /** dc += dh·o·(1 − tanh²(c_t)). */
  private static void cellGradient(float[] dc, float[] dh, float[] out, float[] tc, int n) {
    for (int i = 0; i < n; i++) dc[i] += dh[i] * out[i] * (1f - tc[i] * tc[i]);
  }

  /** dz = d·x·σ·(1 − σ): a sigmoid gate's dL/dz. */
  private static void sigmoidGateGradient(float[] dz, float[] d, float[] x, float[] sg, int n) {
    for (int i = 0; i < n; i++) dz[i] = d[i] * x[i] * sg[i] * (1f - sg[i]);
  }

  /** dz_g = dc·i·(1 − g²). */
  private static void cellInputGradient(float[] dz, float[] dc, float[] in, float[] cellIn, int n) {
    for (int i = 0; i < n; i++) dz[i] = dc[i] * in[i] * (1f - cellIn[i] * cellIn[i]);
  }

  private static void multiplyInPlace(float[] y, float[] x, int n) {
    for (int i = 0; i < n; i++) y[i] *= x[i];
  }

  /** The backward step loop in double arithmetic (see {@link #backwardFloat}). */
  private void backwardDouble(
      Cache c, INDArray w, NativeValues dHid, int first, INDArray dH0, INDArray dC0) {
    int g = c.groups, t = c.steps, h = hidden, n4 = 4 * h, gh = g * h;
    Scratch sc = c.scratch;
    double[] dh = sc.get(4, gh), dc = sc.get(5, gh), dzd = sc.get(6, g * n4);
    double[] dhd = sc.get(9, gh), prev = sc.get(10, gh);
    java.util.Arrays.fill(dh, 0, gh, 0.0);
    java.util.Arrays.fill(dc, 0, gh, 0.0);
    if (dHid == null) java.util.Arrays.fill(dhd, 0, gh, 0.0);
    NativeValues dZ = NativeValues.of(c.dZ), dhPrev = NativeValues.of(c.dStatePrev);
    double[] act = c.actD, cells = c.cellsD, tcs = c.tanhCellsD;
    float[] mask = c.mask;
    for (int s = t - 1; s >= first; s--) {
      if (dHid != null) dHid.read(s * gh, dhd, 0, gh);
      int a0 = s * g * n4, cp0 = s * gh;
      for (int u = 0; u < g; u++) {
        int zo = u * n4, ao = a0 + zo, o = u * h;
        if (mask != null && mask[s * g + u] == 0f) {
          for (int j = 0; j < h; j++) dh[o + j] += dhd[o + j];
          java.util.Arrays.fill(dzd, zo, zo + n4, 0.0);
          continue;
        }
        for (int j = 0; j < h; j++) {
          double dhT = dh[o + j] + dhd[o + j];
          double i = act[ao + j], f = act[ao + h + j], og = act[ao + 2 * h + j];
          double gg = act[ao + 3 * h + j], tc = tcs[cp0 + o + j];
          double dcT = dc[o + j] + dhT * og * (1 - tc * tc);
          dzd[zo + j] = dcT * gg * i * (1 - i);
          dzd[zo + h + j] = dcT * cells[cp0 + o + j] * f * (1 - f);
          dzd[zo + 2 * h + j] = dhT * tc * og * (1 - og);
          dzd[zo + 3 * h + j] = dcT * i * (1 - gg * gg);
          dc[o + j] = dcT * f;
        }
      }
      dZ.write((s - first) * g * n4, dzd, 0, g * n4);
      if (s == first && first > 0) break;
      hiddenGradientGemm(c, w, s, first);
      dhPrev.read(0, prev, 0, gh);
      for (int u = 0; u < g; u++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        System.arraycopy(prev, u * h, dh, u * h, h);
      }
    }
    if (first == 0) {
      NativeValues.of(dH0).write(0, dh, 0, gh);
      NativeValues.of(dC0).write(0, dc, 0, gh);
    }
  }

  /**
   * Fills {@code c.stepInputs} [K*G, E+H+P+1] with [e_t, h_{t-1}, p_t, 1] of steps first ..
   * first+K-1 (row-wise byte copies of the cache's item, states and property arrays).
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
      int o = r * (d + 1) * bytes;
      out.put(o, item, src * e * bytes, e * bytes);
      out.put(o + e * bytes, states, src * h * bytes, h * bytes); // h_{t-1}: states row t*G+u
      out.put(o + (e + h) * bytes, prop, src * pw * bytes, pw * bytes);
      if (bytes == 4) out.putFloat(o + d * bytes, 1f); // the bias column
      else out.putDouble(o + d * bytes, 1.0);
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
