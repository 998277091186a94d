package io.perceive.bench.mmoe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.sharing.SharingMode;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SyntheticTasksTest {

  @Test
  void taskVectorsHaveTheRequestedScaleAndCosine() {
    SyntheticTasks.Spec spec = new SyntheticTasks.Spec(100, 2.0, 10, 1, 1, 0.1);
    for (double p : new double[] {1.0, 0.9, 0.5, 0.0}) {
      SyntheticTasks t = new SyntheticTasks(spec, p, new Random(3));
      assertThat(Math.sqrt(SyntheticTasks.dot(t.w1, t.w1))).isCloseTo(2.0, within(1e-9));
      assertThat(Math.sqrt(SyntheticTasks.dot(t.w2, t.w2))).isCloseTo(2.0, within(1e-9));
      assertThat(SyntheticTasks.dot(t.w1, t.w2) / 4.0).isCloseTo(p, within(1e-9));
    }
    assertThatThrownBy(() -> new SyntheticTasks(spec, 1.5, new Random(1)))
        .hasMessageContaining("correlation");
  }

  @Test
  void labelCorrelationFallsWithTaskCorrelation() {
    SyntheticTasks.Spec spec = SyntheticTasks.Spec.defaults();
    double previous = 2;
    for (double p : new double[] {1.0, 0.9, 0.5, 0.0}) {
      SyntheticTasks.Data d =
          new SyntheticTasks(spec, p, new Random(5)).sample(20_000, new Random(6));
      double c = SyntheticTasks.pearson(d.y1(), d.y2());
      assertThat(c).as("p = %s", p).isLessThan(previous);
      previous = c;
    }
    SyntheticTasks.Data same =
        new SyntheticTasks(spec, 1.0, new Random(5)).sample(5_000, new Random(6));
    assertThat(SyntheticTasks.pearson(same.y1(), same.y2()))
        .isGreaterThan(0.99); // only noise differs
  }

  @Test
  void aShortRunTrainsEveryModelToAFiniteLossBelowTheLabelVariance() {
    MmoeExperiment.Settings s =
        new MmoeExperiment.Settings(
            1,
            new double[] {0.5},
            1_024,
            512,
            64,
            150,
            0.003,
            8,
            16,
            113,
            8,
            SyntheticTasks.Spec.defaults(),
            "");
    MmoeExperiment e = new MmoeExperiment(s);
    List<MmoeExperiment.Run> runs = e.runAll();
    assertThat(runs).hasSize(3);
    SyntheticTasks.Data test =
        new SyntheticTasks(s.data(), 0.5, new Random(17)).sample(5_000, new Random(18));
    double variance = (variance(test.y1()) + variance(test.y2())) / 2;
    for (MmoeExperiment.Run r : runs) {
      assertThat(r.testLoss()).as(r.mode().name()).isFinite().isPositive().isLessThan(variance);
    }
    long sb = e.parameterCount(SharingMode.SHARED_BOTTOM);
    long mmoe = e.parameterCount(SharingMode.MMOE);
    assertThat((double) Math.abs(sb - mmoe) / mmoe)
        .isLessThan(0.15); // comparable sizes, as in the paper
  }

  private static double variance(float[] y) {
    double m = 0;
    for (float v : y) m += v;
    m /= y.length;
    double s = 0;
    for (float v : y) s += (v - m) * (v - m);
    return s / y.length;
  }
}
