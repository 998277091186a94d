package io.perceive.cli.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A smoke run of the end-to-end benchmark driver at tiny sizes: one round at parallelism 1 and a
 * short live run. Asserts that every figure is present and positive and that the floor processed
 * the same events as the learner, not how fast anything is.
 */
class BenchE2eITCase {

  @TempDir Path dir;

  @Test
  void tinyBenchmarkReportsEveryFigure() throws Exception {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    E2eBenchmark.Options o =
        new E2eBenchmark.Options(
            1_500,
            1,
            List.of(1),
            8,
            60,
            1,
            Map.of("users", "100", "items", "500"),
            Map.of(),
            dir.resolve("work"));
    E2eBenchmark.Result r =
        new E2eBenchmark(o, new PrintStream(log, true, StandardCharsets.UTF_8)).run();

    assertThat(r.runs()).extracting(E2eBenchmark.Run::kind).containsExactly("floor", "learner");
    E2eBenchmark.Run floor = r.runs().get(0);
    E2eBenchmark.Run learner = r.runs().get(1);
    assertThat(learner.events()).isEqualTo(r.produced());
    assertThat(floor.events()).isEqualTo(learner.events());
    assertThat(floor.samples()).isEqualTo(learner.samples()).isPositive();
    for (E2eBenchmark.Run run : r.runs()) {
      assertThat(run.eventsPerSecond()).isPositive();
      assertThat(run.samplesPerSecond()).isPositive();
      assertThat(run.spanEventsPerSecond()).isPositive();
      assertThat(run.minibatches()).isPositive();
      assertThat(run.phaseNanos().get("state_access")).isPositive();
      assertThat(run.phaseNanos().get("label_joining")).isPositive();
    }
    for (String phase : List.of("forward", "backward", "optimizer", "sync_extract"))
      assertThat(learner.phaseNanos().get(phase)).as(phase).isPositive();
    assertThat(floor.phaseNanos().get("forward")).isZero();

    E2eBenchmark.Freshness f = r.freshness();
    assertThat(f).isNotNull();
    assertThat(E2eReport.total(f.total())).isPositive();
    assertThat(E2eReport.total(f.maturity())).isEqualTo(E2eReport.total(f.total()));
    assertThat(E2eReport.percentile(f.total(), 0.5)).isPositive();
    assertThat(E2eReport.percentile(f.total(), 0.99))
        .isGreaterThanOrEqualTo(E2eReport.percentile(f.total(), 0.5));

    E2eReport report = new E2eReport(r, "test");
    List<Path> files = report.write(dir.resolve("docs"), "bench");
    assertThat(files).hasSize(3);
    String md = Files.readString(dir.resolve("docs/bench.md"));
    assertThat(md).contains("learner/floor", "forward", "p50");
    assertThat(Files.readString(dir.resolve("docs/bench-freshness.svg"))).startsWith("<svg");
  }
}
