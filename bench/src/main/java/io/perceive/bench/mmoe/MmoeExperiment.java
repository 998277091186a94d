package io.perceive.bench.mmoe;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.loss.MeanSquaredError;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.sharing.SharingBlock;
import io.perceive.model.sharing.SharingConfig;
import io.perceive.model.sharing.SharingMode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The synthetic experiment of Ma et al., KDD 2018 (MMoE), §3.2–3.3: shared-bottom, one-gate MoE and
 * multi-gate MoE of comparable size trained on two regression tasks whose correlation is
 * controlled, over several seeds; prints and writes a table of mean final test loss per model and
 * correlation. Run: {@code scripts/mmoe-experiment.sh [--key=value ...]} (see {@link Settings}).
 */
public final class MmoeExperiment {

  static final List<String> TASKS = List.of("task1", "task2");

  private static final WorkspaceConfiguration STEP_WORKSPACE =
      WorkspaceConfiguration.builder()
          .policyAllocation(AllocationPolicy.OVERALLOCATE)
          .policyLearning(LearningPolicy.FIRST_LOOP)
          .policySpill(SpillPolicy.REALLOCATE)
          .build();

  /**
   * Every knob of a run; the defaults took 942 s (36 models, one JVM per correlation and seed) on
   * this 2-core machine while three other engineers built on it.
   *
   * @param seeds independent repetitions (data, task vectors and initialisation all re-drawn)
   * @param correlations task correlations p to compare
   * @param train training examples per run
   * @param test held-out examples per run
   * @param batch minibatch size
   * @param steps Adam steps per run
   * @param learningRate Adam's η
   * @param experts experts of OMoE/MMoE (paper: 8)
   * @param expertHidden units per expert (paper: 16)
   * @param bottomHidden units of the shared bottom (paper: 113, to match the MoE parameter counts)
   * @param towerHidden units of each task tower's hidden layer (paper: 8)
   * @param out markdown report path ("" = none)
   */
  public record Settings(
      int seeds,
      double[] correlations,
      int train,
      int test,
      int batch,
      int steps,
      double learningRate,
      int experts,
      int expertHidden,
      int bottomHidden,
      int towerHidden,
      SyntheticTasks.Spec data,
      String out) {

    public Settings {
      if (seeds < 1) throw new IllegalArgumentException("seeds must be >= 1");
      if (correlations.length == 0) throw new IllegalArgumentException("at least one correlation");
      if (train < batch || batch < 1)
        throw new IllegalArgumentException("need 1 <= batch <= train");
      if (test < 1 || steps < 1) throw new IllegalArgumentException("test and steps must be >= 1");
    }

    public static Settings defaults() {
      return new Settings(
          4,
          new double[] {1.0, 0.9, 0.5},
          10_000,
          2_000,
          128,
          2_000,
          0.003,
          8,
          16,
          113,
          8,
          SyntheticTasks.Spec.defaults(),
          "docs/mmoe-experiment.md");
    }

    /** Overrides from {@code --key=value} arguments. */
    public static Settings parse(String[] args) {
      Settings s = defaults();
      int seeds = s.seeds, train = s.train, test = s.test, batch = s.batch, steps = s.steps;
      double lr = s.learningRate;
      double[] corr = s.correlations;
      String out = s.out;
      SyntheticTasks.Spec d = s.data;
      for (String a : args) {
        int eq = a.indexOf('=');
        if (!a.startsWith("--") || eq < 0)
          throw new IllegalArgumentException("expected --key=value, got " + a);
        String k = a.substring(2, eq);
        String v = a.substring(eq + 1);
        switch (k) {
          case "seeds" -> seeds = Integer.parseInt(v);
          case "train" -> train = Integer.parseInt(v);
          case "test" -> test = Integer.parseInt(v);
          case "batch" -> batch = Integer.parseInt(v);
          case "steps" -> steps = Integer.parseInt(v);
          case "lr" -> lr = Double.parseDouble(v);
          case "correlations" -> {
            String[] p = v.split(",");
            corr = new double[p.length];
            for (int i = 0; i < p.length; i++) corr[i] = Double.parseDouble(p[i]);
          }
          case "scale" ->
              d =
                  new SyntheticTasks.Spec(
                      d.inputDim(),
                      Double.parseDouble(v),
                      d.sines(),
                      d.alphaStd(),
                      d.betaStd(),
                      d.noiseStd());
          case "sines" ->
              d =
                  new SyntheticTasks.Spec(
                      d.inputDim(),
                      d.scale(),
                      Integer.parseInt(v),
                      d.alphaStd(),
                      d.betaStd(),
                      d.noiseStd());
          case "out" -> out = v;
          default -> throw new IllegalArgumentException("unknown option --" + k);
        }
      }
      return new Settings(
          seeds,
          corr,
          train,
          test,
          batch,
          steps,
          lr,
          s.experts,
          s.expertHidden,
          s.bottomHidden,
          s.towerHidden,
          d,
          out);
    }
  }

  /** The result of one (model, correlation, seed) run. */
  public record Run(
      SharingMode mode,
      double correlation,
      int seed,
      double testLoss,
      double labelCorrelation,
      long params) {}

  private final Settings s;

  public MmoeExperiment(Settings s) {
    this.s = s;
  }

  SharingConfig sharing(SharingMode mode) {
    return SharingConfig.standalone(
        mode,
        TASKS,
        s.data().inputDim(),
        s.experts(),
        s.expertHidden(),
        s.bottomHidden(),
        s.towerHidden());
  }

  /** Trains one model on one data set; returns the mean of the two tasks' test MSE. */
  double trainAndTest(
      SharingMode mode, SyntheticTasks.Data train, SyntheticTasks.Data test, long initSeed) {
    SharingBlock block = new SharingBlock(sharing(mode));
    ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
    block.register(b);
    ParameterSet p = b.build(initSeed);
    Optimizer opt = OptimizerConfig.adam(s.learningRate()).create();
    opt.initialise(p);
    Gradients g = p.newGradients();
    Random order = new Random(initSeed ^ 0x5DEECE66DL);
    int d = train.d();
    int bs = s.batch();
    float[] xb = new float[bs * d];
    float[][] yb = {new float[bs], new float[bs]};
    int[] perm = permutation(train.n(), order);
    int cursor = 0;
    for (int step = 0; step < s.steps(); step++) {
      if (cursor + bs > train.n()) {
        perm = permutation(train.n(), order);
        cursor = 0;
      }
      for (int i = 0; i < bs; i++) {
        int r = perm[cursor + i];
        System.arraycopy(train.x(), r * d, xb, i * d, d);
        yb[0][i] = train.y1()[r];
        yb[1][i] = train.y2()[r];
      }
      cursor += bs;
      // Every array of a step lives in a reused workspace: no per-step native allocation to free
      // (with JavaCPP's pointer GC off, freed arrays are never reclaimed; with it on, its memory
      // accounting costs more than the step's math).
      try (MemoryWorkspace ws =
          Nd4j.getWorkspaceManager().getAndActivateWorkspace(STEP_WORKSPACE, "mmoe-step")) {
        INDArray x = Nd4j.create(xb, new long[] {bs, d}, 'c'); // [B, d]
        SharingBlock.Cache cache = new SharingBlock.Cache();
        SharingBlock.Output out = block.forward(p, x, cache);
        INDArray[] dOut = new INDArray[2];
        for (int t = 0; t < 2; t++) {
          double[] pred = out.taskOutputs()[t].castTo(DataType.DOUBLE).data().asDouble(); // [B]
          double[] dy = new double[bs];
          MeanSquaredError.apply(pred, yb[t], 1.0, dy);
          dOut[t] = Nd4j.create(dy, new long[] {bs, 1}, 'c').castTo(DataType.FLOAT); // [B, 1]
        }
        g.zero();
        block.backward(p, g, dOut, cache);
        opt.step(p, g);
      }
    }
    INDArray xt = Nd4j.create(test.x(), new long[] {test.n(), d}, 'c');
    SharingBlock.Output out = block.forward(p, xt, null);
    double loss = 0;
    float[][] yt = {test.y1(), test.y2()};
    for (int t = 0; t < 2; t++) {
      double[] pred = out.taskOutputs()[t].castTo(DataType.DOUBLE).data().asDouble();
      loss += MeanSquaredError.apply(pred, yt[t], 1.0, new double[pred.length]) / 2;
    }
    return loss;
  }

  long parameterCount(SharingMode mode) {
    SharingBlock block = new SharingBlock(sharing(mode));
    ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
    block.register(b);
    return b.build(0).denseLength();
  }

  private static int[] permutation(int n, Random rnd) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** Every (correlation, seed, model) run; the three models of one seed share data and tasks. */
  public List<Run> runAll() {
    return runAll(0);
  }

  /** As {@link #runAll()} for seeds {@code seedFrom .. seedFrom + seeds - 1}. */
  public List<Run> runAll(int seedFrom) {
    List<Run> runs = new ArrayList<>();
    for (double corr : s.correlations()) {
      for (int seed = seedFrom; seed < seedFrom + s.seeds(); seed++) {
        // Paired design: for one seed, u1, u2, α, β, x and the initialisation are the same at every
        // correlation, so only p differs between the columns of the table.
        Random rnd = new Random(1_000_003L * seed + 17);
        SyntheticTasks tasks = new SyntheticTasks(s.data(), corr, rnd);
        SyntheticTasks.Data train = tasks.sample(s.train(), rnd);
        SyntheticTasks.Data test = tasks.sample(s.test(), rnd);
        double labelCorr = SyntheticTasks.pearson(train.y1(), train.y2());
        for (SharingMode mode : SharingMode.values()) {
          long t0 = System.nanoTime();
          double loss = trainAndTest(mode, train, test, 31L * seed + mode.ordinal());
          runs.add(new Run(mode, corr, seed, loss, labelCorr, parameterCount(mode)));
          System.out.printf(
              Locale.ROOT,
              "p=%.2f seed=%d %-13s test MSE %.4f  (label corr %.3f, %.1f s)%n",
              corr,
              seed,
              mode,
              loss,
              labelCorr,
              (System.nanoTime() - t0) / 1e9);
        }
      }
    }
    return runs;
  }

  static double mean(List<Run> runs, SharingMode m, double corr) {
    return runs.stream()
        .filter(r -> r.mode() == m && r.correlation() == corr)
        .mapToDouble(Run::testLoss)
        .average()
        .orElse(Double.NaN);
  }

  static double std(List<Run> runs, SharingMode m, double corr) {
    double mu = mean(runs, m, corr);
    double[] v =
        runs.stream()
            .filter(r -> r.mode() == m && r.correlation() == corr)
            .mapToDouble(Run::testLoss)
            .toArray();
    if (v.length < 2) return 0;
    double ss = 0;
    for (double x : v) ss += (x - mu) * (x - mu);
    return Math.sqrt(ss / (v.length - 1));
  }

  /** The markdown table: rows = models, columns = correlations, mean ± std of final test MSE. */
  String table(List<Run> runs) {
    StringBuilder t = new StringBuilder("| model | params |");
    for (double c : s.correlations()) t.append(String.format(Locale.ROOT, " p = %.1f |", c));
    t.append("\n| --- | ---: |");
    for (int i = 0; i < s.correlations().length; i++) t.append(" ---: |");
    t.append('\n');
    for (SharingMode m : SharingMode.values()) {
      t.append("| ").append(m).append(" | ").append(parameterCount(m)).append(" |");
      for (double c : s.correlations())
        t.append(String.format(Locale.ROOT, " %.4f ± %.4f |", mean(runs, m, c), std(runs, m, c)));
      t.append('\n');
    }
    return t.toString();
  }

  /** Plain-language check of the paper's ordering, computed from the means. */
  List<String> verdict(List<Run> runs) {
    List<String> v = new ArrayList<>();
    double[] c = s.correlations();
    for (SharingMode m : SharingMode.values()) {
      boolean monotone = true;
      for (int i = 1; i < c.length; i++)
        if (c[i] < c[i - 1] && mean(runs, m, c[i]) < mean(runs, m, c[i - 1])) monotone = false;
      v.add(
          m
              + ": loss "
              + (monotone ? "grows" : "does NOT grow monotonically")
              + " as correlation drops ("
              + String.format(
                  Locale.ROOT, "%.4f → %.4f", mean(runs, m, c[0]), mean(runs, m, c[c.length - 1]))
              + ")");
    }
    double lo = c[c.length - 1];
    SharingMode best = null, worst = null;
    for (SharingMode m : SharingMode.values()) {
      if (best == null || mean(runs, m, lo) < mean(runs, best, lo)) best = m;
      if (worst == null || mean(runs, m, lo) > mean(runs, worst, lo)) worst = m;
    }
    v.add(
        String.format(
            Locale.ROOT, "at p = %.1f the lowest loss is %s and the highest %s", lo, best, worst));
    for (SharingMode m : SharingMode.values()) {
      double deg = mean(runs, m, lo) - mean(runs, m, c[0]);
      v.add(
          String.format(
              Locale.ROOT, "%s degradation from p = %.1f to %.1f: %+.4f", m, c[0], lo, deg));
    }
    return v;
  }

  void writeReport(List<Run> runs, String args, double seconds) throws IOException {
    Path out = Paths.get(s.out());
    StringBuilder md = new StringBuilder();
    md.append("# MMoE synthetic experiment (Ma et al., KDD 2018, §3.2)\n\n");
    md.append("Generated by `scripts/mmoe-experiment.sh")
        .append(args.isEmpty() ? "" : " " + args)
        .append("` on ")
        .append(Instant.now())
        .append(String.format(Locale.ROOT, " in %.0f s (one thread).\n\n", seconds));
    md.append("Mean final **test MSE** (average of the two tasks) ± standard deviation over ")
        .append(runs.stream().mapToInt(Run::seed).distinct().count())
        .append(
            " seeds; lower is better. Each seed draws new task vectors, sines, data and initialisation; within one seed the three models and the three correlations share them (a paired comparison: only p differs between columns).\n\n");
    md.append(table(runs)).append('\n');
    md.append("Pearson correlation of the two training label sets (mean over seeds):");
    for (double c : s.correlations()) {
      double lc =
          runs.stream()
              .filter(r -> r.correlation() == c)
              .mapToDouble(Run::labelCorrelation)
              .average()
              .orElse(Double.NaN);
      md.append(String.format(Locale.ROOT, " p = %.1f → %.3f;", c, lc));
    }
    md.append("\n\n## Does the paper's ordering appear?\n\n");
    for (String line : verdict(runs)) md.append("- ").append(line).append('\n');
    md.append("\n## Settings\n\n");
    md.append(
        String.format(
            Locale.ROOT,
            "d = %d, c = %.2f, m = %d sines, α_i ~ N(0, %.2f²), β_i ~ N(0, %.2f²), label noise N(0, %.2f²); %d training and %d test examples; "
                + "Adam η = %g, minibatch %d, %d steps; experts %d × %d units (ReLU), shared bottom %d units (ReLU), towers %d units (ReLU) + linear output.\n",
            s.data().inputDim(),
            s.data().scale(),
            s.data().sines(),
            s.data().alphaStd(),
            s.data().betaStd(),
            s.data().noiseStd(),
            s.train(),
            s.test(),
            s.learningRate(),
            s.batch(),
            s.steps(),
            s.experts(),
            s.expertHidden(),
            s.bottomHidden(),
            s.towerHidden()));
    md.append("\n## Every run\n\n| p | seed | model | test MSE |\n| ---: | ---: | --- | ---: |\n");
    for (Run r : runs)
      md.append(
          String.format(
              Locale.ROOT,
              "| %.1f | %d | %s | %.4f |%n",
              r.correlation(),
              r.seed(),
              r.mode(),
              r.testLoss()));
    Path png = writeChart(runs, out);
    if (png != null)
      md.append("\n![test loss by correlation](").append(png.getFileName()).append(")\n");
    if (out.getParent() != null) Files.createDirectories(out.getParent());
    Files.writeString(out, md.toString());
    System.out.println("wrote " + out);
  }

  /** A gnuplot PNG next to the report when gnuplot is installed; null otherwise. */
  private Path writeChart(List<Run> runs, Path report) {
    try {
      Process which =
          new ProcessBuilder("sh", "-c", "command -v gnuplot").redirectErrorStream(true).start();
      if (which.waitFor() != 0) return null;
      Path dir = report.toAbsolutePath().getParent();
      Path dat = Files.createTempFile("mmoe", ".dat");
      StringBuilder d = new StringBuilder("# p");
      for (SharingMode m : SharingMode.values()) d.append(' ').append(m);
      d.append('\n');
      for (double c : s.correlations()) {
        d.append(c);
        for (SharingMode m : SharingMode.values()) d.append(' ').append(mean(runs, m, c));
        d.append('\n');
      }
      Files.writeString(dat, d.toString());
      Path png = dir.resolve("mmoe-experiment.png");
      String script =
          "set terminal png size 640,420; set output '"
              + png
              + "';"
              + "set xlabel 'task correlation p'; set ylabel 'mean test MSE'; set xrange [*:*] reverse; set key top left;"
              + "plot '"
              + dat
              + "' using 1:2 with linespoints title 'shared-bottom', '' using 1:3 with linespoints title 'OMoE', '' using 1:4 with linespoints title 'MMoE'";
      Process gp = new ProcessBuilder("gnuplot", "-e", script).redirectErrorStream(true).start();
      String msg = new String(gp.getInputStream().readAllBytes());
      int rc = gp.waitFor();
      Files.deleteIfExists(dat);
      if (rc != 0) {
        System.err.println("gnuplot failed: " + msg);
        return null;
      }
      return png;
    } catch (IOException | InterruptedException e) {
      System.err.println("no chart: " + e.getMessage());
      return null;
    }
  }

  /** One run as a tab-separated line (for runs split over several JVMs). */
  static String toLine(Run r) {
    return String.format(
        Locale.ROOT,
        "%s\t%s\t%d\t%s\t%s\t%d",
        r.mode(),
        r.correlation(),
        r.seed(),
        r.testLoss(),
        r.labelCorrelation(),
        r.params());
  }

  static Run fromLine(String line) {
    String[] f = line.split("\t");
    if (f.length != 6) throw new IllegalArgumentException("bad result line: " + line);
    return new Run(
        SharingMode.valueOf(f[0]),
        Double.parseDouble(f[1]),
        Integer.parseInt(f[2]),
        Double.parseDouble(f[3]),
        Double.parseDouble(f[4]),
        Long.parseLong(f[5]));
  }

  /**
   * Runs the experiment. Besides the {@link Settings} options: {@code --seed-from=N} (first seed),
   * {@code --results=FILE} (append each run as a line), {@code --report-from=FILE} (no training:
   * table and report from the lines of earlier invocations; {@code --seconds=S} their duration).
   */
  public static void main(String[] args) throws Exception {
    int seedFrom = 0;
    String results = null;
    String reportFrom = null;
    double seconds = Double.NaN;
    List<String> rest = new ArrayList<>();
    for (String a : args) {
      if (a.startsWith("--seed-from=")) seedFrom = Integer.parseInt(a.substring(12));
      else if (a.startsWith("--results=")) results = a.substring(10);
      else if (a.startsWith("--report-from=")) reportFrom = a.substring(14);
      else if (a.startsWith("--seconds=")) seconds = Double.parseDouble(a.substring(10));
      else rest.add(a);
    }
    Settings s = Settings.parse(rest.toArray(new String[0]));
    MmoeExperiment e = new MmoeExperiment(s);
    List<Run> runs;
    if (reportFrom != null) {
      runs =
          Files.readAllLines(Paths.get(reportFrom)).stream()
              .filter(l -> !l.isBlank())
              .map(MmoeExperiment::fromLine)
              .toList();
    } else {
      long t0 = System.nanoTime();
      runs = e.runAll(seedFrom);
      seconds = (System.nanoTime() - t0) / 1e9;
      if (results != null) {
        StringBuilder b = new StringBuilder();
        for (Run r : runs) b.append(toLine(r)).append('\n');
        Files.writeString(
            Paths.get(results),
            b.toString(),
            java.nio.file.StandardOpenOption.CREATE,
            java.nio.file.StandardOpenOption.APPEND);
      }
    }
    System.out.println();
    System.out.println("mean final test MSE (lower is better):");
    System.out.print(e.table(runs));
    for (String line : e.verdict(runs)) System.out.println("  " + line);
    if (!s.out().isEmpty()) e.writeReport(runs, String.join(" ", rest), seconds);
  }
}
