package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.testing.GradientCheck;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class DenseTest {

  /** A fixed random projection of the output makes the loss sensitive to every output entry. */
  private static double loss(INDArray y, INDArray r) {
    return y.mul(r).sumNumber().doubleValue();
  }

  @ParameterizedTest
  @EnumSource(Activation.class)
  void backwardMatchesFiniteDifferences(Activation act) {
    Dense d = new Dense("d", 5, 4, act);
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    d.register(b);
    ParameterSet p = b.build(11);
    p.get("d/b").assign(Nd4j.linspace(-0.3, 0.3, 4, DataType.DOUBLE)); // nonzero bias
    Random rnd = new Random(5);
    INDArray x = Nd4j.randn(DataType.DOUBLE, 6, 5).muli(0.7); // [B=6, in=5]
    INDArray r = Nd4j.rand(DataType.DOUBLE, 6, 4).subi(0.5); // [B, out]
    assertThat(rnd).isNotNull();

    GradientCheck.check(
        p,
        q -> loss(d.forward(q, x, null), r),
        q -> {
          Gradients g = q.newGradients();
          Dense.Cache c = new Dense.Cache();
          d.forward(q, x, c);
          d.backward(q, g, r.dup(), c);
          return g;
        },
        50,
        1);

    Dense.Cache c = new Dense.Cache();
    d.forward(p, x, c);
    INDArray dx = d.backward(p, p.newGradients(), r.dup(), c);
    GradientCheck.checkInput(x.dup(), xx -> loss(d.forward(p, xx, null), r), dx, 30, 2);
  }
}
