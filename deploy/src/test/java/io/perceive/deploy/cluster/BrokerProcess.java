package io.perceive.deploy.cluster;

import io.perceive.sandbox.EmbeddedKafka;
import java.nio.file.Path;

/**
 * The embedded single-node broker as its own JVM (the drill kills and restarts it like any other
 * process): {@code BrokerProcess DIR PORT CONTROLLER_PORT}; prints {@code READY <bootstrap>} once
 * it accepts clients and runs until stdin closes or the process is killed.
 */
public final class BrokerProcess {
  private BrokerProcess() {}

  public static void main(String[] args) throws Exception {
    EmbeddedKafka kafka =
        EmbeddedKafka.start(Path.of(args[0]), Integer.parseInt(args[1]), Integer.parseInt(args[2]));
    Runtime.getRuntime().addShutdownHook(new Thread(kafka::stop, "broker-shutdown"));
    System.out.println("READY " + kafka.bootstrapServers());
    System.out.flush();
    // The parent holds our stdin: when it goes away, so do we.
    while (System.in.read() >= 0) {
      // ignore input
    }
    kafka.stop();
    System.exit(0);
  }
}
