package io.perceive.cli.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveJob;
import io.perceive.job.publish.SnapshotStore;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.UserServingState;
import io.perceive.serving.ServingConfig;
import io.perceive.serving.ServingNode;
import io.perceive.serving.UserStateStore;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's consistency check end to end: a bounded job (MiniCluster, RocksDB, the real embedded
 * broker, {@link PerceiveJob#build} as the demo uses it) learns on a small world, publishes its
 * final snapshot and its users' serving states on the compacted {@code user-state} topic, and —
 * with the serving check on — scores each checked user's last published state with its final
 * weights through the training forward's own input path. A {@link ServingNode} then loads that
 * snapshot, follows the topic into its RocksDB store, and must answer the same {@code POST /score}
 * requests (user id only: the state comes from the store) with the same scores within 1e-5 under
 * the same model version. A control request without the stored (h, c) must differ, so the check is
 * sensitive to the state the job publishes.
 */
class ServingConsistencyITCase {

  static final double TOLERANCE = 1e-5;
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  @Test
  void servingScoresTheJobsFinalStatesLikeTheJobDoes() throws Exception {
    int[] ports = EmbeddedKafka.freePorts(2);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("kafka"), ports[0], ports[1])) {
      String bootstrap = kafka.bootstrapServers();
      WorldConfig world =
          WorldConfig.of(Map.of("events", "12000", "users", "60", "items", "300", "seed", "11"));
      try (EventProducer producer = new EventProducer(bootstrap, "events")) {
        producer.send(new World(world).events(), (n, rate) -> {});
        producer.flush();
      }

      Path snapshots = dir.resolve("snapshots");
      Path checks = dir.resolve("checks");
      Configuration conf = jobConfiguration(bootstrap, snapshots, checks);
      StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(conf);
      env.setParallelism(1);
      PerceiveJob.build(env, conf);
      var result = env.execute("serving-consistency");
      long applied = ((Number) result.getAccumulatorResult("events_in")).longValue();
      long emitted = ((Number) result.getAccumulatorResult("user_states_emitted")).longValue();
      System.out.printf(
          "user-state: %d records for %d applied events (min interval 30 s of event time)%n",
          emitted, applied);
      assertThat(emitted).as("throttled: fewer records than events").isLessThan(applied);

      List<JsonNode> lines = readChecks(checks);
      long version = new SnapshotStore(snapshots, 1).highestVersion();
      assertThat(lines).as("serving check lines").hasSizeGreaterThanOrEqualTo(20);
      for (JsonNode l : lines) {
        assertThat(l.get("modelVersion").asLong())
            .as("scored with the final snapshot")
            .isEqualTo(version);
        assertThat(l.get("stateVersion").asLong()).isLessThanOrEqualTo(version);
      }

      ServingConfig config =
          ServingConfig.defaults(snapshots)
              .withAddress("127.0.0.1", 0)
              .withBootstrapServers(bootstrap)
              .withUserStateDir(dir.resolve("serving-user-state"))
              .withKafkaRetry(Duration.ofMillis(200));
      try (ServingNode node = ServingNode.start(config)) {
        UserStateStore store = node.users().orElseThrow();
        await(() -> node.live().version() == version, "serving on version " + version);
        await(
            () ->
                store.lag() == 0
                    && lines.stream()
                        .allMatch(l -> store.get(l.at("/request/userId").asLong()).isPresent()),
            "every checked user's state in the store");

        HttpClient http = HttpClient.newHttpClient();
        int compared = 0, advancedStates = 0, controlsDiffering = 0;
        double worst = 0;
        for (JsonNode l : lines) {
          JsonNode request = l.get("request");
          long user = request.get("userId").asLong();
          JsonNode response = post(http, node.port(), request);
          assertThat(response.get("modelVersion").asLong()).isEqualTo(version);
          assertThat(response.get("user").asText())
              .as("user %d from the store", user)
              .isEqualTo("store");
          JsonNode scores = response.get("scores");
          assertThat(scores).hasSameSizeAs(l.get("click"));
          for (int i = 0; i < scores.size(); i++) {
            JsonNode s = scores.get(i);
            assertThat(s.get("itemId").asLong())
                .isEqualTo(request.at("/candidates/" + i + "/itemId").asLong());
            for (String task : List.of("click", "conversion", "order")) {
              double job = l.get(task).get(i).asDouble();
              double serving = s.get(task).asDouble();
              assertThat(serving)
                  .as("user %d candidate %d %s: serving vs job", user, i, task)
                  .isCloseTo(job, org.assertj.core.data.Offset.offset(TOLERANCE));
              worst = Math.max(worst, Math.abs(serving - job));
              compared++;
            }
          }

          // Control: the same window sent in the request, without the stored (h, c), must score
          // differently for a user whose state has advanced past the window start.
          UserServingState stored = store.get(user).orElseThrow();
          // the store holds the very record the job checked: its version stamp and event time
          assertThat(stored.getModelVersion()).isEqualTo(l.get("stateVersion").asLong());
          assertThat(stored.getUpdatedAtEventTimeMs())
              .isEqualTo(request.get("requestTimeMs").asLong() - 60_000);
          if (stored.getHidden().stream().anyMatch(v -> v != 0f)) {
            advancedStates++;
            JsonNode control = post(http, node.port(), withWindow(request, stored));
            assertThat(control.get("user").asText()).isEqualTo("request");
            double diff = 0;
            for (int i = 0; i < scores.size(); i++)
              diff =
                  Math.max(
                      diff,
                      Math.abs(
                          control.at("/scores/" + i + "/click").asDouble()
                              - l.get("click").get(i).asDouble()));
            if (diff > TOLERANCE) controlsDiffering++;
          }
        }
        System.out.printf(
            "serving consistency: %d users, %d scores compared, max |serving - job| = %.3g,"
                + " %d states with advanced (h, c), %d controls differing%n",
            lines.size(), compared, worst, advancedStates, controlsDiffering);
        assertThat(advancedStates).as("users whose window overflowed into (h, c)").isPositive();
        assertThat(controlsDiffering).as("controls without (h, c) that differ").isPositive();
        // the job's scores are not all the same (a degenerate model would hide input mistakes)
        assertThat(lines.stream().map(l -> l.get("click").get(0).asDouble()).distinct().count())
            .isGreaterThan(1);
      }
    }
  }

  static Configuration jobConfiguration(String bootstrap, Path snapshots, Path checks) {
    Configuration c = new Configuration();
    c.set(JobOptions.BOOTSTRAP, bootstrap);
    c.set(JobOptions.BOUNDED, true);
    c.set(JobOptions.START, "earliest");
    c.set(JobOptions.BATCH_SIZE, 64);
    c.set(JobOptions.SNAPSHOT_DIR, snapshots.toString());
    c.set(JobOptions.SERVING_CHECK_DIR, checks.toUri().toString());
    c.set(JobOptions.SERVING_CHECK_USERS, 40);
    c.set(JobOptions.SERVING_CHECK_CANDIDATES, 4);
    c.set(JobOptions.OUT_OF_ORDERNESS, Duration.ofMinutes(2));
    c.set(JobOptions.ATTRIBUTION_WINDOW, Duration.ofHours(26));
    c.set(JobOptions.IDLE_TIMEOUT, Duration.ofHours(52));
    c.setString("state.backend.type", "rocksdb");
    c.setString("execution.checkpointing.interval", "5 s");
    c.setString("execution.checkpointing.dir", checks.getParent().resolve("cp").toUri().toString());
    return c;
  }

  static List<JsonNode> readChecks(Path checks) throws Exception {
    List<JsonNode> lines = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> s = Files.walk(checks)) {
      files =
          s.filter(Files::isRegularFile)
              .filter(p -> !p.getFileName().toString().startsWith("."))
              .sorted()
              .toList();
    }
    for (Path f : files)
      for (String line : Files.readAllLines(f)) if (!line.isBlank()) lines.add(JSON.readTree(line));
    return lines;
  }

  /** The request with the stored window as {@code behaviours}: scored from a zero (h, c). */
  static JsonNode withWindow(JsonNode request, UserServingState s) {
    ObjectNode r = request.deepCopy();
    ArrayNode behaviours = r.putArray("behaviours");
    for (var b : s.getWindow()) {
      ObjectNode o = behaviours.addObject();
      o.put("itemId", b.getItemId());
      if (b.getShopId() != null) o.put("shopId", b.getShopId());
      if (b.getBrandId() != null) o.put("brandId", b.getBrandId());
      if (b.getCategoryId() != null) o.put("categoryId", b.getCategoryId());
      o.put("type", b.getType().name());
      o.put("scene", b.getScene().toString());
      o.put("eventTimeMs", b.getEventTimeMs());
    }
    ObjectNode profile = r.putObject("profile");
    if (s.getProfile() != null)
      s.getProfile()
          .forEach(
              (k, v) -> {
                if (v != null) profile.put(k.toString(), v);
              });
    return r;
  }

  static JsonNode post(HttpClient http, int port, JsonNode body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/score"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return JSON.readTree(r.body());
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("gave up waiting for " + what);
      Thread.sleep(50);
    }
  }
}
