package io.perceive.model.layers;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.buffer.DataType;
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
 * <p>Implementation: one gemm per step, x_t [G, D] × W [D, 4H] with x_t = [e_t, h_{t-1}, p_t] (D =
 * E + H + P, 208 by default) and gate columns [i | f | o | g]. The block of W from the p rows to
 * the g columns is <em>structurally zero</em>: initialised to 0 and its gradient is zeroed in every
 * backward pass, so no optimizer moves it. Bias b [4H] starts at 0 except the forget gate at 1.
 * Parameters: {@code <prefix>/W} [D, 4H], {@code <prefix>/b} [4H].
 *
 * <p>A padding step (mask 0) carries (h, c) through unchanged and its output is h_{t-1}. The
 * element-wise gate work of a step is two Java passes around one ND4J sigmoid over the gemm output
 * (see the cell update below and docs/model-performance.md).
 *
 * <p><b>Truncated back-propagation through time</b> with K = {@code bpttSteps} ≤ T: the gradient is
 * that of the loss in which the state entering step T-K, (h_{T-K-1}, c_{T-K-1}), and every output
 * h_t of the steps t &lt; T-K are constants. So the parameters, e_t and p_t receive gradient only
 * from the last K steps; steps before them, h0 and c0 receive none (dH0/dC0 are zero unless K = T).
 * Gradient arriving at outputs of the early steps (from attention) is dropped.
 */
public final class PropertyGatedLstm {

  /** What forward keeps for backward; reused across calls when the shapes match. */
  public static final class Cache {
    int groups;
    int steps;
    float[] mask; // [T*G] step-major, null = all real
    INDArray x; // [T, G, D] gate inputs [e_t, h_{t-1}, p_t]
    INDArray gates; // [T, G, 4H] activations i, f, o and σ(2 z_g) (g = 2σ(2 z_g) − 1)
    INDArray cells; // [T+1, G, H] c_0 .. c_T
    INDArray hidden; // [T, G, H] h_1 .. h_T (the output)
    INDArray tanhCells; // [T, G, H]

    /** The state after the last step: h [G, H] and c [G, H] (views into the cache). */
    public LstmState finalState() {
      int h = (int) hidden.size(2);
      long gh = (long) groups * h;
      return new LstmState(
          NativeValues.block(hidden, (steps - 1) * gh, groups, h),
          NativeValues.block(cells, steps * gh, groups, h));
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
    Cache c = cache != null ? cache : new Cache();
    c.groups = g;
    c.steps = t;
    c.mask = mask;
    c.x = reuse(c.x, type, t, g, d);
    c.gates = reuse(c.gates, type, t, g, n4);
    c.cells = reuse(c.cells, type, t + 1, g, h);
    c.hidden = reuse(c.hidden, type, t, g, h);
    c.tanhCells = reuse(c.tanhCells, type, t, g, h);

    NativeValues x = NativeValues.of(c.x);
    NativeValues eV = NativeValues.of(contiguous(item, type));
    NativeValues pV = NativeValues.of(contiguous(property, type));
    int rows = t * g;
    double[] ed = new double[rows * e], pd = new double[rows * pw];
    eV.read(0, ed, 0, rows * e);
    pV.read(0, pd, 0, rows * pw);
    for (int r = 0; r < rows; r++) { // x[t][g] = [e, ·, p]
      x.write(r * d, ed, r * e, e);
      x.write(r * d + e + h, pd, r * pw, pw);
    }
    double[] s0 = new double[g * h];
    NativeValues.of(contiguous(h0, type)).read(0, s0, 0, g * h);
    for (int u = 0; u < g; u++) x.write(u * d + e, s0, u * h, h);
    NativeValues cells = NativeValues.of(c.cells);
    NativeValues.of(contiguous(c0, type)).read(0, s0, 0, g * h);
    cells.write(0, s0, 0, g * h);
    INDArray w = p.get(weightName());
    INDArray bias = p.get(biasName());
    NativeValues hid = NativeValues.of(c.hidden);
    NativeValues tc = NativeValues.of(c.tanhCells);
    Scratch scratch = new Scratch();
    for (int s = 0; s < t; s++) {
      INDArray xs = NativeValues.block(c.x, (long) s * g * d, g, d); // [G, D]
      INDArray zs = NativeValues.block(c.gates, (long) s * g * n4, g, n4); // [G, 4H]
      Nd4j.gemm(xs, w, zs, false, false, 1.0, 0.0);
      boolean last = s == t - 1;
      cellForward(
          scratch,
          g,
          zs,
          bias,
          x,
          s * g * d + e,
          d,
          cells,
          s * g * h,
          cells,
          (s + 1) * g * h,
          hid,
          s * g * h,
          tc,
          last ? null : x,
          (s + 1) * g * d + e,
          mask,
          s * g);
    }
    return c.hidden;
  }

  /**
   * One batched step for B users (streaming: a behaviour leaves the window): {@code item} [B, E],
   * {@code property} [B, P], state [B, H] → the new state (new arrays).
   */
  public LstmState step(ParameterSet p, INDArray item, INDArray property, INDArray h, INDArray c) {
    DataType type = p.dataType();
    int b = (int) item.rows(), e = itemWidth, pw = propertyWidth, hh = hidden, d = inputWidth;
    if (item.columns() != e || property.rows() != b || property.columns() != pw)
      throw new IllegalArgumentException(
          "item must be [B, " + e + "] and property [B, " + pw + "]");
    requireState(h, b, "h");
    requireState(c, b, "c");
    INDArray xa = Nd4j.createUninitialized(type, b, d); // [B, D]
    NativeValues x = NativeValues.of(xa);
    NativeValues eV = NativeValues.of(contiguous(item, type));
    NativeValues pV = NativeValues.of(contiguous(property, type));
    NativeValues hV = NativeValues.of(contiguous(h, type));
    for (int r = 0; r < b; r++) {
      for (int j = 0; j < e; j++) x.set(r * d + j, eV.get(r * e + j));
      for (int j = 0; j < hh; j++) x.set(r * d + e + j, hV.get(r * hh + j));
      for (int j = 0; j < pw; j++) x.set(r * d + e + hh + j, pV.get(r * pw + j));
    }
    INDArray za = Nd4j.createUninitialized(type, b, 4L * hh); // [B, 4H]
    Nd4j.gemm(xa, p.get(weightName()), za, false, false, 1.0, 0.0);
    INDArray hOut = Nd4j.createUninitialized(type, b, hh);
    INDArray cOut = Nd4j.createUninitialized(type, b, hh);
    cellForward(
        new Scratch(),
        b,
        za,
        p.get(biasName()),
        x,
        e,
        d,
        NativeValues.of(contiguous(c, type)),
        0,
        NativeValues.of(cOut),
        0,
        NativeValues.of(hOut),
        0,
        null,
        null,
        0,
        null,
        0);
    return new LstmState(hOut, cOut);
  }

  /**
   * The element-wise part of one step for {@code rows} rows, chosen by measurement
   * (docs/model-performance.md): three ND4J calls over the whole [rows, 4H] block — bias add, ×2 on
   * the cell-input columns, one sigmoid (its vectorised exp is ~2× the JIT's scalar {@code
   * Math.exp}, and one call over 128 k values pays the per-call floor once) — then one Java pass
   * over a bulk copy for g = tanh(z_g) = 2σ(2 z_g) − 1, the cell and hidden update and the padding
   * carry. The gate block keeps i, f, o and σ(2 z_g) for backward. Offsets are element offsets of
   * row 0; c, h and tanh(c) rows are H apart, h_prev/h_next {@code xStride}.
   */
  private void cellForward(
      Scratch scratch,
      int rows,
      INDArray zArr,
      INDArray bias,
      NativeValues hPrev,
      int hPrev0,
      int xStride,
      NativeValues cPrev,
      int cPrev0,
      NativeValues cOut,
      int cOut0,
      NativeValues hOut,
      int hOut0,
      NativeValues tcOut,
      NativeValues hNext,
      int hNext0,
      float[] mask,
      int mask0) {
    int h = hidden, n4 = 4 * h, g0 = 3 * h;
    NativeValues z = NativeValues.of(zArr);
    double[] zd = scratch.gates(rows * n4);
    zArr.addiRowVector(bias); // three ND4J calls over the whole [rows, 4H] block
    zArr.get(NDArrayIndex.all(), NDArrayIndex.interval(g0, n4)).muli(2.0);
    Transforms.sigmoid(zArr, false); // i, f, o and σ(2·z_g)
    z.read(0, zd, 0, rows * n4);
    double[] cp = scratch.a(rows * h), hp = scratch.b(rows * h);
    double[] co = scratch.c(rows * h), ho = scratch.d(rows * h), tc = scratch.e(rows * h);
    cPrev.read(cPrev0, cp, 0, rows * h);
    for (int r = 0; r < rows; r++) hPrev.read(hPrev0 + r * xStride, hp, r * h, h);
    for (int r = 0; r < rows; r++) {
      int zo = r * n4, o = r * h;
      if (mask != null && mask[mask0 + r] == 0f) { // padding: carry (h, c)
        for (int j = 0; j < h; j++) {
          co[o + j] = cp[o + j];
          ho[o + j] = hp[o + j];
          tc[o + j] = 0.0;
        }
        continue;
      }
      for (int j = 0; j < h; j++) {
        double g = 2.0 * zd[zo + g0 + j] - 1.0; // tanh(x) = 2σ(2x) − 1; stored as σ(2x)
        double cell = zd[zo + h + j] * cp[o + j] + zd[zo + j] * g;
        double t = NativeValues.tanh(cell);
        co[o + j] = cell;
        tc[o + j] = t;
        ho[o + j] = zd[zo + 2 * h + j] * t;
      }
    }
    cOut.write(cOut0, co, 0, rows * h);
    hOut.write(hOut0, ho, 0, rows * h);
    if (tcOut != null) tcOut.write(hOut0, tc, 0, rows * h);
    if (hNext != null)
      for (int r = 0; r < rows; r++) hNext.write(hNext0 + r * xStride, ho, r * h, h);
  }

  /** Java work arrays of one forward or backward call, reused across its steps. */
  private static final class Scratch {
    private final double[][] arrays = new double[7][0];

    private double[] get(int k, int n) {
      if (arrays[k].length < n) arrays[k] = new double[n];
      return arrays[k];
    }

    double[] gates(int n) {
      return get(0, n);
    }

    double[] a(int n) {
      return get(2, n);
    }

    double[] b(int n) {
      return get(3, n);
    }

    double[] c(int n) {
      return get(4, n);
    }

    double[] d(int n) {
      return get(5, n);
    }

    double[] e(int n) {
      return get(6, n);
    }
  }

  /**
   * Back-propagates {@code dHidden} [T, G, H] (dL/dh_t for every step; null = none) through the
   * last {@code bpttSteps} steps, adding dW and db into {@code g}. See the class comment for what
   * is truncated.
   */
  public Grad backward(ParameterSet p, Gradients grads, INDArray dHidden, int bpttSteps, Cache c) {
    if (bpttSteps < 1) throw new IllegalArgumentException("bpttSteps must be >= 1");
    DataType type = p.dataType();
    int g = c.groups, t = c.steps, e = itemWidth, pw = propertyWidth, h = hidden, d = inputWidth;
    int n4 = 4 * h;
    int k = Math.min(bpttSteps, t), first = t - k;
    if (dHidden != null && dHidden.length() != (long) t * g * h)
      throw new IllegalArgumentException(
          "dHidden must be [T, G, H] = [" + t + ", " + g + ", " + h + "]");
    NativeValues dHid = dHidden == null ? null : NativeValues.of(contiguous(dHidden, type));
    NativeValues gates = NativeValues.of(c.gates);
    NativeValues cells = NativeValues.of(c.cells);
    NativeValues tcs = NativeValues.of(c.tanhCells);
    INDArray dZa = Nd4j.createUninitialized(type, (long) k * g, n4); // [K*G, 4H]
    NativeValues dZ = NativeValues.of(dZa);
    INDArray w = p.get(weightName());
    INDArray wh = NativeValues.rows(w, e, e + h, n4); // [H, 4H]
    INDArray dhPrevA = Nd4j.createUninitialized(type, g, h); // [G, H]
    NativeValues dhPrev = NativeValues.of(dhPrevA);
    double[] dh = new double[g * h];
    double[] dc = new double[g * h];
    double[] gd = new double[g * n4], dzd = new double[g * n4], db = new double[n4];
    double[] tcd = new double[g * h], cpd = new double[g * h], dhd = new double[g * h];
    double[] prev = new double[g * h];
    float[] mask = c.mask;
    for (int s = t - 1; s >= first; s--) {
      int dz0 = (s - first) * g * n4;
      gates.read(s * g * n4, gd, 0, g * n4);
      tcs.read(s * g * h, tcd, 0, g * h);
      cells.read(s * g * h, cpd, 0, g * h); // c_{t-1}: cells[s]
      if (dHid != null) dHid.read(s * g * h, dhd, 0, g * h);
      for (int u = 0; u < g; u++) {
        int zo = u * n4, o = u * h;
        boolean real = mask == null || mask[s * g + u] != 0f;
        if (!real) { // padding carried (h, c): gradients pass through untouched
          for (int j = 0; j < h; j++) if (dHid != null) dh[o + j] += dhd[o + j];
          java.util.Arrays.fill(dzd, zo, zo + n4, 0.0);
          continue;
        }
        for (int j = 0; j < h; j++) {
          double dhT = dh[o + j] + (dHid == null ? 0.0 : dhd[o + j]);
          double i = gd[zo + j];
          double f = gd[zo + h + j];
          double og = gd[zo + 2 * h + j];
          double gg = 2.0 * gd[zo + 3 * h + j] - 1.0; // the gates hold σ(2 z_g)
          double tc = tcd[o + j];
          double dcT = dc[o + j] + dhT * og * (1 - tc * tc);
          dzd[zo + j] = dcT * gg * i * (1 - i);
          dzd[zo + h + j] = dcT * cpd[o + j] * f * (1 - f);
          dzd[zo + 2 * h + j] = dhT * tc * og * (1 - og);
          dzd[zo + 3 * h + j] = dcT * i * (1 - gg * gg);
          dc[o + j] = dcT * f;
        }
        for (int j = 0; j < n4; j++) db[j] += dzd[zo + j];
      }
      dZ.write(dz0, dzd, 0, g * n4);
      // dL/dh_{t-1} of real rows = dZ_t W_h^T; padding rows already hold their carried value.
      Nd4j.gemm(NativeValues.block(dZa, (long) dz0, g, n4), wh, dhPrevA, false, true, 1.0, 0.0);
      dhPrev.read(0, prev, 0, g * h);
      for (int u = 0; u < g; u++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        System.arraycopy(prev, u * h, dh, u * h, h);
      }
    }
    // Parameter gradients over all K steps at once: dW += X^T dZ, db += Σ dZ.
    INDArray xk = NativeValues.block(c.x, (long) first * g * d, (long) k * g, d); // [K*G, D]
    INDArray gw = grads.get(weightName());
    Nd4j.gemm(xk, dZa, gw, true, false, 1.0, 1.0);
    propertyToCellBlock(gw).assign(0); // structural zero: p does not feed g
    NativeValues gb = NativeValues.of(grads.get(biasName()));
    for (int j = 0; j < n4; j++) gb.set(j, gb.get(j) + db[j]);
    INDArray dItem = Nd4j.createUninitialized(type, (long) k * g, e); // [K*G, E]
    Nd4j.gemm(dZa, NativeValues.rows(w, 0, e, n4), dItem, false, true, 1.0, 0.0);
    INDArray dProp = Nd4j.createUninitialized(type, (long) k * g, pw); // [K*G, P]
    Nd4j.gemm(dZa, NativeValues.rows(w, e + h, d, n4), dProp, false, true, 1.0, 0.0);
    INDArray dH0 = Nd4j.zeros(type, g, h);
    INDArray dC0 = Nd4j.zeros(type, g, h);
    if (first == 0) {
      NativeValues.of(dH0).write(0, dh, 0, g * h);
      NativeValues.of(dC0).write(0, dc, 0, g * h);
    }
    return new Grad(dItem, dProp, first, dH0, dC0);
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

  private static INDArray reuse(INDArray a, DataType type, long... shape) {
    if (a != null && a.dataType() == type && java.util.Arrays.equals(a.shape(), shape)) return a;
    return Nd4j.createUninitialized(type, shape);
  }
}
