package io.perceive.schemas;

import java.nio.ByteBuffer;

/** Builds {@link DeadLetter} records for the events-dlq topic and encodes/decodes them. */
public final class DeadLetters {
  private static final RecordCodec<DeadLetter> CODEC = RecordCodec.of(DeadLetter.class);

  private DeadLetters() {}

  /** A dead letter for a record that was rejected at decode/validation time. */
  public static DeadLetter of(
      byte[] key, Rejection rejection, String topic, int partition, long offset, long nowMs) {
    return of(
        key,
        rejection.originalBytes(),
        topic,
        partition,
        offset,
        rejection.reason(),
        rejection.detail(),
        null,
        nowMs);
  }

  /**
   * A dead letter from its parts; {@code eventTimeMs} may be null when the record did not decode.
   */
  public static DeadLetter of(
      byte[] key,
      byte[] original,
      String topic,
      int partition,
      long offset,
      RejectionReason reason,
      String detail,
      Long eventTimeMs,
      long nowMs) {
    return DeadLetter.newBuilder()
        .setOriginalKey(key == null ? null : ByteBuffer.wrap(key.clone()))
        .setOriginalBytes(ByteBuffer.wrap(original == null ? new byte[0] : original.clone()))
        .setTopic(topic)
        .setPartition(partition)
        .setOffset(offset)
        .setReason(reason.name())
        .setDetail(detail == null ? "" : detail)
        .setEventTimeMs(eventTimeMs)
        .setDeadLetteredAtMs(nowMs)
        .build();
  }

  /** Single-object bytes of a dead letter. */
  public static byte[] encode(DeadLetter letter) {
    return CODEC.encode(letter);
  }

  /** Decodes a dead letter written by {@link #encode}. */
  public static DeadLetter decode(byte[] bytes) throws RecordFormatException {
    return CODEC.decode(bytes);
  }

  /** The reason of a dead letter as the enum (unknown names, from a newer writer, give empty). */
  public static java.util.Optional<RejectionReason> reason(DeadLetter letter) {
    try {
      return java.util.Optional.of(RejectionReason.valueOf(letter.getReason()));
    } catch (IllegalArgumentException e) {
      return java.util.Optional.empty();
    }
  }
}
