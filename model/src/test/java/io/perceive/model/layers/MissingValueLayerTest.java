package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.MissingValueLayer.Feature;
import io.perceive.model.testing.GradientCheck;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class MissingValueLayerTest {

  private final MissingValueLayer mvl =
      new MissingValueLayer(
          "mvl",
          List.of(Feature.log1p("price"), Feature.standard("age", 30, 10), Feature.raw("score")));

  private ParameterSet params() {
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    mvl.register(b);
    ParameterSet p = b.build(3);
    p.get("mvl/fill").assign(Nd4j.createFromArray(0.5, -0.25, 2.0));
    return p;
  }

  private static INDArray input() {
    double nan = Double.NaN;
    return Nd4j.createFromArray(
        new double[][] {{9.0, 40, nan}, {nan, 20, 0.3}, {0.5, nan, nan}, {nan, nan, -1.5}});
  }

  @Test
  void replacesMissingValuesByLearnedFillAndNormalisesPresentOnes() {
    INDArray y = mvl.forward(params(), input(), null);
    assertThat(y.getDouble(0, 0))
        .isCloseTo(Math.log(10), org.assertj.core.data.Offset.offset(1e-12));
    assertThat(y.getDouble(0, 1)).isEqualTo(1.0);
    assertThat(y.getDouble(0, 2)).isEqualTo(2.0);
    assertThat(y.getDouble(1, 0)).isEqualTo(0.5);
    assertThat(y.getDouble(2, 1)).isEqualTo(-0.25);
    assertThat(y.getDouble(3, 2)).isEqualTo(-1.5);
  }

  @Test
  void maskMarksValuesMissingToo() {
    INDArray present = Nd4j.ones(DataType.DOUBLE, 4, 3);
    present.putScalar(1, 1, 0);
    INDArray y = mvl.forward(params(), input(), present, null);
    assertThat(y.getDouble(1, 1)).isEqualTo(-0.25);
  }

  @Test
  void gradientsOfFillValuesAndInputsMatchFiniteDifferences() {
    ParameterSet p = params();
    INDArray r = Nd4j.rand(DataType.DOUBLE, 4, 3).subi(0.5);
    GradientCheck.check(
        p,
        q -> mvl.forward(q, input(), null).mul(r).sumNumber().doubleValue(),
        q -> {
          Gradients g = q.newGradients();
          MissingValueLayer.Cache c = new MissingValueLayer.Cache();
          mvl.forward(q, input(), c);
          mvl.backward(q, g, r.dup(), c);
          return g;
        },
        10,
        1);
    MissingValueLayer.Cache c = new MissingValueLayer.Cache();
    INDArray x = input();
    mvl.forward(p, x, c);
    INDArray dx = mvl.backward(p, p.newGradients(), r.dup(), c);
    // NaN entries have no finite differences: check a copy where they are replaced by a mask
    INDArray present = Nd4j.ones(DataType.DOUBLE, 4, 3);
    INDArray filled = x.dup();
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 3; j++)
        if (Double.isNaN(x.getDouble(i, j))) {
          present.putScalar(i, j, 0);
          filled.putScalar(i, j, 1.0);
        }
    GradientCheck.checkInput(
        filled,
        xx -> mvl.forward(p, xx, present, null).mul(r).sumNumber().doubleValue(),
        dx,
        12,
        2);
    assertThat(dx.getDouble(0, 2)).isZero();
  }

  @Test
  void withoutLearningAMissingValueBecomesZeroAndNothingIsRegistered() {
    MissingValueLayer off = new MissingValueLayer("mvl", mvl.features(), false);
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    off.register(b);
    ParameterSet p = b.build(3);
    assertThat(p.hasDense("mvl/fill")).isFalse();
    MissingValueLayer.Cache c = new MissingValueLayer.Cache();
    INDArray y = off.forward(p, input(), c);
    assertThat(y.getDouble(1, 0)).isZero(); // missing → 0, the mean after standardisation
    assertThat(y.getDouble(2, 1)).isZero();
    assertThat(y.getDouble(1, 1)).isEqualTo(-1.0); // present: (20 - 30) / 10, as before
    INDArray dy = Nd4j.ones(DataType.DOUBLE, 4, 3);
    INDArray dx = off.backward(p, p.newGradients(), dy, c);
    assertThat(dx.getDouble(1, 0)).isZero();
    assertThat(dx.getDouble(1, 1)).isEqualTo(0.1);
  }

  @Test
  void refusesBadInputWithAClearMessage() {
    ParameterSet p = params();
    assertThatThrownBy(
            () -> mvl.forward(p, Nd4j.createFromArray(new double[][] {{-2, 1, 1}}), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("price");
    assertThatThrownBy(
            () ->
                mvl.forward(
                    p,
                    Nd4j.createFromArray(new double[][] {{1, Double.POSITIVE_INFINITY, 1}}),
                    null))
        .hasMessageContaining("infinite");
    assertThatThrownBy(() -> mvl.forward(p, Nd4j.zeros(DataType.DOUBLE, 2, 2), null))
        .hasMessageContaining("expected [rows, 3]");
    assertThatThrownBy(() -> Feature.standard("x", 0, 0)).hasMessageContaining("std");
  }
}
