package io.perceive.bench.train;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.DeltaChunks;
import io.perceive.model.delta.ParameterDelta;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Prints what the training plumbing costs at DESIGN.md's default sizes: one optimizer step per kind
 * (dense ~250 k parameters, the default embedding tables, rows touched by a minibatch of 256 users
 * × 32 behaviours), a full snapshot write/read, and a sync-interval delta (diff, encode, chunk).
 * Run: {@code java -cp ... io.perceive.bench.train.OptimizerStepBenchmark}.
 */
public final class OptimizerStepBenchmark {

  private OptimizerStepBenchmark() {}

  static ParameterSet defaultSizedParameters() {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("lstm/W", Init.normal(0.05), 208, 512) // the gate gemm of the default LSTM
        .dense("lstm/b", Init.ZEROS, 512)
        .dense("attention/W", Init.normal(0.05), 132, 128)
        .dense(
            "rest/W", Init.normal(0.05), 256, 128) // stand-in for the user vector, experts, towers
        .table("emb/item", 65_536, 32, 0.01)
        .table("emb/shop", 8_192, 8, 0.01)
        .table("emb/brand", 8_192, 8, 0.01)
        .table("emb/category", 1_024, 16, 0.01)
        .table("emb/user", 65_536, 64, 0.01)
        .build(1);
  }

  /** Gradients of one minibatch: every dense parameter, 256 × 33 item-side rows, 256 user rows. */
  static Gradients minibatchGradients(ParameterSet p, Random rnd) {
    Gradients g = p.newGradients();
    g.flat().assign(Nd4j.rand(DataType.FLOAT, p.flat().length()).subi(0.5));
    touch(g, p, "emb/item", 256 * 33, rnd);
    touch(g, p, "emb/shop", 256 * 33, rnd);
    touch(g, p, "emb/brand", 256 * 33, rnd);
    touch(g, p, "emb/category", 256 * 33, rnd);
    touch(g, p, "emb/user", 256, rnd);
    return g;
  }

  private static void touch(Gradients g, ParameterSet p, String table, int n, Random rnd) {
    int rows = p.table(table).rows();
    int dim = p.table(table).dim();
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) idx[i] = rnd.nextInt(rows);
    g.accumulate(table, idx, Nd4j.rand(DataType.FLOAT, n, dim).subi(0.5));
  }

  public static void main(String[] args) throws Exception {
    Random rnd = new Random(7);
    ParameterSet p = defaultSizedParameters();
    System.out.printf(
        Locale.ROOT,
        "dense parameters %,d; embedding values %,d%n",
        p.denseLength(),
        p.tables().values().stream().mapToLong(t -> (long) t.rows() * t.dim()).sum());
    Gradients g = minibatchGradients(p, rnd);
    int touched = 0;
    for (String t : g.tableNames()) touched += g.sparse(t).size();
    System.out.printf(Locale.ROOT, "rows touched per minibatch: %,d%n", touched);
    long e0 = System.nanoTime();
    for (int i = 0; i < 10; i++) {
      for (String t : g.tableNames()) g.sparse(t);
      g.squaredNorm();
    }
    System.out.printf(
        Locale.ROOT,
        "of which Gradients.sparse (all tables) + squaredNorm: %.1f ms%n",
        (System.nanoTime() - e0) / 1e6 / 10);
    for (OptimizerConfig.Kind kind : OptimizerConfig.Kind.values()) {
      Optimizer o = OptimizerConfig.defaults(kind).withClipNorm(10).create();
      o.initialise(p);
      for (int i = 0; i < 5; i++) o.step(p, g, i); // warm-up
      int n = 20;
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) o.step(p, g, 100 + i);
      System.out.printf(
          Locale.ROOT,
          "%-8s step: %.1f ms (incl. sparse-gradient extraction and clipping norm)%n",
          kind,
          (System.nanoTime() - t0) / 1e6 / n);
    }
    Optimizer adam = OptimizerConfig.adam(0.001).create();
    adam.initialise(p);
    adam.step(p, g, 1);
    Path dir = Files.createTempDirectory("perceive-bench");
    Path f = dir.resolve("model.snap");
    long t0 = System.nanoTime();
    SnapshotFile.write(
        f,
        new Snapshot(1, System.currentTimeMillis(), Map.of(), p, Optional.of(adam.exportState())));
    long t1 = System.nanoTime();
    SnapshotFile.read(f);
    long t2 = System.nanoTime();
    System.out.printf(
        Locale.ROOT,
        "snapshot with Adam state: %,d bytes, write %.0f ms, read %.0f ms%n",
        Files.size(f),
        (t1 - t0) / 1e6,
        (t2 - t1) / 1e6);
    Files.delete(f);
    Files.delete(dir);
    ParameterSet before = p.copy();
    for (int i = 0; i < 10; i++)
      adam.step(p, minibatchGradients(p, rnd), 1_000 + i); // one sync interval
    t0 = System.nanoTime();
    ParameterDelta d = ParameterDelta.diff(before, p, 1, ParameterDelta.DenseMode.DIFFERENCE);
    t1 = System.nanoTime();
    byte[] bytes = d.encode();
    t2 = System.nanoTime();
    int chunks = DeltaChunks.split(bytes, 1).size();
    long t3 = System.nanoTime();
    System.out.printf(
        Locale.ROOT,
        "delta after 10 minibatches: %,d changed rows, %,d bytes in %d chunks; diff %.0f ms, encode %.0f ms, chunk %.0f ms%n",
        d.changedRows(),
        bytes.length,
        chunks,
        (t1 - t0) / 1e6,
        (t2 - t1) / 1e6,
        (t3 - t2) / 1e6);
  }
}
