package io.perceive.model.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class OptimizerTest {

  /** Dense w [3] and b [2], table t of 6 x 2. */
  private static ParameterSet params(long seed) {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("w", Init.normal(1.0), 3)
        .dense("b", Init.normal(1.0), 2)
        .table("t", 6, 2, 0.5)
        .build(seed);
  }

  private static Gradients grads(ParameterSet p, double[] dense, int[] rows, double[][] rowGrads) {
    Gradients g = p.newGradients();
    for (int i = 0; i < dense.length; i++) g.flat().putScalar(i, dense[i]);
    if (rows.length > 0) g.accumulate("t", rows, Nd4j.create(rowGrads).castTo(DataType.FLOAT));
    return g;
  }

  private static float[] floats(INDArray a) {
    return a.dup('c').data().asFloat();
  }

  private static double[] doubles(INDArray a) {
    return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
  }

  @Test
  void sgdMatchesHandComputedStepAndStampsTouchedRowsOnly() {
    ParameterSet p = params(1);
    double[] w0 = doubles(p.flat());
    double[] t0 = doubles(p.table("t").weights());
    Optimizer o = OptimizerConfig.sgd(0.1).create();
    o.initialise(p);
    o.step(
        p,
        grads(p, new double[] {0.5, -1, 2, 0, 4}, new int[] {3}, new double[][] {{1, -2}}),
        1234L);
    double[] w1 = doubles(p.flat());
    double[] expect = {w0[0] - 0.05, w0[1] + 0.1, w0[2] - 0.2, w0[3], w0[4] - 0.4};
    for (int i = 0; i < 5; i++) assertThat(w1[i]).isCloseTo(expect[i], within(1e-6));
    double[] t1 = doubles(p.table("t").weights());
    assertThat(t1[6]).isCloseTo(t0[6] - 0.1, within(1e-6));
    assertThat(t1[7]).isCloseTo(t0[7] + 0.2, within(1e-6));
    assertThat(p.table("t").lastUpdate()).containsExactly(0, 0, 0, 1234, 0, 0);
    assertThat(o.steps()).isEqualTo(1);
  }

  @Test
  void adagradMatchesScalarReferenceOverSteps() {
    ParameterSet p = params(2);
    OptimizerConfig cfg = OptimizerConfig.adagrad(0.3).withAdagradInitialAccumulator(0.1);
    double[] w = doubles(p.flat());
    double[] accW = {0.1, 0.1, 0.1, 0.1, 0.1};
    double[] row = doubles(p.table("t").weights().getRow(2));
    double[] accR = {0.1, 0.1};
    Optimizer o = cfg.create();
    o.initialise(p);
    double[][] gs = {{0.5, -1, 2, 0, 4}, {-0.2, 0.3, 1, 1, -1}, {1, 1, 1, 1, 1}};
    for (double[] gd : gs) {
      double[] gr = {gd[0] * 2, -gd[1]};
      o.step(p, grads(p, gd, new int[] {2}, new double[][] {gr}));
      for (int i = 0; i < 5; i++) { // a += g²; w -= η g / (√a + ε)
        accW[i] += gd[i] * gd[i];
        w[i] -= 0.3 * gd[i] / (Math.sqrt(accW[i]) + 1e-8);
      }
      for (int j = 0; j < 2; j++) {
        accR[j] += gr[j] * gr[j];
        row[j] -= 0.3 * gr[j] / (Math.sqrt(accR[j]) + 1e-8);
      }
    }
    double[] got = doubles(p.flat());
    for (int i = 0; i < 5; i++) assertThat(got[i]).isCloseTo(w[i], within(1e-5));
    double[] gotRow = doubles(p.table("t").weights().getRow(2));
    for (int j = 0; j < 2; j++) assertThat(gotRow[j]).isCloseTo(row[j], within(1e-5));
  }

  /**
   * A table's step scale multiplies its gradient before the update (Adagrad's accumulator sees the
   * scaled gradient) and its learning-rate scale multiplies η; dense parameters are unaffected.
   */
  @Test
  void perTableStepAndLearningRateScalesActOnThatTableOnly() {
    for (OptimizerConfig cfg :
        new OptimizerConfig[] {
          OptimizerConfig.adagrad(0.3), OptimizerConfig.adam(0.01), OptimizerConfig.sgd(0.1)
        }) {
      ParameterSet scaled = params(4), reference = params(4);
      Optimizer a = cfg.create(), b = cfg.withLearningRate(cfg.learningRate() * 2.5).create();
      Optimizer c = cfg.create();
      a.initialise(scaled);
      ParameterSet dense = params(4);
      b.initialise(reference);
      c.initialise(dense);
      for (int k = 0; k < 3; k++) {
        double[] gd = {0.5, -1, 2, 0, 4};
        Gradients g =
            grads(scaled, gd, new int[] {1, 4}, new double[][] {{0.01, -0.02}, {0.03, 0}});
        g.setStepScale("t", 64);
        g.setLearningRateScale("t", 2.5);
        a.step(scaled, g);
        b.step(
            reference,
            grads(
                reference,
                new double[5],
                new int[] {1, 4},
                new double[][] {{0.64, -1.28}, {1.92, 0}}));
        c.step(dense, grads(dense, gd, new int[0], new double[0][]));
      }
      assertThat(doubles(scaled.table("t").weights()))
          .as(cfg.kind().name())
          .containsExactly(doubles(reference.table("t").weights()), within(1e-5));
      assertThat(doubles(scaled.flat()))
          .as(cfg.kind().name())
          .containsExactly(doubles(dense.flat()), within(1e-6));
    }
    Gradients g = params(1).newGradients();
    assertThatThrownBy(() -> g.setStepScale("t", 0)).hasMessageContaining("step scale");
    assertThatThrownBy(() -> g.setLearningRateScale("nope", 2)).hasMessageContaining("nope");
  }

  @Test
  void adamFirstStepMovesEachCoordinateByTheLearningRate() {
    // With m̂ = g and v̂ = g² at t = 1, the step is η·g/(|g| + ε) ≈ η·sign(g): a hand-known value.
    ParameterSet p = params(3);
    double[] w0 = doubles(p.flat());
    double[] r0 = doubles(p.table("t").weights().getRow(5));
    Optimizer o = OptimizerConfig.adam(0.01).create();
    o.initialise(p);
    o.step(
        p,
        grads(p, new double[] {0.5, -1e-3, 20, 0, -4}, new int[] {5}, new double[][] {{3, -0.1}}));
    double[] w1 = doubles(p.flat());
    assertThat(w1[0] - w0[0]).isCloseTo(-0.01, within(1e-6));
    assertThat(w1[1] - w0[1]).isCloseTo(0.01, within(1e-6));
    assertThat(w1[2] - w0[2]).isCloseTo(-0.01, within(1e-6));
    assertThat(w1[3]).isEqualTo(w0[3]); // zero gradient: 0 / (0 + ε) = 0
    assertThat(w1[4] - w0[4]).isCloseTo(0.01, within(1e-6));
    double[] r1 = doubles(p.table("t").weights().getRow(5));
    assertThat(r1[0] - r0[0]).isCloseTo(-0.01, within(1e-6));
    assertThat(r1[1] - r0[1]).isCloseTo(0.01, within(1e-6));
  }

  @Test
  void adamMatchesScalarReferenceWithLazyPerRowStepCounts() {
    ParameterSet p = params(4);
    double b1 = 0.8;
    double b2 = 0.95;
    double lr = 0.05;
    double eps = 1e-8;
    Optimizer o = OptimizerConfig.adam(lr).withBetas(b1, b2).create();
    o.initialise(p);
    double[] w = doubles(p.flat());
    double[] mw = new double[5];
    double[] vw = new double[5];
    double[] row = doubles(p.table("t").weights().getRow(1));
    double[] mr = new double[2];
    double[] vr = new double[2];
    int rowSteps = 0;
    double[][] gs = {
      {0.5, -1, 2, 0.1, 4}, {-0.2, 0.3, 1, 1, -1}, {1, 1, 1, 1, 1}, {0, 2, -3, 1, 0}
    };
    boolean[] rowTouched = {true, false, true, true};
    for (int s = 0; s < gs.length; s++) {
      double[] gd = gs[s];
      double[] gr = {gd[2], gd[4]};
      if (rowTouched[s]) o.step(p, grads(p, gd, new int[] {1}, new double[][] {gr}));
      else o.step(p, grads(p, gd, new int[0], new double[0][]));
      int t = s + 1;
      for (int i = 0; i < 5; i++) {
        mw[i] = b1 * mw[i] + (1 - b1) * gd[i];
        vw[i] = b2 * vw[i] + (1 - b2) * gd[i] * gd[i];
        double mh = mw[i] / (1 - Math.pow(b1, t));
        double vh = vw[i] / (1 - Math.pow(b2, t));
        w[i] -= lr * mh / (Math.sqrt(vh) + eps);
      }
      if (rowTouched[s]) { // lazy: the row's own step count, no decay on the missed step
        rowSteps++;
        for (int j = 0; j < 2; j++) {
          mr[j] = b1 * mr[j] + (1 - b1) * gr[j];
          vr[j] = b2 * vr[j] + (1 - b2) * gr[j] * gr[j];
          double mh = mr[j] / (1 - Math.pow(b1, rowSteps));
          double vh = vr[j] / (1 - Math.pow(b2, rowSteps));
          row[j] -= lr * mh / (Math.sqrt(vh) + eps);
        }
      }
    }
    double[] got = doubles(p.flat());
    for (int i = 0; i < 5; i++) assertThat(got[i]).isCloseTo(w[i], within(1e-5));
    double[] gotRow = doubles(p.table("t").weights().getRow(1));
    for (int j = 0; j < 2; j++) assertThat(gotRow[j]).isCloseTo(row[j], within(1e-5));
    assertThat(o.exportState().counters().get("table/t/steps")).containsExactly(0, 3, 0, 0, 0, 0);
  }

  @Test
  void untouchedRowsAndTheirStateStayBitIdentical() {
    for (OptimizerConfig.Kind kind : OptimizerConfig.Kind.values()) {
      ParameterSet p = params(5);
      float[] before = floats(p.table("t").weights());
      Optimizer o = OptimizerConfig.defaults(kind).withWeightDecay(0.1).withClipNorm(1.0).create();
      o.initialise(p);
      OptimizerState s0 = o.exportState();
      for (int s = 0; s < 3; s++)
        o.step(
            p,
            grads(
                p,
                new double[] {1, 2, 3, 4, 5},
                new int[] {0, 4},
                new double[][] {{1, 1}, {-1, 2}}),
            10 + s);
      float[] after = floats(p.table("t").weights());
      for (int r : new int[] {1, 2, 3, 5})
        for (int j = 0; j < 2; j++)
          assertThat(Float.floatToRawIntBits(after[r * 2 + j]))
              .as("%s row %d", kind, r)
              .isEqualTo(Float.floatToRawIntBits(before[r * 2 + j]));
      assertThat(after[0]).as(kind.name()).isNotEqualTo(before[0]);
      assertThat(after[8]).as(kind.name()).isNotEqualTo(before[8]);
      assertThat(p.table("t").lastUpdate()).containsExactly(12, 0, 0, 0, 12, 0);
      OptimizerState s1 = o.exportState();
      for (var e : s1.arrays().entrySet())
        if (e.getKey().startsWith("table/")) {
          float[] a = floats(e.getValue());
          float[] z = floats(s0.arrays().get(e.getKey()));
          for (int r : new int[] {1, 2, 3, 5})
            assertThat(a[r * 2]).as(e.getKey()).isEqualTo(z[r * 2]);
        }
    }
  }

  @Test
  void restoredOptimizerContinuesBitIdentically() {
    for (OptimizerConfig.Kind kind : OptimizerConfig.Kind.values()) {
      ParameterSet p = params(6);
      Optimizer o = OptimizerConfig.defaults(kind).withLearningRate(0.05).create();
      o.initialise(p);
      Random rnd = new Random(9);
      for (int s = 0; s < 3; s++) o.step(p, randomGrads(p, rnd), s);
      ParameterSet q = p.copy();
      Optimizer restored = Optimizer.restore(q, o.exportState());
      assertThat(restored.steps()).isEqualTo(3);
      for (int s = 0; s < 4; s++) {
        Gradients g = randomGrads(p, rnd);
        Gradients h = q.newGradients();
        h.flat().assign(g.flat());
        var sr = g.sparse("t");
        h.accumulate("t", sr.rows(), sr.values());
        o.step(p, g, 100 + s);
        restored.step(q, h, 100 + s);
      }
      assertThat(floats(q.flat())).as(kind.name()).containsExactly(floats(p.flat()));
      assertThat(floats(q.table("t").weights()))
          .as(kind.name())
          .containsExactly(floats(p.table("t").weights()));
    }
  }

  private static Gradients randomGrads(ParameterSet p, Random rnd) {
    double[] d = new double[5];
    for (int i = 0; i < 5; i++) d[i] = rnd.nextGaussian();
    int a = rnd.nextInt(6);
    int b = (a + 1 + rnd.nextInt(5)) % 6;
    return grads(
        p,
        d,
        new int[] {a, b},
        new double[][] {
          {rnd.nextGaussian(), rnd.nextGaussian()}, {rnd.nextGaussian(), rnd.nextGaussian()}
        });
  }

  @Test
  void everyOptimizerConvergesOnAConvexQuadratic() {
    // f = ½‖w − w*‖² over dense and table rows; gradient = w − w*.
    for (OptimizerConfig.Kind kind : OptimizerConfig.Kind.values()) {
      ParameterSet p = params(7);
      double lr =
          switch (kind) {
            case SGD -> 0.1;
            case ADAGRAD -> 0.5;
            case ADAM -> 0.05;
          };
      Optimizer o = OptimizerConfig.defaults(kind).withLearningRate(lr).create();
      o.initialise(p);
      INDArray target = Nd4j.linspace(DataType.FLOAT, -1, 1, 5);
      INDArray rowTarget = Nd4j.create(new float[][] {{0.3f, -0.7f}, {0.3f, -0.7f}});
      int[] rows = {2, 4};
      double first = 0;
      double last = 0;
      for (int s = 0; s < 600; s++) {
        Gradients g = p.newGradients();
        g.flat().assign(p.flat().sub(target));
        g.accumulate("t", rows, p.table("t").gather(rows).sub(rowTarget));
        double loss = 0.5 * g.squaredNorm();
        if (s == 0) first = loss;
        last = loss;
        o.step(p, g);
      }
      assertThat(last).as(kind.name()).isLessThan(1e-4 * first);
    }
  }

  @Test
  void clippingScalesTheWholeGradientToTheNorm() {
    ParameterSet p = params(8);
    double[] w0 = doubles(p.flat());
    Optimizer o = OptimizerConfig.sgd(1.0).withClipNorm(1.0).create();
    o.initialise(p);
    o.step(
        p,
        grads(p, new double[] {3, 0, 0, 0, 0}, new int[] {1}, new double[][] {{0, 4}})); // norm 5
    assertThat(doubles(p.flat())[0]).isCloseTo(w0[0] - 0.6, within(1e-6));
  }

  @Test
  void weightDecayShrinksDenseButNeverEmbeddings() {
    ParameterSet p = params(9);
    double[] w0 = doubles(p.flat());
    float[] t0 = floats(p.table("t").weights());
    Optimizer o = OptimizerConfig.sgd(0.1).withWeightDecay(0.5).create();
    o.initialise(p);
    o.step(p, grads(p, new double[5], new int[] {2}, new double[][] {{0, 0}}));
    assertThat(doubles(p.flat())[1]).isCloseTo(w0[1] * 0.95, within(1e-6));
    assertThat(floats(p.table("t").weights())).containsExactly(t0);
  }

  @Test
  void configValidatesAndRoundTripsThroughProperties() {
    OptimizerConfig c =
        OptimizerConfig.adam(0.003).withBetas(0.8, 0.99).withClipNorm(5).withWeightDecay(1e-4);
    assertThat(OptimizerConfig.fromProperties(c.toProperties())).isEqualTo(c);
    assertThatThrownBy(() -> OptimizerConfig.adam(-1)).hasMessageContaining("learningRate");
    assertThatThrownBy(() -> OptimizerConfig.adam(0.1).withBetas(1.0, 0.9))
        .hasMessageContaining("beta1");
    assertThatThrownBy(
            () -> OptimizerConfig.fromProperties(java.util.Map.of("optimizer.kind", "RMSPROP")))
        .hasMessageContaining("RMSPROP");
  }

  @Test
  void stateOfAnotherKindOrLayoutIsRefused() {
    ParameterSet p = params(10);
    Optimizer adam = OptimizerConfig.adam(0.1).create();
    adam.initialise(p);
    Optimizer sgd = OptimizerConfig.sgd(0.1).create();
    sgd.initialise(p);
    assertThatThrownBy(() -> sgd.importState(adam.exportState())).hasMessageContaining("ADAM");
    ParameterSet other = ParameterSet.builder(DataType.FLOAT).dense("w", Init.ZEROS, 4).build(0);
    assertThatThrownBy(() -> adam.step(other, other.newGradients())).hasMessageContaining("layout");
    assertThatThrownBy(() -> OptimizerConfig.sgd(0.1).create().step(p, p.newGradients()))
        .hasMessageContaining("not initialised");
  }
}
