package io.perceive.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.sharing.SharingMode;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.model.testing.GradientCheck;
import io.perceive.model.wide.WidePart;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** The multi-task model with its wide part on: gradients, the model split, snapshots. */
class WideAndDeepTest {

  private static ModelConfig.Builder wide(SharingMode mode) {
    return ModelFixtures.small(mode)
        .set(ModelConfig.WIDE_ENABLED, true)
        .set(ModelConfig.WIDE_BUCKETS, 128); // small: collisions occur and must sum correctly
  }

  /** Parameters with non-zero wide weights (they start at zero, which would hide mistakes). */
  private static ParameterSet params(MultiTaskModel m, DataType type, long seed) {
    ParameterSet p = m.initialise(type);
    var t = p.table(WidePart.TABLE);
    Nd4j.getRandom().setSeed(seed);
    t.weights().assign(Nd4j.randn(type, t.rows(), t.dim()).muli(0.4));
    return p;
  }

  private static void checkGradients(ModelConfig cfg, long seed) {
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = params(m, DataType.DOUBLE, seed);
    TrainingBatch batch = ModelFixtures.randomBatch(cfg, 4, 11, seed, DataType.DOUBLE);
    assertThat(m.forwardBackward(p, batch).gradients().sparse(WidePart.TABLE).size())
        .as("touched wide rows")
        .isGreaterThan(20);
    GradientCheck.check(
        p,
        q -> {
          m.enforceStructure(q);
          return m.evaluate(q, batch).total();
        },
        q -> m.forwardBackward(q, batch).gradients(),
        6,
        seed);
    // the wide table alone, more of its rows
    GradientCheck.check(
        onlyWide(p),
        q -> m.evaluate(withWide(p, q), batch).total(),
        q -> wideGradients(m, withWide(p, q), batch, q),
        40,
        seed + 1);
  }

  /** A set holding just a copy of p's wide table (for a denser check of that table). */
  private static ParameterSet onlyWide(ParameterSet p) {
    var t = p.table(WidePart.TABLE);
    ParameterSet.Builder b = ParameterSet.builder(p.dataType());
    b.table(WidePart.TABLE, t.rows(), t.dim(), 0.0);
    ParameterSet q = b.buildZeroed();
    q.table(WidePart.TABLE).weights().assign(t.weights());
    return q;
  }

  /** p with its wide table's values replaced by q's (q from {@link #onlyWide}). */
  private static ParameterSet withWide(ParameterSet p, ParameterSet q) {
    p.table(WidePart.TABLE).weights().assign(q.table(WidePart.TABLE).weights());
    return p;
  }

  private static io.perceive.model.core.Gradients wideGradients(
      MultiTaskModel m, ParameterSet full, TrainingBatch batch, ParameterSet q) {
    var all = m.forwardBackward(full, batch).gradients();
    var sr = all.sparse(WidePart.TABLE);
    io.perceive.model.core.Gradients g = q.newGradients();
    g.accumulate(WidePart.TABLE, sr.rows(), sr.values());
    return g;
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void wholeModelGradientsWithTheWidePartMatchFiniteDifferences(SharingMode mode) {
    checkGradients(
        wide(mode)
            .set(ModelConfig.KL_WEIGHT, 0.7)
            .set(ModelConfig.PAIRWISE_WEIGHT, 0.5)
            .set(ModelConfig.PRICE_WEIGHT, 0.3)
            .build(),
        31);
  }

  @Test
  void esmmGradientsWithTheWidePartMatchFiniteDifferences() {
    ModelConfig cfg =
        wide(SharingMode.MMOE).set(ModelConfig.ESMM, true).set(ModelConfig.KL_WEIGHT, 0.0).build();
    assertThat(new MultiTaskModel(cfg).initialise(DataType.FLOAT).table(WidePart.TABLE).dim())
        .as("one column per binary task logit: click, conversion")
        .isEqualTo(2);
    checkGradients(cfg, 32);
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void splitScoresEqualUnsplitForwardAndTraining(SharingMode mode) {
    for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
      ModelConfig cfg = wide(mode).build();
      MultiTaskModel m = new MultiTaskModel(cfg);
      ParameterSet p = params(m, type, 3);
      TrainingBatch b = ModelFixtures.randomBatch(cfg, 3, 12, 5, type);
      MultiTaskModel.UserRepresentation u = m.encodeUser(p, b.users());
      Predictions split = m.score(p, u, b.group(), b.candidates());
      Predictions unsplit = m.scoreUnsplit(p, b.users(), b.group(), b.candidates());
      Predictions training = m.forwardBackward(p, b).predictions();
      // control: the wide part changes the scores
      ParameterSet zero = p.copy();
      zero.table(WidePart.TABLE).weights().assign(0);
      Predictions deepOnly = m.score(zero, u, b.group(), b.candidates());
      double tol = type == DataType.DOUBLE ? 1e-6 : 1e-5;
      int differ = 0;
      for (int i = 0; i < b.samples(); i++) {
        assertThat(split.click()[i]).isCloseTo(unsplit.click()[i], within(tol));
        assertThat(split.conversion()[i]).isCloseTo(unsplit.conversion()[i], within(tol));
        assertThat(split.order()[i]).isCloseTo(unsplit.order()[i], within(tol));
        assertThat(training.click()[i]).isCloseTo(split.click()[i], within(tol));
        assertThat(training.order()[i]).isCloseTo(split.order()[i], within(tol));
        if (Math.abs(deepOnly.click()[i] - split.click()[i]) > 1e-3) differ++;
      }
      assertThat(differ).isGreaterThan(b.samples() / 2);
    }
  }

  @Test
  void snapshotRoundTripKeepsTheWidePartAndItsPredictions(@TempDir Path dir) throws Exception {
    ModelConfig cfg = wide(SharingMode.MMOE).set(ModelConfig.WIDE_HASH_SEED, 99L).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    Optimizer opt = OptimizerConfig.adagrad(0.1).create();
    opt.initialise(p);
    for (int s = 0; s < 3; s++)
      opt.step(
          p,
          m.forwardBackward(p, ModelFixtures.randomBatch(cfg, 3, 12, 40 + s, DataType.FLOAT))
              .gradients(),
          1_000 + s);
    Path f = dir.resolve("wide.snap");
    SnapshotFile.write(
        f, new Snapshot(5, 6, cfg.toProperties(), p, Optional.of(opt.exportState())));
    Snapshot s = SnapshotFile.read(f);
    ModelConfig back = ModelConfig.fromProperties(s.modelConfig());
    assertThat(back).isEqualTo(cfg);
    MultiTaskModel m2 = new MultiTaskModel(back);
    ParameterSet q = m2.initialise(DataType.FLOAT);
    s.copyInto(q);
    assertThat(q.table(WidePart.TABLE).lastUpdate()).contains(1_002L);
    TrainingBatch b = ModelFixtures.randomBatch(cfg, 3, 12, 77, DataType.FLOAT);
    assertThat(m2.predict(q, b).click()).containsExactly(m.predict(p, b).click());
    assertThat(m2.predict(q, b).order()).containsExactly(m.predict(p, b).order());
    // a config that enables no wide part does not fit a snapshot that has one
    ParameterSet deep =
        new MultiTaskModel(cfg.toBuilder().set(ModelConfig.WIDE_ENABLED, false).build())
            .initialise(DataType.FLOAT);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.copyInto(deep))
        .isInstanceOf(RuntimeException.class);
  }

  @Test
  void theWidePartLeavesTheDeepInitialisationAloneAndStartsAtZero() {
    ModelConfig off = ModelFixtures.small(SharingMode.MMOE).build();
    ModelConfig on = wide(SharingMode.MMOE).build();
    ParameterSet a = new MultiTaskModel(off).initialise(DataType.FLOAT);
    ParameterSet b = new MultiTaskModel(on).initialise(DataType.FLOAT);
    assertThat(b.flat().equals(a.flat())).isTrue();
    for (var t : a.tables().values())
      assertThat(b.table(t.name()).weights().equals(t.weights())).as(t.name()).isTrue();
    assertThat(b.table(WidePart.TABLE).weights().sumNumber().doubleValue()).isZero();
    assertThat(b.table(WidePart.TABLE).weights().amaxNumber().doubleValue()).isZero();
    // so an untrained wide part predicts what the deep model alone predicts
    TrainingBatch batch = ModelFixtures.randomBatch(on, 2, 6, 1, DataType.FLOAT);
    assertThat(new MultiTaskModel(on).predict(b, batch).click())
        .containsExactly(new MultiTaskModel(off).predict(a, batch).click());
  }
}
