package io.perceive.bench;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.LstmState;
import io.perceive.model.layers.SequenceConfig;
import io.perceive.model.layers.SequenceInput;
import io.perceive.model.layers.StepInput;
import io.perceive.model.layers.UserSequenceEncoder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Benchmark driver for the user behaviour sequence encoder (property-gated LSTM + attention) at
 * DESIGN.md's default sizes; prints its figures. Run it as documented in docs/model-performance.md
 * (one OpenMP thread, JavaCPP accounting off). Arguments: {@code [groups=256] [steps=32]
 * [repetitions=10]}.
 */
public final class SequenceBenchmark {

  private SequenceBenchmark() {}

  private static final java.lang.management.ThreadMXBean THREADS =
      java.lang.management.ManagementFactory.getThreadMXBean();

  /**
   * CPU time of the calling thread (ns). The machine is shared with other builds, so single-thread
   * figures use this clock: it excludes time the thread spent descheduled. ND4J with one OpenMP
   * thread runs BLAS on the calling thread, so gemm time is included.
   */
  static long cpuNanos() {
    return THREADS.getCurrentThreadCpuTime();
  }

  public static void main(String[] args) throws Exception {
    int groups = args.length > 0 ? Integer.parseInt(args[0]) : 256;
    int steps = args.length > 1 ? Integer.parseInt(args[1]) : 32;
    int reps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    SequenceConfig cfg = SequenceConfig.defaults();
    System.out.printf(
        "# sequence encoder benchmark: G=%d T=%d H=%d E=%d P=%d Q=%d, OMP_NUM_THREADS=%s, %d"
            + " repetitions (median, min)%n",
        groups,
        steps,
        cfg.hidden(),
        cfg.itemWidth(),
        cfg.propertyWidth(),
        cfg.queryDim(),
        System.getenv("OMP_NUM_THREADS"),
        reps);
    System.out.println(
        "# load average at start: "
            + new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")))
                .trim()
            + "; single-thread times are thread CPU time, two-thread figures wall time");

    double gemmGflops = gemmGflops(256, 208, 512, reps * 20);
    System.out.printf("gemm 256x208 * 208x512 FLOAT, one thread: %.1f GFLOP/s%n", gemmGflops);

    elementWise(groups, cfg.hidden(), reps * 5);
    whereTheTimeGoes(cfg, groups, steps, reps);

    double fwdFlops = forwardFlopsPerSequence(cfg, steps);
    System.out.printf(
        "forward matmul FLOPs per sequence: %.2f MFLOP (LSTM %d x 2*%d*%d + attention 2*%d*%d)%n",
        fwdFlops / 1e6,
        steps,
        cfg.itemWidth() + cfg.hidden() + cfg.propertyWidth(),
        4 * cfg.hidden(),
        cfg.queryDim(),
        cfg.hidden());
    System.out.println(
        "training = forward + backward (gradients incl. sparse embedding rows), no optimizer step");
    System.out.println("bpttSteps | threads | sequences/s | efficiency (seq/s*3*fwdFLOPs/gemm)");
    for (int bptt : new int[] {steps, Math.min(8, steps), 1}) {
      for (int threads : new int[] {1, 2}) {
        double sps = trainingThroughput(cfg.withBpttSteps(bptt), groups, steps, reps, threads);
        System.out.printf(
            "%9d | %7d | %11.0f | %.2f%n",
            bptt, threads, sps, sps * 3 * fwdFlops / (gemmGflops * 1e9));
      }
    }
    advanceCost(cfg, new int[] {1, 32, 256}, reps);
  }

  /** Nd4j.gemm on [m, k] x [k, n] FLOAT with a preallocated output; returns the median GFLOP/s. */
  static double gemmGflops(int m, int k, int n, int reps) {
    INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
    INDArray b = Nd4j.rand(DataType.FLOAT, k, n);
    INDArray c = Nd4j.createUninitialized(DataType.FLOAT, m, n);
    for (int i = 0; i < 50; i++) Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    long[] t = new long[reps];
    for (int r = 0; r < reps; r++) {
      long t0 = cpuNanos();
      for (int i = 0; i < 10; i++) Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      t[r] = (cpuNanos() - t0) / 10;
    }
    return 2.0 * m * k * n / median(t);
  }

  static double forwardFlopsPerSequence(SequenceConfig cfg, int steps) {
    int d = cfg.itemWidth() + cfg.hidden() + cfg.propertyWidth();
    return steps * 2.0 * d * 4 * cfg.hidden() + 2.0 * cfg.queryDim() * cfg.hidden();
  }

  /**
   * One LSTM step's element-wise work (bias, 3 sigmoids, 1 tanh, cell and hidden update) on [G, 4H]
   * gates: a sequence of ND4J ops vs one fused plain-Java pass over the same native memory.
   */
  static void elementWise(int g, int h, int reps) {
    INDArray bias = Nd4j.rand(DataType.FLOAT, 4 * h).subi(0.5);
    INDArray pre = Nd4j.randn(DataType.FLOAT, g, 4 * h);
    INDArray cPrev = Nd4j.randn(DataType.FLOAT, g, h);
    INDArray z = pre.dup(), cOut = Nd4j.create(DataType.FLOAT, g, h);
    INDArray hOut = Nd4j.create(DataType.FLOAT, g, h);
    long[] nd = new long[reps], java = new long[reps], hybrid = new long[reps];
    for (int r = -5; r < reps; r++) {
      z.assign(pre);
      long t0 = cpuNanos();
      z.addiRowVector(bias);
      INDArray ifo = z.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 3 * h));
      INDArray gg = z.get(NDArrayIndex.all(), NDArrayIndex.interval(3 * h, 4 * h));
      Transforms.sigmoid(ifo, false);
      Transforms.tanh(gg, false);
      INDArray i = z.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h));
      INDArray f = z.get(NDArrayIndex.all(), NDArrayIndex.interval(h, 2 * h));
      INDArray o = z.get(NDArrayIndex.all(), NDArrayIndex.interval(2 * h, 3 * h));
      cOut.assign(f).muli(cPrev).addi(i.mul(gg));
      hOut.assign(Transforms.tanh(cOut, true)).muli(o);
      long t1 = cpuNanos();
      INDArray ndH = hOut.dup();
      z.assign(pre);
      long t2 = cpuNanos();
      fusedStep(z, bias, cPrev, cOut, hOut, g, h);
      long t3 = cpuNanos();
      z.assign(pre);
      long t4 = cpuNanos();
      hybridStep(z, bias, cPrev, cOut, hOut, g, h);
      long t5 = cpuNanos();
      if (r >= 0) {
        nd[r] = t1 - t0;
        java[r] = t3 - t2;
        hybrid[r] = t5 - t4;
      }
      if (r == 0) {
        double diff = ndH.sub(hOut).amaxNumber().doubleValue();
        if (diff > 1e-5) throw new AssertionError("ND4J and Java steps differ by " + diff);
      }
    }
    System.out.printf(
        "element-wise LSTM step on [%d, %d] gates: ND4J ops %.0f us (min %.0f), one fused Java"
            + " pass %.0f us (min %.0f), 3 ND4J calls (bias, x2, sigmoid) + one Java pass (the model's) %.0f us (min"
            + " %.0f)%n",
        g,
        4 * h,
        median(nd) / 1e3,
        min(nd) / 1e3,
        median(java) / 1e3,
        min(java) / 1e3,
        median(hybrid) / 1e3,
        min(hybrid) / 1e3);
  }

  /** The same arithmetic as the model's fused step (float storage, double arithmetic). */
  static void fusedStep(
      INDArray za, INDArray ba, INDArray ca, INDArray cOa, INDArray hOa, int g, int h) {
    FloatBuffer z = za.data().asNioFloat(), b = ba.data().asNioFloat();
    FloatBuffer cp = ca.data().asNioFloat(), co = cOa.data().asNioFloat();
    FloatBuffer ho = hOa.data().asNioFloat();
    for (int r = 0; r < g; r++) {
      int zo = r * 4 * h, o = r * h;
      for (int j = 0; j < h; j++) {
        double i = sigmoid(z.get(zo + j) + b.get(j));
        double f = sigmoid(z.get(zo + h + j) + b.get(h + j));
        double og = sigmoid(z.get(zo + 2 * h + j) + b.get(2 * h + j));
        double gg = tanh(z.get(zo + 3 * h + j) + b.get(3 * h + j));
        double c = f * cp.get(o + j) + i * gg;
        co.put(o + j, (float) c);
        ho.put(o + j, (float) (og * tanh(c)));
      }
    }
  }

  /**
   * The model's variant: bias add, ×2 on the cell-input columns and one sigmoid in ND4J (three
   * calls over the whole block), then one Java pass over a bulk copy (g = 2σ(2x) − 1, c, h).
   */
  private static float[][] work = new float[0][];

  static void hybridStep(
      INDArray za, INDArray ba, INDArray ca, INDArray cOa, INDArray hOa, int g, int h) {
    za.addiRowVector(ba);
    za.get(NDArrayIndex.all(), NDArrayIndex.interval(3 * h, 4 * h)).muli(2.0);
    Transforms.sigmoid(za, false);
    if (work.length != 4 || work[0].length != g * 4 * h)
      work =
          new float[][] {
            new float[g * 4 * h], new float[g * h], new float[g * h], new float[g * h]
          };
    float[] z = work[0], cp = work[1], co = work[2], ho = work[3];
    za.data().asNioFloat().get(0, z);
    ca.data().asNioFloat().get(0, cp);
    for (int r = 0; r < g; r++) {
      int zo = r * 4 * h, o = r * h;
      for (int j = 0; j < h; j++) {
        double i = z[zo + j], f = z[zo + h + j], og = z[zo + 2 * h + j];
        double gg = 2.0 * z[zo + 3 * h + j] - 1.0;
        double c = f * cp[o + j] + i * gg;
        co[o + j] = (float) c;
        ho[o + j] = (float) (og * tanh(c));
      }
    }
    cOa.data().asNioFloat().put(0, co);
    hOa.data().asNioFloat().put(0, ho);
  }

  static double sigmoid(double x) {
    return 1.0 / (1.0 + Math.exp(-x));
  }

  static double tanh(double x) {
    double t = Math.exp(-2.0 * Math.abs(x));
    double r = (1.0 - t) / (1.0 + t);
    return x < 0 ? -r : r;
  }

  /** Forward and backward time per minibatch, and the part of it spent in the gemm calls alone. */
  static void whereTheTimeGoes(SequenceConfig cfg, int g, int t, int reps) {
    Trainer tr = new Trainer(cfg, g, t, 1);
    long[] fwd = new long[reps], bwd = new long[reps];
    for (int r = -3; r < reps; r++) {
      long t0 = cpuNanos();
      tr.forward();
      long t1 = cpuNanos();
      tr.backward();
      long t2 = cpuNanos();
      if (r >= 0) {
        fwd[r] = t1 - t0;
        bwd[r] = t2 - t1;
      }
    }
    // the same gemm calls the encoder makes, alone
    int h = cfg.hidden(), d = cfg.itemWidth() + h + cfg.propertyWidth(), n4 = 4 * h;
    INDArray x = Nd4j.rand(DataType.FLOAT, g, d), w = Nd4j.rand(DataType.FLOAT, d, n4);
    INDArray z = Nd4j.create(DataType.FLOAT, g, n4), dh = Nd4j.create(DataType.FLOAT, g, h);
    INDArray wh = Nd4j.rand(DataType.FLOAT, h, n4);
    INDArray xs = Nd4j.rand(DataType.FLOAT, (long) t * g, d);
    INDArray dz = Nd4j.rand(DataType.FLOAT, (long) t * g, n4);
    INDArray dw = Nd4j.create(DataType.FLOAT, d, n4);
    INDArray de = Nd4j.create(DataType.FLOAT, (long) t * g, cfg.itemWidth());
    INDArray we = Nd4j.rand(DataType.FLOAT, cfg.itemWidth(), n4);
    long[] gf = new long[reps], gb = new long[reps];
    for (int r = -3; r < reps; r++) {
      long t0 = cpuNanos();
      for (int s = 0; s < t; s++) Nd4j.gemm(x, w, z, false, false, 1.0, 0.0);
      long t1 = cpuNanos();
      for (int s = 0; s < t; s++) Nd4j.gemm(z, wh, dh, false, true, 1.0, 0.0);
      Nd4j.gemm(xs, dz, dw, true, false, 1.0, 1.0);
      Nd4j.gemm(dz, we, de, false, true, 1.0, 0.0);
      long t2 = cpuNanos();
      if (r >= 0) {
        gf[r] = t1 - t0;
        gb[r] = t2 - t1;
      }
    }
    phases(tr, cfg, g, t, reps);
    System.out.printf(
        "encoder forward per minibatch: %.1f ms (min %.1f), of which the %d LSTM gemms alone take"
            + " %.1f ms%n",
        median(fwd) / 1e6, min(fwd) / 1e6, t, median(gf) / 1e6);
    System.out.printf(
        "encoder backward per minibatch (bpttSteps=%d): %.1f ms (min %.1f), of which the gemms"
            + " alone take %.1f ms%n",
        cfg.bpttSteps(), median(bwd) / 1e6, min(bwd) / 1e6, median(gb) / 1e6);
  }

  /** The encoder's forward phases timed one by one through their public entry points. */
  static void phases(Trainer tr, SequenceConfig cfg, int g, int t, int reps) {
    var emb = tr.enc.embedding();
    var lstm = tr.enc.lstm();
    var att = tr.enc.attention();
    float[] mask = new float[g * t];
    Arrays.fill(mask, 1f);
    var lc = new io.perceive.model.layers.PropertyGatedLstm.Cache();
    var ac = new io.perceive.model.layers.AttentionPooling.Cache();
    long[][] ph = new long[5][reps];
    for (int r = -3; r < reps; r++) {
      long t0 = cpuNanos();
      var rows = emb.rowsOf(tr.p, tr.in);
      long t1 = cpuNanos();
      INDArray e = emb.itemEmbedding(tr.p, rows);
      INDArray pr = emb.propertyEmbedding(tr.p, rows);
      long t2 = cpuNanos();
      INDArray hid = lstm.forward(tr.p, e, pr, mask, g, tr.in.h0(), tr.in.c0(), lc);
      long t3 = cpuNanos();
      att.forward(tr.p, hid, mask, tr.query, ac);
      long t4 = cpuNanos();
      INDArray d = Nd4j.rand(DataType.FLOAT, g, cfg.hidden());
      long t5 = cpuNanos();
      att.backward(tr.p, tr.grads, d, ac);
      long t6 = cpuNanos();
      if (r >= 0) {
        ph[0][r] = t1 - t0;
        ph[1][r] = t2 - t1;
        ph[2][r] = t3 - t2;
        ph[3][r] = t4 - t3;
        ph[4][r] = t6 - t5;
      }
    }
    System.out.printf(
        "forward phases (ms): ids->rows %.1f, 7 gathers + concat %.1f, LSTM %.1f, attention %.1f;"
            + " attention backward %.1f%n",
        median(ph[0]) / 1e6,
        median(ph[1]) / 1e6,
        median(ph[2]) / 1e6,
        median(ph[3]) / 1e6,
        median(ph[4]) / 1e6);
  }

  /** Sequences/s of forward + backward; threads > 1 runs independent trainers in parallel. */
  static double trainingThroughput(SequenceConfig cfg, int g, int t, int reps, int threads)
      throws InterruptedException {
    List<Trainer> trainers = new ArrayList<>();
    for (int i = 0; i < threads; i++) trainers.add(new Trainer(cfg, g, t, 100 + i));
    for (Trainer tr : trainers) for (int i = 0; i < 2; i++) tr.step(); // warm-up
    CountDownLatch start = new CountDownLatch(1), done = new CountDownLatch(threads);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (Trainer tr : trainers) {
      Thread th =
          new Thread(
              () -> {
                try {
                  start.await();
                  for (int i = 0; i < reps; i++) tr.step();
                } catch (Throwable e) {
                  failure.set(e);
                } finally {
                  done.countDown();
                }
              });
      th.start();
    }
    long t0 = System.nanoTime();
    start.countDown();
    done.await();
    long el = System.nanoTime() - t0;
    if (threads == 1) {
      // single trainer: time it on its own thread's CPU clock instead of the wall clock
      Trainer tr = trainers.get(0);
      long c0 = cpuNanos();
      for (int i = 0; i < reps; i++) tr.step();
      el = cpuNanos() - c0;
    }
    if (failure.get() != null) throw new IllegalStateException(failure.get());
    return (double) threads * reps * g / (el / 1e9);
  }

  /** Streaming state updates: one batched LSTM step for B users. */
  static void advanceCost(SequenceConfig cfg, int[] sizes, int reps) {
    UserSequenceEncoder enc = new UserSequenceEncoder(cfg);
    ParameterSet p = Trainer.params(cfg, enc, 5);
    for (int b : sizes) {
      Random rnd = new Random(b);
      StepInput step = Trainer.step(cfg, b, rnd);
      INDArray h = Nd4j.zeros(DataType.FLOAT, b, cfg.hidden());
      INDArray c = Nd4j.zeros(DataType.FLOAT, b, cfg.hidden());
      long[] t = new long[reps * 10];
      for (int r = -20; r < t.length; r++) {
        long t0 = System.nanoTime();
        LstmState s = enc.advance(p, h, c, step);
        if (r >= 0) t[r] = System.nanoTime() - t0;
        h = s.h();
        c = s.c();
      }
      System.out.printf(
          "advance (one streaming LSTM step) for %d users: %.0f us (%.1f us per user)%n",
          b, median(t) / 1e3, median(t) / 1e3 / b);
    }
  }

  /** One encoder with its own parameters, gradients, cache and a fixed random minibatch. */
  static final class Trainer {
    final UserSequenceEncoder enc;
    final ParameterSet p;
    final Gradients grads;
    final UserSequenceEncoder.Cache cache = new UserSequenceEncoder.Cache();
    final SequenceInput in;
    final INDArray query;
    final INDArray dOut;

    Trainer(SequenceConfig cfg, int g, int t, long seed) {
      enc = new UserSequenceEncoder(cfg);
      p = params(cfg, enc, seed);
      grads = p.newGradients();
      Random rnd = new Random(seed);
      int n = g * t;
      long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
      int[] bt = new int[n], sc = new int[n], gap = new int[n];
      for (int i = 0; i < n; i++) {
        item[i] = rnd.nextInt(1_000_000);
        shop[i] = rnd.nextInt(50_000);
        brand[i] = rnd.nextInt(50_000);
        cat[i] = rnd.nextInt(5_000);
        bt[i] = rnd.nextInt(4);
        sc[i] = rnd.nextInt(8);
        gap[i] = rnd.nextInt(cfg.timeGapBuckets());
      }
      float[] mask = new float[n];
      Arrays.fill(mask, 1f);
      in =
          new SequenceInput(
              g,
              t,
              item,
              shop,
              brand,
              cat,
              bt,
              sc,
              gap,
              mask,
              Nd4j.zeros(DataType.FLOAT, g, cfg.hidden()),
              Nd4j.zeros(DataType.FLOAT, g, cfg.hidden()));
      query = Nd4j.rand(DataType.FLOAT, g, cfg.queryDim());
      dOut = Nd4j.rand(DataType.FLOAT, g, cfg.hidden()).subi(0.5).muli(1.0 / g);
    }

    static ParameterSet params(SequenceConfig cfg, UserSequenceEncoder enc, long seed) {
      ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
      cfg.registerTables(b, 0.05);
      enc.register(b);
      return b.build(seed);
    }

    static StepInput step(SequenceConfig cfg, int b, Random rnd) {
      long[] item = new long[b], shop = new long[b], brand = new long[b], cat = new long[b];
      int[] bt = new int[b], sc = new int[b], gap = new int[b];
      for (int i = 0; i < b; i++) {
        item[i] = rnd.nextInt(1_000_000);
        shop[i] = rnd.nextInt(50_000);
        brand[i] = rnd.nextInt(50_000);
        cat[i] = rnd.nextInt(5_000);
        bt[i] = rnd.nextInt(4);
        sc[i] = rnd.nextInt(8);
        gap[i] = rnd.nextInt(cfg.timeGapBuckets());
      }
      return new StepInput(item, shop, brand, cat, bt, sc, gap);
    }

    void forward() {
      enc.forward(p, in, query, cache);
    }

    void backward() {
      grads.zero();
      enc.backward(p, grads, dOut.dup(), cache);
    }

    void step() {
      forward();
      backward();
    }
  }

  static double median(long[] t) {
    long[] s = t.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  static double min(long[] t) {
    return Arrays.stream(t).min().orElse(0);
  }

  /** The first three fields of /proc/loadavg (1, 5, 15 minutes). */
  static String loadAverage() {
    try {
      String[] f =
          java.nio.file.Files.readString(java.nio.file.Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }

  /** The OpenBLAS libraries mapped into this process (which one JavaCPP loaded), from /proc. */
  static String blasLibraries() {
    try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/self/maps"))) {
      return "BLAS libraries loaded: "
          + lines
              .map(l -> l.substring(l.lastIndexOf(' ') + 1))
              .filter(f -> f.contains("openblas"))
              .distinct()
              .collect(java.util.stream.Collectors.joining(", "));
    } catch (java.io.IOException e) {
      return "BLAS libraries loaded: unknown (" + e.getMessage() + ")";
    }
  }
}
