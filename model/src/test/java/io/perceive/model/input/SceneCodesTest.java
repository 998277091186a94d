package io.perceive.model.input;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SceneCodesTest {

  @Test
  void nameOfInvertsEveryCode() {
    for (int code = -1; code < SceneCodes.CODES; code++)
      assertThat(SceneCodes.of(SceneCodes.nameOf(code))).as("code %d", code).isEqualTo(code);
    assertThat(SceneCodes.nameOf(SceneCodes.of("home"))).isEqualTo("home");
    assertThat(SceneCodes.nameOf(-1)).isEmpty();
  }

  @Test
  void codesOutsideTheTableAreRefused() {
    assertThatThrownBy(() -> SceneCodes.nameOf(SceneCodes.CODES))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("outside");
    assertThatThrownBy(() -> SceneCodes.nameOf(-2)).isInstanceOf(IllegalArgumentException.class);
  }
}
