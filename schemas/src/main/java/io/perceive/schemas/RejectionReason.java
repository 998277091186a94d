package io.perceive.schemas;

/**
 * Why a record on the events topic was not accepted; stored by name in {@link
 * DeadLetter#getReason()}.
 */
public enum RejectionReason {
  /**
   * Empty, truncated or otherwise undecodable bytes, invalid JSON, or a value of the wrong JSON
   * type.
   */
  MALFORMED,
  /** Avro single-object bytes whose writer-schema fingerprint no registered schema has. */
  UNKNOWN_SCHEMA,
  /** A field without a default is absent (JSON form, or an old writer schema lacking it). */
  MISSING_FIELD,
  /** The event type is not one of IMPRESSION, CLICK, CART, ORDER. */
  UNKNOWN_EVENT_TYPE,
  /** A field has a value outside its domain (negative id or position, blank id or scene, ...). */
  INVALID_FIELD,
  /** The item price is NaN, infinite or negative. */
  INVALID_PRICE,
  /** An item or profile feature is NaN or infinite (null is the way to say "missing"). */
  INVALID_FEATURE,
  /** The event time lies outside the configured bounds. */
  EVENT_TIME_OUT_OF_BOUNDS,
  /** The event id was seen before for this user (detected by the job, which holds the state). */
  DUPLICATE
}
