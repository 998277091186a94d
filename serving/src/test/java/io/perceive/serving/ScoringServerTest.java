package io.perceive.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.perceive.model.ModelConfig;
import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.BehaviourTypes;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.SceneCodes;
import io.perceive.model.input.UserInput;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP contract: scores over JSON, health, metrics, and a 4xx with a reason for bad input. */
class ScoringServerTest {

  @TempDir static Path dir;
  static ServingNode node;
  static ModelConfig cfg;
  static final ObjectMapper JSON = new ObjectMapper();

  static final String REQUEST =
      """
      {"userId": 17, "scene": "home", "requestTimeMs": 1700000000000,
       "behaviours": [
         {"itemId": 5, "shopId": 2, "categoryId": 3, "type": "CLICK", "scene": "search", "eventTimeMs": 1699999990000},
         {"itemId": 9, "type": "order", "eventTimeMs": 1699999999000}],
       "profile": {"age": 33},
       "candidates": [
         {"itemId": 11, "shopId": 2, "brandId": 4, "categoryId": 3, "features": {"price": 19.9}},
         {"itemId": 12}],
       "alpha": 0.5}
      """;

  @BeforeAll
  static void start() throws Exception {
    cfg = Fixtures.smallConfig();
    node =
        ServingNode.start(
            ServingConfig.defaults(dir.resolve("snapshots"))
                .withAddress("127.0.0.1", 0)
                .withLimits(4096, 3));
    // before any model: 503, not a crash
    assertThat(Http.post(node.port(), "/score", REQUEST).statusCode()).isEqualTo(503);
    assertThat(Http.get(node.port(), "/health").statusCode()).isEqualTo(503);
    Fixtures.publish(dir.resolve("snapshots"), cfg, Fixtures.trained(cfg, 2, 9), 42);
    assertThat(node.watcher().pollOnce()).isTrue();
  }

  @AfterAll
  static void stop() {
    if (node != null) node.close();
  }

  @Test
  void servesScoresOnceAModelIsLive() throws Exception {
    HttpResponse<String> r = Http.post(node.port(), "/score", REQUEST);
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonNode body = JSON.readTree(r.body());
    assertThat(body.get("modelVersion").asLong()).isEqualTo(42);
    assertThat(body.get("user").asText()).isEqualTo("request");
    JsonNode scores = body.get("scores");
    assertThat(scores).hasSize(2);

    // the same request built directly scores the same
    UserInput user =
        new UserInput(
            17,
            null,
            null,
            List.of(
                new BehaviourRecord(
                    5,
                    2,
                    -1,
                    3,
                    BehaviourTypes.of("CLICK"),
                    SceneCodes.of("search"),
                    1699999990000L),
                new BehaviourRecord(9, -1, -1, -1, BehaviourTypes.of("ORDER"), -1, 1699999999000L)),
            Map.of("age", 33.0),
            SceneCodes.of("home"),
            1700000000000L);
    Scorer.Scores direct =
        Scorer.score(
            node.live().get().orElseThrow(),
            user,
            List.of(
                new CandidateInput(11, 2, 4, 3, Map.of("price", 19.9)),
                new CandidateInput(12, -1, -1, -1, Map.of())),
            0.5);
    for (int i = 0; i < 2; i++) {
      assertThat(scores.get(i).get("click").asDouble()).isCloseTo(direct.click()[i], within(1e-12));
      assertThat(scores.get(i).get("order").asDouble()).isCloseTo(direct.order()[i], within(1e-12));
      assertThat(scores.get(i).get("score").asDouble())
          .isCloseTo(direct.ranking()[i], within(1e-12));
    }
    assertThat(scores.get(0).get("itemId").asLong()).isEqualTo(11);

    HttpResponse<String> health = Http.get(node.port(), "/health");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"modelVersion\":42");
    String metrics = Http.get(node.port(), "/metrics").body();
    assertThat(metrics)
        .contains("perceive_serving_model_version 42")
        .contains("perceive_serving_requests_total{endpoint=\"score\",status=\"200\"}")
        .contains("perceive_serving_score_latency_seconds_count")
        .contains("# TYPE perceive_serving_score_latency_seconds histogram");
  }

  @Test
  void badRequestsGetA4xxWithTheReason() throws Exception {
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"itemId\": 1}"),
        400,
        "malformed JSON");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"itemId\": 1}], \"colour\": 1}"),
        400,
        "unknown field 'colour'");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"itemId\": 1, \"prize\": 2}]}"),
        400,
        "unknown field 'candidates[0].prize'");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": []}"), 400, "at least one candidate");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"itemId\": \"x\"}]}"),
        400,
        "malformed JSON");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"shopId\": 3}]}"),
        400,
        "itemId is required");
    assertRejected(Http.post(node.port(), "/score", "[1, 2]"), 400, "malformed JSON");
    assertRejected(
        Http.post(node.port(), "/score", "{\"candidates\": [{\"itemId\": 1}]} {}"),
        400,
        "malformed JSON");
    assertRejected(
        Http.post(
            node.port(),
            "/score",
            "{\"candidates\": [{\"itemId\":1},{\"itemId\":2},{\"itemId\":3},{\"itemId\":4}]}"),
        413,
        "over the limit of 3");
    assertRejected(
        Http.post(
            node.port(),
            "/score",
            "{\"candidates\": [{\"itemId\": 1}], \"profile\": {\"age\": \""
                + "x".repeat(5000)
                + "\"}}"),
        413,
        "over 4096 bytes");
    assertRejected(Http.get(node.port(), "/score"), 405, "use POST");
    assertRejected(Http.get(node.port(), "/nope"), 404, "no such endpoint");
    assertRejected(
        Http.post(
            node.port(),
            "/score",
            "{\"behaviours\": [{\"itemId\": 1, \"type\": \"WINK\", \"eventTimeMs\": 1}], \"candidates\": [{\"itemId\": 1}]}"),
        400,
        "unknown behaviour type 'WINK'");
    assertRejected(
        Http.post(node.port(), "/score", "{\"alpha\": -1, \"candidates\": [{\"itemId\": 1}]}"),
        400,
        "alpha must be");
  }

  private static void assertRejected(HttpResponse<String> r, int status, String reason)
      throws Exception {
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    assertThat(JSON.readTree(r.body()).get("error").asText()).contains(reason);
  }
}
