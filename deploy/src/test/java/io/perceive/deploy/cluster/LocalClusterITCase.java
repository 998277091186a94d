package io.perceive.deploy.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The multi-process cluster drill ({@link ClusterDrill}) as an integration test. Runs only with
 * {@code mvn -B -pl deploy -am verify -Pcluster} (several minutes, four extra JVMs).
 */
class LocalClusterITCase {

  @Test
  void survivesATaskManagerKillAndARescaleFromSavepointWithNothingLostOrDuplicated()
      throws Exception {
    Path module = Path.of("").toAbsolutePath();
    ClusterDrill.Report r =
        ClusterDrill.run(
            new ClusterDrill.Options(
                module.getParent(),
                module.resolve("target/cluster-drill"),
                30_000,
                400,
                2,
                3,
                Duration.ofMinutes(15),
                Duration.ZERO,
                Duration.ZERO),
            System.out);
    System.out.println("figures: " + r.figures());
    assertThat(r.problems()).isEmpty();
    assertThat(number(r, "impressions_without_row")).isZero();
    assertThat(number(r, "click_rows_duplicated")).isZero();
    assertThat(number(r, "model_version_after_restore"))
        .isGreaterThanOrEqualTo(number(r, "model_version_at_savepoint"));
  }

  private static long number(ClusterDrill.Report r, String name) {
    return ((Number) r.figures().get(name)).longValue();
  }
}
