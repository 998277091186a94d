package io.perceive.cli.demo;

import io.perceive.cli.report.DemoReport;
import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveJob;
import io.perceive.job.learner.ScoredSample;
import io.perceive.job.publish.SnapshotStore;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.movielens.MovieLensReplay;
import io.perceive.sandbox.world.TruthFile;
import io.perceive.sandbox.world.TruthTable;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.TruthRecord;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * {@code perceive demo}: a real single-node Kafka broker on 127.0.0.1, a generated world streamed
 * into it, the learner on a local Flink cluster with its web UI, a progress bar, and a report with
 * plots at the end. The job is built by the same {@link PerceiveJob#build} that {@code perceive
 * run} submits to a cluster.
 */
public final class Demo {

  /** What a finished demo produced (the integration test reads it). */
  public record Result(
      Path out, Map<String, Object> report, Map<String, Long> counts, long produced) {}

  private final DemoOptions o;
  private final PrintStream log;

  Demo(DemoOptions o, PrintStream log) {
    this.o = o;
    this.log = log;
  }

  public static String usage() {
    return DemoOptions.USAGE;
  }

  /** Entry point of the {@code demo} subcommand; returns the process exit code. */
  public static int main(List<String> args) {
    DemoOptions o;
    try {
      if (args.contains("--help") || args.contains("-h")) {
        System.out.println(DemoOptions.USAGE);
        return 0;
      }
      o = DemoOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("perceive demo: " + e.getMessage());
      return 2;
    }
    try {
      Result r = new Demo(o, System.out).run();
      System.out.println("report: " + r.out().resolve("report.html").toAbsolutePath());
      return 0;
    } catch (Exception e) {
      System.err.println("perceive demo failed: " + e);
      e.printStackTrace();
      return 1;
    }
  }

  /** Runs the demo with the given options (used by tests). */
  public static Result run(List<String> args, PrintStream log) throws Exception {
    return new Demo(DemoOptions.parse(args), log).run();
  }

  Result run() throws Exception {
    long t0 = System.nanoTime();
    Path out = o.out.toAbsolutePath();
    Files.createDirectories(out);
    for (String d : List.of("predictions", "snapshots", "checkpoints")) deleteTree(out.resolve(d));
    Files.deleteIfExists(out.resolve("truth.avro"));

    Path kafkaDir = Files.createTempDirectory("perceive-demo-kafka");
    EmbeddedKafka kafka = null;
    try {
      String bootstrap;
      long produced;
      Path truthPath = null;
      if (o.source == DemoOptions.Source.KAFKA) {
        bootstrap = o.bootstrap;
        produced = -1;
      } else {
        int[] ports = EmbeddedKafka.freePorts(2);
        log.printf("starting Kafka on 127.0.0.1:%d ...%n", ports[0]);
        kafka = EmbeddedKafka.start(kafkaDir, ports[0], ports[1]);
        bootstrap = kafka.bootstrapServers();
        if (o.source == DemoOptions.Source.MOVIELENS) {
          produced = produceMovieLens(bootstrap);
        } else {
          truthPath = out.resolve("truth.avro");
          produced = produceWorld(bootstrap, truthPath);
        }
      }

      Configuration conf = jobConfiguration(bootstrap, out);
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.createLocalEnvironmentWithWebUI(conf);
      env.setParallelism(o.parallelism);
      PerceiveJob.build(env, conf);
      JobClient job = env.executeAsync("perceive-demo");
      int restPort = conf.get(org.apache.flink.configuration.RestOptions.PORT);
      log.printf("Flink web UI: http://localhost:%d  (job %s)%n", restPort, job.getJobID());
      List<DemoReport.Progress> progress = new ArrayList<>();
      long started = System.nanoTime();
      JobProgress poll =
          new JobProgress(restPort, job.getJobID().toString(), PerceiveJob.LEARNER_NAME);
      var done = job.getJobExecutionResult();
      while (!done.isDone()) {
        Thread.sleep(1000);
        JobProgress.Reading r = poll.read();
        double secs = (System.nanoTime() - started) / 1e9;
        if (r != null) {
          progress.add(new DemoReport.Progress(secs, r.events()));
          if (!o.quiet) log.print("\r" + bar(r, produced, secs));
        }
      }
      JobExecutionResult result = done.get();
      double wall = (System.nanoTime() - started) / 1e9;
      if (!o.quiet) log.println();
      Map<String, Long> counts = new LinkedHashMap<>();
      result.getAllAccumulatorResults().entrySet().stream()
          .filter(e -> e.getValue() instanceof Number) // the job also returns histograms
          .sorted(Map.Entry.comparingByKey())
          .forEach(e -> counts.put(e.getKey(), ((Number) e.getValue()).longValue()));
      long events =
          counts.getOrDefault("events_in", 0L)
              + counts.getOrDefault("duplicates", 0L)
              + counts.getOrDefault("invalid", 0L);
      progress.add(new DemoReport.Progress(wall, counts.getOrDefault("events_in", 0L)));

      TruthTable truth = truthPath == null ? null : TruthFile.read(truthPath);
      List<ScoredSample> rows = readPredictions(out.resolve("predictions"));
      SnapshotStore store = new SnapshotStore(out.resolve("snapshots"), 1);
      long version = Math.max(0, store.highestVersion());
      int snapshots;
      try (Stream<Path> s = Files.list(out.resolve("snapshots"))) {
        snapshots = (int) s.filter(p -> p.toString().endsWith(".snap")).count();
      } catch (IOException e) {
        snapshots = 0;
      }
      Map<String, Object> settings = new LinkedHashMap<>();
      settings.put("source", o.source.name().toLowerCase(Locale.ROOT));
      settings.put("arch", o.arch);
      settings.put("parallelism", o.parallelism);
      settings.put("missing_value_layer", o.missingValueLayer);
      if (o.klWeight != null) settings.put("kl_weight", o.klWeight);
      settings.put("produced_events", produced);
      DemoReport report =
          new DemoReport(
              rows,
              truth == null ? null : id -> truth.get(id).map(Demo::probabilities).orElse(null),
              events,
              wall,
              version,
              snapshots,
              counts,
              progress,
              settings);
      report.write(out);
      printSummary(report, (System.nanoTime() - t0) / 1e9);
      return new Result(out, report.json(), counts, produced);
    } finally {
      if (kafka != null) kafka.close();
      deleteTree(kafkaDir);
    }
  }

  private static double[] probabilities(TruthRecord t) {
    return new double[] {t.getPClick(), t.getPConversion(), t.getPOrder()};
  }

  private long produceWorld(String bootstrap, Path truthPath) throws Exception {
    Map<String, String> overrides = new LinkedHashMap<>(o.worldOverrides);
    overrides.putIfAbsent("events", String.valueOf(o.events == null ? 100_000 : o.events));
    if (o.seed != null) overrides.put("seed", String.valueOf(o.seed));
    WorldConfig wc =
        o.world == null ? WorldConfig.of(overrides) : WorldConfig.load(o.world, overrides);
    log.printf(
        "world: %d events, %d users, %d items, seed %d%n", wc.events, wc.users, wc.items, wc.seed);
    long sent;
    try (TruthFile.Writer truth = TruthFile.create(truthPath);
        EventProducer producer = new EventProducer(bootstrap, o.topic)) {
      World.Stream events = new World(wc).events(truth);
      sent =
          producer.send(
              events,
              (n, rate) -> {
                if (!o.quiet)
                  log.printf(
                      Locale.ROOT,
                      "\rproducing %,d / %,d events (%,.0f events/s)",
                      n,
                      wc.events,
                      rate);
              });
      producer.flush();
    }
    if (!o.quiet) log.println();
    return sent;
  }

  /** Converts MovieLens from the Debian package at run time and streams it (no truth is known). */
  private long produceMovieLens(String bootstrap) throws Exception {
    log.println("converting MovieLens (r-cran-dslabs) ...");
    List<MovieLensReplay.Rating> ratings = MovieLensReplay.load();
    if (o.events != null && o.events < ratings.size())
      ratings = ratings.subList(0, (int) (long) o.events);
    long sent;
    try (EventProducer producer =
        new EventProducer(
            bootstrap,
            o.topic,
            0,
            java.time.Duration.ofSeconds(30),
            io.perceive.schemas.EventValidator.forMovieLens())) {
      sent =
          producer.send(
              MovieLensReplay.events(ratings),
              (n, rate) -> {
                if (!o.quiet)
                  log.printf(
                      Locale.ROOT, "\rproducing %,d MovieLens events (%,.0f events/s)", n, rate);
              });
      producer.flush();
    }
    if (!o.quiet) log.println();
    return sent;
  }

  Configuration jobConfiguration(String bootstrap, Path out) {
    Configuration c = new Configuration();
    c.set(JobOptions.BOOTSTRAP, bootstrap);
    c.set(JobOptions.EVENTS_TOPIC, o.topic);
    c.set(JobOptions.BOUNDED, true);
    c.set(JobOptions.START, "earliest");
    c.set(JobOptions.BATCH_SIZE, o.batchSize);
    c.set(JobOptions.PREDICTIONS_DIR, out.resolve("predictions").toUri().toString());
    c.set(JobOptions.SNAPSHOT_DIR, out.resolve("snapshots").toString());
    c.set(JobOptions.SNAPSHOTS_KEPT, 3);
    // The world delivers events up to max_delivery_delay_seconds (120 s) late and orders up to
    // ~25 h after their click: the watermark and the attribution window cover both.
    c.set(JobOptions.OUT_OF_ORDERNESS, java.time.Duration.ofMinutes(2));
    c.set(JobOptions.ATTRIBUTION_WINDOW, java.time.Duration.ofHours(26));
    c.set(JobOptions.IDLE_TIMEOUT, java.time.Duration.ofHours(52));
    if (o.source == DemoOptions.Source.MOVIELENS)
      c.set(JobOptions.MIN_EVENT_TIME, "1995-01-01T00:00:00Z");
    c.setString(
        JobOptions.MODEL_PREFIX + "sharing.mode",
        o.arch.replace('-', '_').toUpperCase(Locale.ROOT));
    if (o.klWeight != null)
      c.setString(JobOptions.MODEL_PREFIX + "task.kl.weight", o.klWeight.toString());
    if (!o.missingValueLayer)
      c.setString(JobOptions.MODEL_PREFIX + "missing_value_layer.enabled", "false");
    // Flink: local cluster, RocksDB with incremental checkpoints, web UI
    c.setString("state.backend.type", "rocksdb");
    c.setString("state.backend.rocksdb.timer-service.factory", "HEAP");
    c.setString("execution.checkpointing.incremental", "true");
    c.setString("execution.checkpointing.interval", "10 s");
    c.setString("execution.checkpointing.dir", out.resolve("checkpoints").toUri().toString());
    c.setString("taskmanager.numberOfTaskSlots", String.valueOf(Math.max(1, o.parallelism)));
    c.setString(
        "rest.port", String.valueOf(o.uiPort == 0 ? EmbeddedKafka.freePorts(1)[0] : o.uiPort));
    c.setString("rest.address", "127.0.0.1");
    c.setString("rest.bind-address", "127.0.0.1");
    o.jobOverrides.forEach(c::setString);
    return c;
  }

  /** Every row of a predictions directory's part files (hidden in-progress files skipped). */
  public static List<ScoredSample> readPredictions(Path dir) throws IOException {
    List<ScoredSample> rows = new ArrayList<>();
    if (!Files.isDirectory(dir)) return rows;
    List<Path> files;
    try (Stream<Path> s = Files.walk(dir)) {
      files =
          s.filter(Files::isRegularFile)
              .filter(p -> !p.getFileName().toString().startsWith("."))
              .sorted()
              .toList();
    }
    for (Path f : files)
      for (String line : Files.readAllLines(f))
        if (!line.isBlank()) rows.add(ScoredSample.fromCsv(line));
    return rows;
  }

  private String bar(JobProgress.Reading r, long produced, double secs) {
    String total = produced > 0 ? String.format(Locale.ROOT, "/%,d", produced) : "";
    return String.format(
        Locale.ROOT,
        "events %,d%s | %,.0f ev/s | AUC click %s conv %s order %s | model v%d   ",
        r.events(),
        total,
        r.events() / Math.max(secs, 1e-3),
        fmt(r.aucClick()),
        fmt(r.aucConversion()),
        fmt(r.aucOrder()),
        r.version());
  }

  private static String fmt(double v) {
    return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "  —  ";
  }

  private void printSummary(DemoReport report, double seconds) {
    Map<String, Object> j = report.json();
    log.printf(
        Locale.ROOT,
        "done in %.1f s: %s events, %.0f events/s, model v%s, %s snapshot(s)%n",
        seconds,
        j.get("events"),
        (double) j.get("events_per_second"),
        j.get("model_version"),
        j.get("snapshots"));
    log.printf("%-11s%10s%9s%9s%9s%n", "task", "samples", "auc", "oracle", "logloss");
    report
        .tasks()
        .forEach(
            (t, f) ->
                log.printf(
                    Locale.ROOT,
                    "%-11s%10d%9.4f%9s%9.4f%n",
                    t,
                    f.samples(),
                    f.auc(),
                    f.oracleAuc() == null ? "—" : String.format(Locale.ROOT, "%.4f", f.oracleAuc()),
                    f.logloss()));
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
    }
  }
}
