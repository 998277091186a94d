package io.perceive.model.layers;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.buffer.DataType;
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
 * <p>Implementation: one gemm per step, x_t [G, D] × W [D, 4H] with x_t = [e_t, h_{t-1}, p_t] (D =
 * E + H + P, 208 by default) and gate columns [i | f | o | g]. The block of W from the p rows to
 * the g columns is <em>structurally zero</em>: initialised to 0 and its gradient is zeroed in every
 * backward pass, so no optimizer moves it. Bias b [4H] starts at 0 except the forget gate at 1.
 * Parameters: {@code <prefix>/W} [D, 4H], {@code <prefix>/b} [4H].
 *
 * <p>A padding step (mask 0) carries (h, c) through unchanged and its output is h_{t-1}. The
 * element-wise gate work of a step is one fused Java pass over the gemm output (see {@link
 * NativeValues} for why).
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
    INDArray gates; // [T, G, 4H] activations i, f, o, g
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
    for (int r = 0; r < rows; r++) { // x[t][g] = [e, ·, p]
      int xo = r * d, eo = r * e, po = r * pw;
      for (int j = 0; j < e; j++) x.set(xo + j, eV.get(eo + j));
      for (int j = 0; j < pw; j++) x.set(xo + e + h + j, pV.get(po + j));
    }
    NativeValues h0V = NativeValues.of(contiguous(h0, type));
    NativeValues c0V = NativeValues.of(contiguous(c0, type));
    NativeValues cells = NativeValues.of(c.cells);
    for (int u = 0; u < g; u++)
      for (int j = 0; j < h; j++) {
        x.set(u * d + e + j, h0V.get(u * h + j));
        cells.set(u * h + j, c0V.get(u * h + j));
      }
    INDArray w = p.get(weightName());
    NativeValues bias = NativeValues.of(p.get(biasName()));
    NativeValues gates = NativeValues.of(c.gates);
    NativeValues hid = NativeValues.of(c.hidden);
    NativeValues tc = NativeValues.of(c.tanhCells);
    for (int s = 0; s < t; s++) {
      INDArray xs = NativeValues.block(c.x, (long) s * g * d, g, d); // [G, D]
      INDArray zs = NativeValues.block(c.gates, (long) s * g * n4, g, n4); // [G, 4H]
      Nd4j.gemm(xs, w, zs, false, false, 1.0, 0.0);
      boolean last = s == t - 1;
      cellForward(
          g,
          gates,
          s * g * n4,
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
        b,
        NativeValues.of(za),
        0,
        NativeValues.of(p.get(biasName())),
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
   * The fused element-wise part of one step for {@code rows} rows: gate nonlinearities (written
   * back over the pre-activations), cell and hidden update, padding carry. Offsets are element
   * offsets of row 0; c, h and tanh(c) rows are H apart, gates 4H, h_prev/h_next {@code xStride}.
   */
  private void cellForward(
      int rows,
      NativeValues z,
      int z0,
      NativeValues bias,
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
    int h = hidden;
    for (int r = 0; r < rows; r++) {
      int zo = z0 + r * 4 * h, ho = r * h, xo = r * xStride;
      if (mask != null && mask[mask0 + r] == 0f) { // padding: carry (h, c)
        for (int j = 0; j < h; j++) {
          double hp = hPrev.get(hPrev0 + xo + j);
          cOut.set(cOut0 + ho + j, cPrev.get(cPrev0 + ho + j));
          hOut.set(hOut0 + ho + j, hp);
          if (tcOut != null) tcOut.set(hOut0 + ho + j, 0.0);
          if (hNext != null) hNext.set(hNext0 + xo + j, hp);
        }
        continue;
      }
      for (int j = 0; j < h; j++) {
        double i = NativeValues.sigmoid(z.get(zo + j) + bias.get(j));
        double f = NativeValues.sigmoid(z.get(zo + h + j) + bias.get(h + j));
        double o = NativeValues.sigmoid(z.get(zo + 2 * h + j) + bias.get(2 * h + j));
        double g = NativeValues.tanh(z.get(zo + 3 * h + j) + bias.get(3 * h + j));
        z.set(zo + j, i);
        z.set(zo + h + j, f);
        z.set(zo + 2 * h + j, o);
        z.set(zo + 3 * h + j, g);
        double cell = f * cPrev.get(cPrev0 + ho + j) + i * g;
        double tc = NativeValues.tanh(cell);
        double hv = o * tc;
        cOut.set(cOut0 + ho + j, cell);
        hOut.set(hOut0 + ho + j, hv);
        if (tcOut != null) tcOut.set(hOut0 + ho + j, tc);
        if (hNext != null) hNext.set(hNext0 + xo + j, hv);
      }
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
    NativeValues dh0 = dHidden == null ? null : NativeValues.of(contiguous(dHidden, type));
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
    float[] mask = c.mask;
    for (int s = t - 1; s >= first; s--) {
      int dz0 = (s - first) * g * n4;
      for (int u = 0; u < g; u++) {
        int r = s * g + u, zo = r * n4, ho = r * h, dzo = dz0 + u * n4, so = u * h;
        boolean real = mask == null || mask[r] != 0f;
        if (!real) { // padding carried (h, c): gradients pass through untouched
          for (int j = 0; j < h; j++) {
            if (dh0 != null) dh[so + j] += dh0.get(ho + j);
            dZ.set(dzo + j, 0);
            dZ.set(dzo + h + j, 0);
            dZ.set(dzo + 2 * h + j, 0);
            dZ.set(dzo + 3 * h + j, 0);
          }
          continue;
        }
        for (int j = 0; j < h; j++) {
          double dhT = dh[so + j] + (dh0 == null ? 0.0 : dh0.get(ho + j));
          double i = gates.get(zo + j);
          double f = gates.get(zo + h + j);
          double o = gates.get(zo + 2 * h + j);
          double gg = gates.get(zo + 3 * h + j);
          double tc = tcs.get(ho + j);
          double cp = cells.get(ho + j); // c_{t-1}: cells row s*G + u
          double dcT = dc[so + j] + dhT * o * (1 - tc * tc);
          dZ.set(dzo + j, dcT * gg * i * (1 - i));
          dZ.set(dzo + h + j, dcT * cp * f * (1 - f));
          dZ.set(dzo + 2 * h + j, dhT * tc * o * (1 - o));
          dZ.set(dzo + 3 * h + j, dcT * i * (1 - gg * gg));
          dc[so + j] = dcT * f;
        }
      }
      // dL/dh_{t-1} of real rows = dZ_t W_h^T; padding rows already hold their carried value.
      Nd4j.gemm(NativeValues.block(dZa, (long) dz0, g, n4), wh, dhPrevA, false, true, 1.0, 0.0);
      for (int u = 0; u < g; u++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        for (int j = 0; j < h; j++) dh[u * h + j] = dhPrev.get(u * h + j);
      }
    }
    // Parameter gradients over all K steps at once: dW += X^T dZ, db += Σ dZ.
    INDArray xk = NativeValues.block(c.x, (long) first * g * d, (long) k * g, d); // [K*G, D]
    INDArray gw = grads.get(weightName());
    Nd4j.gemm(xk, dZa, gw, true, false, 1.0, 1.0);
    propertyToCellBlock(gw).assign(0); // structural zero: p does not feed g
    double[] db = new double[n4];
    for (int r = 0; r < k * g; r++) for (int j = 0; j < n4; j++) db[j] += dZ.get(r * n4 + j);
    NativeValues gb = NativeValues.of(grads.get(biasName()));
    for (int j = 0; j < n4; j++) gb.set(j, gb.get(j) + db[j]);
    INDArray dItem = Nd4j.createUninitialized(type, (long) k * g, e); // [K*G, E]
    Nd4j.gemm(dZa, NativeValues.rows(w, 0, e, n4), dItem, false, true, 1.0, 0.0);
    INDArray dProp = Nd4j.createUninitialized(type, (long) k * g, pw); // [K*G, P]
    Nd4j.gemm(dZa, NativeValues.rows(w, e + h, d, n4), dProp, false, true, 1.0, 0.0);
    INDArray dH0 = Nd4j.zeros(type, g, h);
    INDArray dC0 = Nd4j.zeros(type, g, h);
    if (first == 0) {
      NativeValues a = NativeValues.of(dH0), b = NativeValues.of(dC0);
      for (int i = 0; i < g * h; i++) {
        a.set(i, dh[i]);
        b.set(i, dc[i]);
      }
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
