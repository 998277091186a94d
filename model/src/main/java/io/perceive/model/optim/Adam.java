package io.perceive.model.optim;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam (Kingma and Ba, ICLR 2015, Algorithm 1): m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; m̂ =
 * m/(1−β1^t); v̂ = v/(1−β2^t); w ← w − η·m̂/(√v̂ + ε).
 *
 * <p>Embedding rows use <b>lazy Adam</b> (as TensorFlow's LazyAdamOptimizer): only touched rows'
 * moments decay and update, and each row keeps its own step count t_r used in its bias correction.
 * Why: a dense Adam would decay and move all 65,536 rows of a table every step (the momentum keeps
 * moving rows long after their last gradient), which costs a full-table pass per minibatch and
 * breaks "untouched rows stay bit-identical" that deltas rely on. The price: a rarely seen row's
 * moments are not decayed across the steps it missed, so its next update is larger than dense
 * Adam's would be.
 */
public final class Adam extends AbstractOptimizer {

  private INDArray scratch; // [flat length]

  public Adam(OptimizerConfig config) {
    super(config, OptimizerConfig.Kind.ADAM);
  }

  @Override
  void allocate(ParameterSet p) {
    denseState(p, "m", 0.0);
    denseState(p, "v", 0.0);
    tableState(p, "m", 0.0);
    tableState(p, "v", 0.0);
    tableCounters(p, "steps");
    scratch = Nd4j.createUninitialized(p.dataType(), p.flat().length());
  }

  @Override
  void updateDense(INDArray w, INDArray g, double scale) {
    double b1 = config.beta1();
    double b2 = config.beta2();
    INDArray m = array(DENSE + "m");
    INDArray v = array(DENSE + "v");
    m.muli(b1);
    axpy((1 - b1) * scale, g, m); // m = β1 m + (1-β1) s g
    v.muli(b2);
    scratch.assign(g).muli(g);
    axpy((1 - b2) * scale * scale, scratch, v); // v = β2 v + (1-β2) (s g)²
    scratch.assign(v).muli(1.0 / (1 - Math.pow(b2, steps))); // v̂
    Transforms.sqrt(scratch, false).addi(config.epsilon()); // √v̂ + ε
    scratch.rdivi(m); // m / (√v̂ + ε)
    axpy(-config.learningRate() / (1 - Math.pow(b1, steps)), scratch, w); // w -= η m̂ / (√v̂ + ε)
  }

  @Override
  void updateRows(
      EmbeddingTable t, int[] rows, HostView grad, double scale, double learningRateScale) {
    HostView w = HostView.of(t.weights());
    HostView m = HostView.of(array(TABLE + t.name() + "/m"));
    HostView v = HostView.of(array(TABLE + t.name() + "/v"));
    long[] rowSteps = counters.get(TABLE + t.name() + "/steps");
    int dim = t.dim();
    double b1 = config.beta1();
    double b2 = config.beta2();
    double eps = config.epsilon();
    for (int i = 0; i < rows.length; i++) {
      long tr = ++rowSteps[rows[i]];
      double c1 = 1 - Math.pow(b1, tr);
      double c2 = 1 - Math.pow(b2, tr);
      double lr = config.learningRate() * learningRateScale / c1;
      int wo = rows[i] * dim;
      int go = i * dim;
      for (int j = 0; j < dim; j++) {
        double gj = grad.get(go + j) * scale;
        double mj = b1 * m.get(wo + j) + (1 - b1) * gj;
        double vj = b2 * v.get(wo + j) + (1 - b2) * gj * gj;
        m.set(wo + j, mj);
        v.set(wo + j, vj);
        w.set(wo + j, w.get(wo + j) - lr * mj / (Math.sqrt(vj / c2) + eps));
      }
    }
  }
}
