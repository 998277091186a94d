package io.perceive.model.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.ModelConfig;
import io.perceive.model.TrainingBatch;
import io.perceive.model.layers.MissingValueLayer.Feature;
import io.perceive.model.layers.SequenceInput;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InputBuilderTest {

  private static final ModelConfig CFG =
      ModelConfig.builder()
          .set(ModelConfig.ATTENTION_WINDOW, 4)
          .set(ModelConfig.BPTT_STEPS, 4)
          .set(ModelConfig.LSTM_HIDDEN, 3)
          .set(
              ModelConfig.PROFILE_FEATURES,
              List.of(Feature.raw("age"), Feature.raw("activity_clicks")))
          .set(ModelConfig.ITEM_FEATURES, List.of(Feature.raw("price"), Feature.raw("rating")))
          .build();

  private static BehaviourRecord behaviour(long item, long timeMs) {
    return new BehaviourRecord(item, item + 100, -1, 7, BehaviourTypes.of("click"), 6, timeMs);
  }

  @Test
  void shortWindowIsLeftPaddedAndAgesAreMeasuredAtTheRequest() {
    long now = 1_000_000;
    UserInput u =
        new UserInput(
            42,
            new float[] {1, 2, 3},
            new float[] {4, 5, 6},
            List.of(behaviour(10, now - 5_000), behaviour(11, now + 10)),
            Map.of("activity_clicks", 3.0),
            SceneCodes.of("home"),
            now);
    TrainingBatch.Users users = new InputBuilder(CFG).users(List.of(u));
    SequenceInput s = users.sequence();
    assertThat(s.steps()).isEqualTo(4);
    assertThat(s.mask()).containsExactly(0f, 0f, 1f, 1f);
    assertThat(s.itemIds()).containsExactly(-1, -1, 10, 11);
    assertThat(s.shopIds()).containsExactly(-1, -1, 110, 111);
    assertThat(s.brandIds()).containsExactly(-1, -1, -1, -1);
    assertThat(s.behaviourTypes()).containsExactly(-1, -1, 1, 1);
    assertThat(s.scenes()).containsExactly(-1, -1, 6, 6);
    // 5 s old → octave 3; a behaviour stamped after the request counts as age 0
    assertThat(s.timeGapBuckets()).containsExactly(-1, -1, 3, 0);
    assertThat(s.h0().toFloatVector()).containsExactly(1, 2, 3);
    assertThat(s.c0().toFloatVector()).containsExactly(4, 5, 6);
    assertThat(users.userIds()).containsExactly(42);
    assertThat(users.scenes()).containsExactly(6);
    assertThat(users.profile()).containsExactly(Float.NaN, 3f); // model order, absent = NaN
  }

  @Test
  void longWindowKeepsTheNewestBehavioursAndFreshUsersStartFromZeros() {
    List<BehaviourRecord> w = new ArrayList<>();
    for (int i = 0; i < 6; i++) w.add(behaviour(i, 1_000L * i));
    UserInput u = new UserInput(-1, null, null, w, null, -1, 10_000);
    SequenceInput s = new InputBuilder(CFG).users(List.of(u, u)).sequence();
    assertThat(s.groups()).isEqualTo(2);
    assertThat(s.itemIds()).containsExactly(2, 3, 4, 5, 2, 3, 4, 5);
    assertThat(s.h0().ravel().toFloatVector()).containsOnly(0f);
  }

  @Test
  void candidateFeaturesFollowTheModelsFeatureNames() {
    TrainingBatch.Candidates c =
        new InputBuilder(CFG)
            .candidates(
                List.of(
                    new CandidateInput(1, 2, 3, 4, Map.of("rating", 4.5, "price", 9.0)),
                    new CandidateInput(5, -1, -1, -1, Map.of("colour", 1.0))));
    assertThat(c.itemIds()).containsExactly(1, 5);
    assertThat(c.shopIds()).containsExactly(2, -1);
    assertThat(c.features()).containsExactly(9f, 4.5f, Float.NaN, Float.NaN);
  }

  @Test
  void affinityFeaturesComeFromTheUsersWindowAsTheEncoderSeesIt() {
    ModelConfig cfg =
        CFG.toBuilder()
            .set(
                ModelConfig.ITEM_FEATURES,
                List.of(
                    Feature.raw("affinity_category"),
                    Feature.raw("affinity_session_category"),
                    Feature.raw("affinity_item"),
                    Feature.raw("price")))
            .build();
    long now = 10 * InputBuilder.SESSION_MS;
    // window of 5, the encoder sees the newest 4: items 1 (cat 7, old), 2 (cat 8), 3 (cat 7), 3
    List<BehaviourRecord> w =
        List.of(
            new BehaviourRecord(9, -1, -1, 7, 1, 0, 0), // falls out of T = 4
            new BehaviourRecord(1, -1, -1, 7, 1, 0, now - 2 * InputBuilder.SESSION_MS),
            new BehaviourRecord(2, -1, -1, 8, 1, 0, now - 1000),
            new BehaviourRecord(3, -1, -1, 7, 1, 0, now - 500),
            new BehaviourRecord(3, -1, -1, 7, 2, 0, now - 100));
    UserInput history = new UserInput(1, null, null, w, null, 0, now);
    UserInput fresh = new UserInput(2, null, null, List.of(), null, 0, now);
    List<CandidateInput> cands =
        List.of(
            new CandidateInput(3, -1, -1, 7, Map.of("price", 5.0, "affinity_item", 99.0)),
            new CandidateInput(9, -1, -1, 8, Map.of()),
            new CandidateInput(4, -1, -1, 7, Map.of()));
    TrainingBatch.Candidates c =
        new InputBuilder(cfg).candidates(cands, List.of(history, fresh), new int[] {0, 0, 1});
    assertThat(c.features())
        .containsExactly(
            0.75f, 2f, 2f, 5f, // 3 of 4 in category 7, 2 of them in the session, item 3 twice
            0.25f, 1f, 0f, Float.NaN, // item 9 left the window: it does not count
            Float.NaN, Float.NaN, Float.NaN, Float.NaN); // no history: missing, never made up
    // without user context the affinities are missing (never read from the candidate's map)
    assertThat(new InputBuilder(cfg).candidates(cands.subList(0, 1)).features())
        .containsExactly(Float.NaN, Float.NaN, Float.NaN, 5f);
    assertThat(new InputBuilder(cfg).candidates(history, cands.subList(0, 1)).features())
        .containsExactly(0.75f, 2f, 2f, 5f);
    assertThatThrownBy(() -> new InputBuilder(cfg).candidates(cands, List.of(history), new int[1]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("group");
  }

  @Test
  void refusesStatesAndCodesTheModelCannotTake() {
    InputBuilder b = new InputBuilder(CFG);
    UserInput wrongWidth = new UserInput(1, new float[2], new float[2], List.of(), null, 0, 0);
    assertThatThrownBy(() -> b.users(List.of(wrongWidth)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("width 2")
        .hasMessageContaining("model's is 3");
    UserInput badType =
        new UserInput(
            1, null, null, List.of(new BehaviourRecord(1, 1, 1, 1, 99, 0, 0)), null, 0, 0);
    assertThatThrownBy(() -> b.users(List.of(badType)))
        .hasMessageContaining("behaviour type code 99");
    assertThatThrownBy(() -> BehaviourTypes.of("wink")).hasMessageContaining("unknown");
  }

  @Test
  void sceneCodesMatchTheJobsVocabulary() {
    assertThat(SceneCodes.of("search")).isZero();
    assertThat(SceneCodes.of(" Home ")).isEqualTo(6);
    assertThat(SceneCodes.of("")).isEqualTo(-1);
    int spare = SceneCodes.of("brand-new-surface");
    assertThat(spare)
        .isBetween(8, SceneCodes.CODES - 1)
        .isEqualTo(SceneCodes.of("brand-new-surface"));
    assertThat(BehaviourTypes.of("ORDER")).isEqualTo(3);
  }
}
