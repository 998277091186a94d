package io.perceive.model.layers;

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

  /** Turns dL/dy into dL/dz in place, given the activation's output {@code y}; returns it. */
  public INDArray backwardInPlace(INDArray dy, INDArray y) {
    switch (this) {
      case IDENTITY -> {}
      case RELU -> dy.muli(y.gt(0).castTo(dy.dataType()));
      case TANH -> dy.muli(y.mul(y).rsubi(1.0));
      case SIGMOID -> dy.muli(y.rsub(1.0).muli(y));
    }
    return dy;
  }
}
