package io.perceive.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.sandbox.EmbeddedKafka;
import io.perceive.sandbox.world.TruthTable;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventType;
import io.perceive.schemas.UserEvent;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code perceive produce world} against the real embedded broker, read back with a consumer. */
class ProduceCommandITCase {

  @Test
  void producesAWorldAndItsTruth(@TempDir Path dir) throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    String topic = "events-cli-itcase";
    kafka.createTopic(topic, 4);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Path truth = dir.resolve("truth.avro");

    int status =
        Main.run(
            new String[] {
              "produce",
              "world",
              "--bootstrap",
              kafka.bootstrapServers(),
              "--topic",
              topic,
              "--events",
              "3000",
              "--users",
              "100",
              "--items",
              "500",
              "--truth",
              truth.toString()
            },
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("sent 3,000 events");
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("events/s");
    List<UserEvent> events = consume(kafka, topic, 4);
    assertThat(events).hasSize(3000);
    TruthTable table = TruthTable.load(truth);
    long impressions =
        events.stream()
            .filter(e -> e.getType() == EventType.IMPRESSION)
            .map(UserEvent::getEventId)
            .distinct()
            .count();
    assertThat(table.size()).isEqualTo(impressions);
    assertThat(events.stream().filter(e -> e.getType() == EventType.IMPRESSION))
        .allMatch(e -> table.get(e.getEventId()).isPresent());
  }

  private static List<UserEvent> consume(EmbeddedKafka kafka, String topic, int partitions) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    EventCodec codec = new EventCodec();
    List<UserEvent> events = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> all = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        all.add(new TopicPartition(topic, p));
      }
      consumer.assign(all);
      consumer.seekToBeginning(all);
      var end = consumer.endOffsets(all);
      while (all.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        consumer
            .poll(Duration.ofMillis(500))
            .forEach(r -> events.add(codec.decode(r.value()).event()));
      }
    }
    return events;
  }
}
