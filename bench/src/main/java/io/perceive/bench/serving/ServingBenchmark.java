package io.perceive.bench.serving;

import io.perceive.model.ModelConfig;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.UserInput;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.SnapshotManifest;
import io.perceive.serving.Scorer;
import io.perceive.serving.ServingConfig;
import io.perceive.serving.ServingModel;
import io.perceive.serving.ServingNode;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Serving benchmarks at DESIGN.md's default model configuration, printing their figures: latency
 * p50/p99 of one request (input building + split scoring) for 100 / 1,000 / 10,000 candidates on
 * one thread, the unsplit computation on the same inputs and the split's speed-up, and — with
 * {@code http} — requests/s at 1,000 candidates over loopback HTTP with Debian's {@code wrk}
 * against a real {@link ServingNode}. Commands in docs/serving.md. Arguments: {@code latency
 * [reps=200] [candidates=100,1000,10000]} or {@code http [seconds=20] [connections=4]
 * [serverThreads=2]}.
 */
public final class ServingBenchmark {

  private ServingBenchmark() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length > 0 ? args[0] : "latency";
    System.out.println(
        "# serving benchmark ("
            + mode
            + "), default model config, OMP_NUM_THREADS="
            + System.getenv("OMP_NUM_THREADS")
            + ", load average at start: "
            + Files.readString(Path.of("/proc/loadavg")).trim());
    if (mode.equals("latency"))
      latency(
          args.length > 1 ? Integer.parseInt(args[1]) : 200,
          args.length > 2
              ? Arrays.stream(args[2].split(",")).mapToInt(Integer::parseInt).toArray()
              : new int[] {100, 1_000, 10_000});
    else if (mode.equals("http"))
      http(
          args.length > 1 ? Integer.parseInt(args[1]) : 20,
          args.length > 2 ? Integer.parseInt(args[2]) : 4,
          args.length > 3 ? Integer.parseInt(args[3]) : 2);
    else throw new IllegalArgumentException("mode must be latency or http, got " + mode);
  }

  static UserInput user(Random r, ModelConfig cfg, long now) {
    int hidden = cfg.sequenceConfig().hidden();
    List<BehaviourRecord> w = new ArrayList<>();
    for (int i = 0; i < cfg.get(ModelConfig.ATTENTION_WINDOW); i++)
      w.add(
          new BehaviourRecord(
              r.nextInt(1_000_000),
              r.nextInt(10_000),
              r.nextInt(5_000),
              r.nextInt(500),
              1 + r.nextInt(3),
              r.nextInt(8),
              now - r.nextInt(86_400_000)));
    float[] h = new float[hidden], c = new float[hidden];
    for (int i = 0; i < hidden; i++) {
      h[i] = (float) r.nextGaussian() * 0.3f;
      c[i] = (float) r.nextGaussian() * 0.3f;
    }
    return new UserInput(r.nextInt(100_000), h, c, w, Map.of("age", 30.0), 6, now);
  }

  static List<CandidateInput> candidates(Random r, int n) {
    List<CandidateInput> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++)
      out.add(
          new CandidateInput(
              r.nextInt(1_000_000),
              r.nextInt(10_000),
              r.nextInt(5_000),
              r.nextInt(500),
              Map.of("price", 1 + r.nextDouble() * 200)));
    return out;
  }

  static void latency(int reps, int[] sizes) {
    ModelConfig cfg = ModelConfig.defaults();
    ParameterSet p = new io.perceive.model.MultiTaskModel(cfg).initialise(DataType.FLOAT);
    ServingModel m = ServingModel.of(1, 0, cfg, p);
    ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
    Random r = new Random(1);
    long now = 1_700_000_000_000L;
    System.out.println(
        "one thread; split = Scorer.score (build inputs, encodeUser once, score all candidates);"
            + " unsplit = MultiTaskModel.scoreUnsplit on the same inputs; times are wall ms"
            + " (thread CPU ms in brackets)");
    System.out.println("candidates | split p50 | split p99 | unsplit p50 | speed-up (p50)");
    for (int n : sizes) {
      int splitReps = Math.max(10, reps * 100 / n);
      List<CandidateInput> cands = candidates(r, n);
      UserInput u = user(r, cfg, now);
      for (int i = 0; i < Math.max(5, splitReps / 5); i++) Scorer.score(m, u, cands, 1); // warm-up
      long rssBefore = rssKb();
      double[] wall = new double[splitReps], thread = new double[splitReps];
      for (int i = 0; i < splitReps; i++) {
        long c0 = cpu.getCurrentThreadCpuTime(), t0 = System.nanoTime();
        Scorer.score(m, u, cands, 1);
        wall[i] = (System.nanoTime() - t0) / 1e6;
        thread[i] = (cpu.getCurrentThreadCpuTime() - c0) / 1e6;
      }
      long rssGrowth = rssKb() - rssBefore;
      TrainingBatch.Users users = m.inputs().users(List.of(u));
      TrainingBatch.Candidates c = m.inputs().candidates(cands);
      int[] group = new int[n];
      int unsplitReps = n >= 10_000 ? 2 : n >= 1_000 ? 4 : 10;
      m.model().scoreUnsplit(p, users, group, c); // warm-up
      double[] unsplit = new double[unsplitReps];
      for (int i = 0; i < unsplitReps; i++) {
        long t0 = System.nanoTime();
        m.model().scoreUnsplit(p, users, group, c);
        unsplit[i] = (System.nanoTime() - t0) / 1e6;
      }
      double s50 = pct(wall, 50), u50 = pct(unsplit, 50);
      System.out.printf(
          "%,10d | %8.2f ms (%.2f) | %8.2f ms (%.2f) | %10.1f ms | %.1fx   [%d/%d reps;"
              + " resident memory %+.1f KB per split request]%n",
          n,
          s50,
          pct(thread, 50),
          pct(wall, 99),
          pct(thread, 99),
          u50,
          u50 / s50,
          splitReps,
          unsplitReps,
          rssGrowth / (double) splitReps);
    }
  }

  /** Resident set size of this process (Java heap + native), KB. */
  static long rssKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status")))
        if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    } catch (java.io.IOException e) {
      // not Linux: report 0
    }
    return 0;
  }

  static double pct(double[] v, double q) {
    double[] s = v.clone();
    Arrays.sort(s);
    int i = (int) Math.ceil(q / 100.0 * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  static void http(int seconds, int connections, int serverThreads) throws Exception {
    ModelConfig cfg = ModelConfig.defaults();
    ParameterSet p = new io.perceive.model.MultiTaskModel(cfg).initialise(DataType.FLOAT);
    Path dir = Files.createTempDirectory("perceive-serving-bench-");
    Path snap = dir.resolve("model-v000000000001.snap");
    SnapshotFile.write(
        snap, new Snapshot(1, System.currentTimeMillis(), cfg.toProperties(), p, Optional.empty()));
    StringBuilder text = new StringBuilder();
    cfg.toProperties().forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    SnapshotManifest manifest =
        SnapshotManifest.newBuilder()
            .setModelVersion(1)
            .setSnapshotFormatVersion(SnapshotFile.CURRENT_VERSION)
            .setLocation(dir.toUri().toString())
            .setFiles(List.of(snap.getFileName().toString()))
            .setChecksum("sha256:" + sha256(snap))
            .setSizeBytes(Files.size(snap))
            .setCreatedAtMs(System.currentTimeMillis())
            .setWatermarkMs(0)
            .setModelConfig(text.toString())
            .build();
    Files.writeString(
        dir.resolve("latest.manifest.json"),
        RecordCodec.of(SnapshotManifest.class).toJson(manifest));

    Random r = new Random(2);
    StringBuilder body =
        new StringBuilder("{\"scene\":\"home\",\"requestTimeMs\":1700000000000,\"behaviours\":[");
    for (int i = 0; i < 32; i++)
      body.append(i == 0 ? "" : ",")
          .append("{\"itemId\":")
          .append(r.nextInt(1_000_000))
          .append(",\"shopId\":")
          .append(r.nextInt(10_000))
          .append(",\"categoryId\":")
          .append(r.nextInt(500))
          .append(",\"type\":\"CLICK\",\"scene\":\"search\",\"eventTimeMs\":")
          .append(1_699_999_000_000L + i * 1000L)
          .append('}');
    body.append("],\"candidates\":[");
    for (int i = 0; i < 1000; i++)
      body.append(i == 0 ? "" : ",")
          .append("{\"itemId\":")
          .append(r.nextInt(1_000_000))
          .append(",\"shopId\":")
          .append(r.nextInt(10_000))
          .append(",\"brandId\":")
          .append(r.nextInt(5_000))
          .append(",\"categoryId\":")
          .append(r.nextInt(500))
          .append(",\"features\":{\"price\":")
          .append(1 + r.nextInt(200))
          .append("}}");
    body.append("]}");
    Path lua = dir.resolve("score.lua");
    Files.writeString(
        lua,
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [["
            + body
            + "]]\n",
        StandardCharsets.UTF_8);
    ServingConfig config =
        ServingConfig.defaults(dir)
            .withAddress("127.0.0.1", 0)
            .withThreads(serverThreads)
            .withUserStateDir(dir.resolve("user-state"));
    try (ServingNode node = ServingNode.start(config)) {
      String url = "http://127.0.0.1:" + node.port() + "/score";
      System.out.printf(
          "1,000 candidates per request, %d KiB body, %d server threads; wrk -t1 -c%d -d%ds --latency%n",
          body.length() / 1024, serverThreads, connections, seconds);
      run(
          List.of("wrk", "-t1", "-c" + connections, "-d2s", "-s", lua.toString(), url),
          false); // warm-up
      run(
          List.of(
              "wrk",
              "-t1",
              "-c" + connections,
              "-d" + seconds + "s",
              "--latency",
              "-s",
              lua.toString(),
              url),
          true);
      System.out.println(
          node.metrics()
              .render()
              .lines()
              .filter(l -> l.startsWith("perceive_serving_requests_total"))
              .toList());
    }
  }

  static void run(List<String> cmd, boolean print) throws Exception {
    Process pr = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out;
    try (InputStream in = pr.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    int rc = pr.waitFor();
    if (rc != 0)
      throw new IllegalStateException(String.join(" ", cmd) + " failed (" + rc + "): " + out);
    if (print) System.out.print(out);
  }

  static String sha256(Path f) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
  }
}
