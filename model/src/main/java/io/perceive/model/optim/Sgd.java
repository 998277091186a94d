package io.perceive.model.optim;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Plain stochastic gradient descent: w ← w − η·g. No state besides the step count. */
public final class Sgd extends AbstractOptimizer {

  public Sgd(OptimizerConfig config) {
    super(config, OptimizerConfig.Kind.SGD);
  }

  @Override
  void allocate(ParameterSet p) {}

  @Override
  void updateDense(INDArray w, INDArray g, double scale) {
    axpy(-config.learningRate() * scale, g, w); // one BLAS call over the flat buffer
  }

  @Override
  void updateRows(
      EmbeddingTable t, int[] rows, HostView grad, double scale, double learningRateScale) {
    HostView w = HostView.of(t.weights());
    int dim = t.dim();
    double step = config.learningRate() * learningRateScale * scale;
    for (int i = 0; i < rows.length; i++) {
      int wo = rows[i] * dim;
      int go = i * dim;
      for (int j = 0; j < dim; j++) w.set(wo + j, w.get(wo + j) - step * grad.get(go + j));
    }
  }
}
