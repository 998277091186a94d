package io.perceive.model.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AucTest {

  @Test
  void perfectReversedAndTiedRankings() {
    float[] y = {0, 0, 1, 1};
    assertThat(Auc.of(new double[] {0.1, 0.2, 0.8, 0.9}, y)).isEqualTo(1.0);
    assertThat(Auc.of(new double[] {0.9, 0.8, 0.2, 0.1}, y)).isEqualTo(0.0);
    assertThat(Auc.of(new double[] {0.5, 0.5, 0.5, 0.5}, y)).isEqualTo(0.5);
    // one tie between a positive and a negative counts one half: pairs (p,n) = 4, wins 3.5
    assertThat(Auc.of(new double[] {0.1, 0.5, 0.5, 0.9}, y)).isEqualTo(0.875);
  }

  @Test
  void equalsPairCountingOnRandomDataWithTies() {
    Random r = new Random(7);
    int n = 300;
    double[] s = new double[n];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextDouble() < 0.3 ? 1 : 0;
      s[i] = Math.round((r.nextGaussian() + y[i]) * 4) / 4.0; // coarse: many ties
    }
    y[5] = Float.NaN;
    double wins = 0;
    long pairs = 0;
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++)
        if (y[i] == 1 && y[j] == 0) {
          pairs++;
          wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
        }
    assertThat(Auc.of(s, y)).isCloseTo(wins / pairs, within(1e-12));
  }

  @Test
  void undefinedWithoutBothClasses() {
    assertThat(Auc.of(new double[] {1, 2}, new float[] {1, 1})).isNaN();
  }
}
