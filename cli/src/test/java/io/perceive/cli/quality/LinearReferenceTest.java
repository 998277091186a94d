package io.perceive.cli.quality;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.wide.WideCross;
import io.perceive.sandbox.movielens.MovieLensReplay.Rating;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LinearReferenceTest {

  /**
   * Users rate in bursts (40 films at one sitting, as MovieLens users do); each user has a planted
   * level: P(rating ≥ 4) = 0.85 for a generous user, 0.15 for a strict one.
   */
  private static List<Rating> bursts(long seed) {
    Random r = new Random(seed);
    List<Rating> out = new ArrayList<>();
    long t = 1_000_000;
    for (int u = 0; u < 300; u++) {
      boolean generous = r.nextBoolean();
      for (int k = 0; k < 40; k++) {
        double p = generous ? 0.85 : 0.15;
        double rating = r.nextDouble() < p ? (r.nextBoolean() ? 5.0 : 4.0) : 2.0;
        out.add(new Rating(u, r.nextInt(5_000), rating, t++, 1999, "Drama|Comedy"));
      }
    }
    return out;
  }

  @Test
  void learnsEachUsersLevelPerSampleAndLessWhenItStepsPerBatch() {
    List<Rating> ratings = bursts(3);
    List<WideCross> crosses = List.of(WideCross.USER, WideCross.ITEM);
    Map<String, LinearReference.TaskResult> perSample =
        LinearReference.run(ratings, new LinearReference.Settings(0.5, 0.1, crosses, false, 1));
    Map<String, LinearReference.TaskResult> batched =
        LinearReference.run(ratings, new LinearReference.Settings(0.5, 0.1, crosses, false, 256));
    assertThat(perSample.get("click").samples()).isEqualTo(ratings.size());
    assertThat(perSample.get("order").samples()).isEqualTo(ratings.size());
    // the oracle's AUC here is 0.85; a per-sample learner knows a user after a few ratings
    assertThat(perSample.get("click").auc()).isGreaterThan(0.75);
    // a batch of 256 spans six users' whole bursts: most of a burst is scored before any step
    assertThat(batched.get("click").auc()).isLessThan(perSample.get("click").auc() - 0.05);
  }

  @Test
  void refusesBadSettings() {
    List<WideCross> c = List.of(WideCross.USER);
    assertThatThrownBy(() -> new LinearReference.Settings(0, 0.1, c, false, 1))
        .hasMessageContaining("learning rate");
    assertThatThrownBy(() -> new LinearReference.Settings(0.1, 0.1, c, false, 0))
        .hasMessageContaining("batch");
  }
}
