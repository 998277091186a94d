package io.perceive.sandbox;

import io.perceive.schemas.Topics;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka broker (KRaft, broker + controller in one process) on 127.0.0.1, running
 * inside this JVM, with the project's topics created.
 *
 * <p>Recipe from shared/STACK.md: format the log dir once with {@code StorageTool}, then {@code
 * KafkaRaftServer.startup()}, then wait until {@code Admin.describeCluster()} answers. The data
 * directory survives {@link #stop()}, so {@link #start()} on the same directory and ports brings
 * the same topics and records back. Start-up takes ~9 s; integration tests share one broker per JVM
 * through {@link #shared()}.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final String CLUSTER_ID = "perceive-sandbox-0001"; // fixed: restart keeps the dir
  // Generous: with three other builds on the 2 cores (load 14) one start-up took 148 s.
  private static final Duration START_TIMEOUT = Duration.ofSeconds(180);
  private static EmbeddedKafka shared;

  private final Path dataDir;
  private final int brokerPort;
  private final int controllerPort;
  private KafkaRaftServer server;

  /** A broker that will keep its data in {@code dataDir} and listen on the given ports. */
  public EmbeddedKafka(Path dataDir, int brokerPort, int controllerPort) {
    if (brokerPort <= 0 || controllerPort <= 0 || brokerPort == controllerPort) {
      throw new IllegalArgumentException(
          "broker and controller ports must be distinct and > 0, got "
              + brokerPort
              + ", "
              + controllerPort);
    }
    this.dataDir = dataDir.toAbsolutePath();
    this.brokerPort = brokerPort;
    this.controllerPort = controllerPort;
  }

  /** Creates and starts a broker (see {@link #start()}). */
  public static EmbeddedKafka start(Path dataDir, int brokerPort, int controllerPort) {
    EmbeddedKafka kafka = new EmbeddedKafka(dataDir, brokerPort, controllerPort);
    kafka.start();
    return kafka;
  }

  /**
   * The broker shared by every integration test in this JVM: started on first use in a temporary
   * directory on free ports, stopped (and its directory deleted) by a shutdown hook.
   */
  public static synchronized EmbeddedKafka shared() {
    if (shared == null) {
      try {
        Path dir = Files.createTempDirectory("perceive-kafka-");
        int[] ports = freePorts(2);
        EmbeddedKafka kafka = start(dir, ports[0], ports[1]);
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(
                    () -> {
                      kafka.stop();
                      deleteRecursively(dir);
                    },
                    "embedded-kafka-shutdown"));
        shared = kafka;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return shared;
  }

  /** Formats the data directory if new, starts the broker, waits for it, creates missing topics. */
  public synchronized void start() {
    if (server != null) {
      throw new IllegalStateException("broker already running on " + bootstrapServers());
    }
    long started = System.nanoTime();
    try {
      Files.createDirectories(dataDir);
      Path configFile = dataDir.resolve("server.properties");
      Properties props = brokerProperties();
      try (Writer out = Files.newBufferedWriter(configFile, StandardCharsets.UTF_8)) {
        props.store(out, "Perceive embedded broker");
      }
      if (!Files.exists(logDir().resolve("meta.properties"))) {
        format(configFile);
      }
      KafkaRaftServer raft = new KafkaRaftServer(new KafkaConfig(props, false), Time.SYSTEM);
      raft.startup();
      server = raft;
      awaitReady();
      createTopics();
    } catch (IOException e) {
      stopQuietly();
      throw new UncheckedIOException("cannot start the embedded Kafka broker in " + dataDir, e);
    } catch (RuntimeException e) {
      stopQuietly();
      throw e;
    }
    LOG.info(
        "Kafka broker ready on {} (data {}) in {} ms",
        bootstrapServers(),
        dataDir,
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
  }

  /** Shuts the broker down cleanly and waits for it; the data directory is kept. Idempotent. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    KafkaRaftServer raft = server;
    server = null;
    raft.shutdown();
    raft.awaitShutdown();
    LOG.info("Kafka broker on 127.0.0.1:{} stopped", brokerPort);
  }

  @Override
  public void close() {
    stop();
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** {@code 127.0.0.1:<brokerPort>}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + brokerPort;
  }

  public Path dataDir() {
    return dataDir;
  }

  public int brokerPort() {
    return brokerPort;
  }

  public int controllerPort() {
    return controllerPort;
  }

  /** An admin client on this broker (caller closes it). */
  public Admin admin() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 20_000);
    return Admin.create(props);
  }

  /** Creates a topic if absent (tests use their own topics to stay independent of each other). */
  public void createTopic(String name, int partitions) {
    createTopics(List.of(new Topics.Spec(name, partitions, java.util.Map.of())));
  }

  private Path logDir() {
    return dataDir.resolve("logs");
  }

  private Properties brokerProperties() {
    Properties props = new Properties();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    props.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    props.put(
        "listeners",
        "PLAINTEXT://127.0.0.1:" + brokerPort + ",CONTROLLER://127.0.0.1:" + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort);
    props.put("controller.listener.names", "CONTROLLER");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", logDir().toString());
    // A single node: every replication factor and min ISR is 1.
    props.put("offsets.topic.replication.factor", "1");
    props.put("offsets.topic.num.partitions", "4");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("default.replication.factor", "1");
    props.put("min.insync.replicas", "1");
    props.put("num.partitions", "1");
    props.put("auto.create.topics.enable", "false");
    // Consumers of a fresh group start at once instead of waiting 3 s for more members.
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
    return props;
  }

  private void format(Path configFile) {
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    int status;
    try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
      status =
          StorageTool.execute(
              new String[] {
                "format", "-t", CLUSTER_ID, "-c", configFile.toString(), "--ignore-formatted"
              },
              out);
    }
    if (status != 0) {
      throw new IllegalStateException(
          "formatting Kafka storage in "
              + logDir()
              + " failed: "
              + captured.toString(StandardCharsets.UTF_8));
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    Admin admin = admin();
    try {
      while (true) {
        try {
          admin.describeCluster().nodes().get(5, TimeUnit.SECONDS);
          return;
        } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(
                "Kafka broker on " + bootstrapServers() + " not ready after " + START_TIMEOUT, e);
          }
          Thread.sleep(100);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
    } finally {
      admin.close(Duration.ofSeconds(2)); // without a timeout, close waits for every pending call
    }
  }

  private void createTopics() {
    createTopics(Topics.ALL);
  }

  private void createTopics(List<Topics.Spec> specs) {
    try (Admin admin = admin()) {
      Set<String> existing = admin.listTopics().names().get(20, TimeUnit.SECONDS);
      List<NewTopic> missing = new ArrayList<>();
      for (Topics.Spec spec : specs) {
        if (!existing.contains(spec.name())) {
          missing.add(
              new NewTopic(spec.name(), spec.partitions(), (short) 1).configs(spec.configs()));
        }
      }
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
      awaitLeaders(admin, specs);
    } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("cannot create topics on " + bootstrapServers(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  /**
   * Creation returns before the broker serves the topic; wait until every partition has a leader.
   */
  private void awaitLeaders(Admin admin, List<Topics.Spec> specs)
      throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
    List<String> names = specs.stream().map(Topics.Spec::name).toList();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      try {
        boolean ready =
            admin.describeTopics(names).allTopicNames().get(10, TimeUnit.SECONDS).values().stream()
                .allMatch(
                    d ->
                        d.partitions().stream()
                            .allMatch(p -> p.leader() != null && !p.leader().isEmpty()));
        if (ready && admin.listTopics().names().get(10, TimeUnit.SECONDS).containsAll(names)) {
          return;
        }
      } catch (ExecutionException e) {
        if (!(e.getCause()
            instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException)) {
          throw e;
        }
      }
      if (System.nanoTime() > deadline) {
        throw new java.util.concurrent.TimeoutException(
            "topics " + names + " have no leader after 30 s");
      }
      Thread.sleep(50);
    }
  }

  private void stopQuietly() {
    try {
      stop();
    } catch (RuntimeException e) {
      LOG.warn("error while stopping a broker that failed to start", e);
    }
  }

  /** {@code count} distinct free TCP ports on 127.0.0.1 (free at the time of the call). */
  public static int[] freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      int[] ports = new int[count];
      for (int i = 0; i < count; i++) {
        ServerSocket socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress("127.0.0.1", 0));
        sockets.add(socket);
        ports[i] = socket.getLocalPort();
      }
      return ports;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket socket : sockets) {
        try {
          socket.close();
        } catch (IOException ignored) {
          // closing a probe socket; nothing to do
        }
      }
    }
  }

  static void deleteRecursively(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      LOG.warn("could not delete {}", dir, e);
    }
  }
}
