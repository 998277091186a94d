package io.perceive.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.perceive.model.ModelConfig;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.UserInput;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hot swap under concurrent load: clients score continuously while new versions are published; no
 * request fails, every response's scores are exactly those of the one version it names (so no
 * response mixes two models), and each client sees versions only go up.
 */
class HotSwapTest {

  @TempDir Path dir;

  @Test
  void concurrentRequestsDuringSwapsNeverFailMixOrGoBackwards() throws Exception {
    ModelConfig cfg = Fixtures.smallConfig();
    int versions = 6;
    List<ParameterSet> params = new ArrayList<>();
    for (int v = 1; v <= versions; v++) params.add(Fixtures.trained(cfg, 1, 100 + v));
    String request =
        "{\"behaviours\": [{\"itemId\": 5, \"type\": \"CLICK\", \"eventTimeMs\": 1000}],"
            + " \"requestTimeMs\": 5000, \"candidates\": [{\"itemId\": 11, \"features\": {\"price\": 3}},"
            + " {\"itemId\": 12}], \"alpha\": 1}";
    UserInput user =
        new UserInput(
            -1,
            null,
            null,
            List.of(new io.perceive.model.input.BehaviourRecord(5, -1, -1, -1, 1, -1, 1000)),
            Map.of(),
            -1,
            5000);
    List<CandidateInput> cands =
        List.of(
            new CandidateInput(11, -1, -1, -1, Map.of("price", 3.0)),
            new CandidateInput(12, -1, -1, -1, Map.of()));
    Map<Long, Double> expectedClick = new ConcurrentHashMap<>();
    for (int v = 1; v <= versions; v++)
      expectedClick.put(
          (long) v,
          Scorer.score(ServingModel.of(v, 0, cfg, params.get(v - 1)), user, cands, 1).click()[0]);
    assertThat(expectedClick.values().stream().distinct().count()).isEqualTo(versions);

    Path snapshots = dir.resolve("snapshots");
    Fixtures.publish(snapshots, cfg, params.get(0), 1);
    ServingConfig config =
        ServingConfig.defaults(snapshots)
            .withAddress("127.0.0.1", 0)
            .withThreads(2)
            .withPollInterval(Duration.ofMillis(20));
    ObjectMapper json = new ObjectMapper();
    try (ServingNode node = ServingNode.start(config)) {
      assertThat(node.live().version()).isEqualTo(1);
      AtomicBoolean stop = new AtomicBoolean();
      List<String> failures = new CopyOnWriteArrayList<>();
      AtomicInteger requests = new AtomicInteger();
      Map<Long, Boolean> seen = new ConcurrentHashMap<>();
      List<Thread> clients = new ArrayList<>();
      for (int c = 0; c < 4; c++) {
        Thread t =
            new Thread(
                () -> {
                  long last = 0;
                  try {
                    while (!stop.get()) {
                      HttpResponse<String> r = Http.post(node.port(), "/score", request);
                      requests.incrementAndGet();
                      if (r.statusCode() != 200) {
                        failures.add("status " + r.statusCode() + ": " + r.body());
                        continue;
                      }
                      JsonNode b = json.readTree(r.body());
                      long v = b.get("modelVersion").asLong();
                      seen.put(v, true);
                      if (v < last) failures.add("version went back from " + last + " to " + v);
                      last = v;
                      double click = b.get("scores").get(0).get("click").asDouble();
                      Double want = expectedClick.get(v);
                      if (want == null || Math.abs(click - want) > 1e-9)
                        failures.add(
                            "version "
                                + v
                                + " answered click "
                                + click
                                + ", its model gives "
                                + want);
                    }
                  } catch (Exception e) {
                    failures.add(e.toString());
                  }
                });
        t.start();
        clients.add(t);
      }
      while (requests.get() < 20) Thread.sleep(5); // load is running on version 1
      for (int v = 2; v <= versions; v++) {
        int before = requests.get();
        Fixtures.publish(snapshots, cfg, params.get(v - 1), v);
        while (node.live().version() < v || requests.get() < before + 20) Thread.sleep(5);
      }
      stop.set(true);
      for (Thread t : clients) t.join();
      assertThat(failures).isEmpty();
      assertThat(node.live().version()).isEqualTo(versions);
      assertThat(seen.keySet()).contains(1L, (long) versions);
      assertThat(seen.size()).isGreaterThanOrEqualTo(3);
      assertThat(node.metrics().counter(SnapshotWatcher.LOADED, "")).isEqualTo(versions);
      // every replaced model's parameters were freed once its last request finished
      assertThat(node.live().freedModels()).isEqualTo(versions - 1);
      System.out.printf(
          "hot swap: %d requests over %d versions, versions seen %s%n",
          requests.get(), versions, seen.keySet());
    }
  }
}
