package io.perceive.job.learner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.ModelConfig;
import io.perceive.model.optim.OptimizerConfig;
import org.junit.jupiter.api.Test;

/** The replica's operator-state form: what a checkpoint saves, a restore gets back exactly. */
class ModelLearnerTest {

  @Test
  void savedStateRestoresParametersOptimizerAndVersion() {
    ModelConfig cfg = ModelConfig.defaults();
    ModelLearner a = new ModelLearner(cfg, OptimizerConfig.adam(0.01));
    a.parameters().flat().addi(0.25); // differs from a fresh replica
    a.setVersion(17);
    byte[] state = a.saveState();

    ModelLearner b = new ModelLearner(cfg, OptimizerConfig.adam(0.01));
    assertThat(b.parameters().flat()).isNotEqualTo(a.parameters().flat());
    b.restoreState(state);
    assertThat(b.parameters().flat()).isEqualTo(a.parameters().flat());
    assertThat(b.version()).isEqualTo(17);

    state[state.length / 2] ^= 1;
    assertThatThrownBy(() -> b.restoreState(state)).hasMessageContaining("restore");
  }
}
