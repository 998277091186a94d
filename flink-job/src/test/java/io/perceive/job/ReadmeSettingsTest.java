package io.perceive.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.configuration.ConfigOption;
import org.junit.jupiter.api.Test;

/** The README's settings table lists every job option (so the documentation cannot fall behind). */
class ReadmeSettingsTest {

  @Test
  void everyOptionIsDocumentedInTheReadme() throws Exception {
    String readme = Files.readString(Path.of("..", "README.md"));
    for (ConfigOption<?> o : JobOptions.ALL)
      assertThat(readme).as("README documents " + o.key()).contains("| `" + o.key() + "` |");
  }
}
