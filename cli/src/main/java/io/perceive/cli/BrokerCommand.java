package io.perceive.cli;

import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.schemas.Topics;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/**
 * {@code ./perceive broker}: the embedded single-node Kafka broker in the foreground until Ctrl-C.
 */
public final class BrokerCommand implements Command {
  @Override
  public String summary() {
    return "run a single-node Kafka broker (KRaft, 127.0.0.1) with the project's topics until Ctrl-C";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "usage: ./perceive broker [--dir DIR] [--port 9092] [--controller-port 9093]",
        "",
        "  --dir DIR              data directory, kept between runs (default OUT/kafka)",
        "  --port N               client port on 127.0.0.1 (default 9092)",
        "  --controller-port N    KRaft controller port (default 9093)",
        "",
        "Topics: " + Topics.ALL.stream().map(t -> t.name() + "(" + t.partitions() + ")").toList());
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    args.requireKnown(Set.of("dir", "port", "controller-port"), name -> false);
    Path dir = args.pathOption("dir", Path.of("OUT", "kafka"));
    int port = args.intOption("port", 9092, 1, 65535);
    int controllerPort = args.intOption("controller-port", 9093, 1, 65535);
    if (port == controllerPort) {
      throw new UsageException("--port and --controller-port must differ");
    }
    EmbeddedKafka kafka;
    try {
      kafka = EmbeddedKafka.start(dir, port, controllerPort);
    } catch (RuntimeException e) {
      throw new IllegalStateException(
          "cannot start the broker on 127.0.0.1:"
              + port
              + "/"
              + controllerPort
              + " with data in "
              + dir
              + " (port in use? another broker on this dir?): "
              + rootMessage(e),
          e);
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  kafka.stop();
                  stopped.countDown();
                },
                "broker-shutdown"));
    out.println(
        "Kafka broker ready: --bootstrap "
            + kafka.bootstrapServers()
            + "  (data "
            + kafka.dataDir()
            + ")");
    out.println("Press Ctrl-C to stop.");
    out.flush();
    stopped.await();
    return 0;
  }

  static String rootMessage(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
  }
}
