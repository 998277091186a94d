package io.perceive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code ./perceive serve}: listed, documented, and bad arguments are usage errors (exit 2). */
class ServeCommandTest {

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int run(String... argv) {
    out.reset();
    err.reset();
    return Main.run(
        argv,
        new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String err() {
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void helpAndUsageErrors() {
    assertThat(run("serve", "--help")).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("--snapshots DIR").contains("curl");
    assertThat(run("serve")).isEqualTo(2);
    assertThat(err()).contains("missing option --snapshots");
    assertThat(run("serve", "--snapshots", "x", "--port", "70000")).isEqualTo(2);
    assertThat(err()).contains("--port must be in [0, 65535]");
    assertThat(run("serve", "--snapshots", "x", "--alpha", "-1")).isEqualTo(2);
    assertThat(err()).contains("--alpha");
    assertThat(run("serve", "--snapshots", "x", "--colour", "red")).isEqualTo(2);
    assertThat(err()).contains("unknown option --colour");
  }
}
