package io.perceive.serving;

import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.RecordFormatException;
import io.perceive.schemas.SnapshotManifest;
import io.perceive.schemas.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the {@code model-manifests} topic (value = Avro single-object bytes of {@link
 * SnapshotManifest}) and offers each manifest to the {@link SnapshotWatcher}, so a new version goes
 * live without waiting for the next directory poll. It starts at the last manifest of each
 * partition: older ones are superseded. Unreadable records are logged and skipped.
 */
public final class ManifestTopicFollower implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ManifestTopicFollower.class);
  private static final RecordCodec<SnapshotManifest> MANIFESTS =
      RecordCodec.of(SnapshotManifest.class);

  private final SnapshotWatcher watcher;
  private final String topic;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean running = true;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private final Thread thread;

  public ManifestTopicFollower(String bootstrap, SnapshotWatcher watcher, Duration retry) {
    this(bootstrap, Topics.MODEL_MANIFESTS, watcher, retry);
  }

  ManifestTopicFollower(String bootstrap, String topic, SnapshotWatcher watcher, Duration retry) {
    this.watcher = watcher;
    this.topic = topic;
    this.thread = new Thread(() -> run(bootstrap, retry), "manifest-follower");
    thread.setDaemon(true);
    thread.start();
  }

  private void run(String bootstrap, Duration retry) {
    Properties p = KafkaConsumers.properties(bootstrap, "perceive-serving-manifests");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      consumer = c;
      boolean assigned = false, warned = false;
      while (running) {
        try {
          if (!assigned) {
            List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
            if (infos == null || infos.isEmpty()) {
              Thread.sleep(retry.toMillis());
              continue;
            }
            List<TopicPartition> tps =
                infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
            c.assign(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            for (TopicPartition tp : tps) c.seek(tp, Math.max(0, end.get(tp) - 1));
            assigned = true;
          }
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
            try {
              watcher.offer(MANIFESTS.decode(r.value()));
            } catch (RecordFormatException e) {
              LOG.warn(
                  "manifest {}-{}@{} skipped: {}",
                  topic,
                  r.partition(),
                  r.offset(),
                  e.getMessage());
            }
          }
          warned = false;
        } catch (WakeupException e) {
          break;
        } catch (KafkaException e) {
          if (!warned) LOG.warn("model-manifests topic unavailable, retrying: {}", e.toString());
          warned = true;
          sleepQuietly(retry);
        } catch (InterruptedException e) {
          break;
        }
      }
    } finally {
      consumer = null;
      stopped.countDown();
    }
  }

  private void sleepQuietly(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      running = false;
    }
  }

  @Override
  public void close() {
    running = false;
    KafkaConsumer<byte[], byte[]> c = consumer;
    if (c != null) c.wakeup();
    thread.interrupt();
    try {
      stopped.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
