package io.perceive.job.learner;

import io.perceive.model.ModelConfig;
import io.perceive.model.optim.OptimizerConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Creates each subtask's {@link ModelLearner} from the model and optimizer properties (plain maps,
 * so the factory serialises with the job graph). Every subtask starts from the same seed, so all
 * replicas start equal.
 */
public final class ModelLearnerFactory implements LearnerFactory {

  private static final long serialVersionUID = 1L;

  private final LinkedHashMap<String, String> model;
  private final LinkedHashMap<String, String> optimizer;

  public ModelLearnerFactory(Map<String, String> model, Map<String, String> optimizer) {
    this.model = new LinkedHashMap<>(model);
    this.optimizer = new LinkedHashMap<>(optimizer);
    modelConfig(); // validate on the client, before the job is submitted
    optimizerConfig();
  }

  public ModelConfig modelConfig() {
    return ModelConfig.fromProperties(model);
  }

  public OptimizerConfig optimizerConfig() {
    return optimizer.isEmpty()
        ? PerceiveDefaults.OPTIMIZER
        : OptimizerConfig.fromProperties(optimizer);
  }

  @Override
  public Learner create(int subtaskIndex, int parallelism) {
    return new ModelLearner(modelConfig(), optimizerConfig());
  }
}
