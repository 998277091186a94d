package io.perceive.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.sharing.SharingMode;
import io.perceive.model.wide.WideCross;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ModelConfigTest {

  @Test
  void defaultsAreDesignSizes() {
    ModelConfig c = ModelConfig.defaults();
    assertThat(c.itemEmbeddingWidth()).isEqualTo(64);
    assertThat(c.userRepresentationWidth()).isEqualTo(256);
    assertThat(c.queryWidth()).isEqualTo(132);
    assertThat(c.get(ModelConfig.ATTENTION_WINDOW)).isEqualTo(32);
    assertThat(c.get(ModelConfig.USER_DIM)).isEqualTo(64);
    assertThat(c.sharingMode()).isEqualTo(SharingMode.MMOE);
  }

  @Test
  void propertiesRoundTrip() {
    ModelConfig c =
        ModelFixtures.small(SharingMode.OMOE)
            .set(ModelConfig.ESMM, true)
            .set(ModelConfig.KL_WEIGHT, 0.0)
            .set(ModelConfig.SEED, -7L)
            .set(ModelConfig.WIDE_ENABLED, true)
            .set(ModelConfig.WIDE_BUCKETS, 1 << 12)
            .set(ModelConfig.WIDE_CROSSES, WideCross.parseList("user_category,user"))
            .set(ModelConfig.WIDE_HASH_SEED, -3L)
            .set(ModelConfig.WIDE_PER_SAMPLE_STEPS, false)
            .set(
                ModelConfig.ITEM_FEATURES,
                ModelConfig.parseFeatures("x", "price:log1p,a:standard:1.5:0.25,b:none"))
            .build();
    Map<String, String> props = c.toProperties();
    assertThat(props).containsEntry(ModelConfig.VERSION_KEY, "3");
    ModelConfig back = ModelConfig.fromProperties(props);
    assertThat(back).isEqualTo(c);
    assertThat(back.toProperties()).isEqualTo(props);
    assertThat(back.itemFeatures()).isEqualTo(c.itemFeatures());
    assertThat(back.get(ModelConfig.WIDE_CROSSES))
        .containsExactly(WideCross.USER_CATEGORY, WideCross.USER);
    assertThat(ModelConfig.fromProperties(Map.of())).isEqualTo(ModelConfig.defaults());
    assertThat(ModelConfig.fromProperties(Map.of("user.profile_features", "")).profileFeatures())
        .isEmpty();
  }

  @Test
  void aVersionOneConfigMeansTheModelWithoutTheInteractionTerm() {
    ModelConfig old = ModelConfig.fromProperties(Map.of(ModelConfig.VERSION_KEY, "1"));
    assertThat(old.get(ModelConfig.INTERACTION)).isFalse();
    assertThat(ModelConfig.defaults().get(ModelConfig.INTERACTION)).isTrue();
    assertThat(ModelConfig.fromProperties(ModelConfig.defaults().toProperties()))
        .isEqualTo(ModelConfig.defaults());
  }

  @Test
  void versionOneAndTwoConfigsMeanTheModelWithoutTheWidePart() {
    for (String v : new String[] {"1", "2"}) {
      ModelConfig old = ModelConfig.fromProperties(Map.of(ModelConfig.VERSION_KEY, v));
      assertThat(old.get(ModelConfig.WIDE_ENABLED)).as("version " + v).isFalse();
    }
    ModelConfig on = ModelConfig.defaults().toBuilder().set(ModelConfig.WIDE_ENABLED, true).build();
    assertThat(ModelConfig.fromProperties(on.toProperties()).get(ModelConfig.WIDE_ENABLED))
        .isTrue();
  }

  @Test
  void refusesUnknownKeysVersionsAndBadValues() {
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("wide.buckets", "1000")))
        .hasMessageContaining("wide.buckets must be a power of two");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("wide.crosses", "user,shop")))
        .hasMessageContaining("unknown wide cross 'shop'");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("wide.crosses", "")))
        .hasMessageContaining("wide.crosses must be a non-empty list");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("sharing.exprets", "4")))
        .hasMessageContaining("unknown model config key sharing.exprets");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of(ModelConfig.VERSION_KEY, "4")))
        .hasMessageContaining("version 4 is not supported");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("sharing.experts", "1")))
        .hasMessageContaining("sharing.experts must be >= 2");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("task.kl.weight", "abc")))
        .hasMessageContaining("task.kl.weight: cannot parse");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("task.kl.weight", "-1")))
        .hasMessageContaining("finite and >= 0");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("item.features", "price:sqrt")))
        .hasMessageContaining("unknown normalisation sqrt");
    Map<String, String> esmmWithKl = new LinkedHashMap<>();
    esmmWithKl.put("task.esmm", "true");
    assertThatThrownBy(() -> ModelConfig.fromProperties(esmmWithKl))
        .hasMessageContaining("task.kl.weight must be 0 with task.esmm");
    assertThatThrownBy(() -> ModelConfig.fromProperties(Map.of("sequence.bptt_steps", "40")))
        .hasMessageContaining("<= sequence.window");
  }

  @Test
  void everyOptionIsDocumented() {
    for (ModelConfig.Option<?> o : ModelConfig.options())
      assertThat(o.description()).as(o.key()).isNotBlank();
    String table = ModelConfig.markdownTable();
    assertThat(table).contains("| `sharing.mode` | `MMOE` |");
    System.out.println(table);
  }
}
