package io.perceive.sandbox;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.DecodeResult;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventType;
import io.perceive.schemas.Topics;
import io.perceive.schemas.UserEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** A generated world sent through the real embedded broker comes back complete, valid and keyed. */
class WorldThroughKafkaITCase {

  @Test
  void producedWorldIsConsumedBackWithMatchingCounts() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    String topic = "events-world-itcase";
    kafka.createTopic(topic, Topics.EVENTS_PARTITIONS);
    WorldConfig config = WorldConfig.of(Map.of("events", "20000", "users", "300", "items", "2000"));
    World.Stream stream = new World(config).events();
    List<UserEvent> sentEvents = new ArrayList<>();
    long sent;
    List<Long> progress = new ArrayList<>();
    try (EventProducer producer = new EventProducer(kafka.bootstrapServers(), topic)) {
      Iterable<UserEvent> recording =
          () ->
              new java.util.Iterator<>() {
                @Override
                public boolean hasNext() {
                  return stream.hasNext();
                }

                @Override
                public UserEvent next() {
                  UserEvent event = stream.next();
                  sentEvents.add(event);
                  return event;
                }
              };
      sent = producer.send(recording.iterator(), (count, rate) -> progress.add(count));
    }
    assertThat(sent).isEqualTo(20_000);
    assertThat(progress).isNotEmpty().last().isEqualTo(20_000L);

    List<ConsumerRecord<byte[], byte[]>> records = readAll(kafka, topic, Topics.EVENTS_PARTITIONS);
    EventCodec codec = new EventCodec();
    Map<EventType, Long> received = new EnumMap<>(EventType.class);
    Map<Long, Integer> partitionOfUser = new HashMap<>();
    Map<Integer, List<UserEvent>> byPartition = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      DecodeResult result = codec.decode(record.value());
      assertThat(result.isValid()).as("%s", result).isTrue();
      UserEvent event = result.event();
      received.merge(event.getType(), 1L, Long::sum);
      assertThat(new String(record.key(), StandardCharsets.UTF_8))
          .isEqualTo(Long.toString(event.getUserId()));
      Integer previous = partitionOfUser.putIfAbsent(event.getUserId(), record.partition());
      assertThat(previous == null || previous == record.partition())
          .as("user stays in one partition")
          .isTrue();
      byPartition.computeIfAbsent(record.partition(), p -> new ArrayList<>()).add(event);
    }
    assertThat(records).hasSize(20_000);
    for (EventType type : EventType.values()) {
      assertThat(received.getOrDefault(type, 0L)).as("%s", type).isEqualTo(stream.delivered(type));
    }
    assertThat(byPartition).hasSize(Topics.EVENTS_PARTITIONS);
    // each user's events arrive in the order they were produced
    Map<Long, List<String>> producedOrder = new HashMap<>();
    sentEvents.forEach(
        e ->
            producedOrder
                .computeIfAbsent(e.getUserId(), u -> new ArrayList<>())
                .add(e.getEventId()));
    Map<Long, List<String>> consumedOrder = new HashMap<>();
    byPartition
        .values()
        .forEach(
            list ->
                list.forEach(
                    e ->
                        consumedOrder
                            .computeIfAbsent(e.getUserId(), u -> new ArrayList<>())
                            .add(e.getEventId())));
    assertThat(consumedOrder).isEqualTo(producedOrder);
  }

  @Test
  void unreachableBrokerAndMissingTopicGiveClearErrors() {
    int port = EmbeddedKafka.freePorts(1)[0];
    assertThatThrownBy(
            () ->
                new EventProducer(
                    "127.0.0.1:" + port,
                    Topics.EVENTS,
                    0,
                    Duration.ofSeconds(2),
                    io.perceive.schemas.EventValidator.defaults()))
        .isInstanceOf(EventProducer.UnreachableException.class)
        .hasMessageContaining("cannot reach Kafka at 127.0.0.1:" + port);
    assertThatThrownBy(
            () -> new EventProducer(EmbeddedKafka.shared().bootstrapServers(), "no-such-topic"))
        .isInstanceOf(EventProducer.UnreachableException.class)
        .hasMessageContaining("topic 'no-such-topic' does not exist");
  }

  @Test
  void anInvalidEventStopsTheProducerAndSaysWhich() throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.shared();
    String topic = "events-invalid-itcase";
    kafka.createTopic(topic, 1);
    List<UserEvent> events = new ArrayList<>();
    new World(WorldConfig.of(Map.of("events", "5", "users", "3", "items", "20")))
        .events()
        .forEachRemaining(events::add);
    events.get(3).getItem().setPrice(Double.NaN);
    try (EventProducer producer = new EventProducer(kafka.bootstrapServers(), topic)) {
      assertThatThrownBy(() -> producer.send(events.iterator(), (n, r) -> {}))
          .isInstanceOf(EventProducer.InvalidEventException.class)
          .hasMessageContaining("event #4")
          .hasMessageContaining("INVALID_PRICE");
    }
    assertThat(readAll(kafka, topic, 1)).hasSize(3);
  }

  /** Every record of a topic, reading each partition from the beginning to its end offset. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(
      EmbeddedKafka kafka, String topic, int partitions) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000);
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> all = new ArrayList<>();
      for (int p = 0; p < partitions; p++) {
        all.add(new TopicPartition(topic, p));
      }
      consumer.assign(all);
      consumer.seekToBeginning(all);
      Map<TopicPartition, Long> end = consumer.endOffsets(all);
      while (all.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        consumer.poll(Duration.ofMillis(500)).forEach(records::add);
      }
    }
    return records;
  }
}
