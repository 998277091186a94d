package io.perceive.serving;

import io.perceive.model.MultiTaskModel;
import io.perceive.model.Predictions;
import io.perceive.model.TrainingBatch;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.UserInput;
import java.util.List;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Scores candidates with DUPN's model split (Ni et al., KDD 2018, §4.4): the user representation u
 * (LSTM over the window, attention, user tower, and each first layer's user half) is computed once
 * per request, then every candidate reuses it. Returns the per-task probabilities and a ranking
 * score p(click) · p(conversion)^α (α = 0 ranks by click alone; with ESMM p(order) = p(click) ·
 * p(conversion), so α = 1 ranks by the probability of an order).
 */
public final class Scorer {

  /** The scores of one request, all computed with the one model version it names. */
  public record Scores(
      long modelVersion, double[] click, double[] conversion, double[] order, double[] ranking) {
    public int size() {
      return click.length;
    }
  }

  /**
   * Every array of one request lives in a per-thread ND4J workspace that is reset when the request
   * ends. Why: with {@code -Dorg.bytedeco.javacpp.nopointergc=true} (STACK.md's setting for speed)
   * nothing frees off-heap memory of dropped arrays — scoring without a workspace grew the process
   * by ~60 MB/s — and with the GC on, off-heap memory is freed only when the small Java heap
   * happens to collect. The results leave the scope as plain Java arrays.
   */
  private static final WorkspaceConfiguration REQUEST_WORKSPACE =
      WorkspaceConfiguration.builder()
          .initialSize(0)
          .policyAllocation(AllocationPolicy.OVERALLOCATE)
          .overallocationLimit(0.2)
          .policyLearning(LearningPolicy.FIRST_LOOP)
          .policySpill(SpillPolicy.REALLOCATE)
          .build();

  private static final String WORKSPACE_ID = "perceive-serving-request";

  private Scorer() {}

  /** Scores {@code candidates} for {@code user} under {@code model} (one version throughout). */
  public static Scores score(
      ServingModel model, UserInput user, List<CandidateInput> candidates, double alpha) {
    if (!(alpha >= 0) || Double.isInfinite(alpha))
      throw new IllegalArgumentException("alpha must be a finite number >= 0, got " + alpha);
    if (!USE_WORKSPACE) return scoreDirect(model, user, candidates, alpha);
    Predictions p;
    try (MemoryWorkspace ws =
        Nd4j.getWorkspaceManager().getAndActivateWorkspace(REQUEST_WORKSPACE, WORKSPACE_ID)) {
      TrainingBatch.Users users = model.inputs().users(List.of(user));
      TrainingBatch.Candidates cand = model.inputs().candidates(user, candidates);
      MultiTaskModel m = model.model();
      MultiTaskModel.UserRepresentation rep = m.encodeUser(model.parameters(), users);
      p = m.score(model.parameters(), rep, cand); // double[]s: nothing points into the workspace
    }
    return new Scores(model.version(), p.click(), p.conversion(), p.order(), ranking(p, alpha));
  }

  static final boolean USE_WORKSPACE =
      Boolean.parseBoolean(System.getProperty("perceive.serving.workspace", "true"));

  private static Scores scoreDirect(
      ServingModel model, UserInput user, List<CandidateInput> candidates, double alpha) {
    TrainingBatch.Users users = model.inputs().users(List.of(user));
    TrainingBatch.Candidates cand = model.inputs().candidates(user, candidates);
    MultiTaskModel m = model.model();
    Predictions p = m.score(model.parameters(), m.encodeUser(model.parameters(), users), cand);
    return new Scores(model.version(), p.click(), p.conversion(), p.order(), ranking(p, alpha));
  }

  static double[] ranking(Predictions p, double alpha) {
    double[] r = new double[p.size()];
    for (int i = 0; i < r.length; i++)
      r[i] = alpha == 0 ? p.click()[i] : p.click()[i] * Math.pow(p.conversion()[i], alpha);
    return r;
  }
}
