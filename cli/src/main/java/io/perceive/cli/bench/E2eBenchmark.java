package io.perceive.cli.bench;

import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveJob;
import io.perceive.job.learner.LearnerFactory;
import io.perceive.job.learner.PhaseTimes;
import io.perceive.job.learner.UserLearnerOperator;
import io.perceive.model.MultiTaskModel;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.EventValidator;
import io.perceive.schemas.UserEvent;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The end-to-end benchmark of the streaming learner (issue #6, "Benchmarks"; docs/benchmarks.md).
 * On one embedded broker:
 *
 * <ol>
 *   <li><b>Throughput</b>: a synthetic world is produced once; each round then runs, as bounded
 *       jobs on a local MiniCluster reading that topic from the earliest offset, the no-learning
 *       floor and the learner at each parallelism, alternating (floor P1, learner P1, floor P2,
 *       learner P2, …) so load noise from the shared machine hits all of them. Events/s and
 *       samples/s come from the job's own counters over its net runtime and over the learner's
 *       input span; with the minibatch phase profile from the job's phase counters.
 *   <li><b>Freshness</b>: the learner runs while a rate-limited producer writes the world's events
 *       with event time = wall time; the job's freshness histograms give p50/p99 of event time →
 *       first published version that trained on the sample, split into label maturity and training
 *       + sync.
 * </ol>
 */
public final class E2eBenchmark {

  /** What to run. */
  public record Options(
      long events,
      int rounds,
      List<Integer> parallelisms,
      int liveSeconds,
      double liveRate,
      int liveParallelism,
      Map<String, String> world,
      Map<String, String> job,
      Path work) {

    public Options {
      if (events < 1) throw new IllegalArgumentException("--events must be >= 1");
      if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1");
      if (parallelisms.isEmpty()) throw new IllegalArgumentException("--parallelism is empty");
      for (int p : parallelisms)
        if (p < 1 || p > 16)
          throw new IllegalArgumentException("parallelism must be 1 - 16, got " + p);
      if (liveSeconds < 0) throw new IllegalArgumentException("--live-seconds must be >= 0");
      if (!(liveRate >= 0) || Double.isInfinite(liveRate))
        throw new IllegalArgumentException("--live-rate must be >= 0 (0 = half the learner's)");
      if (liveParallelism < 1) throw new IllegalArgumentException("--live-parallelism >= 1");
      world = Map.copyOf(world);
      job = Map.copyOf(job);
    }
  }

  /** One bounded job of the throughput phase (or the live run). */
  public record Run(
      String kind,
      int parallelism,
      int round,
      double wallSeconds,
      double netRuntimeSeconds,
      double spanSeconds,
      long events,
      long samples,
      long minibatches,
      Map<String, Long> phaseNanos,
      String loadBefore,
      String loadAfter) {

    public double eventsPerSecond() {
      return events / netRuntimeSeconds;
    }

    public double samplesPerSecond() {
      return samples / netRuntimeSeconds;
    }

    public double spanEventsPerSecond() {
      return spanSeconds > 0 ? events / spanSeconds : Double.NaN;
    }

    public double spanSamplesPerSecond() {
      return spanSeconds > 0 ? samples / spanSeconds : Double.NaN;
    }
  }

  /** The live run: freshness histograms (bucket → count, {@code FreshnessTracker} buckets). */
  public record Freshness(
      Run run,
      double rate,
      long produced,
      Map<Integer, Long> total,
      Map<Integer, Long> maturity,
      Map<Integer, Long> trainSync,
      Map<String, String> settings) {}

  /** Everything measured. */
  public record Result(
      Options options, long produced, List<Run> runs, Freshness freshness, String loadAtStart) {}

  /** The label windows etc. of the throughput runs: the demo's, for the world's timing. */
  static final Map<String, String> REPLAY_SETTINGS =
      Map.of(
          JobOptions.OUT_OF_ORDERNESS.key(), "2 min",
          JobOptions.ATTRIBUTION_WINDOW.key(), "26 h",
          JobOptions.IDLE_TIMEOUT.key(), "52 h");

  /**
   * The live run's label windows, in wall time: the world's event order is kept but its clock is
   * replaced by the producer's, so a click follows its impression by milliseconds to seconds.
   */
  static final Map<String, String> LIVE_SETTINGS =
      Map.of(
          JobOptions.OUT_OF_ORDERNESS.key(), "1 s",
          JobOptions.CLICK_WINDOW.key(), "5 s",
          JobOptions.ATTRIBUTION_WINDOW.key(), "20 s",
          JobOptions.IDLE_TIMEOUT.key(), "1 min",
          JobOptions.DEDUPE_HORIZON.key(), "1 min");

  private final Options o;
  private final PrintStream log;
  private int runCounter;

  public E2eBenchmark(Options options, PrintStream log) {
    this.o = options;
    this.log = log;
  }

  public Result run() throws Exception {
    String loadAtStart = loadAverage();
    log.printf("load average at start: %s%n", loadAtStart);
    Path work = o.work().toAbsolutePath();
    Files.createDirectories(work);
    Path kafkaDir = Files.createTempDirectory("perceive-bench-kafka");
    try (EmbeddedKafka kafka = startBroker(kafkaDir)) {
      warmUp();
      String topic = "bench-events";
      kafka.createTopic(topic, Math.max(2, maxParallelism()));
      kafka.createTopic("bench-dlq", 1);
      long produced = produce(kafka.bootstrapServers(), topic);
      List<Run> runs = new ArrayList<>();
      for (int round = 1; round <= o.rounds(); round++)
        for (int p : o.parallelisms())
          for (String kind : List.of("floor", "learner")) {
            Run r = runBounded(kafka, topic, kind, p, round, work);
            runs.add(r);
            log.printf(
                Locale.ROOT,
                "round %d  %-7s P=%d  %,9d events %,9d samples  %6.1f s  %,8.0f events/s  %,8.0f"
                    + " samples/s  (span %,8.0f events/s)  load %s%n",
                round,
                kind,
                p,
                r.events(),
                r.samples(),
                r.netRuntimeSeconds(),
                r.eventsPerSecond(),
                r.samplesPerSecond(),
                r.spanEventsPerSecond(),
                r.loadAfter());
            if (r.events() != produced)
              log.printf(
                  "  note: the job counted %,d events, %,d were produced%n", r.events(), produced);
          }
      Freshness f = null;
      if (o.liveSeconds() > 0) f = runLive(kafka, runs, work);
      return new Result(o, produced, runs, f, loadAtStart);
    } finally {
      deleteTree(kafkaDir);
    }
  }

  private int maxParallelism() {
    int m = o.liveParallelism();
    for (int p : o.parallelisms()) m = Math.max(m, p);
    return m;
  }

  private EmbeddedKafka startBroker(Path dir) {
    int[] ports = EmbeddedKafka.freePorts(2);
    log.printf("starting Kafka on 127.0.0.1:%d ...%n", ports[0]);
    return EmbeddedKafka.start(dir, ports[0], ports[1]);
  }

  /**
   * ND4J's first use unpacks and loads native code (seconds): done once here so that it is not
   * charged to whichever job happens to run first.
   */
  private void warmUp() {
    long t = System.nanoTime();
    new MultiTaskModel(modelConfig()).initialise(DataType.FLOAT);
    log.printf(Locale.ROOT, "ND4J loaded in %.1f s%n", (System.nanoTime() - t) / 1e9);
  }

  private io.perceive.model.ModelConfig modelConfig() {
    return io.perceive.model.ModelConfig.fromProperties(
        PerceiveJob.modelProperties(Configuration.fromMap(o.job())));
  }

  private WorldConfig world(long events) {
    Map<String, String> w = new LinkedHashMap<>(o.world());
    w.put("events", String.valueOf(events));
    return WorldConfig.of(w);
  }

  private long produce(String bootstrap, String topic) throws Exception {
    WorldConfig wc = world(o.events());
    log.printf(
        "producing the world: %,d events, %d users, %d items, seed %d%n",
        wc.events, wc.users, wc.items, wc.seed);
    try (EventProducer producer = new EventProducer(bootstrap, topic)) {
      long n = producer.send(new World(wc).events(), (k, rate) -> {});
      producer.flush();
      return n;
    }
  }

  /** What a child JVM runs: one bounded job. */
  record ChildSpec(String kind, int parallelism, int round, Map<String, String> conf) {}

  /**
   * One bounded run over the whole pre-produced topic, in a child JVM with this JVM's flags and
   * class path. Why a child: under the launcher's {@code nopointergc=true} ND4J's native
   * allocations are never freed, so jobs run one after another in one JVM accumulate native memory
   * (a 30,000-event × 4-job run reached 10.7 GB and was OOM-killed); a child returns it on exit.
   */
  private Run runBounded(
      EmbeddedKafka kafka, String topic, String kind, int p, int round, Path work)
      throws Exception {
    Configuration conf = conf(kafka, topic, p, work, REPLAY_SETTINGS);
    Path dir = work.resolve("run-" + runCounter);
    Files.createDirectories(dir);
    Path spec = dir.resolve("spec.json");
    Path result = dir.resolve("run.json");
    Path childLog = work.resolve("run-" + runCounter + ".log");
    JSON.writeValue(spec.toFile(), new ChildSpec(kind, p, round, conf.toMap()));
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            E2eBenchmark.class.getName(),
            spec.toString(),
            result.toString()));
    Process child =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.to(childLog.toFile()))
            .start();
    int rc = child.waitFor();
    if (rc != 0 || !Files.exists(result))
      throw new IllegalStateException(
          "the " + kind + " P=" + p + " job failed (exit " + rc + "; log " + childLog + ")");
    Run r = JSON.readValue(result.toFile(), Run.class);
    deleteTree(dir); // checkpoints and snapshots: not needed
    Files.deleteIfExists(childLog);
    return r;
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();

  /** Child JVM entry point: {@code E2eBenchmark SPEC.json RESULT.json} runs one bounded job. */
  public static void main(String[] args) throws Exception {
    org.apache.logging.log4j.core.config.Configurator.setRootLevel(
        org.apache.logging.log4j.Level.WARN);
    ChildSpec spec = JSON.readValue(Path.of(args[0]).toFile(), ChildSpec.class);
    Configuration conf = Configuration.fromMap(spec.conf());
    // ND4J's native loading before the job starts, so that the job's runtime does not carry it
    new MultiTaskModel(
            io.perceive.model.ModelConfig.fromProperties(PerceiveJob.modelProperties(conf)))
        .initialise(DataType.FLOAT);
    LearnerFactory learners =
        spec.kind().equals("floor")
            ? new FloorLearnerFactory(PerceiveJob.modelProperties(conf))
            : PerceiveJob.learnerFactory(conf);
    String loadBefore = loadAverage();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
    env.setParallelism(spec.parallelism());
    PerceiveJob.build(env, conf, learners);
    long t0 = System.nanoTime();
    JobExecutionResult r =
        env.execute("bench-" + spec.kind() + "-p" + spec.parallelism() + "-r" + spec.round());
    double wall = (System.nanoTime() - t0) / 1e9;
    JSON.writeValue(
        Path.of(args[1]).toFile(),
        run(spec.kind(), spec.parallelism(), spec.round(), wall, r, loadBefore));
    System.exit(0); // Flink's and Kafka's non-daemon threads must not keep the child alive
  }

  private static Run run(
      String kind, int p, int round, double wall, JobExecutionResult r, String loadBefore) {
    Map<String, Object> acc = r.getAllAccumulatorResults();
    long events = count(acc, "events_in") + count(acc, "duplicates") + count(acc, "invalid");
    long samples = count(acc, "click_rows") + count(acc, "conversion_rows");
    Map<String, Long> phases = new LinkedHashMap<>();
    for (PhaseTimes.Phase ph : PhaseTimes.Phase.values())
      phases.put(ph.key(), count(acc, ph.accumulator()));
    long first = count(acc, UserLearnerOperator.FIRST_EVENT_WALL_MS);
    long ended = count(acc, UserLearnerOperator.INPUT_ENDED_WALL_MS);
    double span = first > 0 && ended > first ? (ended - first) / 1e3 : Double.NaN;
    return new Run(
        kind,
        p,
        round,
        wall,
        r.getNetRuntime(TimeUnit.MILLISECONDS) / 1e3,
        span,
        events,
        samples,
        count(acc, "minibatches"),
        phases,
        loadBefore,
        loadAverage());
  }

  private static long count(Map<String, Object> acc, String name) {
    Object v = acc.get(name);
    return v instanceof Number n ? n.longValue() : 0L;
  }

  /** The job configuration of a run: the demo's, with topics, group and directories of its own. */
  private Configuration conf(
      EmbeddedKafka kafka, String topic, int p, Path work, Map<String, String> labels) {
    int id = ++runCounter;
    String updates = "bench-updates-" + id;
    String manifests = "bench-manifests-" + id;
    kafka.createTopic(updates, 1);
    kafka.createTopic(manifests, 1);
    Path dir = work.resolve("run-" + id);
    Configuration c = new Configuration();
    c.set(JobOptions.BOOTSTRAP, kafka.bootstrapServers());
    c.set(JobOptions.EVENTS_TOPIC, topic);
    c.set(JobOptions.DLQ_TOPIC, "bench-dlq");
    c.set(JobOptions.GROUP_ID, "bench-" + id);
    c.set(JobOptions.UPDATES_TOPIC, updates);
    c.set(JobOptions.MANIFESTS_TOPIC, manifests);
    c.set(JobOptions.BOUNDED, true);
    c.set(JobOptions.START, "earliest");
    c.set(JobOptions.SNAPSHOT_DIR, dir.resolve("snapshots").toString());
    c.set(JobOptions.SNAPSHOTS_KEPT, 1);
    labels.forEach(c::setString);
    c.setString("state.backend.type", "rocksdb");
    c.setString("state.backend.rocksdb.timer-service.factory", "HEAP");
    c.setString("execution.checkpointing.incremental", "true");
    c.setString("execution.checkpointing.interval", "10 s");
    c.setString("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
    c.setString("taskmanager.numberOfTaskSlots", String.valueOf(p));
    o.job().forEach(c::setString);
    return c;
  }

  /**
   * The freshness run: the learner reads a one-partition topic up to a known end offset while a
   * rate-limited producer writes the world's events with event time = wall time.
   */
  private Freshness runLive(EmbeddedKafka kafka, List<Run> runs, Path work) throws Exception {
    double rate = o.liveRate();
    if (rate == 0) {
      List<Double> learner = new ArrayList<>();
      for (Run r : runs)
        if (r.kind().equals("learner") && r.parallelism() == o.liveParallelism())
          learner.add(r.eventsPerSecond());
      learner.sort(Comparator.naturalOrder());
      rate = learner.isEmpty() ? 300 : Math.max(20, 0.5 * learner.get(learner.size() / 2));
    }
    long n = Math.max(1, Math.round(rate * o.liveSeconds()));
    List<UserEvent> events = new ArrayList<>();
    new World(world(n)).events().forEachRemaining(events::add);
    String topic = "bench-live";
    kafka.createTopic(topic, 1);
    Configuration conf = conf(kafka, topic, o.liveParallelism(), work, LIVE_SETTINGS);
    log.printf(
        Locale.ROOT,
        "live run: %,d events at %,.0f events/s (event time = wall time), learner P=%d%n",
        events.size(),
        rate,
        o.liveParallelism());
    String loadBefore = loadAverage();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
    env.setParallelism(o.liveParallelism());
    // idempotent producer, no transactions: the records take offsets 0 .. n-1
    PerceiveJob.build(
        env,
        conf,
        PerceiveJob.learnerFactory(conf),
        OffsetsInitializer.offsets(Map.of(new TopicPartition(topic, 0), (long) events.size())));
    long t0 = System.nanoTime();
    JobClient job = env.executeAsync("bench-live");
    awaitFirstRecord(kafka.bootstrapServers(), conf.get(JobOptions.UPDATES_TOPIC));
    AtomicReference<Exception> failure = new AtomicReference<>();
    double limit = rate;
    Thread producer =
        new Thread(
            () -> {
              try {
                produceLive(kafka.bootstrapServers(), topic, events, limit);
              } catch (Exception e) {
                failure.set(e);
              }
            },
            "bench-live-producer");
    producer.start();
    JobExecutionResult r;
    try {
      r = job.getJobExecutionResult().get();
    } finally {
      producer.join(TimeUnit.SECONDS.toMillis(30));
    }
    if (failure.get() != null) throw failure.get();
    double wall = (System.nanoTime() - t0) / 1e9;
    deleteTree(work.resolve("run-" + runCounter));
    Run run = run("live", o.liveParallelism(), 0, wall, r, loadBefore);
    Map<String, String> settings = new LinkedHashMap<>(LIVE_SETTINGS);
    settings.put(JobOptions.SYNC_INTERVAL.key(), conf.get(JobOptions.SYNC_INTERVAL).toString());
    settings.put(JobOptions.BATCH_SIZE.key(), conf.get(JobOptions.BATCH_SIZE).toString());
    settings.put(JobOptions.FLUSH_INTERVAL.key(), conf.get(JobOptions.FLUSH_INTERVAL).toString());
    Map<String, Object> acc = r.getAllAccumulatorResults();
    return new Freshness(
        run,
        rate,
        events.size(),
        histogram(acc.get(UserLearnerOperator.FRESHNESS_TOTAL)),
        histogram(acc.get(UserLearnerOperator.FRESHNESS_MATURITY)),
        histogram(acc.get(UserLearnerOperator.FRESHNESS_TRAIN_SYNC)),
        settings);
  }

  private static Map<Integer, Long> histogram(Object v) {
    Map<Integer, Long> m = new TreeMap<>();
    if (v instanceof Map<?, ?> h)
      h.forEach((k, c) -> m.put(((Number) k).intValue(), ((Number) c).longValue()));
    return m;
  }

  /** Writes the events at {@code rate}, each stamped with the wall time at which it is sent. */
  private static void produceLive(
      String bootstrap, String topic, List<UserEvent> events, double rate) throws Exception {
    try (EventProducer producer =
        new EventProducer(bootstrap, topic, 0, Duration.ofSeconds(10), EventValidator.defaults())) {
      long start = System.nanoTime();
      for (int i = 0; i < events.size(); i++) {
        long due = start + (long) (i * 1e9 / rate);
        long wait = due - System.nanoTime();
        if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
        UserEvent e = events.get(i);
        e.setEventTimeMs(System.currentTimeMillis());
        producer.send(e);
      }
      producer.flush();
    }
  }

  /**
   * Waits until the job's parameter server has published its first FULL: the job's operators are
   * open, so the live events are not stamped while the job is still starting.
   */
  private static void awaitFirstRecord(String bootstrap, String topic) throws InterruptedException {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition tp = new TopicPartition(topic, 0);
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (System.nanoTime() < deadline) {
        Long end = c.endOffsets(List.of(tp)).get(tp);
        if (end != null && end > 0) return;
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("the live job published nothing on " + topic + " in 2 min");
  }

  /** {@code /proc/loadavg}'s three averages, or "n/a". */
  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> s = Files.walk(p)) {
      for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
    }
  }
}
