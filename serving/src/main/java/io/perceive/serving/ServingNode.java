package io.perceive.serving;

import java.io.IOException;
import java.util.Optional;

/**
 * One serving process assembled from its parts: the live model fed by the {@link SnapshotWatcher}
 * (and the {@link ManifestTopicFollower} when Kafka is configured), the {@link UserStateStore}
 * following {@code user-state}, and the {@link ScoringServer}. The CLI and the tests build it the
 * same way.
 */
public final class ServingNode implements AutoCloseable {

  private final ServingMetrics metrics = new ServingMetrics();
  private final LiveModel live = new LiveModel();
  private final SnapshotWatcher watcher;
  private final UserStateStore users;
  private final ManifestTopicFollower manifests;
  private final ScoringServer server;

  private ServingNode(ServingConfig config) throws IOException {
    metrics.gauge(
        "perceive_serving_model_version", "Version of the live model (-1 = none).", live::version);
    metrics.gauge(
        "perceive_serving_snapshot_age_seconds",
        "Seconds since the live snapshot was created by the learner (-1 = none).",
        () ->
            live.get()
                .map(m -> (System.currentTimeMillis() - m.createdAtMs()) / 1000.0)
                .orElse(-1.0));
    metrics.gauge(
        "perceive_serving_models_freed",
        "Replaced models whose parameter memory was freed after their last request.",
        live::freedModels);
    watcher = new SnapshotWatcher(config.snapshots(), live, metrics);
    watcher.pollOnce(); // serve the newest published model from the first request on
    watcher.start(config.pollInterval());
    if (config.bootstrapServers() != null) {
      users = UserStateStore.open(config.userStateDir(), metrics);
      users.follow(config.bootstrapServers(), config.kafkaRetry());
      manifests =
          new ManifestTopicFollower(config.bootstrapServers(), watcher, config.kafkaRetry());
    } else {
      users = null;
      manifests = null;
    }
    server = new ScoringServer(config, live, Optional.ofNullable(users), metrics);
  }

  /** Starts every part; the HTTP endpoint is up when this returns. */
  public static ServingNode start(ServingConfig config) throws IOException {
    return new ServingNode(config);
  }

  public int port() {
    return server.port();
  }

  public LiveModel live() {
    return live;
  }

  public ServingMetrics metrics() {
    return metrics;
  }

  public SnapshotWatcher watcher() {
    return watcher;
  }

  public Optional<UserStateStore> users() {
    return Optional.ofNullable(users);
  }

  @Override
  public void close() {
    server.close();
    if (manifests != null) manifests.close();
    watcher.close();
    if (users != null) users.close();
  }
}
