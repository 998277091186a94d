package io.perceive.cli;

import io.perceive.serving.ServingConfig;
import io.perceive.serving.ServingNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./perceive serve}: the scoring endpoint over the learner's snapshot directory (and, with
 * {@code --bootstrap}, the user-state and model-manifests topics) until Ctrl-C.
 */
public final class ServeCommand implements Command {
  @Override
  public String summary() {
    return "serve the latest published model over HTTP (POST /score, GET /health, GET /metrics)";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "usage: ./perceive serve --snapshots DIR [--bootstrap HOST:PORT] [options]",
        "",
        "  --snapshots DIR        the learner's snapshot directory (required; watched for new versions)",
        "  --bootstrap SERVERS    Kafka for the user-state and model-manifests topics (default: none;",
        "                         requests then carry the user's behaviours)",
        "  --user-state DIR       RocksDB directory of the user-state store, kept across restarts",
        "                         (default: DIR/../serving-user-state)",
        "  --host ADDR            address to bind (default " + ServingConfig.DEFAULT_HOST + ")",
        "  --port N               port (default "
            + ServingConfig.DEFAULT_PORT
            + "; 0 = any free port)",
        "  --threads N            scoring threads (default " + ServingConfig.DEFAULT_THREADS + ")",
        "  --max-candidates N     most candidates per request (default "
            + ServingConfig.DEFAULT_MAX_CANDIDATES
            + ")",
        "  --max-request-bytes N  largest request body (default "
            + ServingConfig.DEFAULT_MAX_REQUEST_BYTES
            + ")",
        "  --alpha A              ranking score p(click)·p(conversion)^A (default "
            + ServingConfig.DEFAULT_ALPHA
            + ")",
        "  --poll-ms N            snapshot directory poll interval (default "
            + ServingConfig.DEFAULT_POLL_INTERVAL.toMillis()
            + ")",
        "",
        "Example request (see README, ## Serving):",
        "  curl -s localhost:8080/score -d '{\"userId\": 7, \"scene\": \"home\",",
        "       \"candidates\": [{\"itemId\": 11, \"features\": {\"price\": 19.9}}]}'");
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    NativeMemory.enablePointerGc(); // serving runs for days: free the memory of dropped ND4J arrays
    args.requireKnown(
        Set.of(
            "snapshots",
            "bootstrap",
            "user-state",
            "host",
            "port",
            "threads",
            "max-candidates",
            "max-request-bytes",
            "alpha",
            "poll-ms"),
        name -> false);
    Path snapshots = Path.of(args.requiredOption("snapshots"));
    ServingConfig config;
    try {
      ServingConfig d = ServingConfig.defaults(snapshots);
      config =
          d.withBootstrapServers(args.option("bootstrap", null))
              .withUserStateDir(args.pathOption("user-state", d.userStateDir()))
              .withAddress(
                  args.option("host", ServingConfig.DEFAULT_HOST),
                  args.intOption("port", ServingConfig.DEFAULT_PORT, 0, 65535))
              .withThreads(args.intOption("threads", ServingConfig.DEFAULT_THREADS, 1, 256))
              .withLimits(
                  args.intOption(
                      "max-request-bytes",
                      ServingConfig.DEFAULT_MAX_REQUEST_BYTES,
                      1024,
                      256 << 20),
                  args.intOption(
                      "max-candidates", ServingConfig.DEFAULT_MAX_CANDIDATES, 1, 1_000_000))
              .withAlpha(args.doubleOption("alpha", ServingConfig.DEFAULT_ALPHA, 0, 1e6))
              .withPollInterval(
                  Duration.ofMillis(
                      args.intOption(
                          "poll-ms",
                          (int) ServingConfig.DEFAULT_POLL_INTERVAL.toMillis(),
                          10,
                          3_600_000)));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    ServingNode node = ServingNode.start(config);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  node.close();
                  stopped.countDown();
                },
                "serving-shutdown"));
    out.println(
        "serving on http://"
            + config.host()
            + ":"
            + node.port()
            + "/score  (model version "
            + node.live().version()
            + ", snapshots "
            + snapshots
            + (config.bootstrapServers() == null ? "" : ", kafka " + config.bootstrapServers())
            + ")");
    out.println("Press Ctrl-C to stop.");
    out.flush();
    stopped.await();
    return 0;
  }
}
