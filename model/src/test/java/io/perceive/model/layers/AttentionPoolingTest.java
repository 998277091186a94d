package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class AttentionPoolingTest {

  static final int Q = 5, H = 4, G = 4, T = 6, WINDOW = 4;

  final AttentionPooling att = new AttentionPooling("attention", Q, H, WINDOW);

  static INDArray rand(long seed, long... shape) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.DOUBLE, shape);
  }

  /**
   * Step-major: group 0 full, group 1 padded for steps 0..3, group 2 all padding, group 3 one gap.
   */
  static float[] mask() {
    float[] m = new float[T * G];
    for (int s = 0; s < T; s++) {
      m[s * G] = 1;
      m[s * G + 1] = s >= 4 ? 1 : 0;
      m[s * G + 2] = 0;
      m[s * G + 3] = s == 3 ? 0 : 1;
    }
    return m;
  }

  final INDArray hidden = rand(1, T, G, H);
  final INDArray query = rand(2, G, Q);
  final INDArray r = rand(3, G, H);

  ParameterSet params() {
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    att.register(b);
    ParameterSet p = b.build(3);
    p.get("attention/W").muli(3); // sharper attention than at initialisation
    p.get("attention/b").assign(Nd4j.linspace(-0.5, 0.5, H, DataType.DOUBLE));
    return p;
  }

  double loss(ParameterSet p, INDArray h, INDArray q) {
    return att.forward(p, h, mask(), q, null).mul(r).sumNumber().doubleValue();
  }

  @Test
  void gradientsMatchFiniteDifferences() {
    ParameterSet p = params();
    GradientCheck.check(
        p,
        q -> loss(q, hidden, query),
        q -> {
          Gradients g = q.newGradients();
          AttentionPooling.Cache c = new AttentionPooling.Cache();
          att.forward(q, hidden, mask(), query, c);
          att.backward(q, g, r.dup(), c);
          return g;
        },
        100,
        4);
    AttentionPooling.Cache c = new AttentionPooling.Cache();
    att.forward(p, hidden, mask(), query, c);
    AttentionPooling.Grad gr = att.backward(p, p.newGradients(), r.dup(), c);
    GradientCheck.checkInput(query.dup(), x -> loss(p, hidden, x), gr.dQuery(), 100, 5);
    GradientCheck.checkInput(hidden.dup(), x -> loss(p, x, query), gr.dHidden(), 200, 6);
  }

  @Test
  void poolsOnlyRealStepsInsideTheWindow() {
    ParameterSet p = params();
    INDArray out = att.forward(p, hidden, mask(), query, null);
    // all-padding group pools to zero
    assertThat(out.getRow(2).amaxNumber().doubleValue()).isZero();
    // group 1 has real steps 4, 5 only: out is a convex combination of those two hidden states
    INDArray h4 = hidden.get(NDArrayIndex.point(4), NDArrayIndex.point(1), NDArrayIndex.all());
    INDArray h5 = hidden.get(NDArrayIndex.point(5), NDArrayIndex.point(1), NDArrayIndex.all());
    double a = out.getRow(1).sub(h5).getDouble(0) / h4.sub(h5).getDouble(0);
    assertThat(a).isBetween(0.0, 1.0);
    assertThat(h4.mul(a).add(h5.mul(1 - a)).sub(out.getRow(1)).amaxNumber().doubleValue())
        .isLessThan(1e-12);
    // steps outside the window (0, 1) and padding do not influence the output
    INDArray changed = hidden.dup();
    changed.get(NDArrayIndex.interval(0, 2), NDArrayIndex.all(), NDArrayIndex.all()).assign(9);
    changed.get(NDArrayIndex.point(3), NDArrayIndex.point(3), NDArrayIndex.all()).assign(-9);
    INDArray out2 = att.forward(p, changed, mask(), query, null);
    assertThat(out2.sub(out).amaxNumber().doubleValue()).isZero();
  }

  /** The FLOAT path (its own vectorised loops) agrees with DOUBLE, padding and window included. */
  @Test
  void floatAndDoubleAgree() {
    ParameterSet pd = params(), pf = params().castTo(DataType.FLOAT);
    INDArray[] out = new INDArray[2], dHidden = new INDArray[2], dQuery = new INDArray[2];
    Gradients[] g = {pd.newGradients(), pf.newGradients()};
    for (int i = 0; i < 2; i++) {
      DataType type = i == 0 ? DataType.DOUBLE : DataType.FLOAT;
      ParameterSet p = i == 0 ? pd : pf;
      AttentionPooling.Cache c = new AttentionPooling.Cache();
      out[i] = att.forward(p, hidden.castTo(type), mask(), query.castTo(type), c);
      AttentionPooling.Grad gr = att.backward(p, g[i], r.castTo(type), c);
      dHidden[i] = gr.dHidden();
      dQuery[i] = gr.dQuery();
      assertThat(out[i].dataType()).isEqualTo(type);
    }
    assertThat(maxDiff(out[0], out[1])).isLessThan(1e-5);
    assertThat(maxDiff(dHidden[0], dHidden[1])).isLessThan(1e-5);
    assertThat(maxDiff(dQuery[0], dQuery[1])).isLessThan(1e-5);
    assertThat(maxDiff(g[0].flat(), g[1].flat())).isLessThan(1e-5);
    assertThat(g[1].flat().amaxNumber().doubleValue()).isPositive();
    INDArray step0 = dHidden[1].get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all());
    assertThat(step0.amaxNumber().doubleValue()).isZero(); // outside the window
  }

  static double maxDiff(INDArray a, INDArray b) {
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }
}
