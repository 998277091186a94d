package io.perceive.bench.mmoe;

import java.util.Random;

/**
 * The two-task regression data of Ma et al., KDD 2018 (MMoE), §3.2, with controllable task
 * correlation: orthogonal unit vectors u1, u2; w1 = c·u1, w2 = c·(p·u1 + √(1−p²)·u2); x ~ N(0, I);
 * y_k = w_kᵀx + Σ_{i=1..m} sin(α_i·w_kᵀx + β_i) + ε_k, ε_k ~ N(0, noiseStd²). The cosine of w1 and
 * w2 is p; the label correlation falls with p too, though not equal to it (the sines are
 * non-linear), as the paper notes.
 */
public final class SyntheticTasks {

  /** Hyperparameters of the generator (defaults: the paper's d = 100; c, m, α, β as documented). */
  public record Spec(
      int inputDim, double scale, int sines, double alphaStd, double betaStd, double noiseStd) {
    public Spec {
      if (inputDim < 2)
        throw new IllegalArgumentException("inputDim must be >= 2, got " + inputDim);
      if (!(scale > 0)) throw new IllegalArgumentException("scale c must be > 0, got " + scale);
      if (sines < 0) throw new IllegalArgumentException("sines m must be >= 0, got " + sines);
      if (alphaStd < 0 || betaStd < 0 || noiseStd < 0)
        throw new IllegalArgumentException("standard deviations must be >= 0");
    }

    /**
     * d = 100, c = 1, m = 10, α_i, β_i ~ N(0, 1), ε ~ N(0, 0.1²) (the paper's noise N(0, 0.01)).
     */
    public static Spec defaults() {
      return new Spec(100, 1.0, 10, 1.0, 1.0, 0.1);
    }
  }

  /** A generated data set: x [n, d] row-major, one label array per task. */
  public record Data(int n, int d, float[] x, float[] y1, float[] y2) {}

  private final Spec spec;
  private final double correlation;
  final double[] w1;
  final double[] w2;
  private final double[] alpha;
  private final double[] beta;

  /** Draws u1, u2, α, β for one task pair of correlation {@code p} from {@code rnd}. */
  public SyntheticTasks(Spec spec, double p, Random rnd) {
    if (p < -1 || p > 1)
      throw new IllegalArgumentException("correlation must be in [-1, 1], got " + p);
    this.spec = spec;
    this.correlation = p;
    int d = spec.inputDim();
    double[] u1 = unit(gaussian(d, rnd));
    double[] u2 = gaussian(d, rnd);
    double proj = dot(u2, u1); // Gram–Schmidt: make u2 orthogonal to u1
    for (int i = 0; i < d; i++) u2[i] -= proj * u1[i];
    u2 = unit(u2);
    double q = Math.sqrt(1 - p * p);
    w1 = new double[d];
    w2 = new double[d];
    for (int i = 0; i < d; i++) {
      w1[i] = spec.scale() * u1[i];
      w2[i] = spec.scale() * (p * u1[i] + q * u2[i]);
    }
    alpha = new double[spec.sines()];
    beta = new double[spec.sines()];
    for (int i = 0; i < spec.sines(); i++) {
      alpha[i] = rnd.nextGaussian() * spec.alphaStd();
      beta[i] = rnd.nextGaussian() * spec.betaStd();
    }
  }

  public double correlation() {
    return correlation;
  }

  /** n examples with x ~ N(0, I) and both tasks' labels. */
  public Data sample(int n, Random rnd) {
    int d = spec.inputDim();
    float[] x = new float[n * d];
    float[] y1 = new float[n];
    float[] y2 = new float[n];
    double[] row = new double[d];
    for (int s = 0; s < n; s++) {
      for (int i = 0; i < d; i++) {
        row[i] = rnd.nextGaussian();
        x[s * d + i] = (float) row[i];
      }
      y1[s] = (float) (label(dot(w1, row)) + rnd.nextGaussian() * spec.noiseStd());
      y2[s] = (float) (label(dot(w2, row)) + rnd.nextGaussian() * spec.noiseStd());
    }
    return new Data(n, d, x, y1, y2);
  }

  private double label(double wx) {
    double y = wx;
    for (int i = 0; i < alpha.length; i++) y += Math.sin(alpha[i] * wx + beta[i]);
    return y;
  }

  static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) s += a[i] * b[i];
    return s;
  }

  private static double[] gaussian(int d, Random rnd) {
    double[] v = new double[d];
    for (int i = 0; i < d; i++) v[i] = rnd.nextGaussian();
    return v;
  }

  private static double[] unit(double[] v) {
    double n = Math.sqrt(dot(v, v));
    for (int i = 0; i < v.length; i++) v[i] /= n;
    return v;
  }

  /** Pearson correlation of two label arrays (reported next to p). */
  public static double pearson(float[] a, float[] b) {
    double ma = 0, mb = 0;
    for (int i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= a.length;
    mb /= b.length;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < a.length; i++) {
      sab += (a[i] - ma) * (b[i] - mb);
      saa += (a[i] - ma) * (a[i] - ma);
      sbb += (b[i] - mb) * (b[i] - mb);
    }
    return sab / Math.sqrt(saa * sbb);
  }
}
