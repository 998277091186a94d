package io.perceive.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.perceive.model.ModelConfig;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.SceneCodes;
import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.schemas.Behaviour;
import io.perceive.schemas.EventType;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.SnapshotManifest;
import io.perceive.schemas.Topics;
import io.perceive.schemas.UserServingState;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDB;

/**
 * Serving against the real embedded broker: Kafka unavailable at start and later back, user states
 * from the compacted topic answering requests by user id, tombstones and unreadable records, a
 * restart on the RocksDB directory of the earlier run resuming from its stored offsets, and
 * manifests on {@code model-manifests} swapping the model.
 */
class KafkaServingTest {

  @TempDir Path dir;
  static final RecordCodec<UserServingState> STATES = RecordCodec.of(UserServingState.class);
  static final ObjectMapper JSON = new ObjectMapper();

  static UserServingState state(long user, int hidden, float fill, long... items) {
    List<Float> h = new ArrayList<>(), c = new ArrayList<>();
    for (int i = 0; i < hidden; i++) {
      h.add(fill);
      c.add(-fill);
    }
    List<Behaviour> w = new ArrayList<>();
    for (long item : items)
      w.add(
          Behaviour.newBuilder()
              .setItemId(item)
              .setShopId(item % 7)
              .setBrandId(null)
              .setCategoryId(item % 5)
              .setType(EventType.CLICK)
              .setScene("search")
              .setEventTimeMs(1_000_000L + item)
              .build());
    return UserServingState.newBuilder()
        .setUserId(user)
        .setModelVersion(1)
        .setUpdatedAtEventTimeMs(1_000_000L)
        .setHidden(h)
        .setCell(c)
        .setWindow(w)
        .setProfile(Map.of("age", 30.0))
        .setUserVector(null)
        .build();
  }

  static void send(KafkaProducer<byte[], byte[]> p, String topic, String key, byte[] value)
      throws Exception {
    p.send(
            new ProducerRecord<>(
                topic, key == null ? null : key.getBytes(StandardCharsets.UTF_8), value))
        .get();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("gave up waiting for " + what);
      Thread.sleep(50);
    }
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  @Test
  void servesFromTheUserStateTopicAcrossBrokerOutageAndRestart() throws Exception {
    ModelConfig cfg = Fixtures.smallConfig();
    int hidden = cfg.sequenceConfig().hidden();
    ParameterSet params = Fixtures.trained(cfg, 1, 21);
    Path snapshots = dir.resolve("snapshots");
    Fixtures.publish(snapshots, cfg, params, 1);
    int[] ports = EmbeddedKafka.freePorts(2);
    EmbeddedKafka kafka = new EmbeddedKafka(dir.resolve("kafka"), ports[0], ports[1]);
    String bootstrap = "127.0.0.1:" + ports[0];
    ServingConfig config =
        ServingConfig.defaults(snapshots)
            .withAddress("127.0.0.1", 0)
            .withBootstrapServers(bootstrap)
            .withUserStateDir(dir.resolve("user-state"))
            .withKafkaRetry(Duration.ofMillis(200));
    String byId =
        "{\"userId\": 1, \"scene\": \"home\", \"requestTimeMs\": 2000000,"
            + " \"candidates\": [{\"itemId\": 3, \"features\": {\"price\": 5}}, {\"itemId\": 4}]}";
    try (kafka) {
      // 1. Kafka is down: serving starts, scores from the snapshot directory, lag is unknown
      try (ServingNode node = ServingNode.start(config)) {
        HttpResponse<String> r = Http.post(node.port(), "/score", byId);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(JSON.readTree(r.body()).get("user").asText()).isEqualTo("none");
        assertThat(Http.get(node.port(), "/metrics").body())
            .contains("perceive_serving_user_state_lag_records -1");

        // 2. Kafka comes back: states arrive, an unreadable record and a tombstone are handled
        kafka.start();
        try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
          send(p, Topics.USER_STATE, "1", STATES.encode(state(1, hidden, 0.2f, 10, 11, 12)));
          send(p, Topics.USER_STATE, "2", STATES.encode(state(2, hidden, 0.1f, 20)));
          send(p, Topics.USER_STATE, "3", STATES.encode(state(3, hidden, 0.3f, 30)));
          send(p, Topics.USER_STATE, "not-a-user", new byte[] {1, 2, 3});
          send(p, Topics.USER_STATE, "2", new byte[] {(byte) 0xC3, 1, 0});
          send(p, Topics.USER_STATE, "3", null);
        }
        UserStateStore store = node.users().orElseThrow();
        await(
            () -> node.metrics().counter(UserStateStore.RECORDS, "kind=\"tombstone\"") == 1,
            "the tombstone to be applied");
        assertThat(node.metrics().counter(UserStateStore.RECORDS, "kind=\"state\"")).isEqualTo(3);
        assertThat(node.metrics().counter(UserStateStore.RECORDS, "kind=\"unreadable\""))
            .isEqualTo(2);
        assertThat(store.get(3)).isEmpty();
        assertThat(store.get(2).orElseThrow().getWindow()).hasSize(1); // the bad update was skipped
        await(() -> store.lag() == 0, "lag 0");

        // a request by user id now uses the stored state, scored exactly as the model would
        r = Http.post(node.port(), "/score", byId);
        JsonNode body = JSON.readTree(r.body());
        assertThat(body.get("user").asText()).isEqualTo("store");
        ServingModel m = node.live().get().orElseThrow();
        Scorer.Scores direct =
            Scorer.score(
                m,
                UserStates.toInput(
                    store.get(1).orElseThrow(), hidden, null, SceneCodes.of("home"), 2_000_000L),
                List.of(
                    new CandidateInput(3, -1, -1, -1, Map.of("price", 5.0)),
                    new CandidateInput(4, -1, -1, -1, Map.of())),
                1.0);
        for (int i = 0; i < 2; i++)
          assertThat(body.get("scores").get(i).get("click").asDouble())
              .isCloseTo(direct.click()[i], within(1e-12));

        // 3. a manifest on the model-manifests topic swaps the model without a directory poll
        Path v2 = dir.resolve("elsewhere");
        Fixtures.publish(v2, cfg, Fixtures.trained(cfg, 1, 22), 2);
        SnapshotManifest manifest =
            Fixtures.MANIFESTS.fromJson(Files.readAllBytes(v2.resolve(SnapshotWatcher.LATEST)));
        try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
          send(p, Topics.MODEL_MANIFESTS, null, Fixtures.MANIFESTS.encode(manifest));
        }
        await(() -> node.live().version() == 2, "version 2 from the manifest topic");
      }

      // 4. while serving is down, more states arrive; a restart on the same RocksDB directory
      // resumes from the stored offsets (only the two new records are applied)
      try (KafkaProducer<byte[], byte[]> p = producer(bootstrap)) {
        send(p, Topics.USER_STATE, "4", STATES.encode(state(4, hidden, 0.4f, 40)));
        send(p, Topics.USER_STATE, "1", STATES.encode(state(1, hidden, 0.5f, 10, 11, 12, 13)));
      }
      try (ServingNode node = ServingNode.start(config)) {
        UserStateStore store = node.users().orElseThrow();
        assertThat(store.get(2)).isPresent(); // from the earlier run, before any poll
        await(() -> store.get(4).isPresent() && store.lag() == 0, "user 4 after restart");
        assertThat(store.get(1).orElseThrow().getWindow()).hasSize(4);
        assertThat(node.metrics().counter(UserStateStore.RECORDS, "kind=\"state\"")).isEqualTo(2);
        assertThat(node.metrics().counter(UserStateStore.RECORDS, "kind=\"unreadable\"")).isZero();
      }
    }
  }

  @Test
  void aStoreDirectoryOfAnotherFormatIsRefused() throws Exception {
    Path rocks = dir.resolve("old-format");
    try (UserStateStore s = UserStateStore.open(rocks, new ServingMetrics())) {
      assertThat(s.get(1)).isEmpty();
    }
    try (RocksDB db = RocksDB.open(rocks.toString())) {
      db.put(
          "meta:format".getBytes(StandardCharsets.US_ASCII),
          ByteBuffer.allocate(4).putInt(99).array());
    }
    assertThatThrownBy(() -> UserStateStore.open(rocks, new ServingMetrics()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("format 99")
        .hasMessageContaining("delete the directory");
  }
}
