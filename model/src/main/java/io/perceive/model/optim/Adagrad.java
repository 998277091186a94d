package io.perceive.model.optim;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adagrad (Duchi, Hazan and Singer, JMLR 2011): a ← a + g²; w ← w − η·g / (√a + ε), per coordinate,
 * with a starting at {@link OptimizerConfig#adagradInitialAccumulator()}. Sparse rows accumulate
 * only when touched, which is exact (an untouched row's gradient is zero).
 */
public final class Adagrad extends AbstractOptimizer {

  private INDArray scratch; // [flat length]: reused every step, avoids one allocation per op

  public Adagrad(OptimizerConfig config) {
    super(config, OptimizerConfig.Kind.ADAGRAD);
  }

  @Override
  void allocate(ParameterSet p) {
    denseState(p, "accumulator", config.adagradInitialAccumulator());
    tableState(p, "accumulator", config.adagradInitialAccumulator());
    scratch = Nd4j.createUninitialized(p.dataType(), p.flat().length());
  }

  @Override
  void updateDense(INDArray w, INDArray g, double scale) {
    INDArray acc = array(DENSE + "accumulator");
    scratch.assign(g).muli(g); // g²
    axpy(scale * scale, scratch, acc); // a += (s·g)²
    scratch.assign(acc);
    Transforms.sqrt(scratch, false).addi(config.epsilon()); // √a + ε
    scratch.rdivi(g); // g / (√a + ε)
    axpy(-config.learningRate() * scale, scratch, w);
  }

  @Override
  void updateRows(
      EmbeddingTable t, int[] rows, HostView grad, double scale, double learningRateScale) {
    HostView w = HostView.of(t.weights());
    HostView acc = HostView.of(array(TABLE + t.name() + "/accumulator"));
    int dim = t.dim();
    double lr = config.learningRate() * learningRateScale;
    double eps = config.epsilon();
    for (int i = 0; i < rows.length; i++) {
      int wo = rows[i] * dim;
      int go = i * dim;
      for (int j = 0; j < dim; j++) {
        double gj = grad.get(go + j) * scale;
        double a = acc.get(wo + j) + gj * gj;
        acc.set(wo + j, a);
        w.set(wo + j, w.get(wo + j) - lr * gj / (Math.sqrt(a) + eps));
      }
    }
  }
}
