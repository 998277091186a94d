package io.perceive.job.sync;

import io.perceive.model.delta.DeltaChunks;
import io.perceive.schemas.ModelUpdateChunk;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.RecordFormatException;
import io.perceive.schemas.SnapshotManifest;
import io.perceive.schemas.UpdateKind;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The parameter server's two Kafka topics: {@code model-updates} (one partition; each {@link
 * ModelUpdate} split by {@link DeltaChunks} into Avro {@link ModelUpdateChunk} records under
 * Kafka's message size) and {@code model-manifests} (Avro {@link SnapshotManifest}). Sends are
 * synchronous: when {@link #publish} returns, the update is on the broker, so a version number is
 * taken only once it is durable, and learners can rely on topic order.
 */
public final class ModelTopics implements AutoCloseable {

  public static final RecordCodec<ModelUpdateChunk> CHUNKS = RecordCodec.of(ModelUpdateChunk.class);
  public static final RecordCodec<SnapshotManifest> MANIFESTS =
      RecordCodec.of(SnapshotManifest.class);

  private final String bootstrap;
  private final String updatesTopic;
  private final String manifestsTopic;
  private final int maxChunkBytes;
  private KafkaProducer<byte[], byte[]> producer;

  public ModelTopics(
      String bootstrap, String updatesTopic, String manifestsTopic, int maxChunkBytes) {
    this.bootstrap = bootstrap;
    this.updatesTopic = updatesTopic;
    this.manifestsTopic = manifestsTopic;
    this.maxChunkBytes = maxChunkBytes;
  }

  private KafkaProducer<byte[], byte[]> producer() {
    if (producer == null) {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
      p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
      p.put(ProducerConfig.CLIENT_ID_CONFIG, "perceive-parameter-server");
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
      producer = new KafkaProducer<>(p);
    }
    return producer;
  }

  /** Publishes one update as chunks on partition 0 and waits until the broker has them all. */
  public void publish(ModelUpdate u) throws Exception {
    List<byte[]> chunks = DeltaChunks.split(u.encode(), u.messageId(), maxChunkBytes);
    UpdateKind kind = u.kind() == ModelUpdate.Kind.FULL ? UpdateKind.FULL : UpdateKind.DELTA;
    List<Future<RecordMetadata>> sent = new ArrayList<>(chunks.size());
    byte[] key = Long.toString(u.version()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int i = 0; i < chunks.size(); i++) {
      ModelUpdateChunk c =
          ModelUpdateChunk.newBuilder()
              .setModelVersion(u.version())
              // END travels as an empty delta from the final version to itself
              .setBaseVersion(u.kind() == ModelUpdate.Kind.FULL ? null : u.baseVersion())
              .setKind(kind)
              .setChunkIndex(i)
              .setChunkCount(chunks.size())
              .setPayloadFormatVersion(ModelUpdate.CURRENT_VERSION)
              .setPayload(ByteBuffer.wrap(chunks.get(i)))
              .setCreatedAtMs(u.createdAtMs())
              .setWatermarkMs(u.watermarkMs() == Long.MIN_VALUE ? null : u.watermarkMs())
              .build();
      sent.add(producer().send(new ProducerRecord<>(updatesTopic, 0, key, CHUNKS.encode(c))));
    }
    for (Future<RecordMetadata> f : sent) unwrap(f);
  }

  /** Publishes a snapshot manifest and waits for the broker. */
  public void publish(SnapshotManifest m) throws Exception {
    byte[] key =
        Long.toString(m.getModelVersion()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    unwrap(producer().send(new ProducerRecord<>(manifestsTopic, key, MANIFESTS.encode(m))));
  }

  private static void unwrap(Future<RecordMetadata> f) throws Exception {
    try {
      f.get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception x ? x : e;
    }
  }

  /**
   * The highest model version on either topic (-1 when both are empty), read from the last records
   * of every partition: versions only grow on a topic, so the tail holds the maximum.
   */
  public long highestVersion() {
    Properties p = consumerProperties(bootstrap);
    long max = -1;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      for (String topic : List.of(updatesTopic, manifestsTopic)) {
        List<TopicPartition> parts = new ArrayList<>();
        c.partitionsFor(topic, Duration.ofSeconds(30))
            .forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
        c.assign(parts);
        Map<TopicPartition, Long> ends = c.endOffsets(parts, Duration.ofSeconds(30));
        Map<TopicPartition, Long> starts = c.beginningOffsets(parts, Duration.ofSeconds(30));
        int open = 0;
        for (TopicPartition tp : parts) {
          long from = Math.max(starts.get(tp), ends.get(tp) - 8);
          c.seek(tp, from);
          if (from < ends.get(tp)) open++;
        }
        long deadline = System.currentTimeMillis() + 30_000;
        while (open > 0 && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
            max = Math.max(max, versionOf(topic, r.value()));
            if (r.offset() + 1 >= ends.get(new TopicPartition(topic, r.partition()))) open--;
          }
        }
        if (open > 0)
          throw new IllegalStateException("could not read the tail of topic " + topic + " in 30 s");
      }
    }
    return max;
  }

  private long versionOf(String topic, byte[] value) {
    try {
      return topic.equals(updatesTopic)
          ? CHUNKS.decode(value).getModelVersion()
          : MANIFESTS.decode(value).getModelVersion();
    } catch (RecordFormatException e) {
      return -1; // not ours; it cannot carry a version we would reuse
    }
  }

  static Properties consumerProperties(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, String.valueOf(4 << 20));
    return p;
  }

  @Override
  public void close() {
    if (producer != null) producer.close(Duration.ofSeconds(10));
    producer = null;
  }
}
