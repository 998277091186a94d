package io.perceive.schemas;

import java.util.List;
import java.util.Map;

/**
 * The project's Kafka topics, their partition counts and configs: the one place they are named.
 *
 * <p>Kept in {@code schemas} (no Kafka dependency) so the job and serving can name topics without
 * depending on the sandbox, which carries the embedded broker.
 */
public final class Topics {
  /** User events (Avro single-object or JSON; key = user id). At least 4 partitions. */
  public static final String EVENTS = "events";

  /** Rejected events as {@code DeadLetter} records. */
  public static final String EVENTS_DLQ = "events-dlq";

  /** Model parameter deltas and full sets as {@code ModelUpdateChunk}s; exactly one partition. */
  public static final String MODEL_UPDATES = "model-updates";

  /** {@code SnapshotManifest}s of published snapshots. */
  public static final String MODEL_MANIFESTS = "model-manifests";

  /** {@code UserServingState} per user; compacted (latest state per key). */
  public static final String USER_STATE = "user-state";

  public static final int EVENTS_PARTITIONS = 4;

  /** One topic to create: name, partitions and topic-level configs. */
  public record Spec(String name, int partitions, Map<String, String> configs) {}

  /** Every topic the embedded broker creates. */
  public static final List<Spec> ALL =
      List.of(
          new Spec(EVENTS, EVENTS_PARTITIONS, Map.of()),
          new Spec(EVENTS_DLQ, 1, Map.of()),
          // One partition: updates must be applied in publication order by every consumer.
          new Spec(MODEL_UPDATES, 1, Map.of()),
          new Spec(MODEL_MANIFESTS, 1, Map.of()),
          new Spec(USER_STATE, EVENTS_PARTITIONS, Map.of("cleanup.policy", "compact")));

  private Topics() {}
}
