package io.perceive.cli.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads a running job's learner metrics through Flink's REST API (the same API the web UI uses),
 * summed or maxed over subtasks: events applied, AUC per task, model version.
 */
final class JobProgress {

  /** One reading. */
  record Reading(
      long events, double aucClick, double aucConversion, double aucOrder, long version) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final String base;
  private final String jobId;
  private final String operator;
  private String vertexId;
  private Map<String, String> ids; // suffix → full metric id

  JobProgress(int restPort, String jobId, String operator) {
    this.base = "http://127.0.0.1:" + restPort;
    this.jobId = jobId;
    this.operator = operator;
  }

  /** The latest reading, or null while the job or its metrics are not there yet. */
  Reading read() {
    try {
      if (vertexId == null) vertexId = findVertex();
      if (vertexId == null) return null;
      if (ids == null || ids.size() < 5) ids = metricIds();
      if (ids.isEmpty()) return null;
      Map<String, Double> v = new HashMap<>();
      StringBuilder get = new StringBuilder();
      for (String id : ids.values()) get.append(get.length() == 0 ? "" : ",").append(id);
      JsonNode arr =
          get(
              "/jobs/"
                  + jobId
                  + "/vertices/"
                  + vertexId
                  + "/subtasks/metrics?agg=sum,max&get="
                  + get);
      for (JsonNode m : arr) {
        String id = m.path("id").asText();
        for (var e : ids.entrySet())
          if (e.getValue().equals(id))
            v.put(
                e.getKey(),
                e.getKey().startsWith("auc")
                    ? m.path("max").asDouble(Double.NaN)
                    : m.path("sum").asDouble(0));
      }
      return new Reading(
          v.getOrDefault("events_in", 0.0).longValue(),
          v.getOrDefault("auc_click", Double.NaN),
          v.getOrDefault("auc_conversion", Double.NaN),
          v.getOrDefault("auc_order", Double.NaN),
          v.getOrDefault("model_version", 0.0).longValue());
    } catch (IOException | RuntimeException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private String findVertex() throws IOException, InterruptedException {
    JsonNode job = get("/jobs/" + jobId);
    for (JsonNode v : job.path("vertices"))
      if (v.path("name").asText().contains(operator)) return v.path("id").asText();
    return null;
  }

  private Map<String, String> metricIds() throws IOException, InterruptedException {
    Map<String, String> m = new HashMap<>();
    JsonNode arr = get("/jobs/" + jobId + "/vertices/" + vertexId + "/subtasks/metrics");
    for (JsonNode n : arr) {
      String id = n.path("id").asText();
      if (!id.startsWith(operator + ".")) continue;
      if (id.endsWith(".events_in")) m.put("events_in", id);
      else if (id.endsWith(".model_version")) m.put("model_version", id);
      else if (id.endsWith("click.auc")) m.put("auc_click", id);
      else if (id.endsWith("conversion.auc")) m.put("auc_conversion", id);
      else if (id.endsWith("order.auc")) m.put("auc_order", id);
    }
    return m;
  }

  private JsonNode get(String path) throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(3)).build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) throw new IOException("HTTP " + r.statusCode() + " for " + path);
    return json.readTree(r.body());
  }
}
