package io.perceive.bench;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.Predictions;
import io.perceive.model.TrainingBatch;
import io.perceive.model.TrainingBatch.Candidates;
import io.perceive.model.TrainingBatch.Labels;
import io.perceive.model.TrainingBatch.Users;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.SequenceInput;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The model benchmarks at DESIGN.md's default configuration, printing their figures:
 * training samples/s at minibatch 256 for bpttSteps 32, 8 and 1 on one and two threads, the model's
 * forward matmul FLOPs per sample, the efficiency against {@code Nd4j.gemm} measured in the same
 * run, and scoring 100 / 1,000 / 10,000 candidates split vs unsplit. Run as documented in
 * docs/model-performance.md. Arguments: {@code [repetitions=8] [samplesPerGroup=1,8]}.
 */
public final class ModelBenchmark {

  private ModelBenchmark() {}

  static final int MINIBATCH = 256;

  public static void main(String[] args) throws Exception {
    int reps = args.length > 0 ? Integer.parseInt(args[0]) : 8;
    int[] perGroup =
        args.length > 1
            ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
            : new int[] {1, 8};
    ModelConfig base = ModelConfig.defaults();
    System.out.printf(
        "# model benchmark, default config (%s, window %d, H %d), minibatch %d samples,"
            + " OMP_NUM_THREADS=%s%n",
        base.sharingMode(),
        base.get(ModelConfig.ATTENTION_WINDOW),
        base.get(ModelConfig.LSTM_HIDDEN),
        MINIBATCH,
        System.getenv("OMP_NUM_THREADS"));
    System.out.println(
        "# load average at start: "
            + new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")))
                .trim()
            + "; one-thread times are thread CPU time, two-thread figures wall time");
    double gemm = SequenceBenchmark.gemmGflops(256, 208, 512, 200);
    System.out.printf("gemm 256x208 * 208x512 FLOAT, one thread: %.1f GFLOP/s%n", gemm);
    System.out.println("# " + SequenceBenchmark.blasLibraries());

    System.out.println(
        "training = MultiTaskModel.forwardBackward (all losses, gradients incl. sparse rows),"
            + " no optimizer step");
    System.out.println(
        "samples/group | bpttSteps | threads | samples/s | fwd MFLOP/sample | efficiency");
    boolean scoringOnly = args.length > 2 && args[2].equals("scoring-only");
    for (int spg : scoringOnly ? new int[0] : perGroup) {
      for (int bptt : new int[] {32, 8, 1}) {
        ModelConfig cfg = base.toBuilder().set(ModelConfig.BPTT_STEPS, bptt).build();
        double flops = forwardFlopsPerSample(cfg, MINIBATCH / spg, MINIBATCH);
        for (int threads : new int[] {1, 2}) {
          double sps = trainingThroughput(cfg, MINIBATCH / spg, reps, threads);
          System.out.printf(
              "%13d | %9d | %7d | %9.0f | %16.2f | %.2f%n",
              spg, bptt, threads, sps, flops / 1e6, sps * 3 * flops / (gemm * 1e9));
        }
      }
    }
    if (args.length > 2 && args[2].equals("no-scoring")) return;
    scoring(base, new int[] {100, 1_000, 10_000}, reps);
  }

  /**
   * Forward matmul FLOPs per sample of a minibatch of {@code samples} in {@code groups}: each 2-D
   * dense weight [in, out] costs 2·in·out per row it multiplies. User-side weights (LSTM × T steps,
   * attention, user tower, price head, the user halves W_user of the first sharing layers) run once
   * per group; the rest once per sample. Embedding gathers and element-wise work are not counted.
   */
  static double forwardFlopsPerSample(ModelConfig cfg, int groups, int samples) {
    double perGroup = 0, perSample = 0;
    int t = cfg.get(ModelConfig.ATTENTION_WINDOW);
    for (var s : dense(cfg).entrySet()) {
      long[] shape = s.getValue();
      if (shape.length != 2) continue;
      double f = 2.0 * shape[0] * shape[1];
      String n = s.getKey();
      if (n.equals("lstm/W")) perGroup += t * f;
      else if (n.endsWith("/W_user")
          || n.equals("attention/W")
          || n.equals("user_tower/W")
          || n.equals("price/W")) perGroup += f;
      else perSample += f;
    }
    return (perGroup * groups + perSample * samples) / samples;
  }

  /** Names and shapes of the model's dense parameters (a throw-away tiny-table build). */
  static java.util.Map<String, long[]> dense(ModelConfig cfg) {
    ModelConfig tiny =
        cfg.toBuilder()
            .set(ModelConfig.ITEM_ROWS, 2)
            .set(ModelConfig.SHOP_ROWS, 2)
            .set(ModelConfig.BRAND_ROWS, 2)
            .set(ModelConfig.CATEGORY_ROWS, 2)
            .set(ModelConfig.USER_ROWS, 2)
            .build();
    ParameterSet p = new MultiTaskModel(tiny).initialise(DataType.FLOAT);
    java.util.Map<String, long[]> r = new java.util.LinkedHashMap<>();
    p.denseSpecs().forEach((k, v) -> r.put(k, v.shape()));
    return r;
  }

  static double trainingThroughput(ModelConfig cfg, int groups, int reps, int threads)
      throws InterruptedException {
    List<Runnable> steps = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      MultiTaskModel m = new MultiTaskModel(cfg);
      ParameterSet p = m.initialise(DataType.FLOAT);
      TrainingBatch batch = batch(cfg, groups, MINIBATCH, 40 + i);
      steps.add(() -> m.forwardBackward(p, batch));
    }
    for (Runnable s : steps) for (int i = 0; i < 2; i++) s.run(); // warm-up
    if (threads == 1) {
      long c0 = SequenceBenchmark.cpuNanos();
      for (int i = 0; i < reps; i++) steps.get(0).run();
      return (double) reps * MINIBATCH / ((SequenceBenchmark.cpuNanos() - c0) / 1e9);
    }
    CountDownLatch start = new CountDownLatch(1), done = new CountDownLatch(threads);
    AtomicReference<Throwable> failure = new AtomicReference<>();
    for (Runnable s : steps)
      new Thread(
              () -> {
                try {
                  start.await();
                  for (int i = 0; i < reps; i++) s.run();
                } catch (Throwable e) {
                  failure.set(e);
                } finally {
                  done.countDown();
                }
              })
          .start();
    long t0 = System.nanoTime();
    start.countDown();
    done.await();
    long el = System.nanoTime() - t0;
    if (failure.get() != null) throw new IllegalStateException(failure.get());
    return (double) threads * reps * MINIBATCH / (el / 1e9);
  }

  /**
   * One user, N candidates: split = encodeUser once + score all candidates; unsplit = the full
   * forward per (user, candidate) pair including the LSTM over the window (in chunks of 1,000 pairs
   * to bound memory; the chunking adds no work per pair).
   */
  static void scoring(ModelConfig cfg, int[] sizes, int reps) {
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch one = batch(cfg, 1, 1, 7);
    Users user = one.users();
    System.out.println(
        "candidates | split total ms (encodeUser + score) | of which score ms | unsplit ms |"
            + " unsplit/split");
    for (int n : sizes) {
      Candidates cand = batch(cfg, 1, n, 100 + n).candidates();
      // correctness first: split and unsplit agree on the first candidates
      int check = Math.min(n, 50);
      Candidates head = slice(cand, check);
      Predictions a = m.score(p, m.encodeUser(p, user), head);
      Predictions b = m.scoreUnsplit(p, user, new int[check], head);
      double diff = maxDiff(a, b);
      if (diff > 1e-4) throw new AssertionError("split and unsplit differ by " + diff);
      long[] split = new long[reps], scoreOnly = new long[reps];
      // steady state, as a server sees it: enough warm-up calls for C2 to compile the row loops
      int warmUp = Math.max(2, 20_000 / n);
      for (int r = -warmUp; r < reps; r++) {
        long t0 = SequenceBenchmark.cpuNanos();
        MultiTaskModel.UserRepresentation u = m.encodeUser(p, user);
        long t1 = SequenceBenchmark.cpuNanos();
        m.score(p, u, cand);
        long t2 = SequenceBenchmark.cpuNanos();
        if (r >= 0) {
          split[r] = t2 - t0;
          scoreOnly[r] = t2 - t1;
        }
      }
      int unsplitReps = n >= 10_000 ? 1 : Math.max(1, reps / 4);
      long[] unsplit = new long[unsplitReps];
      for (int r = n >= 10_000 ? 0 : -1; r < unsplitReps; r++) { // no warm-up run at 10k
        long t0 = SequenceBenchmark.cpuNanos();
        for (int from = 0; from < n; from += 1_000) {
          int k = Math.min(1_000, n - from);
          m.scoreUnsplit(p, user, new int[k], slice(cand, from, k));
        }
        if (r >= 0) unsplit[r] = SequenceBenchmark.cpuNanos() - t0;
      }
      double s = SequenceBenchmark.median(split) / 1e6;
      double u = SequenceBenchmark.median(unsplit) / 1e6;
      System.out.printf(
          "%10d | %34.2f | %17.2f | %10.1f | %.1fx%n",
          n, s, SequenceBenchmark.median(scoreOnly) / 1e6, u, u / s);
    }
  }

  static double maxDiff(Predictions a, Predictions b) {
    return Math.max(
        maxAbs(a.click(), b.click()),
        Math.max(maxAbs(a.conversion(), b.conversion()), maxAbs(a.order(), b.order())));
  }

  static double maxAbs(double[] x, double[] y) {
    double m = 0;
    for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
    return m;
  }

  static Candidates slice(Candidates c, int n) {
    return slice(c, 0, n);
  }

  static Candidates slice(Candidates c, int from, int n) {
    int f = c.size() == 0 ? 0 : c.features().length / c.size();
    return new Candidates(
        Arrays.copyOfRange(c.itemIds(), from, from + n),
        Arrays.copyOfRange(c.shopIds(), from, from + n),
        Arrays.copyOfRange(c.brandIds(), from, from + n),
        Arrays.copyOfRange(c.categoryIds(), from, from + n),
        Arrays.copyOfRange(c.features(), from * f, (from + n) * f));
  }

  /** G users with full windows of T behaviours and S labelled samples spread over them. */
  public static TrainingBatch batch(ModelConfig cfg, int groups, int samples, long seed) {
    Random r = new Random(seed);
    int t = cfg.get(ModelConfig.ATTENTION_WINDOW);
    int n = groups * t;
    long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
    int[] bt = new int[n], sc = new int[n], gap = new int[n];
    float[] mask = new float[n];
    Arrays.fill(mask, 1f);
    for (int i = 0; i < n; i++) {
      item[i] = r.nextInt(1_000_000);
      shop[i] = r.nextInt(50_000);
      brand[i] = r.nextInt(50_000);
      cat[i] = r.nextInt(5_000);
      bt[i] = r.nextInt(cfg.get(ModelConfig.BEHAVIOUR_TYPE_ROWS) - 1);
      sc[i] = r.nextInt(cfg.get(ModelConfig.SCENE_ROWS) - 1);
      gap[i] = r.nextInt(cfg.get(ModelConfig.TIME_GAP_ROWS) - 1);
    }
    int h = cfg.get(ModelConfig.LSTM_HIDDEN);
    INDArray h0 = Nd4j.rand(DataType.FLOAT, groups, h).subi(0.5).muli(0.2);
    INDArray c0 = Nd4j.rand(DataType.FLOAT, groups, h).subi(0.5).muli(0.2);
    SequenceInput seq =
        new SequenceInput(groups, t, item, shop, brand, cat, bt, sc, gap, mask, h0, c0);
    long[] users = new long[groups];
    int[] scenes = new int[groups];
    int fp = cfg.profileFeatures().size();
    float[] profile = new float[groups * fp];
    for (int g = 0; g < groups; g++) {
      users[g] = r.nextInt(1_000_000);
      scenes[g] = r.nextInt(cfg.get(ModelConfig.SCENE_ROWS) - 1);
      for (int k = 0; k < fp; k++) profile[g * fp + k] = (float) (r.nextDouble() * 50);
    }
    int[] group = new int[samples];
    long[] ci = new long[samples], cs = new long[samples];
    long[] cb = new long[samples], cc = new long[samples];
    int fi = cfg.itemFeatures().size();
    float[] feats = new float[samples * fi];
    float[] click = new float[samples], conv = new float[samples], order = new float[samples];
    int[] price = new int[samples];
    for (int s = 0; s < samples; s++) {
      group[s] = s % groups;
      ci[s] = r.nextInt(1_000_000);
      cs[s] = r.nextInt(50_000);
      cb[s] = r.nextInt(50_000);
      cc[s] = r.nextInt(5_000);
      for (int k = 0; k < fi; k++) feats[s * fi + k] = (float) (r.nextDouble() * 0.1);
      click[s] = r.nextDouble() < 0.3 ? 1 : 0;
      conv[s] = click[s] == 1 ? (r.nextDouble() < 0.2 ? 1 : 0) : Float.NaN;
      order[s] = click[s] == 1 && conv[s] == 1 ? 1 : 0;
      price[s] = r.nextInt(cfg.get(ModelConfig.PRICE_LEVELS));
    }
    return new TrainingBatch(
        new Users(seq, users, profile, scenes),
        group,
        new Candidates(ci, cs, cb, cc, feats),
        new Labels(click, conv, order, price));
  }
}
