package io.perceive.job.sync;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Prints what one sync costs on a model (a measurement, not a test): {@code main [k=v ...]} with
 * model properties and {@code probe.touched} (rows per table an interval's training writes, default
 * 2000), {@code probe.rounds} (default 6). First the parts of a full-scan sync (copy, diff, encode,
 * decode + apply), then a learner's send and version cost at P=1, full-scan ({@link
 * ReplicaSync#fullScan}) and row-tracked alternately on twin replicas trained identically.
 */
public final class SyncCostProbe {
  public static void main(String[] args) throws Exception {
    Map<String, String> props = new HashMap<>();
    for (String a : args)
      props.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    int touched = Integer.parseInt(props.getOrDefault("probe.touched", "2000"));
    int rounds = Integer.parseInt(props.getOrDefault("probe.rounds", "6"));
    props.remove("probe.touched");
    props.remove("probe.rounds");
    ModelConfig cfg = ModelConfig.fromProperties(props);
    ParameterSet p = new MultiTaskModel(cfg).initialise(DataType.FLOAT);
    System.out.printf(
        "dense %d, table values %d, rows touched per table per interval %d%n",
        p.denseLength(),
        p.tables().values().stream().mapToLong(t -> (long) t.rows() * t.dim()).sum(),
        touched);
    ParameterSet q = p.copy();
    q.flat().addi(1e-3);
    for (int rep = 0; rep < 2; rep++) {
      long t0 = System.nanoTime();
      ParameterSet c = p.copy();
      long t1 = System.nanoTime();
      ParameterDelta d = ParameterDelta.diff(p, q, 0, ParameterDelta.DenseMode.DIFFERENCE);
      long t2 = System.nanoTime();
      byte[] b = d.encode();
      long t3 = System.nanoTime();
      ParameterDelta.decode(b).applyTo(c);
      long t4 = System.nanoTime();
      System.out.printf(
          "parts: copy %.1f ms, full diff %.1f ms, encode %.1f ms (%d bytes), decode+apply %.1f"
              + " ms%n",
          (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, b.length, (t4 - t3) / 1e6);
    }

    Learner full = new Learner(p, false);
    Learner tracked = new Learner(p, true);
    System.out.println(
        "round | load | full-scan send ms | version ms | tracked send ms | version ms");
    double[][] all = new double[4][rounds];
    for (int r = 0; r < rounds; r++) {
      // alternate the order so neither always runs first after the other's garbage
      double[] a = r % 2 == 0 ? full.cycle(r, touched) : null;
      double[] t = tracked.cycle(r, touched);
      if (a == null) a = full.cycle(r, touched);
      System.out.printf("%d | %s | %.1f | %.1f | %.1f | %.1f%n", r, load(), a[0], a[1], t[0], t[1]);
      all[0][r] = a[0];
      all[1][r] = a[1];
      all[2][r] = t[0];
      all[3][r] = t[1];
    }
    System.out.printf(
        "median (rounds 1..) | | %.1f | %.1f | %.1f | %.1f%n",
        median(all[0]), median(all[1]), median(all[2]), median(all[3]));
    boolean same =
        Arrays.equals(full.p.flat().data().asFloat(), tracked.p.flat().data().asFloat())
            && full.p.tables().values().stream()
                .allMatch(
                    e ->
                        Arrays.equals(
                            e.weights().data().asFloat(),
                            tracked.p.table(e.name()).weights().data().asFloat()));
    System.out.println("replicas equal bit for bit: " + same);
  }

  /** The median without round 0 (JIT warm-up). */
  private static double median(double[] v) {
    double[] s = Arrays.copyOfRange(v, Math.min(1, v.length - 1), v.length);
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String load() throws Exception {
    return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
  }

  /** One learner at P=1 with its own parameter server. */
  private static final class Learner {
    final ParameterSet p;
    final Optimizer o = OptimizerConfig.sgd(0.01).create();
    final ReplicaSync sync;
    final ParameterServer ps;
    long version = 1;

    Learner(ParameterSet initial, boolean tracked) throws Exception {
      p = initial.copy();
      o.initialise(p);
      sync = tracked ? new ReplicaSync("probe", 0, 1, p) : ReplicaSync.fullScan("probe", 0, 1, p);
      ps = new ParameterServer(Map.of(), initial.copy(), MergeMode.SUM);
      sync.onUpdate(ps.full("probe", 1, version, 0), p);
    }

    /** Trains, sends, trains more, follows the version: {send ms, version ms}. */
    double[] cycle(int round, int touched) throws Exception {
      train(round * 2L, touched);
      long t0 = System.nanoTime();
      LearnerDelta d = sync.takeDelta(p, Map.of(), false, 0, round).orElseThrow();
      long t1 = System.nanoTime();
      ps.accept(d);
      ModelUpdate u = ps.mergeGathered("probe", 1, ++version, round).orElseThrow();
      train(round * 2L + 1, touched / 4); // unsent when the version arrives
      long t2 = System.nanoTime();
      sync.onUpdate(u, p);
      long t3 = System.nanoTime();
      return new double[] {(t1 - t0) / 1e6, (t3 - t2) / 1e6};
    }

    static double[] uniform(Random rnd, int n) {
      double[] v = new double[n];
      for (int i = 0; i < n; i++) v[i] = rnd.nextDouble() - 0.5;
      return v;
    }

    /** One optimizer step with a dense gradient and {@code touched} random rows per table. */
    void train(long seed, int touched) {
      Random rnd = new Random(seed);
      Gradients g = p.newGradients();
      g.flat().assign(Nd4j.create(uniform(rnd, (int) g.flat().length())).castTo(DataType.FLOAT));
      for (EmbeddingTable t : p.tables().values()) {
        TreeSet<Integer> rows = new TreeSet<>();
        int n = Math.min(touched, t.rows());
        while (rows.size() < n) rows.add(rnd.nextInt(t.rows()));
        int[] r = rows.stream().mapToInt(Integer::intValue).toArray();
        g.accumulate(
            t.name(),
            r,
            Nd4j.create(uniform(rnd, r.length * t.dim()), new long[] {r.length, t.dim()}, 'c')
                .castTo(DataType.FLOAT));
      }
      o.step(p, g, seed + 1);
    }
  }
}
