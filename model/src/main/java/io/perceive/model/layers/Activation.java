package io.perceive.model.layers;

import io.perceive.model.core.HostView;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Element-wise activations with the derivative expressed through the output (one pass each). */
public enum Activation {
  IDENTITY,
  RELU,
  TANH,
  SIGMOID;

  /** Applies the activation in place and returns {@code z}. */
  public INDArray applyInPlace(INDArray z) {
    return switch (this) {
      case IDENTITY -> z;
      case RELU -> Transforms.relu(z, false);
      case TANH -> Transforms.tanh(z, false);
      case SIGMOID -> Transforms.sigmoid(z, false);
    };
  }

  /** The activation of one value (the Java loops' version of {@link #applyInPlace}). */
  public double apply(double z) {
    return switch (this) {
      case IDENTITY -> z;
      case RELU -> z > 0 ? z : 0;
      case TANH -> Math.tanh(z);
      case SIGMOID -> 1 / (1 + Math.exp(-z));
    };
  }

  /**
   * dy ⊙ [y > 0] in one Java pass over c-contiguous arrays (ND4J: a comparison, a cast and a
   * multiply, two temporaries). Same values: dy·1 or dy·0.
   */
  private static void reluBackward(INDArray dy, INDArray y) {
    if (!(isPlain(dy) && isPlain(y)) || dy.length() != y.length()) {
      dy.muli(y.gt(0).castTo(dy.dataType()));
      return;
    }
    HostView d = HostView.of(dy), out = HostView.of(y);
    int n = Math.toIntExact(dy.length());
    double[] dv = new double[n], yv = new double[n];
    d.read(0, dv, 0, n);
    out.read(0, yv, 0, n);
    for (int i = 0; i < n; i++) if (!(yv[i] > 0)) dv[i] *= 0.0;
    d.write(0, dv, 0, n);
  }

  private static boolean isPlain(INDArray a) {
    if (a.ordering() != 'c' || a.rank() > 2) return false;
    if (a.rank() < 2) return a.length() <= 1 || a.elementWiseStride() == 1;
    return (a.columns() <= 1 || a.stride(1) == 1) && (a.rows() <= 1 || a.stride(0) == a.columns());
  }

  /** Turns dL/dy into dL/dz in place, given the activation's output {@code y}; returns it. */
  public INDArray backwardInPlace(INDArray dy, INDArray y) {
    switch (this) {
      case IDENTITY -> {}
      case RELU -> reluBackward(dy, y);
      case TANH -> dy.muli(y.mul(y).rsubi(1.0));
      case SIGMOID -> dy.muli(y.rsub(1.0).muli(y));
    }
    return dy;
  }
}
