package io.perceive.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.DecodeResult;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.RejectionReason;
import io.perceive.schemas.Topics;
import io.perceive.schemas.UserEvent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Kafka client nobody here wrote (Debian's {@code kcat}, librdkafka) produces the JSON form; the
 * project's codec accepts exactly those events and rejects a bad line with a typed reason.
 */
class KcatClientITCase {

  @BeforeAll
  static void requireKcat() throws Exception {
    boolean present;
    try {
      Process probe = new ProcessBuilder("kcat", "-V").redirectErrorStream(true).start();
      probe.getInputStream().readAllBytes();
      present = probe.waitFor(10, TimeUnit.SECONDS) && probe.exitValue() == 0;
    } catch (java.io.IOException e) {
      present = false;
    }
    assertThat(present)
        .as(
            "kcat is not installed: run scripts/install-prereqs.sh (installs the Debian package kcat)")
        .isTrue();
  }

  @Test
  void kcatProducesJsonEventsThatTheCodecAccepts(@TempDir Path dir) throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    String topic = "events-kcat-itcase";
    kafka.createTopic(topic, Topics.EVENTS_PARTITIONS);
    EventCodec codec = new EventCodec();
    List<UserEvent> expected = new ArrayList<>();
    new World(WorldConfig.of(Map.of("events", "200", "users", "20", "items", "100")))
        .events()
        .forEachRemaining(expected::add);
    StringBuilder lines = new StringBuilder();
    for (UserEvent event : expected) {
      // key:value, as `kcat -K:` splits them
      lines.append(event.getUserId()).append(':').append(codec.toJson(event)).append('\n');
    }
    lines.append("999:{\"eventId\":\"broken\",\"userId\":999,\"type\":\"REFUND\"}\n");
    Path input = dir.resolve("events.jsonl");
    Files.writeString(input, lines, StandardCharsets.UTF_8);

    Process kcat =
        new ProcessBuilder(
                "kcat",
                "-P",
                "-b",
                kafka.bootstrapServers(),
                "-t",
                topic,
                "-K:",
                "-l",
                input.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(kcat.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(kcat.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(kcat.exitValue()).as("kcat output: %s", output).isZero();

    List<ConsumerRecord<byte[], byte[]>> records =
        WorldThroughKafkaITCase.readAll(kafka, topic, Topics.EVENTS_PARTITIONS);
    assertThat(records).hasSize(expected.size() + 1);
    List<UserEvent> accepted = new ArrayList<>();
    List<RejectionReason> rejected = new ArrayList<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      DecodeResult result = codec.decode(record.value());
      if (result.isValid()) {
        accepted.add(result.event());
        assertThat(new String(record.key(), StandardCharsets.UTF_8))
            .isEqualTo(
                new String(EventCodec.key(result.event().getUserId()), StandardCharsets.UTF_8));
      } else {
        rejected.add(result.rejection().reason());
      }
    }
    assertThat(accepted).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(rejected).containsExactly(RejectionReason.UNKNOWN_EVENT_TYPE);
  }
}
