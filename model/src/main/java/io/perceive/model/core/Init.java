package io.perceive.model.core;

import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** How a dense parameter is initialised; deterministic given the {@link Random} it is handed. */
@FunctionalInterface
public interface Init {

  void fill(INDArray target, Random rnd);

  Init ZEROS = (t, r) -> t.assign(0);

  static Init constant(double value) {
    return (t, r) -> t.assign(value);
  }

  /** Normal(0, std). */
  static Init normal(double std) {
    return (t, r) -> fillWith(t, () -> r.nextGaussian() * std);
  }

  /** Uniform(-a, a). */
  static Init uniform(double a) {
    return (t, r) -> fillWith(t, () -> (2 * r.nextDouble() - 1) * a);
  }

  /**
   * Glorot/Xavier uniform for a [fanIn, fanOut] weight: U(-a, a) with a = sqrt(6 / (fanIn +
   * fanOut)).
   */
  static Init xavier(long fanIn, long fanOut) {
    return uniform(Math.sqrt(6.0 / (fanIn + fanOut)));
  }

  /** He/Kaiming normal for ReLU layers: N(0, 2 / fanIn). */
  static Init he(long fanIn) {
    return normal(Math.sqrt(2.0 / fanIn));
  }

  private static void fillWith(INDArray t, java.util.function.DoubleSupplier s) {
    double[] v = new double[(int) t.length()];
    for (int i = 0; i < v.length; i++) v[i] = s.getAsDouble();
    t.assign(Nd4j.create(v, t.shape(), 'c').castTo(t.dataType()));
  }
}
