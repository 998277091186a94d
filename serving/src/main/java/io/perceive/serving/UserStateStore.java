package io.perceive.serving;

import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.RecordFormatException;
import io.perceive.schemas.Topics;
import io.perceive.schemas.UserServingState;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local copy of the compacted {@code user-state} topic in RocksDB, so a request needs only a
 * user id. Records and the next offset of each partition are written in one RocksDB write batch, so
 * after a restart the store resumes exactly where it stopped (no consumer group, no commit to
 * Kafka). A tombstone deletes the user. A record that does not decode is counted and skipped.
 *
 * <p>RocksDB layout (format {@value #FORMAT_VERSION}): {@code "meta:format"} → int32 format
 * version; {@code 'u'} + int64 user id (big-endian) → the record's Avro single-object bytes as
 * received (its schema fingerprint travels with it); {@code 'o'} + int32 partition → int64 next
 * offset. A directory of another format is refused at open.
 */
public final class UserStateStore implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(UserStateStore.class);

  /** Format of the RocksDB layout; bump and migrate (or rebuild from the topic) on change. */
  public static final int FORMAT_VERSION = 1;

  private static final byte[] FORMAT_KEY = "meta:format".getBytes(StandardCharsets.US_ASCII);
  private static final RecordCodec<UserServingState> STATES =
      RecordCodec.of(UserServingState.class);
  static final String RECORDS = "perceive_serving_user_state_records_total";

  private final RocksDB db;
  private final String topic;
  private final ServingMetrics metrics;
  private final AtomicLong lag = new AtomicLong(-1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean running;
  private volatile KafkaConsumer<byte[], byte[]> consumer;
  private Thread follower;

  static {
    RocksDB.loadLibrary();
  }

  private UserStateStore(RocksDB db, String topic, ServingMetrics metrics) {
    this.db = db;
    this.topic = topic;
    this.metrics = metrics;
  }

  /** Opens (or creates) the store in {@code dir}; refuses a directory of another format. */
  public static UserStateStore open(Path dir, ServingMetrics metrics) {
    return open(dir, Topics.USER_STATE, metrics);
  }

  static UserStateStore open(Path dir, String topic, ServingMetrics metrics) {
    try {
      Files.createDirectories(dir);
      RocksDB db;
      try (Options o = new Options().setCreateIfMissing(true)) {
        db = RocksDB.open(o, dir.toString());
      }
      byte[] f = db.get(FORMAT_KEY);
      if (f == null) {
        db.put(FORMAT_KEY, ByteBuffer.allocate(4).putInt(FORMAT_VERSION).array());
      } else if (f.length != 4 || ByteBuffer.wrap(f).getInt() != FORMAT_VERSION) {
        db.close();
        throw new IllegalStateException(
            "user-state store "
                + dir
                + " has format "
                + (f.length == 4 ? ByteBuffer.wrap(f).getInt() : "?")
                + ", this server reads format "
                + FORMAT_VERSION
                + "; delete the directory to rebuild it from the topic");
      }
      UserStateStore s = new UserStateStore(db, topic, metrics);
      metrics.gauge(
          "perceive_serving_user_state_lag_records",
          "Records of the user-state topic not yet applied (-1 = unknown, e.g. Kafka unreachable).",
          () -> s.lag.get());
      return s;
    } catch (RocksDBException | java.io.IOException e) {
      throw new IllegalStateException("cannot open the user-state store in " + dir + ": " + e, e);
    }
  }

  /** The latest state of {@code userId}, if the store has one. */
  public Optional<UserServingState> get(long userId) {
    try {
      byte[] v = db.get(userKey(userId));
      return v == null ? Optional.empty() : Optional.of(STATES.decode(v));
    } catch (RocksDBException e) {
      throw new IllegalStateException("user-state store read failed: " + e.getMessage(), e);
    } catch (RecordFormatException e) {
      throw new IllegalStateException("stored state of user " + userId + " is unreadable", e);
    }
  }

  /** The next offset to read for each partition, as stored. */
  public Map<Integer, Long> offsets() {
    Map<Integer, Long> m = new HashMap<>();
    try (var it = db.newIterator()) {
      for (it.seek(new byte[] {'o'}); it.isValid() && it.key()[0] == 'o'; it.next())
        m.put(ByteBuffer.wrap(it.key(), 1, 4).getInt(), ByteBuffer.wrap(it.value()).getLong());
    }
    return m;
  }

  /** Records of the topic not yet applied, summed over partitions; -1 when unknown. */
  public long lag() {
    return lag.get();
  }

  /**
   * Follows the topic on a daemon thread. When Kafka is unreachable the store keeps answering from
   * RocksDB and the follower retries every {@code retry}.
   */
  public synchronized void follow(String bootstrapServers, Duration retry) {
    if (follower != null) throw new IllegalStateException("already following");
    running = true;
    follower = new Thread(() -> run(bootstrapServers, retry), "user-state-follower");
    follower.setDaemon(true);
    follower.start();
  }

  private void run(String bootstrap, Duration retry) {
    Properties p = KafkaConsumers.properties(bootstrap, "perceive-serving-user-state");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      consumer = c;
      List<TopicPartition> assigned = null;
      boolean warned = false;
      while (running) {
        try {
          if (assigned == null) {
            assigned = assign(c);
            if (assigned == null) {
              sleep(retry);
              continue;
            }
          }
          ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(500));
          if (!records.isEmpty()) apply(records);
          long total = 0;
          for (TopicPartition tp : assigned) {
            var l = c.currentLag(tp);
            if (l.isEmpty()) {
              total = -1;
              break;
            }
            total += l.getAsLong();
          }
          lag.set(total);
          warned = false;
        } catch (WakeupException e) {
          break;
        } catch (KafkaException e) {
          lag.set(-1);
          if (!warned) LOG.warn("user-state topic unavailable, retrying: {}", e.toString());
          warned = true;
          sleep(retry);
        }
      }
    } finally {
      consumer = null;
      stopped.countDown();
    }
  }

  /** Assigns every partition and seeks to the stored offsets; null while the topic is unknown. */
  private List<TopicPartition> assign(KafkaConsumer<byte[], byte[]> c) {
    List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(5));
    if (infos == null || infos.isEmpty()) return null;
    List<TopicPartition> tps =
        infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    c.assign(tps);
    Map<Integer, Long> stored = offsets();
    for (TopicPartition tp : tps) {
      Long next = stored.get(tp.partition());
      if (next == null) c.seekToBeginning(List.of(tp));
      else c.seek(tp, next);
    }
    LOG.info("following {} partitions of {} from offsets {}", tps.size(), topic, stored);
    return tps;
  }

  private void apply(ConsumerRecords<byte[], byte[]> records) {
    Map<Integer, Long> next = new HashMap<>();
    long applied = 0, deleted = 0, bad = 0;
    try (WriteBatch batch = new WriteBatch();
        WriteOptions wo = new WriteOptions()) {
      for (ConsumerRecord<byte[], byte[]> r : records) {
        next.put(r.partition(), r.offset() + 1);
        Long user = userIdOf(r.key());
        if (user == null) {
          bad++;
          LOG.warn(
              "user-state record at {}-{}@{} has no decimal user id key",
              topic,
              r.partition(),
              r.offset());
          continue;
        }
        if (r.value() == null) {
          batch.delete(userKey(user));
          deleted++;
          continue;
        }
        try {
          UserServingState s = STATES.decode(r.value());
          if (s.getUserId() != user)
            throw new IllegalArgumentException(
                "key " + user + " but record of user " + s.getUserId());
          batch.put(userKey(user), r.value());
          applied++;
        } catch (RecordFormatException | RuntimeException e) {
          bad++;
          LOG.warn(
              "user-state record {}-{}@{} skipped: {}",
              topic,
              r.partition(),
              r.offset(),
              e.getMessage());
        }
      }
      for (var e : next.entrySet())
        batch.put(offsetKey(e.getKey()), ByteBuffer.allocate(8).putLong(e.getValue()).array());
      db.write(wo, batch);
    } catch (RocksDBException e) {
      throw new IllegalStateException("user-state store write failed: " + e.getMessage(), e);
    }
    metrics.add(RECORDS, "kind=\"state\"", applied);
    metrics.add(RECORDS, "kind=\"tombstone\"", deleted);
    metrics.add(RECORDS, "kind=\"unreadable\"", bad);
  }

  private static Long userIdOf(byte[] key) {
    if (key == null) return null;
    try {
      return Long.parseLong(new String(key, StandardCharsets.UTF_8));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static byte[] userKey(long user) {
    return ByteBuffer.allocate(9).put((byte) 'u').putLong(user).array();
  }

  private static byte[] offsetKey(int partition) {
    return ByteBuffer.allocate(5).put((byte) 'o').putInt(partition).array();
  }

  private void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }

  @Override
  public void close() {
    Thread t;
    synchronized (this) {
      t = follower;
      running = false;
    }
    if (t != null) {
      KafkaConsumer<byte[], byte[]> c = consumer;
      if (c != null) c.wakeup();
      t.interrupt();
      try {
        stopped.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    db.close();
  }
}
