package io.perceive.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.sharing.SharingMode;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The committed golden snapshot of a small full {@link MultiTaskModel} (MMoE, format version 1,
 * with Adam state) and the predictions it made when written: today's reader and model must rebuild
 * the model from the stored configuration, load the parameters and predict the same. The input
 * batch is {@code ModelFixtures.randomBatch(cfg, 3, 12, 5, FLOAT)}; if that fixture changes,
 * regenerate with this class's {@code main} under a new file name and keep the old file and its
 * test as the previous version's golden fixture. It was written by a version-1 configuration, which
 * predates the interaction term: it also proves that old snapshots keep loading.
 */
class GoldenModelSnapshotTest {

  static final String SNAPSHOT = "src/test/resources/golden/model-v1.snap";
  static final String PREDICTIONS = "src/test/resources/golden/model-v1-predictions.csv";

  private static TrainingBatch batch(ModelConfig cfg) {
    return ModelFixtures.randomBatch(cfg, 3, 12, 5, DataType.FLOAT);
  }

  /** Writes the fixture (run from {@code model/} with the test class path); see the class doc. */
  public static void main(String[] args) throws Exception {
    ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    Optimizer adam = OptimizerConfig.adam(0.01).create();
    adam.initialise(p);
    for (int s = 0;
        s < 3;
        s++) // a few steps so that parameters, moments and row stamps are not trivial
    adam.step(
          p,
          m.forwardBackward(p, ModelFixtures.randomBatch(cfg, 3, 12, 100 + s, DataType.FLOAT))
              .gradients(),
          1_700_000_000_000L + s);
    SnapshotFile.write(
        Paths.get(SNAPSHOT),
        new Snapshot(
            3, 1_764_000_000_000L, cfg.toProperties(), p, Optional.of(adam.exportState())));
    Predictions pr = m.predict(p, batch(cfg));
    StringBuilder csv = new StringBuilder("click,conversion,order\n");
    for (int i = 0; i < pr.size(); i++)
      csv.append(
          String.format(
              Locale.ROOT, "%.9f,%.9f,%.9f%n", pr.click()[i], pr.conversion()[i], pr.order()[i]));
    Files.writeString(Paths.get(PREDICTIONS), csv.toString());
  }

  @Test
  void goldenModelLoadsAndPredictsAsWhenWritten() throws Exception {
    Snapshot s = SnapshotFile.read(Paths.get(SNAPSHOT));
    assertThat(s.modelVersion()).isEqualTo(3);
    ModelConfig cfg = ModelConfig.fromProperties(s.modelConfig());
    assertThat(cfg.sharingMode()).isEqualTo(SharingMode.MMOE);
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    s.copyInto(p); // checks the layout the configuration builds against the stored one
    assertThat(p.table(MultiTaskModel.ITEM_TABLE).lastUpdate()).contains(1_700_000_000_002L);
    assertThat(Optimizer.restore(p, s.optimizerState().orElseThrow()).steps()).isEqualTo(3);
    Predictions pr = m.predict(p, batch(cfg));
    List<String> lines = Files.readAllLines(Paths.get(PREDICTIONS));
    assertThat(lines).hasSize(pr.size() + 1);
    for (int i = 0; i < pr.size(); i++) {
      String[] f = lines.get(i + 1).split(",");
      assertThat(pr.click()[i]).as("click %d", i).isCloseTo(Double.parseDouble(f[0]), within(1e-6));
      assertThat(pr.conversion()[i])
          .as("conversion %d", i)
          .isCloseTo(Double.parseDouble(f[1]), within(1e-6));
      assertThat(pr.order()[i]).as("order %d", i).isCloseTo(Double.parseDouble(f[2]), within(1e-6));
    }
  }
}
