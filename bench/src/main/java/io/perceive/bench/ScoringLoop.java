package io.perceive.bench;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Steady-state serving loop: one encoded user, {@code score} over N candidates again and again for
 * a given number of seconds; prints thread CPU time per call over the given seconds after 100
 * warm-up calls. Complements {@link ModelBenchmark}'s scoring table (which re-encodes the user
 * before every call and takes a median of few calls). Args: [candidates=1000] [seconds=10]
 * [score|split]: {@code split} measures {@code encodeUser} + {@code score} per call (the issue's
 * target: ≤ 10 ms at 1,000) and prints the two parts separately.
 */
public final class ScoringLoop {

  private ScoringLoop() {}

  public static void main(String[] args) {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 1_000;
    int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    boolean split = args.length > 2 && args[2].equals("split");
    ModelConfig cfg = ModelConfig.defaults();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch.Users user = ModelBenchmark.batch(cfg, 1, 1, 7).users();
    MultiTaskModel.UserRepresentation u = m.encodeUser(p, user);
    TrainingBatch.Candidates cand = ModelBenchmark.batch(cfg, 1, n, 100 + n).candidates();
    System.out.println("# load average at start: " + SequenceBenchmark.loadAverage());
    int warmUp = 100;
    long end = Long.MAX_VALUE;
    int calls = 0;
    long c0 = 0;
    long encodeNanos = 0;
    java.util.List<Double> perCall = new java.util.ArrayList<>();
    while (System.nanoTime() < end || calls <= warmUp) {
      if (calls == warmUp) { // measure for the given seconds after a fixed warm-up
        c0 = SequenceBenchmark.cpuNanos();
        encodeNanos = 0;
        end = System.nanoTime() + seconds * 1_000_000_000L;
      }
      long t0 = SequenceBenchmark.cpuNanos();
      if (split) {
        u = m.encodeUser(p, user);
        encodeNanos += SequenceBenchmark.cpuNanos() - t0;
      }
      m.score(p, u, cand);
      if (calls >= warmUp) perCall.add((SequenceBenchmark.cpuNanos() - t0) / 1e6);
      calls++;
    }
    java.util.Collections.sort(perCall);
    System.out.printf(
        "%s %d candidates: %.2f ms thread CPU per call (median %.2f, of which encodeUser %.2f;"
            + " %d calls)%n",
        split ? "encodeUser + score" : "score",
        n,
        (SequenceBenchmark.cpuNanos() - c0) / 1e6 / (calls - warmUp),
        perCall.get(perCall.size() / 2),
        encodeNanos / 1e6 / (calls - warmUp),
        calls - warmUp);
  }
}
