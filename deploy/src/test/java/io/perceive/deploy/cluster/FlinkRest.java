package io.perceive.deploy.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of Flink's REST API (the same endpoints the web UI and {@code flink run} against a
 * session cluster use) that submit, watch, rescale and stop the job.
 */
public final class FlinkRest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String base;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  public FlinkRest(String base) {
    this.base = base;
  }

  public JsonNode get(String path) throws IOException {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  /** GET that answers empty instead of throwing while the cluster is not reachable. */
  public Optional<JsonNode> tryGet(String path) {
    try {
      return Optional.of(get(path));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  public JsonNode post(String path, JsonNode body) throws IOException {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body.toString())));
  }

  private JsonNode send(HttpRequest.Builder request) throws IOException {
    HttpResponse<String> response;
    try {
      response =
          http.send(
              request.timeout(Duration.ofSeconds(60)).build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (response.statusCode() / 100 != 2)
      throw new IOException(
          response.request().method()
              + " "
              + response.uri()
              + " -> "
              + response.statusCode()
              + ": "
              + response.body());
    return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
  }

  /** Number of TaskManagers registered with the JobManager (0 while unreachable). */
  public int taskManagers() {
    return tryGet("/taskmanagers").map(n -> n.path("taskmanagers").size()).orElse(0);
  }

  /** {@code POST /jars/upload}; returns the jar id for {@link #run}. */
  public String uploadJar(Path jar) throws IOException {
    String boundary = "----perceive" + System.nanoTime();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    body.write(
        ("--"
                + boundary
                + "\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\""
                + jar.getFileName()
                + "\"\r\nContent-Type: application/x-java-archive\r\n\r\n")
            .getBytes(StandardCharsets.UTF_8));
    body.write(Files.readAllBytes(jar));
    body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    JsonNode r =
        send(
            HttpRequest.newBuilder(URI.create(base + "/jars/upload"))
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    String file = r.path("filename").asText();
    if (file.isEmpty()) throw new IOException("upload answered without a filename: " + r);
    return Path.of(file).getFileName().toString();
  }

  /** {@code POST /jars/:id/run}; returns the job id. */
  public String run(
      String jarId, String entryClass, List<String> args, int parallelism, String savepoint)
      throws IOException {
    ObjectNode body = JSON.createObjectNode();
    body.put("entryClass", entryClass);
    body.putPOJO("programArgsList", args);
    body.put("parallelism", parallelism);
    if (savepoint != null) {
      body.put("savepointPath", savepoint);
      body.put("allowNonRestoredState", false);
    }
    JsonNode r = post("/jars/" + jarId + "/run", body);
    return r.path("jobid").asText();
  }

  public String jobState(String jobId) throws IOException {
    return get("/jobs/" + jobId).path("state").asText();
  }

  /** True when the job is RUNNING and every subtask of every vertex is RUNNING. */
  public boolean allTasksRunning(String jobId) {
    Optional<JsonNode> job = tryGet("/jobs/" + jobId);
    if (job.isEmpty() || !job.get().path("state").asText().equals("RUNNING")) return false;
    for (JsonNode v : job.get().path("vertices")) {
      int running = v.path("tasks").path("RUNNING").asInt();
      if (running != v.path("parallelism").asInt()) return false;
    }
    return true;
  }

  /** Vertex id → name. */
  public Map<String, String> vertices(String jobId) throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    for (JsonNode v : get("/jobs/" + jobId).path("vertices"))
      m.put(v.path("id").asText(), v.path("name").asText());
    return m;
  }

  /** The id of the first vertex whose name contains {@code part}. */
  public String vertex(String jobId, String part) throws IOException {
    return vertices(jobId).entrySet().stream()
        .filter(e -> e.getValue().contains(part))
        .map(Map.Entry::getKey)
        .findFirst()
        .orElseThrow(() -> new IOException("no vertex named like '" + part + "'"));
  }

  /**
   * Sum over subtasks of the metric whose id ends with {@code suffix} (first match), or empty while
   * it is not reported yet.
   */
  public Optional<Double> metric(String jobId, String vertexId, String suffix, String agg) {
    String path = "/jobs/" + jobId + "/vertices/" + vertexId + "/subtasks/metrics";
    Optional<JsonNode> names = tryGet(path);
    if (names.isEmpty()) return Optional.empty();
    String id = null;
    for (JsonNode n : names.get()) {
      String candidate = n.path("id").asText();
      if (candidate.endsWith(suffix)) {
        id = candidate;
        break;
      }
    }
    if (id == null) return Optional.empty();
    Optional<JsonNode> values =
        tryGet(path + "?get=" + URLEncoder.encode(id, StandardCharsets.UTF_8) + "&agg=" + agg);
    if (values.isEmpty() || values.get().size() == 0) return Optional.empty();
    JsonNode v = values.get().get(0).path(agg);
    return v.isMissingNode() ? Optional.empty() : Optional.of(v.asDouble());
  }

  /** Ids of the TaskManagers running subtasks of a vertex. */
  public List<String> taskManagersOf(String jobId, String vertexId) {
    List<String> ids = new ArrayList<>();
    tryGet("/jobs/" + jobId + "/vertices/" + vertexId + "/taskmanagers")
        .ifPresent(
            n -> n.path("taskmanagers").forEach(t -> ids.add(t.path("taskmanager-id").asText())));
    return ids;
  }

  /** A job-level metric (e.g. numRestarts), or empty. */
  public Optional<Double> jobMetric(String jobId, String name) {
    return tryGet("/jobs/" + jobId + "/metrics?get=" + name)
        .filter(n -> n.size() > 0)
        .map(n -> n.get(0).path("value").asDouble());
  }

  /** Latest completed checkpoint id, or -1. */
  public long latestCheckpoint(String jobId) {
    return tryGet("/jobs/" + jobId + "/checkpoints")
        .map(n -> n.path("latest").path("completed").path("id").asLong(-1))
        .orElse(-1L);
  }

  /** When the latest completed checkpoint was acknowledged (epoch ms), or -1. */
  public long latestCheckpointAckMs(String jobId) {
    return tryGet("/jobs/" + jobId + "/checkpoints")
        .map(n -> n.path("latest").path("completed").path("latest_ack_timestamp").asLong(-1))
        .orElse(-1L);
  }

  /** The checkpoints summary: counts, latest completed and restored. */
  public JsonNode checkpoints(String jobId) throws IOException {
    return get("/jobs/" + jobId + "/checkpoints");
  }

  /** User accumulators of the job (reset by every failover; final for a finished attempt). */
  public Map<String, Long> accumulators(String jobId) throws IOException {
    Map<String, Long> m = new LinkedHashMap<>();
    for (JsonNode a : get("/jobs/" + jobId + "/accumulators").path("user-task-accumulators")) {
      try {
        m.put(a.path("name").asText(), Long.parseLong(a.path("value").asText()));
      } catch (NumberFormatException e) {
        // not a counter
      }
    }
    return m;
  }

  /** {@code POST /jobs/:id/stop} (stop with savepoint, no drain); waits and returns its path. */
  public String stopWithSavepoint(String jobId, String targetDir, Duration timeout)
      throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode();
    body.put("targetDirectory", targetDir);
    body.put("drain", false);
    String trigger = post("/jobs/" + jobId + "/stop", body).path("request-id").asText();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode s = get("/jobs/" + jobId + "/savepoints/" + trigger);
      if (s.path("status").path("id").asText().equals("COMPLETED")) {
        JsonNode op = s.path("operation");
        if (op.has("failure-cause"))
          throw new IOException("stop-with-savepoint failed: " + op.path("failure-cause"));
        return op.path("location").asText();
      }
      Thread.sleep(500);
    }
    throw new IOException("stop-with-savepoint did not complete within " + timeout);
  }

  /** The root exceptions of the job (most recent first), for failure messages. */
  public List<String> exceptions(String jobId) {
    List<String> out = new ArrayList<>();
    tryGet("/jobs/" + jobId + "/exceptions?maxExceptions=5")
        .ifPresent(
            n -> {
              for (JsonNode e : n.path("exceptionHistory").path("entries")) {
                String s = e.path("stacktrace").asText();
                out.add(s.length() > 1500 ? s.substring(0, 1500) : s);
              }
            });
    return out;
  }
}
