package io.perceive.serving;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Every serving setting, typed, defaulted and validated (documented as Key | Default | Description
 * in {@code docs/serving.md} and the README).
 *
 * @param snapshots the learner's snapshot directory (local or mounted), watched for manifests
 * @param pollInterval how often the snapshot directory is polled
 * @param bootstrapServers Kafka bootstrap servers for the user-state and model-manifests topics;
 *     null = no Kafka (requests must then carry their behaviours)
 * @param userStateDir the RocksDB directory of the user-state store (kept across restarts)
 * @param host the address to bind (127.0.0.1 unless configured otherwise)
 * @param port the port (0 = any free port)
 * @param threads HTTP worker threads scoring requests
 * @param maxRequestBytes the largest accepted request body
 * @param maxCandidates the most candidates one request may carry
 * @param alpha default exponent α of the ranking score p(click) · p(conversion)^α
 * @param kafkaRetry wait between attempts while Kafka is unreachable
 */
public record ServingConfig(
    Path snapshots,
    Duration pollInterval,
    String bootstrapServers,
    Path userStateDir,
    String host,
    int port,
    int threads,
    int maxRequestBytes,
    int maxCandidates,
    double alpha,
    Duration kafkaRetry) {

  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(1);
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_THREADS = 2;
  public static final int DEFAULT_MAX_REQUEST_BYTES = 4 << 20;
  public static final int DEFAULT_MAX_CANDIDATES = 10_000;
  public static final double DEFAULT_ALPHA = 1.0;
  public static final Duration DEFAULT_KAFKA_RETRY = Duration.ofSeconds(2);

  public ServingConfig {
    if (snapshots == null) throw new IllegalArgumentException("snapshots directory is required");
    if (pollInterval == null || pollInterval.toMillis() < 10)
      throw new IllegalArgumentException("pollInterval must be >= 10 ms, got " + pollInterval);
    if (bootstrapServers != null && bootstrapServers.isBlank()) bootstrapServers = null;
    if (host == null || host.isBlank()) throw new IllegalArgumentException("host is required");
    if (port < 0 || port > 65535)
      throw new IllegalArgumentException("port must be in 0..65535, got " + port);
    if (threads < 1 || threads > 256)
      throw new IllegalArgumentException("threads must be in 1..256, got " + threads);
    if (maxRequestBytes < 1024 || maxRequestBytes > (256 << 20))
      throw new IllegalArgumentException(
          "maxRequestBytes must be in 1 KiB..256 MiB, got " + maxRequestBytes);
    if (maxCandidates < 1 || maxCandidates > 1_000_000)
      throw new IllegalArgumentException(
          "maxCandidates must be in 1..1000000, got " + maxCandidates);
    if (!(alpha >= 0) || Double.isInfinite(alpha))
      throw new IllegalArgumentException("alpha must be a finite number >= 0, got " + alpha);
    if (kafkaRetry == null || kafkaRetry.toMillis() < 10)
      throw new IllegalArgumentException("kafkaRetry must be >= 10 ms, got " + kafkaRetry);
  }

  /** Defaults for a snapshot directory: no Kafka, the user store next to the snapshots. */
  public static ServingConfig defaults(Path snapshots) {
    return new ServingConfig(
        snapshots,
        DEFAULT_POLL_INTERVAL,
        null,
        snapshots.toAbsolutePath().resolveSibling("serving-user-state"),
        DEFAULT_HOST,
        DEFAULT_PORT,
        DEFAULT_THREADS,
        DEFAULT_MAX_REQUEST_BYTES,
        DEFAULT_MAX_CANDIDATES,
        DEFAULT_ALPHA,
        DEFAULT_KAFKA_RETRY);
  }

  public ServingConfig withBootstrapServers(String v) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        v,
        userStateDir,
        host,
        port,
        threads,
        maxRequestBytes,
        maxCandidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withUserStateDir(Path v) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        v,
        host,
        port,
        threads,
        maxRequestBytes,
        maxCandidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withAddress(String h, int p) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        userStateDir,
        h,
        p,
        threads,
        maxRequestBytes,
        maxCandidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withThreads(int v) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        userStateDir,
        host,
        port,
        v,
        maxRequestBytes,
        maxCandidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withLimits(int requestBytes, int candidates) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        userStateDir,
        host,
        port,
        threads,
        requestBytes,
        candidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withAlpha(double v) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        userStateDir,
        host,
        port,
        threads,
        maxRequestBytes,
        maxCandidates,
        v,
        kafkaRetry);
  }

  public ServingConfig withPollInterval(Duration v) {
    return new ServingConfig(
        snapshots,
        v,
        bootstrapServers,
        userStateDir,
        host,
        port,
        threads,
        maxRequestBytes,
        maxCandidates,
        alpha,
        kafkaRetry);
  }

  public ServingConfig withKafkaRetry(Duration v) {
    return new ServingConfig(
        snapshots,
        pollInterval,
        bootstrapServers,
        userStateDir,
        host,
        port,
        threads,
        maxRequestBytes,
        maxCandidates,
        alpha,
        v);
  }
}
