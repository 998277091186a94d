package io.perceive.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.sandbox.EmbeddedKafka;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CreateTopics on a real broker: creates what is missing, is a no-op the second time, repairs a
 * drifted topic config, and reports (without changing) a topic with the wrong partition count.
 */
class CreateTopicsITCase {

  @Test
  void createsIdempotentlyRepairsConfigsAndReportsPartitionMismatch(@TempDir Path dir)
      throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    Properties p = new Properties();
    p.load(Files.newBufferedReader(DeployFilesTest.DEPLOY.resolve("kafka/topics.properties")));
    // the real plan under fresh names (the shared broker already has the project's topics)
    Properties renamed = new Properties();
    p.forEach(
        (k, v) -> {
          String key = (String) k;
          String value = (String) v;
          if (key.equals("topics")) value = value.replaceAll("([^,\\s]+)", "it-$1");
          else key = "it-" + key;
          renamed.setProperty(key, value);
        });
    TopicPlan plan = TopicPlan.parse(renamed).withReplicationFactor((short) 1);

    try (Admin admin = kafka.admin()) {
      List<CreateTopics.Result> first =
          CreateTopics.apply(admin, plan, false, Duration.ofSeconds(60));
      assertThat(first)
          .extracting(CreateTopics.Result::outcome)
          .containsOnly(CreateTopics.Outcome.CREATED);
      assertThat(first).hasSize(5);
      assertThat(
              admin
                  .describeTopics(List.of("it-model-updates"))
                  .allTopicNames()
                  .get()
                  .get("it-model-updates")
                  .partitions())
          .hasSize(1);
      ConfigResource us = new ConfigResource(ConfigResource.Type.TOPIC, "it-user-state");
      Config cfg = admin.describeConfigs(List.of(us)).all().get().get(us);
      assertThat(cfg.get("cleanup.policy").value()).isEqualTo("compact");

      List<CreateTopics.Result> second =
          CreateTopics.apply(admin, plan, false, Duration.ofSeconds(60));
      assertThat(second)
          .extracting(CreateTopics.Result::outcome)
          .containsOnly(CreateTopics.Outcome.UNCHANGED);

      // drift: someone turned compaction off; the next run sets it back
      admin
          .incrementalAlterConfigs(
              Map.of(
                  us,
                  List.of(
                      new org.apache.kafka.clients.admin.AlterConfigOp(
                          new ConfigEntry("cleanup.policy", "delete"),
                          org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
          .all()
          .get();
      // the alteration is acknowledged before the broker serves it from its metadata: wait until
      // the drift is visible, else the next run may still read "compact" and rightly change nothing
      long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!admin
              .describeConfigs(List.of(us))
              .all()
              .get()
              .get(us)
              .get("cleanup.policy")
              .value()
              .equals("delete")
          && System.nanoTime() < until) Thread.sleep(50);
      List<CreateTopics.Result> third =
          CreateTopics.apply(admin, plan, false, Duration.ofSeconds(60));
      assertThat(third)
          .filteredOn(r -> r.topic().equals("it-user-state"))
          .extracting(CreateTopics.Result::outcome)
          .containsExactly(CreateTopics.Outcome.CONFIG_UPDATED);
      cfg = admin.describeConfigs(List.of(us)).all().get().get(us);
      assertThat(cfg.get("cleanup.policy").value()).isEqualTo("compact");

      // a topic with the wrong partition count is reported, not changed
      admin.createTopics(List.of(new NewTopic("mm-model-updates", 2, (short) 1))).all().get();
      Properties mm = new Properties();
      mm.setProperty("topics", "mm-model-updates");
      mm.setProperty("mm-model-updates.partitions", "1");
      mm.setProperty("mm-model-updates.replication-factor", "1");
      Path planFile = dir.resolve("plan.properties");
      try (var w = Files.newBufferedWriter(planFile)) {
        mm.store(w, null);
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int rc =
          CreateTopics.run(
              new String[] {"--bootstrap", kafka.bootstrapServers(), "--plan", planFile.toString()},
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
      assertThat(rc).isEqualTo(1);
      assertThat(out.toString(StandardCharsets.UTF_8))
          .contains("PARTITION_MISMATCH")
          .contains("has 2 partitions, the plan says 1");
      assertThat(
              admin
                  .describeTopics(List.of("mm-model-updates"))
                  .allTopicNames()
                  .get()
                  .get("mm-model-updates")
                  .partitions())
          .hasSize(2);
    }
  }
}
