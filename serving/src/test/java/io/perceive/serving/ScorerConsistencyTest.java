package io.perceive.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.Predictions;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.InputBuilder;
import io.perceive.model.input.UserInput;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Serving a snapshot written by {@code SnapshotFile.write} of a trained model reproduces the
 * model's own unsplit scoring and the training forward pass on the same inputs (1e-5).
 */
class ScorerConsistencyTest {

  @TempDir Path dir;

  @Test
  void servedScoresEqualTheUnsplitModelAndTheTrainingForward() throws Exception {
    ModelConfig cfg = Fixtures.smallConfig();
    ParameterSet trained = Fixtures.trained(cfg, 15, 3);
    Fixtures.publish(dir, cfg, trained, 7);
    LiveModel live = new LiveModel();
    assertThat(new SnapshotWatcher(dir, live, new ServingMetrics()).pollOnce()).isTrue();
    ServingModel served = live.get().orElseThrow();
    assertThat(served.version()).isEqualTo(7);

    MultiTaskModel reference = new MultiTaskModel(cfg);
    ParameterSet initial = reference.initialise(DataType.FLOAT);
    InputBuilder inputs = new InputBuilder(cfg);
    Random r = new Random(11);
    double maxGapToInitial = 0;
    for (int k = 0; k < 5; k++) {
      UserInput user = Fixtures.randomUser(r, 1_700_000_000_000L, cfg.sequenceConfig().hidden());
      List<CandidateInput> cands = Fixtures.randomCandidates(r, 40);
      double alpha = 0.5 * k;
      Scorer.Scores s = Scorer.score(served, user, cands, alpha);
      assertThat(s.modelVersion()).isEqualTo(7);

      TrainingBatch.Users users = inputs.users(List.of(user));
      TrainingBatch.Candidates c = inputs.candidates(user, cands); // as the job builds them
      int[] group = new int[cands.size()];
      Predictions unsplit = reference.scoreUnsplit(trained, users, group, c);
      float[] nan = new float[cands.size()];
      Arrays.fill(nan, Float.NaN);
      int[] noPrice = new int[cands.size()];
      Arrays.fill(noPrice, -1);
      Predictions forward =
          reference.predict(
              trained,
              new TrainingBatch(
                  users,
                  group,
                  c,
                  new TrainingBatch.Labels(nan, nan.clone(), nan.clone(), noPrice)));
      Predictions untrained = reference.scoreUnsplit(initial, users, group, c);
      for (int i = 0; i < cands.size(); i++) {
        assertThat(s.click()[i]).isCloseTo(unsplit.click()[i], within(1e-5));
        assertThat(s.conversion()[i]).isCloseTo(unsplit.conversion()[i], within(1e-5));
        assertThat(s.order()[i]).isCloseTo(unsplit.order()[i], within(1e-5));
        assertThat(s.click()[i]).isCloseTo(forward.click()[i], within(1e-5));
        assertThat(s.conversion()[i]).isCloseTo(forward.conversion()[i], within(1e-5));
        assertThat(s.order()[i]).isCloseTo(forward.order()[i], within(1e-5));
        assertThat(s.ranking()[i])
            .isCloseTo(s.click()[i] * Math.pow(s.conversion()[i], alpha), within(1e-12));
        maxGapToInitial = Math.max(maxGapToInitial, Math.abs(s.click()[i] - untrained.click()[i]));
      }
    }
    // the served parameters are the trained ones, not a fresh initialisation
    assertThat(maxGapToInitial).isGreaterThan(1e-3);
  }
}
