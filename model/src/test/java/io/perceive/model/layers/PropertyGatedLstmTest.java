package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class PropertyGatedLstmTest {

  static final int E = 3, P = 2, H = 4, G = 3, T = 6;

  final PropertyGatedLstm lstm = new PropertyGatedLstm("lstm", E, P, H);

  ParameterSet params(DataType type) {
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    lstm.register(b);
    ParameterSet p = b.build(7);
    // a non-trivial bias so every gate sees an offset
    p.get("lstm/b").addi(Nd4j.linspace(-0.4, 0.4, 4 * H, DataType.DOUBLE));
    return p.castTo(type);
  }

  /** Step-major mask: group 0 full, group 1 left-padded by 2, group 2 left-padded by 5. */
  static float[] mask() {
    int[] pad = {0, 2, 5};
    float[] m = new float[T * G];
    for (int s = 0; s < T; s++) for (int u = 0; u < G; u++) m[s * G + u] = s >= pad[u] ? 1f : 0f;
    return m;
  }

  static INDArray rand(long seed, long... shape) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.DOUBLE, shape).muli(0.8);
  }

  final INDArray e = rand(1, T * G, E);
  final INDArray pr = rand(2, T * G, P);
  final INDArray h0 = rand(3, G, H).muli(0.5);
  final INDArray c0 = rand(4, G, H).muli(0.5);
  final INDArray r = rand(5, T, G, H); // loss weights per hidden state

  double loss(ParameterSet p, INDArray e, INDArray pr, INDArray h0, INDArray c0, float[] m) {
    lstm.enforceStructure(p); // the loss is taken on the structurally constrained parameters
    INDArray hid = lstm.forward(p, e, pr, m, G, h0, c0, null);
    return hid.mul(r).sumNumber().doubleValue();
  }

  PropertyGatedLstm.Grad grad(ParameterSet p, Gradients g, int bptt, float[] m) {
    PropertyGatedLstm.Cache c = new PropertyGatedLstm.Cache();
    lstm.forward(p, e, pr, m, G, h0, c0, c);
    return lstm.backward(p, g, r.dup(), bptt, c);
  }

  @Test
  void fullBackPropagationMatchesFiniteDifferencesWithPadding() {
    ParameterSet p = params(DataType.DOUBLE);
    float[] m = mask();
    GradientCheck.check(
        p,
        q -> loss(q, e, pr, h0, c0, m),
        q -> {
          Gradients g = q.newGradients();
          grad(q, g, T, m);
          return g;
        },
        200,
        11);
    PropertyGatedLstm.Grad gr = grad(p, p.newGradients(), T, m);
    assertThat(gr.firstStep()).isZero();
    GradientCheck.checkInput(e.dup(), x -> loss(p, x, pr, h0, c0, m), gr.dItem(), 100, 12);
    GradientCheck.checkInput(pr.dup(), x -> loss(p, e, x, h0, c0, m), gr.dProperty(), 100, 13);
    GradientCheck.checkInput(h0.dup(), x -> loss(p, e, pr, x, c0, m), gr.dH0(), 100, 14);
    GradientCheck.checkInput(c0.dup(), x -> loss(p, e, pr, h0, x, m), gr.dC0(), 100, 15);
  }

  /**
   * Truncated BPTT over the last K steps must equal the exact gradient of the truncated objective:
   * run the first T-K steps without gradient, then the last K steps from the state they reach, with
   * the loss over those K steps only. That reference is itself checked numerically.
   */
  @Test
  void truncatedBackPropagationEqualsTheGradientOfTheSuffixProblem() {
    ParameterSet p = params(DataType.DOUBLE);
    float[] m = mask();
    for (int k = 1; k < T; k++) {
      Gradients truncated = p.newGradients();
      PropertyGatedLstm.Grad gt = grad(p, truncated, k, m);
      assertThat(gt.firstStep()).isEqualTo(T - k);
      assertThat(gt.dH0().norm2Number().doubleValue()).isZero();

      int first = T - k;
      PropertyGatedLstm.Cache prefix = new PropertyGatedLstm.Cache();
      lstm.forward(
          p, rowsOf(e, 0, first), rowsOf(pr, 0, first), slice(m, 0, first), G, h0, c0, prefix);
      LstmState s = prefix.finalState();
      INDArray hs = s.h().dup(), cs = s.c().dup();
      INDArray es = rowsOf(e, first, T), ps = rowsOf(pr, first, T);
      float[] ms = slice(m, first, T);
      INDArray rs =
          r.get(NDArrayIndex.interval(first, T), NDArrayIndex.all(), NDArrayIndex.all()).dup();
      Gradients reference = p.newGradients();
      PropertyGatedLstm.Cache sc = new PropertyGatedLstm.Cache();
      lstm.forward(p, es, ps, ms, G, hs, cs, sc);
      PropertyGatedLstm.Grad gs = lstm.backward(p, reference, rs.dup(), k, sc);

      assertThat(maxAbsDiff(truncated.flat(), reference.flat())).as("K=" + k).isLessThan(1e-12);
      assertThat(maxAbsDiff(gt.dItem(), gs.dItem())).isLessThan(1e-12);
      assertThat(maxAbsDiff(gt.dProperty(), gs.dProperty())).isLessThan(1e-12);
      assertThat(truncated.flat().norm2Number().doubleValue()).isPositive();

      if (k == 2) { // the reference is the exact gradient of the suffix objective
        final int kk = k;
        GradientCheck.check(
            p,
            q -> {
              lstm.enforceStructure(q);
              return lstm.forward(q, es, ps, ms, G, hs, cs, null).mul(rs).sumNumber().doubleValue();
            },
            q -> {
              Gradients g = q.newGradients();
              PropertyGatedLstm.Cache c = new PropertyGatedLstm.Cache();
              lstm.forward(q, es, ps, ms, G, hs, cs, c);
              lstm.backward(q, g, rs.dup(), kk, c);
              return g;
            },
            100,
            21);
      }
    }
  }

  @Test
  void propertyToCellBlockStaysZeroUnderTraining() {
    ParameterSet p = params(DataType.FLOAT);
    assertThat(lstm.propertyToCellBlock(p.get("lstm/W")).amaxNumber().doubleValue()).isZero();
    for (int i = 0; i < 5; i++) {
      Gradients g = p.newGradients();
      PropertyGatedLstm.Cache c = new PropertyGatedLstm.Cache();
      lstm.forward(
          p,
          e.castTo(DataType.FLOAT),
          pr.castTo(DataType.FLOAT),
          mask(),
          G,
          h0.castTo(DataType.FLOAT),
          c0.castTo(DataType.FLOAT),
          c);
      lstm.backward(p, g, r.castTo(DataType.FLOAT), T, c);
      assertThat(lstm.propertyToCellBlock(g.get("lstm/W")).amaxNumber().doubleValue()).isZero();
      assertThat(g.get("lstm/W").amaxNumber().doubleValue()).isPositive();
      p.flat().subi(g.flat().mul(0.5)); // plain SGD
    }
    assertThat(lstm.propertyToCellBlock(p.get("lstm/W")).amaxNumber().doubleValue()).isZero();
    // and the property really does not reach the cell input: g_t is the same for any p_t
    PropertyGatedLstm.Cache a = new PropertyGatedLstm.Cache(), b = new PropertyGatedLstm.Cache();
    INDArray ef = e.castTo(DataType.FLOAT),
        hf = h0.castTo(DataType.FLOAT),
        cf = c0.castTo(DataType.FLOAT);
    lstm.forward(p, ef, pr.castTo(DataType.FLOAT), null, G, hf, cf, a);
    lstm.forward(p, ef, pr.castTo(DataType.FLOAT).mul(-3), null, G, hf, cf, b);
    INDArray ga =
        a.gates.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(3 * H, 4 * H));
    INDArray gb =
        b.gates.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(3 * H, 4 * H));
    INDArray ia =
        a.gates.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(0, H));
    INDArray ib =
        b.gates.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(0, H));
    assertThat(maxAbsDiff(ga, gb)).isZero();
    assertThat(maxAbsDiff(ia, ib)).isPositive();
  }

  @Test
  void paddingCarriesTheStateAndStepEqualsTheSequence() {
    ParameterSet p = params(DataType.DOUBLE);
    float[] m = mask();
    PropertyGatedLstm.Cache c = new PropertyGatedLstm.Cache();
    INDArray hid = lstm.forward(p, e, pr, m, G, h0, c0, c);
    // group 2 is padded for steps 0..4: its outputs there equal h0
    for (int s = 0; s < 5; s++)
      assertThat(
              maxAbsDiff(
                  hid.get(NDArrayIndex.point(s), NDArrayIndex.point(2), NDArrayIndex.all()),
                  h0.getRow(2)))
          .isZero();
    // streaming: stepping the real behaviours one at a time reaches the same final state
    INDArray h = h0.dup(), cc = c0.dup();
    for (int s = 0; s < T; s++) {
      LstmState st = lstm.step(p, rowsOf(e, s, s + 1), rowsOf(pr, s, s + 1), h, cc);
      for (int u = 0; u < G; u++) {
        if (m[s * G + u] == 0f) continue;
        h.putRow(u, st.h().getRow(u));
        cc.putRow(u, st.c().getRow(u));
      }
    }
    LstmState fin = c.finalState();
    assertThat(maxAbsDiff(h, fin.h())).isLessThan(1e-14);
    assertThat(maxAbsDiff(cc, fin.c())).isLessThan(1e-14);
  }

  @Test
  void floatAndDoubleAgree() {
    ParameterSet pd = params(DataType.DOUBLE), pf = params(DataType.FLOAT);
    INDArray hd = lstm.forward(pd, e, pr, mask(), G, h0, c0, null);
    INDArray hf =
        lstm.forward(
            pf,
            e.castTo(DataType.FLOAT),
            pr.castTo(DataType.FLOAT),
            mask(),
            G,
            h0.castTo(DataType.FLOAT),
            c0.castTo(DataType.FLOAT),
            null);
    assertThat(maxAbsDiff(hd, hf.castTo(DataType.DOUBLE))).isLessThan(1e-5);
    Gradients gd = pd.newGradients(), gf = pf.newGradients();
    grad(pd, gd, T, mask());
    PropertyGatedLstm.Cache c = new PropertyGatedLstm.Cache();
    lstm.forward(
        pf,
        e.castTo(DataType.FLOAT),
        pr.castTo(DataType.FLOAT),
        mask(),
        G,
        h0.castTo(DataType.FLOAT),
        c0.castTo(DataType.FLOAT),
        c);
    lstm.backward(pf, gf, r.castTo(DataType.FLOAT), T, c);
    assertThat(maxAbsDiff(gd.flat(), gf.flat().castTo(DataType.DOUBLE))).isLessThan(1e-4);
  }

  @Test
  void refusesMisshapenInput() {
    ParameterSet p = params(DataType.DOUBLE);
    assertThatThrownBy(() -> lstm.forward(p, rand(1, 7, E), rand(2, 7, P), null, G, h0, c0, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> lstm.forward(p, e, pr, null, G, rand(1, G, H + 1), c0, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("h0");
    assertThatThrownBy(() -> lstm.forward(p, e, pr, new float[3], G, h0, c0, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mask");
  }

  static INDArray rowsOf(INDArray a, int fromStep, int toStep) {
    return a.get(NDArrayIndex.interval((long) fromStep * G, (long) toStep * G), NDArrayIndex.all())
        .dup();
  }

  static float[] slice(float[] m, int fromStep, int toStep) {
    return java.util.Arrays.copyOfRange(m, fromStep * G, toStep * G);
  }

  static double maxAbsDiff(INDArray a, INDArray b) {
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }
}
