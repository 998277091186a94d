package io.perceive.deploy;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Creates the topics of a {@link TopicPlan} on any Kafka cluster with the standard admin client,
 * idempotently: a missing topic is created; an existing one keeps its data, gets the plan's topic
 * configs set where they differ, and is reported as a mismatch when its partition count differs
 * (never changed automatically: more partitions would move users to other partitions, and
 * model-updates must stay at exactly one).
 *
 * <pre>
 * java -cp JOB_JAR io.perceive.deploy.CreateTopics --bootstrap HOST:PORT [--plan FILE]
 *      [--replication-factor N] [--command-config FILE] [--dry-run]
 * </pre>
 *
 * Exit 0 when every topic matches the plan afterwards, 1 on a mismatch or error, 2 on bad
 * arguments.
 */
public final class CreateTopics {

  /** What happened to one topic. */
  public enum Outcome {
    CREATED,
    UNCHANGED,
    CONFIG_UPDATED,
    PARTITION_MISMATCH,
    WOULD_CREATE,
    WOULD_UPDATE_CONFIG
  }

  /** One line of the report. */
  public record Result(String topic, Outcome outcome, String detail) {}

  private CreateTopics() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    String bootstrap = null;
    Path plan = Path.of("deploy/kafka/topics.properties");
    Short rf = null;
    Path commandConfig = null;
    boolean dryRun = false;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--bootstrap" -> bootstrap = value(args, ++i, "--bootstrap");
          case "--plan" -> plan = Path.of(value(args, ++i, "--plan"));
          case "--replication-factor" ->
              rf = Short.parseShort(value(args, ++i, "--replication-factor"));
          case "--command-config" -> commandConfig = Path.of(value(args, ++i, "--command-config"));
          case "--dry-run" -> dryRun = true;
          case "--help", "-h" -> {
            out.println(usage());
            return 0;
          }
          default -> throw new IllegalArgumentException("unexpected argument '" + args[i] + "'");
        }
      }
      if (bootstrap == null) throw new IllegalArgumentException("--bootstrap is required");
    } catch (IllegalArgumentException e) {
      err.println("create-topics: " + e.getMessage());
      err.println(usage());
      return 2;
    }
    try {
      TopicPlan p = TopicPlan.load(plan);
      if (rf != null) p = p.withReplicationFactor(rf);
      Properties props = new Properties();
      if (commandConfig != null)
        try (var r = java.nio.file.Files.newBufferedReader(commandConfig)) {
          props.load(r);
        }
      props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
      props.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
      try (Admin admin = Admin.create(props)) {
        List<Result> results = apply(admin, p, dryRun, Duration.ofSeconds(60));
        boolean ok = true;
        for (Result r : results) {
          out.printf("%-16s %-18s %s%n", r.topic(), r.outcome(), r.detail());
          if (r.outcome() == Outcome.PARTITION_MISMATCH) ok = false;
        }
        return ok ? 0 : 1;
      }
    } catch (Exception e) {
      err.println("create-topics: " + e.getMessage());
      return 1;
    }
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) throw new IllegalArgumentException(flag + " needs a value");
    return args[i];
  }

  static String usage() {
    return "usage: CreateTopics --bootstrap HOST:PORT [--plan deploy/kafka/topics.properties]"
        + " [--replication-factor N] [--command-config admin.properties] [--dry-run]";
  }

  /** Brings the cluster to the plan (see the class comment); returns one result per topic. */
  public static List<Result> apply(Admin admin, TopicPlan plan, boolean dryRun, Duration timeout)
      throws ExecutionException, InterruptedException, java.util.concurrent.TimeoutException {
    long ms = timeout.toMillis();
    Set<String> existing = admin.listTopics().names().get(ms, TimeUnit.MILLISECONDS);
    List<Result> results = new ArrayList<>();
    List<TopicPlan.Topic> toCreate = new ArrayList<>();
    for (TopicPlan.Topic t : plan.topics()) if (!existing.contains(t.name())) toCreate.add(t);
    for (TopicPlan.Topic t : toCreate) {
      if (dryRun) {
        results.add(new Result(t.name(), Outcome.WOULD_CREATE, describe(t)));
        continue;
      }
      NewTopic nt =
          new NewTopic(t.name(), t.partitions(), t.replicationFactor()).configs(t.configs());
      try {
        admin.createTopics(List.of(nt)).all().get(ms, TimeUnit.MILLISECONDS);
        results.add(new Result(t.name(), Outcome.CREATED, describe(t)));
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
        existing.add(t.name()); // created concurrently by someone else: check it like the rest
      }
    }
    // A created topic becomes visible to metadata requests a moment later; callers (and the next
    // step of a deployment script) expect it usable when this returns.
    List<String> created =
        results.stream().filter(r -> r.outcome() == Outcome.CREATED).map(Result::topic).toList();
    awaitVisible(admin, created, System.nanoTime() + timeout.toNanos());
    List<TopicPlan.Topic> present = new ArrayList<>();
    for (TopicPlan.Topic t : plan.topics())
      if (existing.contains(t.name())
          && results.stream().noneMatch(r -> r.topic().equals(t.name()))) present.add(t);
    if (present.isEmpty()) return results;
    Map<String, TopicDescription> descriptions =
        admin
            .describeTopics(present.stream().map(TopicPlan.Topic::name).toList())
            .allTopicNames()
            .get(ms, TimeUnit.MILLISECONDS);
    List<ConfigResource> resources =
        present.stream().map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t.name())).toList();
    Map<ConfigResource, Config> configs =
        admin.describeConfigs(resources).all().get(ms, TimeUnit.MILLISECONDS);
    for (TopicPlan.Topic t : present) {
      int actual = descriptions.get(t.name()).partitions().size();
      if (actual != t.partitions()) {
        results.add(
            new Result(
                t.name(),
                Outcome.PARTITION_MISMATCH,
                "has "
                    + actual
                    + " partitions, the plan says "
                    + t.partitions()
                    + " (not changed)"));
        continue;
      }
      Config current = configs.get(new ConfigResource(ConfigResource.Type.TOPIC, t.name()));
      Map<String, String> differing = new HashMap<>();
      for (Map.Entry<String, String> e : t.configs().entrySet()) {
        ConfigEntry c = current.get(e.getKey());
        if (c == null || !e.getValue().equals(c.value())) differing.put(e.getKey(), e.getValue());
      }
      if (differing.isEmpty()) {
        results.add(new Result(t.name(), Outcome.UNCHANGED, describe(t)));
      } else {
        if (!dryRun) {
          Collection<AlterConfigOp> ops = new ArrayList<>();
          differing.forEach(
              (k, v) ->
                  ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
          ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, t.name());
          admin.incrementalAlterConfigs(Map.of(r, ops)).all().get(ms, TimeUnit.MILLISECONDS);
        }
        results.add(
            dryRun
                ? new Result(t.name(), Outcome.WOULD_UPDATE_CONFIG, "would set " + differing)
                : new Result(t.name(), Outcome.CONFIG_UPDATED, "set " + differing));
      }
    }
    return results;
  }

  private static void awaitVisible(Admin admin, List<String> topics, long deadlineNanos)
      throws InterruptedException, java.util.concurrent.TimeoutException {
    if (topics.isEmpty()) return;
    while (true) {
      try {
        admin.describeTopics(topics).allTopicNames().get(5, TimeUnit.SECONDS);
        return;
      } catch (ExecutionException | java.util.concurrent.TimeoutException e) {
        if (System.nanoTime() > deadlineNanos)
          throw new java.util.concurrent.TimeoutException(
              "created topics " + topics + " did not become visible: " + e.getMessage());
        Thread.sleep(200);
      }
    }
  }

  private static String describe(TopicPlan.Topic t) {
    return t.partitions() + " partitions, rf " + t.replicationFactor() + ", " + t.configs();
  }
}
