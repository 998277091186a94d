package io.perceive.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo end to end on a small world: real embedded broker, local Flink cluster with RocksDB, the
 * real model. The job must learn (click AUC clearly above chance, approaching the oracle) and the
 * report's counts must match what was produced.
 */
class DemoITCase {

  @TempDir Path out;

  @Test
  @SuppressWarnings("unchecked")
  void learnsOnASmallWorldAndTheReportAccountsForEveryEvent() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Demo.Result r =
        Demo.run(
            List.of(
                // a small world with a strong position effect, so 60k events show learning
                "--events",
                "60000",
                "--world-users",
                "200",
                "--world-items",
                "1000",
                "--world-position_bias",
                "1.2",
                "--seed",
                "7",
                "--out",
                out.toString(),
                "--ui-port",
                "0",
                "--quiet"),
            new PrintStream(buf, true));
    System.out.println(buf);
    Map<String, Object> report = r.report();
    assertThat(Files.exists(out.resolve("report.json"))).isTrue();
    assertThat(Files.exists(out.resolve("report.html"))).isTrue();
    Map<String, Long> c = r.counts();
    // every produced event is accounted for: applied, duplicate or invalid
    assertThat(c.get("events_in") + c.get("duplicates") + c.getOrDefault("invalid", 0L))
        .isEqualTo(r.produced());
    assertThat(c.get("duplicates")).isPositive(); // the world delivers some twice
    Map<String, Object> tasks = (Map<String, Object>) report.get("tasks");
    Map<String, Object> click = (Map<String, Object>) tasks.get("click");
    double auc = ((Number) click.get("auc")).doubleValue();
    double oracle = ((Number) click.get("oracle_auc")).doubleValue();
    // Measured 0.689 against an oracle of 0.842 on this world (docs/streaming-learner.md); the gap
    // is the open learning-quality problem, so the bounds say "clearly learning", not "at the
    // oracle".
    assertThat(auc).as("click AUC").isGreaterThan(0.6);
    assertThat(oracle - auc).as("gap to the oracle").isLessThan(0.25);
    // one click row per impression
    assertThat(((Number) click.get("samples")).longValue()).isEqualTo(c.get("click_rows"));
    assertThat(((Number) report.get("model_version")).longValue()).isPositive();
    assertThat(((Number) report.get("snapshots")).intValue()).isPositive();
  }
}
