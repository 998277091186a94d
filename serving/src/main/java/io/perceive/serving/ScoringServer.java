package io.perceive.serving;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.BehaviourTypes;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.SceneCodes;
import io.perceive.model.input.UserInput;
import io.perceive.schemas.UserServingState;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP endpoint (JDK {@link HttpServer}): {@code POST /score} scores the candidates of one
 * request with the live model, {@code GET /health} says whether a model is live, {@code GET
 * /metrics} serves Prometheus text. Request bodies and candidate counts are bounded; malformed
 * JSON, unknown fields and invalid values get a 400 with the reason.
 */
public final class ScoringServer implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ScoringServer.class);
  static final String REQUESTS = "perceive_serving_requests_total";

  /** The item feature name of the impression slot (position bias). */
  static final String POSITION = "position";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  private final ServingConfig config;
  private final LiveModel live;
  private final Optional<UserStateStore> users;
  private final ServingMetrics metrics;
  private final HttpServer http;
  private final ExecutorService workers;

  /** Binds to {@code config.host():config.port()} (port 0 = any free port) and starts serving. */
  public ScoringServer(
      ServingConfig config, LiveModel live, Optional<UserStateStore> users, ServingMetrics metrics)
      throws IOException {
    this.config = config;
    this.live = live;
    this.users = users;
    this.metrics = metrics;
    this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 256);
    AtomicInteger n = new AtomicInteger();
    this.workers =
        Executors.newFixedThreadPool(
            config.threads(),
            r -> {
              Thread t = new Thread(r, "scoring-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(workers);
    http.createContext("/", this::handle);
    http.start();
    LOG.info("serving on http://{}:{}/score", config.host(), port());
  }

  /** The bound port. */
  public int port() {
    return http.getAddress().getPort();
  }

  private record Reply(int status, String contentType, String body) {
    static Reply json(int status, String body) {
      return new Reply(status, "application/json", body);
    }

    static Reply error(int status, String reason) {
      return json(status, "{\"error\":" + quote(reason) + "}");
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    long start = System.nanoTime();
    String path = ex.getRequestURI().getPath();
    String endpoint;
    Reply reply;
    try {
      switch (path) {
        case "/score" -> {
          endpoint = "score";
          reply = ex.getRequestMethod().equals("POST") ? score(ex) : notAllowed("POST");
        }
        case "/health" -> {
          endpoint = "health";
          reply = ex.getRequestMethod().equals("GET") ? health() : notAllowed("GET");
        }
        case "/metrics" -> {
          endpoint = "metrics";
          reply =
              ex.getRequestMethod().equals("GET")
                  ? new Reply(200, "text/plain; version=0.0.4; charset=utf-8", metrics.render())
                  : notAllowed("GET");
        }
        default -> {
          endpoint = "other";
          reply =
              Reply.error(
                  404, "no such endpoint " + path + "; try POST /score, GET /health, GET /metrics");
        }
      }
    } catch (RuntimeException e) {
      endpoint = "score";
      LOG.error("request to {} failed", path, e);
      reply = Reply.error(500, "internal error: " + e);
    }
    try {
      byte[] body = reply.body().getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().set("Content-Type", reply.contentType());
      ex.sendResponseHeaders(reply.status(), body.length);
      try (OutputStream out = ex.getResponseBody()) {
        out.write(body);
      }
    } finally {
      ex.close();
      metrics.increment(
          REQUESTS, "endpoint=\"" + endpoint + "\",status=\"" + reply.status() + "\"");
      if (endpoint.equals("score")) metrics.observeLatency(System.nanoTime() - start);
    }
  }

  /** The JSON path of a failure, e.g. {@code candidates[0].colour}. */
  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference r : e.getPath()) {
      if (r.getFieldName() != null) sb.append(sb.isEmpty() ? "" : ".").append(r.getFieldName());
      else if (r.getIndex() >= 0) sb.append('[').append(r.getIndex()).append(']');
    }
    return sb.toString();
  }

  private static Reply notAllowed(String method) {
    return Reply.error(405, "method not allowed; use " + method);
  }

  private Reply health() {
    Optional<ServingModel> m = live.get();
    if (m.isEmpty()) return Reply.json(503, "{\"status\":\"no model loaded yet\"}");
    return Reply.json(
        200,
        "{\"status\":\"ok\",\"modelVersion\":"
            + m.get().version()
            + ",\"snapshotAgeMs\":"
            + (System.currentTimeMillis() - m.get().createdAtMs())
            + "}");
  }

  private Reply score(HttpExchange ex) throws IOException {
    String length = ex.getRequestHeaders().getFirst("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > config.maxRequestBytes())
          return Reply.error(413, "request body over " + config.maxRequestBytes() + " bytes");
      } catch (NumberFormatException e) {
        return Reply.error(400, "bad Content-Length " + length);
      }
    }
    byte[] body;
    try (InputStream in = ex.getRequestBody()) {
      body = in.readNBytes(config.maxRequestBytes() + 1);
    }
    if (body.length > config.maxRequestBytes())
      return Reply.error(413, "request body over " + config.maxRequestBytes() + " bytes");
    ScoreRequest req;
    try {
      req = JSON.readValue(body, ScoreRequest.class);
    } catch (UnrecognizedPropertyException e) {
      return Reply.error(400, "unknown field '" + path(e) + "'");
    } catch (JsonMappingException e) {
      String at = path(e);
      return Reply.error(
          400,
          "malformed JSON"
              + (at.isEmpty() ? "" : " at '" + at + "'")
              + ": "
              + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      return Reply.error(400, "malformed JSON: " + e.getOriginalMessage());
    }
    if (req == null) return Reply.error(400, "empty request body; expected a JSON object");
    if (req.candidates() == null || req.candidates().isEmpty())
      return Reply.error(400, "candidates: at least one candidate is required");
    if (req.candidates().size() > config.maxCandidates())
      return Reply.error(
          413,
          "candidates: "
              + req.candidates().size()
              + " is over the limit of "
              + config.maxCandidates());
    Optional<LiveModel.Lease> lease = live.acquire();
    if (lease.isEmpty()) return Reply.error(503, "no model loaded yet");
    try (LiveModel.Lease l = lease.get()) {
      ServingModel m = l.model(); // one version for the whole request
      double alpha = req.alpha() == null ? config.alpha() : req.alpha();
      long now = req.requestTimeMs() == null ? System.currentTimeMillis() : req.requestTimeMs();
      String[] source = new String[1];
      UserInput user = user(req, m, now, source);
      List<CandidateInput> cands = candidates(req.candidates());
      Scorer.Scores s = Scorer.score(m, user, cands, alpha);
      return Reply.json(200, response(s, cands, source[0]));
    } catch (IllegalArgumentException e) {
      return Reply.error(400, e.getMessage());
    }
  }

  private UserInput user(ScoreRequest req, ServingModel m, long now, String[] source) {
    int scene = SceneCodes.of(req.scene());
    long userId = req.userId() == null ? -1 : req.userId();
    if (req.behaviours() == null && req.userId() != null && users.isPresent()) {
      Optional<UserServingState> s = users.get().get(userId);
      if (s.isPresent()) {
        source[0] = UserStates.fits(s.get(), m.inputs().hidden()) ? "store" : "store-window";
        return UserStates.toInput(s.get(), m.inputs().hidden(), req.profile(), scene, now);
      }
    }
    List<BehaviourRecord> window = new ArrayList<>();
    if (req.behaviours() != null) {
      for (int i = 0; i < req.behaviours().size(); i++) {
        ScoreRequest.Behaviour b = req.behaviours().get(i);
        if (b == null || b.itemId() == null || b.eventTimeMs() == null || b.type() == null)
          throw new IllegalArgumentException(
              "behaviours[" + i + "]: itemId, type and eventTimeMs are required");
        window.add(
            new BehaviourRecord(
                b.itemId(),
                orMissing(b.shopId()),
                orMissing(b.brandId()),
                orMissing(b.categoryId()),
                BehaviourTypes.of(b.type()),
                SceneCodes.of(b.scene()),
                b.eventTimeMs()));
      }
      source[0] = "request";
    } else {
      source[0] = "none";
    }
    return new UserInput(userId, null, null, window, req.profile(), scene, now);
  }

  private static List<CandidateInput> candidates(List<ScoreRequest.Candidate> in) {
    List<CandidateInput> out = new ArrayList<>(in.size());
    for (int i = 0; i < in.size(); i++) {
      ScoreRequest.Candidate c = in.get(i);
      if (c == null || c.itemId() == null)
        throw new IllegalArgumentException("candidates[" + i + "]: itemId is required");
      Map<String, Double> f = c.features();
      if (f != null)
        for (var e : f.entrySet())
          if (e.getValue() != null && Double.isInfinite(e.getValue()))
            throw new IllegalArgumentException(
                "candidates[" + i + "].features." + e.getKey() + " is not finite");
      if (f == null || !f.containsKey(POSITION)) {
        // the position-bias feature (main's item feature 'position' = impression slot): training
        // saw real slots; at serving time the slot is not known yet, so 0 (the top) unless given
        f = f == null ? new java.util.HashMap<>() : new java.util.HashMap<>(f);
        f.put(POSITION, 0.0);
      }
      out.add(
          new CandidateInput(
              c.itemId(),
              orMissing(c.shopId()),
              orMissing(c.brandId()),
              orMissing(c.categoryId()),
              f));
    }
    return out;
  }

  private static String response(Scorer.Scores s, List<CandidateInput> cands, String source) {
    StringBuilder sb = new StringBuilder(64 + 110 * s.size());
    sb.append("{\"modelVersion\":").append(s.modelVersion());
    sb.append(",\"user\":\"").append(source).append("\",\"scores\":[");
    for (int i = 0; i < s.size(); i++) {
      if (i > 0) sb.append(',');
      sb.append("{\"itemId\":").append(cands.get(i).itemId());
      sb.append(",\"click\":").append(number(s.click()[i]));
      sb.append(",\"conversion\":").append(number(s.conversion()[i]));
      sb.append(",\"order\":").append(number(s.order()[i]));
      sb.append(",\"score\":").append(number(s.ranking()[i])).append('}');
    }
    return sb.append("]}").toString();
  }

  private static String number(double v) {
    return Double.isFinite(v) ? Double.toString(v) : "null";
  }

  private static long orMissing(Long id) {
    return id == null ? -1 : id;
  }

  static String quote(String s) {
    try {
      return JSON.writeValueAsString(s);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    http.stop(0);
    workers.shutdownNow();
    try {
      workers.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
