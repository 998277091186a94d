package io.perceive.bench;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Sparse embedding gradients alone: {@code Gradients.accumulate} of 8,192 gathered rows (T = 32 × G
 * = 256, one sequence table) of width 32 drawn from 20,000 distinct rows, then {@code sparse()} and
 * {@code zero()}, as one minibatch does per table. Prints thread CPU time per minibatch after 30
 * warm-up rounds. Args: [seconds=8].
 */
public final class SparseGradientBenchmark {

  private SparseGradientBenchmark() {}

  public static void main(String[] args) {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    ParameterSet p = ParameterSet.builder(DataType.FLOAT).table("item", 100_000, 32, 0.1).build(1);
    Gradients g = p.newGradients();
    Random r = new Random(1);
    int n = 8192;
    int[] rows = new int[n];
    for (int i = 0; i < n; i++) rows[i] = r.nextInt(20_000);
    INDArray d = Nd4j.rand(DataType.FLOAT, n, 32);
    System.out.println("# load average at start: " + SequenceBenchmark.loadAverage());
    long end = System.nanoTime() + seconds * 1_000_000_000L;
    long c0 = 0;
    int rounds = 0;
    while (System.nanoTime() < end || rounds <= 30) {
      if (rounds == 30) c0 = SequenceBenchmark.cpuNanos();
      g.accumulate("item", rows, d);
      g.sparse("item");
      g.zero();
      rounds++;
    }
    System.out.printf(
        "accumulate %d x 32 rows + sparse + zero: %.2f ms thread CPU per minibatch (%d rounds)%n",
        n, (SequenceBenchmark.cpuNanos() - c0) / 1e6 / (rounds - 30), rounds - 30);
  }
}
