package io.perceive.schemas;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The events topic's wire format: encodes {@link UserEvent}s as Avro single-object bytes and
 * decodes either that or the JSON form, then validates, never throwing.
 *
 * <p>{@link #decode(byte[])} returns a {@link DecodeResult}: a valid event, or a {@link Rejection}
 * carrying the reason, a detail and the original bytes (for the dead-letter topic). Bytes whose
 * first non-blank character is {@code '{'} are read as JSON; anything else must be single-object
 * bytes whose writer schema this codec knows (the current schema or one in {@link SchemaHistory}).
 * Thread-safe.
 */
public final class EventCodec {
  private final RecordCodec<UserEvent> codec;
  private final EventValidator validator;

  /** Default event-time bounds, shipped schema history. */
  public EventCodec() {
    this(EventValidator.defaults());
  }

  /** The given validator, shipped schema history. */
  public EventCodec(EventValidator validator) {
    this(validator, RecordCodec.of(UserEvent.class));
  }

  /** The given validator and record codec (e.g. one with extra writer schemas registered). */
  public EventCodec(EventValidator validator, RecordCodec<UserEvent> codec) {
    this.validator = validator;
    this.codec = codec;
  }

  /** Avro single-object bytes of the event (current schema). */
  public byte[] encode(UserEvent event) {
    return codec.encode(event);
  }

  /** The event's JSON form, one line. */
  public String toJson(UserEvent event) {
    return codec.toJson(event);
  }

  /** Decodes and validates; never throws, never returns null. */
  public DecodeResult decode(byte[] bytes) {
    byte[] original = bytes == null ? new byte[0] : bytes;
    UserEvent event;
    try {
      event =
          RecordCodec.looksLikeJson(original) ? codec.fromJson(original) : codec.decode(original);
    } catch (RecordFormatException e) {
      return DecodeResult.rejected(e.reason(), e.getMessage(), original);
    } catch (RuntimeException | StackOverflowError e) {
      // Defensive: the codec maps known failures itself; anything else is still bad input.
      return DecodeResult.rejected(
          RejectionReason.MALFORMED,
          "undecodable: " + e.getClass().getSimpleName() + " " + e.getMessage(),
          original);
    }
    Optional<EventValidator.Violation> violation;
    try {
      violation = validator.validate(event);
    } catch (RuntimeException e) {
      return DecodeResult.rejected(
          RejectionReason.MALFORMED,
          "unvalidatable: " + e.getClass().getSimpleName() + " " + e.getMessage(),
          original);
    }
    return violation
        .map(v -> DecodeResult.rejected(v.reason(), v.detail(), original))
        .orElseGet(() -> DecodeResult.accepted(event));
  }

  /** Decodes one JSON-lines line (UTF-8). */
  public DecodeResult decodeJson(String line) {
    return decode(line.getBytes(StandardCharsets.UTF_8));
  }

  /** The Kafka key of an event: the user id as UTF-8 decimal (what {@code kcat -K:} sends too). */
  public static byte[] key(long userId) {
    return Long.toString(userId).getBytes(StandardCharsets.UTF_8);
  }

  public EventValidator validator() {
    return validator;
  }

  /** The underlying record codec (schema, fingerprints). */
  public RecordCodec<UserEvent> recordCodec() {
    return codec;
  }
}
