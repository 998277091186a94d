package io.perceive.model.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.Test;

/** Finite-difference checks (double precision, fixed seeds) of every loss, plus known values. */
class LossGradientTest {

  private static final double EPS = 1e-6;

  /** Central differences of f at x against the analytic gradient. */
  private static void check(double[] x, ToDoubleFunction<double[]> f, double[] analytic) {
    for (int i = 0; i < x.length; i++) {
      double o = x[i];
      x[i] = o + EPS;
      double lp = f.applyAsDouble(x);
      x[i] = o - EPS;
      double lm = f.applyAsDouble(x);
      x[i] = o;
      double num = (lp - lm) / (2 * EPS);
      assertThat(analytic[i]).as("entry %d", i).isCloseTo(num, within(1e-7 + 1e-5 * Math.abs(num)));
    }
  }

  private static double[] randn(int n, long seed, double scale) {
    Random r = new Random(seed);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) v[i] = r.nextGaussian() * scale;
    return v;
  }

  private static final float N = Float.NaN;

  @Test
  void binaryCrossEntropy() {
    double[] z = randn(6, 1, 2);
    float[] y = {1, 0, N, 1, 0, N};
    double[] dz = new double[6];
    double l = MaskedBinaryCrossEntropy.apply(z, y, 0.7, dz);
    check(z, zz -> 0.7 * MaskedBinaryCrossEntropy.apply(zz, y, 1, new double[6]), dz);
    assertThat(dz[2]).isZero();
    double[] zero = new double[2];
    assertThat(MaskedBinaryCrossEntropy.apply(zero, new float[] {1, 0}, 1, new double[2]))
        .isCloseTo(Math.log(2), within(1e-12));
    assertThat(l).isPositive();
    assertThatThrownBy(
            () -> MaskedBinaryCrossEntropy.apply(zero, new float[] {1, 2}, 1, new double[2]))
        .hasMessageContaining("not 0/1/NaN");
  }

  @Test
  void esmmOrderLoss() {
    double[] z = randn(10, 2, 1.5); // zc = z[0..4], zv = z[5..9]
    float[] y = {1, 0, 0, N, 1};
    double[] g = new double[10];
    double[] dc = new double[5];
    double[] dv = new double[5];
    EsmmOrderLoss.apply(
        java.util.Arrays.copyOfRange(z, 0, 5),
        java.util.Arrays.copyOfRange(z, 5, 10),
        y,
        1,
        dc,
        dv);
    System.arraycopy(dc, 0, g, 0, 5);
    System.arraycopy(dv, 0, g, 5, 5);
    check(
        z,
        zz ->
            EsmmOrderLoss.apply(
                java.util.Arrays.copyOfRange(zz, 0, 5),
                java.util.Arrays.copyOfRange(zz, 5, 10),
                y,
                1,
                new double[5],
                new double[5]),
        g);
  }

  @Test
  void symmetricKlBound() {
    double[] z = randn(15, 3, 1.5); // zo, zc, zv
    boolean[] rows = {true, true, false, true, true};
    double[][] d = new double[3][5];
    double l =
        SymmetricKlBound.apply(part(z, 0), part(z, 1), part(z, 2), rows, 1, d[0], d[1], d[2]);
    double[] g = new double[15];
    for (int k = 0; k < 3; k++) System.arraycopy(d[k], 0, g, 5 * k, 5);
    check(
        z,
        zz ->
            SymmetricKlBound.apply(
                part(zz, 0),
                part(zz, 1),
                part(zz, 2),
                rows,
                1,
                new double[5],
                new double[5],
                new double[5]),
        g);
    assertThat(l).isPositive();
    assertThat(g[2]).isZero();
    // saturated heads: q = σ(-20)² underflows far below any clamp; gradients stay exact
    double[] zs = {1.0, -20, -20};
    double[][] ds = new double[3][1];
    SymmetricKlBound.apply(
        new double[] {zs[0]},
        new double[] {zs[1]},
        new double[] {zs[2]},
        null,
        1,
        ds[0],
        ds[1],
        ds[2]);
    check(
        zs,
        zz ->
            SymmetricKlBound.apply(
                new double[] {zz[0]},
                new double[] {zz[1]},
                new double[] {zz[2]},
                null,
                1,
                new double[1],
                new double[1],
                new double[1]),
        new double[] {ds[0][0], ds[1][0], ds[2][0]});
    // consistent heads: p(order) = p(click)·p(conversion) gives a zero bound
    double pc = 0.3;
    double pv = 0.2;
    double q = pc * pv;
    double bound =
        SymmetricKlBound.apply(
            new double[] {Math.log(q / (1 - q))},
            new double[] {Math.log(pc / (1 - pc))},
            new double[] {Math.log(pv / (1 - pv))},
            null,
            1,
            new double[1],
            new double[1],
            new double[1]);
    assertThat(bound).isCloseTo(0, within(1e-12));
    // equals KL(p||q) + KL(q||p) computed directly
    double p = 0.5;
    double direct =
        p * Math.log(p / q)
            + (1 - p) * Math.log((1 - p) / (1 - q))
            + q * Math.log(q / p)
            + (1 - q) * Math.log((1 - q) / (1 - p));
    double viaLoss =
        SymmetricKlBound.apply(
            new double[] {0},
            new double[] {Math.log(pc / (1 - pc))},
            new double[] {Math.log(pv / (1 - pv))},
            null,
            1,
            new double[1],
            new double[1],
            new double[1]);
    assertThat(viaLoss).isCloseTo(direct, within(1e-12));
  }

  private static double[] part(double[] z, int k) {
    return java.util.Arrays.copyOfRange(z, 5 * k, 5 * k + 5);
  }

  @Test
  void pairwiseLogistic() {
    double[] s = randn(8, 4, 1);
    float[] clicked = {1, 0, 0, N, 1, 1, 0, 1};
    int[] group = {0, 0, 0, 0, 1, 1, 1, 2}; // group 2 has no negative: no pairs
    double[] ds = new double[8];
    double l = PairwiseLogistic.apply(s, clicked, group, 1, ds);
    check(s, ss -> PairwiseLogistic.apply(ss, clicked, group, 1, new double[8]), ds);
    assertThat(ds[3]).isZero();
    assertThat(ds[7]).isZero();
    assertThat(l).isPositive();
    // a perfectly ordered request has smaller loss than the reversed one
    double good =
        PairwiseLogistic.apply(
            new double[] {3, -3}, new float[] {1, 0}, new int[2], 1, new double[2]);
    double bad =
        PairwiseLogistic.apply(
            new double[] {-3, 3}, new float[] {1, 0}, new int[2], 1, new double[2]);
    assertThat(good).isLessThan(bad);
  }

  @Test
  void softmaxCrossEntropy() {
    double[] z = randn(12, 5, 1.5); // 4 rows x 3 classes
    int[] labels = {2, SoftmaxCrossEntropy.MASKED, 0, 1};
    double[] dz = new double[12];
    SoftmaxCrossEntropy.apply(z, 3, labels, 1, dz);
    check(z, zz -> SoftmaxCrossEntropy.apply(zz, 3, labels, 1, new double[12]), dz);
    assertThat(SoftmaxCrossEntropy.apply(new double[3], 3, new int[] {1}, 1, new double[3]))
        .isCloseTo(Math.log(3), within(1e-12));
    assertThatThrownBy(
            () -> SoftmaxCrossEntropy.apply(new double[3], 3, new int[] {3}, 1, new double[3]))
        .hasMessageContaining("not in 0..2");
  }

  @Test
  void meanSquaredError() {
    double[] y = randn(5, 6, 1);
    float[] t = {0.5f, N, -1, 2, 0};
    double[] dy = new double[5];
    MeanSquaredError.apply(y, t, 1, dy);
    check(y, yy -> MeanSquaredError.apply(yy, t, 1, new double[5]), dy);
    assertThat(MeanSquaredError.apply(new double[] {1, 3}, new float[] {0, 1}, 1, new double[2]))
        .isEqualTo(2.5);
  }
}
