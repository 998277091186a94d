package io.perceive.sandbox;

import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventValidator;
import io.perceive.schemas.UserEvent;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends {@link UserEvent}s to a Kafka topic as Avro single-object bytes, key = user id (UTF-8
 * decimal, {@link EventCodec#key}), so a user's events stay in order in one partition.
 *
 * <p>Checks first that the broker answers and the topic exists (clear errors instead of a producer
 * blocking for a minute), validates every event before sending it, optionally limits the rate, and
 * reports progress. Used by {@code perceive produce} and by the integration tests.
 */
public final class EventProducer implements AutoCloseable {
  /** Receives progress: events sent so far and the average rate since the start. */
  @FunctionalInterface
  public interface ProgressListener {
    void onProgress(long sent, double eventsPerSecond);
  }

  /** The broker could not be reached, or the topic does not exist there. */
  public static final class UnreachableException extends Exception {
    private static final long serialVersionUID = 1L;

    UnreachableException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** An event failed validation; {@code index} is its 0-based position in the input. */
  public static final class InvalidEventException extends Exception {
    private static final long serialVersionUID = 1L;
    private final long index;

    InvalidEventException(long index, String message) {
      super(message);
      this.index = index;
    }

    public long index() {
      return index;
    }
  }

  private static final long PROGRESS_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  private final String bootstrapServers;
  private final String topic;
  private final double maxEventsPerSecond;
  private final Duration connectTimeout;
  private final EventCodec codec;
  private final KafkaProducer<byte[], byte[]> producer;
  private final AtomicReference<Exception> sendFailure = new AtomicReference<>();

  /**
   * Connects to {@code bootstrapServers} and checks that {@code topic} exists there.
   *
   * @param maxEventsPerSecond rate limit; 0 = as fast as possible
   * @param validator checks applied to each event before it is sent (e.g. MovieLens bounds)
   * @throws UnreachableException when the broker does not answer within {@code connectTimeout} or
   *     the topic is missing
   */
  public EventProducer(
      String bootstrapServers,
      String topic,
      double maxEventsPerSecond,
      Duration connectTimeout,
      EventValidator validator)
      throws UnreachableException {
    if (!(maxEventsPerSecond >= 0) || Double.isInfinite(maxEventsPerSecond)) {
      throw new IllegalArgumentException(
          "rate limit must be >= 0 events/s (0 = unlimited), got " + maxEventsPerSecond);
    }
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.maxEventsPerSecond = maxEventsPerSecond;
    this.connectTimeout = connectTimeout;
    this.codec = new EventCodec(validator);
    checkTopic();
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, 128 * 1024);
    // Fail within bounded time if the broker goes away mid-run instead of blocking for minutes.
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) connectTimeout.toMillis());
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) connectTimeout.toMillis());
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) connectTimeout.toMillis() * 3);
    this.producer =
        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** Unlimited rate, 10 s connect timeout, default validation. */
  public EventProducer(String bootstrapServers, String topic) throws UnreachableException {
    this(bootstrapServers, topic, 0, Duration.ofSeconds(10), EventValidator.defaults());
  }

  private void checkTopic() throws UnreachableException {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) connectTimeout.toMillis());
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) connectTimeout.toMillis());
    Admin admin = null;
    try {
      admin = Admin.create(props);
      Set<String> topics =
          admin.listTopics().names().get(connectTimeout.toMillis(), TimeUnit.MILLISECONDS);
      if (!topics.contains(topic)) {
        throw new UnreachableException(
            "topic '"
                + topic
                + "' does not exist on "
                + bootstrapServers
                + " (topics there: "
                + topics
                + ")",
            null);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw new UnreachableException(
          "cannot reach Kafka at "
              + bootstrapServers
              + " within "
              + connectTimeout.toSeconds()
              + " s (is a broker running? start one with `./perceive broker`)",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnreachableException("interrupted while connecting to " + bootstrapServers, e);
    } catch (org.apache.kafka.common.KafkaException e) {
      throw new UnreachableException(
          "cannot connect to Kafka at " + bootstrapServers + ": " + e.getMessage(), e);
    } finally {
      if (admin != null) {
        // Admin.close() without a timeout waits for every pending call: minutes when unreachable.
        admin.close(Duration.ofSeconds(1));
      }
    }
  }

  /**
   * Validates and sends every event, then flushes; returns how many were sent.
   *
   * @throws InvalidEventException at the first invalid event (events before it were sent)
   * @throws UnreachableException when a send fails (broker gone, timeout)
   */
  public long send(Iterator<UserEvent> events, ProgressListener progress)
      throws InvalidEventException, UnreachableException {
    long started = System.nanoTime();
    long lastReport = started;
    long sent = 0;
    while (events.hasNext()) {
      UserEvent event = events.next();
      Optional<EventValidator.Violation> violation = codec.validator().validate(event);
      if (violation.isPresent()) {
        flushQuietly();
        throw new InvalidEventException(
            sent,
            "event #"
                + (sent + 1)
                + " ("
                + event.getEventId()
                + ") is invalid: "
                + violation.get().reason()
                + ": "
                + violation.get().detail());
      }
      throttle(started, sent);
      send(event);
      sent++;
      long now = System.nanoTime();
      if (now - lastReport >= PROGRESS_INTERVAL_NANOS) {
        lastReport = now;
        progress.onProgress(sent, sent / Math.max(1e-9, (now - started) / 1e9));
      }
    }
    flush();
    progress.onProgress(sent, sent / Math.max(1e-9, (System.nanoTime() - started) / 1e9));
    return sent;
  }

  /** Sends one event asynchronously (already validated by the caller). */
  public void send(UserEvent event) throws UnreachableException {
    failIfSendFailed();
    try {
      producer.send(
          new ProducerRecord<>(topic, EventCodec.key(event.getUserId()), codec.encode(event)),
          (metadata, exception) -> {
            if (exception != null) {
              sendFailure.compareAndSet(null, exception);
            }
          });
    } catch (org.apache.kafka.common.KafkaException e) {
      throw new UnreachableException(
          "sending to " + topic + " on " + bootstrapServers + " failed: " + e.getMessage(), e);
    }
  }

  /** Waits until everything sent so far is acknowledged. */
  public void flush() throws UnreachableException {
    producer.flush();
    failIfSendFailed();
  }

  private void flushQuietly() {
    try {
      producer.flush();
    } catch (RuntimeException ignored) {
      // we are about to report a more useful error
    }
  }

  private void failIfSendFailed() throws UnreachableException {
    Exception failure = sendFailure.get();
    if (failure != null) {
      throw new UnreachableException(
          "sending to " + topic + " on " + bootstrapServers + " failed: " + failure.getMessage(),
          failure);
    }
  }

  private void throttle(long startedNanos, long sent) {
    if (maxEventsPerSecond <= 0) {
      return;
    }
    long due = startedNanos + (long) (sent * 1e9 / maxEventsPerSecond);
    long wait = due - System.nanoTime();
    if (wait > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  public String topic() {
    return topic;
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
  }
}
