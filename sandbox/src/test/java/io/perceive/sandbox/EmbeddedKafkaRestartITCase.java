package io.perceive.sandbox;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.schemas.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A broker stopped and started on the same directory and ports keeps its topics and records. */
class EmbeddedKafkaRestartITCase {

  @Test
  void topicsAndRecordsSurviveARestartOnTheSameDirAndPorts(@TempDir Path dir) throws Exception {
    int[] ports = EmbeddedKafka.freePorts(2);
    EmbeddedKafka kafka = EmbeddedKafka.start(dir, ports[0], ports[1]);
    try {
      Map<String, TopicDescription> topics = describeTopics(kafka);
      assertThat(topics.get(Topics.EVENTS).partitions()).hasSizeGreaterThanOrEqualTo(4);
      assertThat(topics.get(Topics.MODEL_UPDATES).partitions()).hasSize(1);
      assertThat(topics).containsKeys(Topics.EVENTS_DLQ, Topics.MODEL_MANIFESTS, Topics.USER_STATE);

      produce(kafka, Topics.MODEL_MANIFESTS, List.of("before-1", "before-2"));
      kafka.stop();
      assertThat(kafka.isRunning()).isFalse();

      kafka.start();
      assertThat(kafka.bootstrapServers()).isEqualTo("127.0.0.1:" + ports[0]);
      produce(kafka, Topics.MODEL_MANIFESTS, List.of("after-1"));

      assertThat(readAll(kafka, Topics.MODEL_MANIFESTS, 3))
          .containsExactly("before-1", "before-2", "after-1");
      assertThat(describeTopics(kafka).get(Topics.EVENTS).partitions())
          .hasSize(Topics.EVENTS_PARTITIONS);
    } finally {
      kafka.stop();
    }
  }

  private static Map<String, TopicDescription> describeTopics(EmbeddedKafka kafka)
      throws Exception {
    try (Admin admin = kafka.admin()) {
      return admin
          .describeTopics(Topics.ALL.stream().map(Topics.Spec::name).toList())
          .allTopicNames()
          .get();
    }
  }

  static void produce(EmbeddedKafka kafka, String topic, List<String> values) throws Exception {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (String value : values) {
        producer.send(new ProducerRecord<>(topic, value.getBytes(StandardCharsets.UTF_8))).get();
      }
    }
  }

  static List<String> readAll(EmbeddedKafka kafka, String topic, int expected) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      TopicPartition partition = new TopicPartition(topic, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long end = consumer.endOffsets(List.of(partition)).get(partition);
      while (consumer.position(partition) < end) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(500))) {
          values.add(new String(record.value(), StandardCharsets.UTF_8));
        }
      }
    }
    assertThat(values).hasSize(expected);
    return values;
  }
}
