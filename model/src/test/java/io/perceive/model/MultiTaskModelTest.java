package io.perceive.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.core.ParameterSet;
import io.perceive.model.sharing.SharingMode;
import io.perceive.model.testing.GradientCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class MultiTaskModelTest {

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void wholeModelGradientsMatchFiniteDifferences(SharingMode mode) {
    ModelConfig cfg =
        ModelFixtures.small(mode)
            .set(ModelConfig.KL_WEIGHT, 0.7)
            .set(ModelConfig.PAIRWISE_WEIGHT, 0.5)
            .set(ModelConfig.PRICE_WEIGHT, 0.3)
            .build();
    checkGradients(cfg, 21);
  }

  @Test
  void esmmGradientsMatchFiniteDifferences() {
    ModelConfig cfg =
        ModelFixtures.small(SharingMode.MMOE)
            .set(ModelConfig.ESMM, true)
            .set(ModelConfig.KL_WEIGHT, 0.0)
            .build();
    checkGradients(cfg, 22);
  }

  @Test
  void withoutTheMissingValueLayerGradientsMatchAndNoFillIsLearned() {
    ModelConfig cfg =
        ModelFixtures.small(SharingMode.SHARED_BOTTOM)
            .set(ModelConfig.MISSING_VALUE_LAYER, false)
            .build();
    checkGradients(cfg, 24);
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.DOUBLE);
    // the serving path (encodeUser + chunked score) agrees with the training forward without it
    TrainingBatch batch = ModelFixtures.randomBatch(cfg, 3, 7, 25, DataType.DOUBLE);
    double[] trained = m.predict(p, batch).click();
    double[] served =
        m.score(p, m.encodeUser(p, batch.users()), batch.group(), batch.candidates()).click();
    for (int i = 0; i < trained.length; i++)
      assertThat(served[i]).isCloseTo(trained[i], org.assertj.core.data.Offset.offset(1e-9));
    assertThat(p.denseSpecs().keySet()).noneMatch(n -> n.endsWith("/fill"));
    ParameterSet on =
        new MultiTaskModel(ModelFixtures.small(SharingMode.SHARED_BOTTOM).build())
            .initialise(DataType.DOUBLE);
    assertThat(on.denseSpecs().keySet()).anyMatch(n -> n.endsWith("/fill"));
  }

  @Test
  void withoutTheSequenceGradientsMatchAndScoresIgnoreTheBehaviours() {
    ModelConfig cfg =
        ModelFixtures.small(SharingMode.MMOE).set(ModelConfig.SEQUENCE_ENABLED, false).build();
    checkGradients(cfg, 23);
    // the behaviours no longer reach the scores: two batches that differ only in their
    // sequences score the same
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.DOUBLE);
    TrainingBatch a = ModelFixtures.randomBatch(cfg, 2, 4, 3, DataType.DOUBLE);
    TrainingBatch b = ModelFixtures.randomBatch(cfg, 2, 4, 4, DataType.DOUBLE);
    TrainingBatch.Users mixed =
        new TrainingBatch.Users(
            b.users().sequence(), a.users().userIds(), a.users().profile(), a.users().scenes());
    assertThat(m.encodeUser(p, mixed).vector().dup().data().asDouble())
        .containsExactly(m.encodeUser(p, a.users()).vector().dup().data().asDouble());
    // control: with the sequence on, the same two batches differ
    ModelConfig on = ModelFixtures.small(SharingMode.MMOE).build();
    MultiTaskModel withSeq = new MultiTaskModel(on);
    ParameterSet q = withSeq.initialise(DataType.DOUBLE);
    assertThat(withSeq.encodeUser(q, mixed).vector().dup().data().asDouble())
        .isNotEqualTo(withSeq.encodeUser(q, a.users()).vector().dup().data().asDouble());
  }

  private static void checkGradients(ModelConfig cfg, long seed) {
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.DOUBLE);
    TrainingBatch batch = ModelFixtures.randomBatch(cfg, 4, 11, seed, DataType.DOUBLE);
    Losses l = m.evaluate(p, batch);
    assertThat(l.click()).isPositive();
    assertThat(l.pairwise()).isPositive();
    assertThat(l.price()).isPositive();
    if (!cfg.esmm()) assertThat(l.klBound()).isPositive();
    GradientCheck.check(
        p,
        q -> {
          m.enforceStructure(q); // the structurally zero LSTM block is not a free parameter
          return m.evaluate(q, batch).total();
        },
        q -> m.forwardBackward(q, batch).gradients(),
        6,
        seed);
  }

  /**
   * One minibatch in FLOAT (the vectorised float LSTM and attention code, rational tanh/sigmoid)
   * against DOUBLE (exact exp, the precision of the gradient checks): losses, predictions and every
   * gradient, dense and sparse, agree to float precision. Window 12 with bptt 12 so the LSTM's
   * recurrence is long enough for rounding to compound.
   */
  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void floatMinibatchAgreesWithDouble(SharingMode mode) {
    ModelConfig cfg =
        ModelFixtures.small(mode)
            .set(ModelConfig.ATTENTION_WINDOW, 12)
            .set(ModelConfig.BPTT_STEPS, 12)
            .build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet pd = m.initialise(DataType.DOUBLE), pf = pd.castTo(DataType.FLOAT);
    TrainingBatch bd = ModelFixtures.randomBatch(cfg, 5, 15, 21, DataType.DOUBLE);
    TrainingBatch bf = ModelFixtures.randomBatch(cfg, 5, 15, 21, DataType.FLOAT);
    MultiTaskModel.StepResult d = m.forwardBackward(pd, bd), f = m.forwardBackward(pf, bf);
    assertThat(f.losses().total())
        .isCloseTo(d.losses().total(), within(1e-5 * Math.abs(d.losses().total())));
    for (int i = 0; i < bd.samples(); i++)
      assertThat(f.predictions().click()[i]).isCloseTo(d.predictions().click()[i], within(1e-5));
    INDArray gd = d.gradients().flat(), gf = f.gradients().flat().castTo(DataType.DOUBLE);
    double scale = gd.amaxNumber().doubleValue();
    assertThat(scale).isPositive();
    for (String name : pd.denseSpecs().keySet()) {
      double diff =
          d.gradients()
              .get(name)
              .sub(f.gradients().get(name).castTo(DataType.DOUBLE))
              .amaxNumber()
              .doubleValue();
      assertThat(diff).as(name).isLessThan(1e-4 * scale);
    }
    assertThat(f.gradients().squaredNorm())
        .isCloseTo(d.gradients().squaredNorm(), within(1e-4 * d.gradients().squaredNorm()));
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void splitScoresEqualUnsplitForward(SharingMode mode) {
    for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
      ModelConfig cfg = ModelFixtures.small(mode).build();
      MultiTaskModel m = new MultiTaskModel(cfg);
      ParameterSet p = m.initialise(type);
      TrainingBatch b = ModelFixtures.randomBatch(cfg, 3, 12, 5, type);
      MultiTaskModel.UserRepresentation u = m.encodeUser(p, b.users());
      Predictions split = m.score(p, u, b.group(), b.candidates());
      Predictions unsplit = m.scoreUnsplit(p, b.users(), b.group(), b.candidates());
      Predictions training = m.forwardBackward(p, b).predictions();
      Predictions predicted = m.predict(p, b);
      double tol = type == DataType.DOUBLE ? 1e-6 : 1e-5;
      for (int i = 0; i < b.samples(); i++) {
        assertThat(split.click()[i]).isCloseTo(unsplit.click()[i], within(tol));
        assertThat(split.conversion()[i]).isCloseTo(unsplit.conversion()[i], within(tol));
        assertThat(split.order()[i]).isCloseTo(unsplit.order()[i], within(tol));
        assertThat(training.click()[i]).isCloseTo(split.click()[i], within(tol));
        assertThat(predicted.order()[i]).isCloseTo(split.order()[i], within(tol));
      }
    }
  }

  /**
   * Scoring runs in chunks of {@link io.perceive.model.sharing.SharingBlock#INFERENCE_CHUNK} rows
   * through per-thread work arrays: across chunk boundaries it must equal the training forward, and
   * a representation or score returned earlier must not change when the thread encodes and scores
   * another batch (the work arrays are reused, nothing returned may point into them).
   */
  @Test
  void chunkedScoringEqualsTrainingForwardAndKeepsEarlierResults() {
    for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
      ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
      MultiTaskModel m = new MultiTaskModel(cfg);
      ParameterSet p = m.initialise(type);
      int samples = 2 * io.perceive.model.sharing.SharingBlock.INFERENCE_CHUNK + 88;
      TrainingBatch b = ModelFixtures.randomBatch(cfg, 3, samples, 21, type);
      MultiTaskModel.UserRepresentation u = m.encodeUser(p, b.users());
      double[] vector = u.vector().castTo(DataType.DOUBLE).data().asDouble();
      Predictions first = m.score(p, u, b.group(), b.candidates());
      Predictions training = m.forwardBackward(p, b).predictions();
      double tol = type == DataType.DOUBLE ? 1e-6 : 1e-5;
      assertThat(first.size()).isEqualTo(samples);
      for (int i = 0; i < samples; i++) {
        assertThat(first.click()[i]).isCloseTo(training.click()[i], within(tol));
        assertThat(first.conversion()[i]).isCloseTo(training.conversion()[i], within(tol));
        assertThat(first.order()[i]).isCloseTo(training.order()[i], within(tol));
      }
      TrainingBatch other = ModelFixtures.randomBatch(cfg, 2, 300, 22, type);
      MultiTaskModel.UserRepresentation v = m.encodeUser(p, other.users());
      m.score(p, v, other.group(), other.candidates());
      assertThat(u.vector().castTo(DataType.DOUBLE).data().asDouble()).containsExactly(vector);
      Predictions again = m.score(p, u, b.group(), b.candidates());
      assertThat(again.click()).containsExactly(first.click());
      assertThat(again.order()).containsExactly(first.order());
    }
  }

  @Test
  void scoresManyCandidatesForOneUser() {
    ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch one = ModelFixtures.randomBatch(cfg, 1, 40, 8, DataType.FLOAT);
    MultiTaskModel.UserRepresentation u = m.encodeUser(p, one.users());
    Predictions s = m.score(p, u, one.candidates());
    Predictions ref = m.scoreUnsplit(p, one.users(), one.group(), one.candidates());
    assertThat(s.size()).isEqualTo(40);
    for (int i = 0; i < 40; i++) {
      assertThat(s.click()[i]).isBetween(0.0, 1.0).isCloseTo(ref.click()[i], within(1e-5));
      assertThat(s.order()[i]).isCloseTo(ref.order()[i], within(1e-5));
    }
    assertThat(u.pricePreference(0)).hasSize(3);
    assertThat(java.util.Arrays.stream(u.pricePreference(0)).sum()).isCloseTo(1, within(1e-6));
  }

  @Test
  void defaultSizesTrainAndScore() {
    ModelConfig cfg = ModelConfig.defaults();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch b = ModelFixtures.randomBatch(cfg, 4, 16, 9, DataType.FLOAT);
    MultiTaskModel.StepResult r = m.forwardBackward(p, b);
    assertThat(r.losses().total()).isFinite().isPositive();
    assertThat(r.gradients().squaredNorm()).isFinite().isPositive();
    Predictions s = m.score(p, m.encodeUser(p, b.users()), b.group(), b.candidates());
    for (int i = 0; i < b.samples(); i++)
      assertThat(s.click()[i]).isCloseTo(r.predictions().click()[i], within(1e-5));
  }

  @Test
  void initialisationIsSeedDeterministic() {
    ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
    ParameterSet a = new MultiTaskModel(cfg).initialise(DataType.FLOAT);
    ParameterSet b = new MultiTaskModel(cfg).initialise(DataType.FLOAT);
    ParameterSet c =
        new MultiTaskModel(cfg.toBuilder().set(ModelConfig.SEED, 43L).build())
            .initialise(DataType.FLOAT);
    assertThat(a.flat()).isEqualTo(b.flat());
    assertThat(a.table(MultiTaskModel.ITEM_TABLE).weights())
        .isEqualTo(b.table(MultiTaskModel.ITEM_TABLE).weights());
    assertThat(a.flat()).isNotEqualTo(c.flat());
    assertThat(a.tables().keySet())
        .containsExactly(
            "emb/item",
            "emb/shop",
            "emb/brand",
            "emb/category",
            "emb/behaviour_type",
            "emb/scene",
            "emb/time_gap",
            "emb/user");
    assertThat(a.denseSpecs().keySet())
        .contains(
            "tower_click/out/W",
            "gate_order/W_user",
            "gate_order/W_item",
            "expert_2/W_user",
            "profile/fill",
            "item_features/fill",
            "price/W");
  }

  @Test
  void gateUtilisationIsReportedPerTask() {
    ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    MultiTaskModel.StepResult r =
        m.forwardBackward(p, ModelFixtures.randomBatch(cfg, 3, 9, 2, DataType.FLOAT));
    assertThat(r.gateMeans()).hasNumberOfRows(3);
    for (double[] g : r.gateMeans())
      assertThat(java.util.Arrays.stream(g).sum()).isCloseTo(1, within(1e-5));
  }

  @Test
  void badInputGetsAClearError() {
    ModelConfig cfg = ModelFixtures.small(SharingMode.MMOE).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch b = ModelFixtures.randomBatch(cfg, 2, 4, 3, DataType.FLOAT);
    TrainingBatch.Users badScene =
        new TrainingBatch.Users(
            b.users().sequence(), b.users().userIds(), b.users().profile(), new int[] {0, 99});
    assertThatThrownBy(() -> m.encodeUser(p, badScene)).hasMessageContaining("scene code 99");
    TrainingBatch.Candidates none =
        new TrainingBatch.Candidates(
            new long[0], new long[0], new long[0], new long[0], new float[0]);
    assertThat(m.score(p, m.encodeUser(p, b.users()), new int[0], none).size()).isZero();
    assertThatThrownBy(
            () ->
                new TrainingBatch(
                    b.users(),
                    new int[0],
                    none,
                    new TrainingBatch.Labels(new float[0], new float[0], new float[0], new int[0])))
        .hasMessageContaining("at least one sample");
    assertThatThrownBy(
            () -> new TrainingBatch(b.users(), new int[] {0, 1, 2, 0}, b.candidates(), b.labels()))
        .hasMessageContaining("group 2");
    TrainingBatch.Labels badLabel =
        new TrainingBatch.Labels(
            new float[] {0.5f, 0, 0, 0},
            b.labels().conversion(),
            b.labels().order(),
            b.labels().priceLevel());
    assertThatThrownBy(
            () ->
                m.forwardBackward(
                    p, new TrainingBatch(b.users(), b.group(), b.candidates(), badLabel)))
        .hasMessageContaining("not 0/1/NaN");
  }
}
