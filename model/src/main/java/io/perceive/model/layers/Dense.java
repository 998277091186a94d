package io.perceive.model.layers;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fully connected layer y = act(x W + b). Parameters {@code <name>/W} [in, out] and {@code
 * <name>/b} [out]. The exemplar of the layer contract: a stateless description that registers its
 * parameters, {@code forward} fills a cache, {@code backward} accumulates into {@link Gradients}
 * (gemm with beta = 1) and returns dL/dx.
 */
public final class Dense {

  /** What forward keeps for backward. */
  public static final class Cache {
    INDArray x; // [B, in]
    INDArray y; // [B, out]

    /** A cache filled by a caller that computed the forward itself (SharingBlock's towers). */
    public static Cache of(INDArray x, INDArray y) {
      Cache c = new Cache();
      c.x = x;
      c.y = y;
      return c;
    }
  }

  private final String name;
  private final int in;
  private final int out;
  private final Activation act;

  public Dense(String name, int in, int out, Activation act) {
    if (in < 1 || out < 1) throw new IllegalArgumentException(name + ": sizes must be >= 1");
    this.name = name;
    this.in = in;
    this.out = out;
    this.act = act;
  }

  public String name() {
    return name;
  }

  public int in() {
    return in;
  }

  public int out() {
    return out;
  }

  public Activation activation() {
    return act;
  }

  public String weightName() {
    return name + "/W";
  }

  public String biasName() {
    return name + "/b";
  }

  /** Registers W (Xavier, or He for ReLU) and b (zeros). */
  public void register(ParameterSet.Builder b) {
    b.dense(weightName(), act == Activation.RELU ? Init.he(in) : Init.xavier(in, out), in, out);
    b.dense(biasName(), Init.ZEROS, out);
  }

  /** x [B, in] → y [B, out]. */
  public INDArray forward(ParameterSet p, INDArray x, Cache cache) {
    INDArray y = Nd4j.createUninitialized(x.dataType(), x.rows(), out); // [B, out]
    Gemm.gemm(x, p.get(weightName()), y, false, false, 1.0, 0.0);
    if (act == Activation.IDENTITY || act == Activation.RELU) {
      // bias + ReLU in one Java pass (bit-identical to ND4J's ops): the two ND4J calls cost more
      // than the arithmetic at serving's row counts (docs/model-performance.md)
      HostView.addRowVector(y, p.get(biasName()), act == Activation.RELU);
    } else {
      y.addiRowVector(p.get(biasName()));
      act.applyInPlace(y);
    }
    if (cache != null) {
      cache.x = x;
      cache.y = y;
    }
    return y;
  }

  /** dy [B, out] → dx [B, in]; adds dW and db into {@code g}. Overwrites {@code dy}. */
  public INDArray backward(ParameterSet p, Gradients g, INDArray dy, Cache cache) {
    INDArray dz = act.backwardInPlace(dy, cache.y); // [B, out]
    Gemm.gemm(cache.x, dz, g.get(weightName()), true, false, 1.0, 1.0); // [in, out]
    g.get(biasName()).addi(dz.sum(0)); // [out]
    INDArray dx = Nd4j.createUninitialized(dz.dataType(), dz.rows(), in); // [B, in]
    Gemm.gemm(dz, p.get(weightName()), dx, false, true, 1.0, 0.0);
    return dx;
  }
}
