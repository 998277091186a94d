package io.perceive.model.layers;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Attention pooling over a user's last N hidden states with a query built from the user vector and
 * the request's scene (DUPN, Ni et al. KDD 2018, "Attention Net": the weight of each behaviour
 * depends on the current query context, and the pooled vector is the user's behaviour
 * representation).
 *
 * <p>We use <em>bilinear</em> (Luong "general") scoring rather than DUPN's additive MLP score:
 *
 * <pre>
 *   k_g      = q_g W_a + b_a                      W_a [Q, H], b_a [H]
 *   s_{g,t}  = (h_{g,t} · k_g) / sqrt(H)           for real steps t in the last N, else -∞
 *   α_{g,·}  = softmax_t(s_{g,·})
 *   out_g    = Σ_t α_{g,t} h_{g,t}                  [G, H]  (H = 128 = the attention output)
 * </pre>
 *
 * Why: an additive score needs a [G*T, H]×[H, A] gemm plus a tanh over G*T*A values per batch (~15
 * % of the LSTM's FLOPs at the defaults); the bilinear score costs one [G, Q]×[Q, H] gemm and
 * O(G*T*H) multiply-adds, and still lets the query pick behaviours. The 1/sqrt(H) keeps initial
 * scores O(1). A sequence with no real step in the window pools to 0. Parameters {@code <prefix>/W}
 * [Q, H] (Xavier), {@code <prefix>/b} [H] (0).
 */
public final class AttentionPooling {

  /**
   * What forward keeps for backward; its work arrays are reused by later calls with the same shapes
   * (allocated outside any ND4J workspace, see {@link PropertyGatedLstm.Cache}).
   */
  public static final class Cache {
    int groups;
    int steps;
    int firstStep; // first step inside the window
    INDArray hidden; // [T, G, H] (not owned)
    INDArray query; // [G, Q]
    INDArray key; // [G, H]
    double[] alpha = new double[0]; // [G * T] group-major, 0 outside the window and on padding
    double[] hiddenValues = new double[0]; // [T*G*H] the hidden states as read by forward
    double[] keyValues = new double[0]; // [G*H]
    double[] dHiddenValues = new double[0]; // [T*G*H]
    float[][] hiddenF = new float[0][]; // FLOAT: the hidden states, one [G*H] array per step
    float[] keyF = new float[0]; // FLOAT: [G*H]
    INDArray dHidden; // [T, G, H]
    INDArray dKey; // [G, H]
    final boolean detached;

    public Cache() {
      this(true);
    }

    private Cache(boolean detached) {
      this.detached = detached;
    }
  }

  /** dL/dh_t [T, G, H] (zero outside the window and on padding) and dL/dquery [G, Q]. */
  public record Grad(INDArray dHidden, INDArray dQuery) {}

  private final String prefix;
  private final int queryDim;
  private final int hidden;
  private final int window;

  public AttentionPooling(String prefix, int queryDim, int hidden, int window) {
    if (queryDim < 1 || hidden < 1 || window < 1)
      throw new IllegalArgumentException(prefix + ": sizes must be >= 1");
    this.prefix = prefix;
    this.queryDim = queryDim;
    this.hidden = hidden;
    this.window = window;
  }

  public String weightName() {
    return prefix + "/W";
  }

  public String biasName() {
    return prefix + "/b";
  }

  public void register(ParameterSet.Builder b) {
    b.dense(weightName(), Init.xavier(queryDim, hidden), queryDim, hidden);
    b.dense(biasName(), Init.ZEROS, hidden);
  }

  /**
   * Pools {@code hidden} [T, G, H] (step-major) with {@code query} [G, Q]; {@code mask} [T*G]
   * step-major (null = no padding). Returns [G, H].
   */
  public INDArray forward(
      ParameterSet p, INDArray hidden, float[] mask, INDArray query, Cache cache) {
    DataType type = p.dataType();
    if (hidden.rank() != 3 || hidden.size(2) != this.hidden)
      throw new IllegalArgumentException("hidden must be [T, G, " + this.hidden + "]");
    int t = (int) hidden.size(0), g = (int) hidden.size(1), h = this.hidden;
    if (query.rank() != 2 || query.rows() != g || query.columns() != queryDim)
      throw new IllegalArgumentException(
          "query must be [G="
              + g
              + ", Q="
              + queryDim
              + "], got "
              + java.util.Arrays.toString(query.shape()));
    Cache c = cache != null ? cache : new Cache(false);
    INDArray q = PropertyGatedLstm.contiguous(query, type);
    INDArray key = c.key = PropertyGatedLstm.reuse(c.key, c.detached, type, g, h); // [G, H]
    Gemm.gemm(q, p.get(weightName()), key, false, false, 1.0, 0.0);
    if (type == DataType.FLOAT) return forwardFloat(p, hidden, mask, q, c, t, g);
    NativeValues k = NativeValues.of(key);
    if (c.keyValues.length < g * h) c.keyValues = new double[g * h];
    if (c.hiddenValues.length < t * g * h) c.hiddenValues = new double[t * g * h];
    if (c.alpha.length < g * t) c.alpha = new double[g * t];
    double[] kd = c.keyValues, bd = new double[h];
    k.read(0, kd, 0, g * h);
    NativeValues.of(p.get(biasName())).read(0, bd, 0, h);
    for (int u = 0; u < g; u++) for (int j = 0; j < h; j++) kd[u * h + j] += bd[j];
    k.write(0, kd, 0, g * h); // the backward pass reads the key from the cache
    double[] hsd = c.hiddenValues; // kept for backward: hidden does not change in between
    NativeValues.of(PropertyGatedLstm.contiguous(hidden, type)).read(0, hsd, 0, t * g * h);
    double[] od = new double[g * h];
    int first = Math.max(0, t - window);
    double scale = 1.0 / Math.sqrt(h);
    double[] alpha = c.alpha;
    java.util.Arrays.fill(alpha, 0, g * t, 0.0);
    INDArray out = Nd4j.createUninitialized(type, g, h); // [G, H]
    double[] acc = new double[h];
    for (int u = 0; u < g; u++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int s = first; s < t; s++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        int ho = (s * g + u) * h;
        double dot = 0;
        for (int j = 0; j < h; j++) dot += hsd[ho + j] * kd[u * h + j];
        alpha[u * t + s] = dot * scale;
        max = Math.max(max, dot * scale);
      }
      java.util.Arrays.fill(acc, 0);
      if (max != Double.NEGATIVE_INFINITY) {
        double z = expShifted(alpha, mask, u, t, g, first, max);
        for (int s = first; s < t; s++) {
          if (mask != null && mask[s * g + u] == 0f) continue;
          double a = alpha[u * t + s] / z;
          alpha[u * t + s] = a;
          int ho = (s * g + u) * h;
          for (int j = 0; j < h; j++) acc[j] += a * hsd[ho + j];
        }
      }
      System.arraycopy(acc, 0, od, u * h, h);
    }
    NativeValues.of(out).write(0, od, 0, g * h);
    c.groups = g;
    c.steps = t;
    c.firstStep = first;
    c.hidden = hidden;
    c.query = q;
    return out;
  }

  /**
   * The forward in float arithmetic over one Java array per step: every inner loop indexes its
   * arrays with the same expression (row offset + j), which C2 vectorises; the DOUBLE code above
   * reads one [T*G*H] array at step-dependent offsets, and its loops are not vectorised.
   */
  private INDArray forwardFloat(
      ParameterSet p, INDArray hidden, float[] mask, INDArray q, Cache c, int t, int g) {
    int h = this.hidden, gh = g * h;
    float[] b = new float[h];
    NativeValues.of(p.get(biasName())).readFloats(0, b, 0, h);
    if (c.keyF.length < gh) c.keyF = new float[gh];
    float[] key = c.keyF;
    NativeValues k = NativeValues.of(c.key);
    k.readFloats(0, key, 0, gh);
    for (int u = 0; u < g; u++) addInPlace(key, u * h, b, h);
    k.writeFloats(0, key, 0, gh); // dKey's gemm reads c.query, the backward reads keyF
    if (c.hiddenF.length < t) c.hiddenF = java.util.Arrays.copyOf(c.hiddenF, t);
    NativeValues hs = NativeValues.of(PropertyGatedLstm.contiguous(hidden, DataType.FLOAT));
    for (int s = 0; s < t; s++) {
      if (c.hiddenF[s] == null || c.hiddenF[s].length < gh) c.hiddenF[s] = new float[gh];
      hs.readFloats(s * gh, c.hiddenF[s], 0, gh);
    }
    int first = Math.max(0, t - window);
    float scale = (float) (1.0 / Math.sqrt(h));
    if (c.alpha.length < g * t) c.alpha = new double[g * t];
    double[] alpha = c.alpha;
    java.util.Arrays.fill(alpha, 0, g * t, 0.0);
    for (int s = first; s < t; s++) { // scores, group-major
      float[] hsStep = c.hiddenF[s];
      for (int u = 0; u < g; u++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        alpha[u * t + s] = dot(hsStep, key, u * h, h) * scale;
      }
    }
    float[] out = new float[gh];
    float[] weight = new float[g * t]; // α in float for the weighted sums
    for (int u = 0; u < g; u++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int s = first; s < t; s++)
        if (mask == null || mask[s * g + u] != 0f) max = Math.max(max, alpha[u * t + s]);
      if (max == Double.NEGATIVE_INFINITY) continue; // no real step: pools to 0
      double z = expShifted(alpha, mask, u, t, g, first, max);
      for (int s = first; s < t; s++) {
        if (mask != null && mask[s * g + u] == 0f) continue;
        alpha[u * t + s] /= z;
        weight[u * t + s] = (float) alpha[u * t + s];
      }
    }
    for (int s = first; s < t; s++) { // out_u += α_{u,s} h_{s,u}
      float[] hsStep = c.hiddenF[s];
      for (int u = 0; u < g; u++) {
        float a = weight[u * t + s];
        if (a != 0f) axpy(a, hsStep, out, u * h, h);
      }
    }
    INDArray result = Nd4j.createUninitialized(DataType.FLOAT, g, h); // [G, H]
    NativeValues.of(result).writeFloats(0, out, 0, gh);
    c.groups = g;
    c.steps = t;
    c.firstStep = first;
    c.hidden = hidden;
    c.query = q;
    return result;
  }

  /**
   * The softmax's numerators of group {@code u}: α_{u,s} := exp(α_{u,s} − max) over its unmasked
   * steps from {@code first}; returns their sum.
   */
  private static double expShifted(
      double[] alpha, float[] mask, int u, int t, int g, int first, double max) {
    double z = 0;
    for (int s = first; s < t; s++) {
      if (mask != null && mask[s * g + u] == 0f) continue;
      double a = Math.exp(alpha[u * t + s] - max);
      alpha[u * t + s] = a;
      z += a;
    }
    return z;
  }

  /** Σ_j x[o + j]·y[o + j], j < n. */
  private static float dot(float[] x, float[] y, int o, int n) {
    float sum = 0f;
    for (int j = 0; j < n; j++) sum += x[o + j] * y[o + j];
    return sum;
  }

  /** y[o + j] += a·x[o + j], j < n. */
  private static void axpy(float a, float[] x, float[] y, int o, int n) {
    for (int j = 0; j < n; j++) y[o + j] += a * x[o + j];
  }

  /** y[o + j] += x[j], j < n. */
  private static void addInPlace(float[] y, int o, float[] x, int n) {
    for (int j = 0; j < n; j++) y[o + j] += x[j];
  }

  /** The backward in float arithmetic (see {@link #forwardFloat}). */
  private Grad backwardFloat(ParameterSet p, Gradients grads, INDArray dOut, Cache c) {
    int g = c.groups, t = c.steps, h = hidden, gh = g * h;
    float[] dd = new float[gh], key = c.keyF;
    NativeValues.of(PropertyGatedLstm.contiguous(dOut, DataType.FLOAT)).readFloats(0, dd, 0, gh);
    INDArray dHidden =
        c.dHidden = PropertyGatedLstm.reuse(c.dHidden, c.detached, DataType.FLOAT, t, g, h);
    INDArray dKey = c.dKey = PropertyGatedLstm.reuse(c.dKey, c.detached, DataType.FLOAT, g, h);
    float scale = (float) (1.0 / Math.sqrt(h));
    float[] dAlpha = new float[g * t], ds = new float[g * t];
    for (int s = c.firstStep; s < t; s++) { // dα_{u,s} = dOut_u · h_{s,u}
      float[] hsStep = c.hiddenF[s];
      for (int u = 0; u < g; u++)
        if (c.alpha[u * t + s] != 0) dAlpha[u * t + s] = dot(dd, hsStep, u * h, h);
    }
    for (int u = 0; u < g; u++) { // through the softmax and the 1/sqrt(H)
      double weighted = 0; // Σ_s α_s dα_s
      for (int s = c.firstStep; s < t; s++) weighted += c.alpha[u * t + s] * dAlpha[u * t + s];
      for (int s = c.firstStep; s < t; s++) {
        double a = c.alpha[u * t + s];
        if (a != 0) ds[u * t + s] = (float) (a * (dAlpha[u * t + s] - weighted) * scale);
      }
    }
    float[] dk = new float[gh], dh = new float[gh];
    NativeValues dHid = NativeValues.of(dHidden);
    for (int s = 0; s < t; s++) { // dh_{s,u} = α dOut_u + ds k_u; dk_u += ds h_{s,u}
      java.util.Arrays.fill(dh, 0f);
      if (s >= c.firstStep) {
        float[] hsStep = c.hiddenF[s];
        for (int u = 0; u < g; u++) {
          float a = (float) c.alpha[u * t + s];
          if (a == 0f) continue;
          float d = ds[u * t + s];
          hiddenGradient(a, dd, d, key, dh, u * h, h);
          axpy(d, hsStep, dk, u * h, h);
        }
      }
      dHid.writeFloats(s * gh, dh, 0, gh);
    }
    NativeValues.of(dKey).writeFloats(0, dk, 0, gh);
    Gemm.gemm(c.query, dKey, grads.get(weightName()), true, false, 1.0, 1.0); // [Q, H]
    NativeValues gb = NativeValues.of(grads.get(biasName()));
    for (int j = 0; j < h; j++) {
      double sum = 0;
      for (int u = 0; u < g; u++) sum += dk[u * h + j];
      gb.set(j, gb.get(j) + sum);
    }
    INDArray dQuery = Nd4j.createUninitialized(DataType.FLOAT, g, queryDim); // [G, Q]
    Gemm.gemm(dKey, p.get(weightName()), dQuery, false, true, 1.0, 0.0);
    return new Grad(dHidden, dQuery);
  }

  /** dh[o + j] = a·dOut[o + j] + d·key[o + j], j < n. */
  private static void hiddenGradient(
      float a, float[] dOut, float d, float[] key, float[] dh, int o, int n) {
    for (int j = 0; j < n; j++) dh[o + j] = a * dOut[o + j] + d * key[o + j];
  }

  /** dOut [G, H] → dL/dhidden and dL/dquery; adds dW_a and db_a into {@code grads}. */
  public Grad backward(ParameterSet p, Gradients grads, INDArray dOut, Cache c) {
    DataType type = p.dataType();
    int g = c.groups, t = c.steps, h = hidden;
    if (dOut.rows() != g || dOut.columns() != h)
      throw new IllegalArgumentException("dOut must be [" + g + ", " + h + "]");
    if (type == DataType.FLOAT) return backwardFloat(p, grads, dOut, c);
    double[] dd = new double[g * h], hsd = c.hiddenValues, kd = c.keyValues;
    NativeValues.of(PropertyGatedLstm.contiguous(dOut, type)).read(0, dd, 0, g * h);
    if (c.dHiddenValues.length < t * g * h) c.dHiddenValues = new double[t * g * h];
    double[] dhd = c.dHiddenValues, dkd = new double[g * h];
    // only the window's real steps are written below; everything else is zero
    java.util.Arrays.fill(dhd, 0, t * g * h, 0.0);
    INDArray dHidden = c.dHidden = PropertyGatedLstm.reuse(c.dHidden, c.detached, type, t, g, h);
    INDArray dKey = c.dKey = PropertyGatedLstm.reuse(c.dKey, c.detached, type, g, h); // [G, H]
    double scale = 1.0 / Math.sqrt(h);
    double[] dAlpha = new double[t];
    double[] dkRow = new double[h];
    for (int u = 0; u < g; u++) {
      double weighted = 0; // Σ_t α_t dα_t
      for (int s = c.firstStep; s < t; s++) {
        double a = c.alpha[u * t + s];
        if (a == 0) continue;
        int ho = (s * g + u) * h;
        double dot = 0; // dα_t = dOut · h_t
        for (int j = 0; j < h; j++) dot += dd[u * h + j] * hsd[ho + j];
        dAlpha[s] = dot;
        weighted += a * dot;
      }
      java.util.Arrays.fill(dkRow, 0);
      for (int s = c.firstStep; s < t; s++) {
        double a = c.alpha[u * t + s];
        if (a == 0) continue;
        double ds = a * (dAlpha[s] - weighted) * scale; // through softmax and the 1/sqrt(H)
        int ho = (s * g + u) * h;
        for (int j = 0; j < h; j++) {
          dhd[ho + j] = a * dd[u * h + j] + ds * kd[u * h + j];
          dkRow[j] += ds * hsd[ho + j];
        }
      }
      System.arraycopy(dkRow, 0, dkd, u * h, h);
    }
    NativeValues.of(dHidden).write(0, dhd, 0, t * g * h);
    NativeValues.of(dKey).write(0, dkd, 0, g * h);
    Gemm.gemm(c.query, dKey, grads.get(weightName()), true, false, 1.0, 1.0); // [Q, H]
    NativeValues gb = NativeValues.of(grads.get(biasName()));
    for (int u = 0; u < g; u++) for (int j = 0; j < h; j++) gb.set(j, gb.get(j) + dkd[u * h + j]);
    INDArray dQuery = Nd4j.createUninitialized(type, g, queryDim); // [G, Q]
    Gemm.gemm(dKey, p.get(weightName()), dQuery, false, true, 1.0, 0.0);
    return new Grad(dHidden, dQuery);
  }
}
