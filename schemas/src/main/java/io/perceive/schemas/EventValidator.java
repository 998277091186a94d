package io.perceive.schemas;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * Domain checks on a decoded {@link UserEvent}: ids, positions and scene well-formed, price and
 * features finite, order fields only on orders, event time inside configurable bounds.
 *
 * <p>{@link EventCodec#decode(byte[])} applies it after decoding. Duplicates are not checked here:
 * they need per-user state, which the job holds.
 */
public final class EventValidator {
  /** Default lower event-time bound (inclusive): 2000-01-01T00:00:00Z. */
  public static final Instant DEFAULT_MIN_EVENT_TIME = Instant.parse("2000-01-01T00:00:00Z");

  /** Default upper event-time bound (exclusive): 2100-01-01T00:00:00Z. */
  public static final Instant DEFAULT_MAX_EVENT_TIME = Instant.parse("2100-01-01T00:00:00Z");

  /** Lower bound that admits the MovieLens replay (first rating 1995-01-09). */
  public static final Instant MOVIELENS_MIN_EVENT_TIME = Instant.parse("1995-01-01T00:00:00Z");

  private final long minEventTimeMs;
  private final long maxEventTimeMs;

  /**
   * A validator admitting event times in {@code [minEventTime, maxEventTime)}.
   *
   * @throws IllegalArgumentException when the bounds are empty or reversed
   */
  public EventValidator(Instant minEventTime, Instant maxEventTime) {
    this(minEventTime.toEpochMilli(), maxEventTime.toEpochMilli());
  }

  /** A validator admitting event times in {@code [minEventTimeMs, maxEventTimeMs)} epoch ms. */
  public EventValidator(long minEventTimeMs, long maxEventTimeMs) {
    if (minEventTimeMs >= maxEventTimeMs) {
      throw new IllegalArgumentException(
          "event-time bounds must satisfy min < max, got ["
              + Instant.ofEpochMilli(minEventTimeMs)
              + ", "
              + Instant.ofEpochMilli(maxEventTimeMs)
              + ")");
    }
    this.minEventTimeMs = minEventTimeMs;
    this.maxEventTimeMs = maxEventTimeMs;
  }

  /** Bounds [2000-01-01, 2100-01-01). */
  public static EventValidator defaults() {
    return new EventValidator(DEFAULT_MIN_EVENT_TIME, DEFAULT_MAX_EVENT_TIME);
  }

  /** Bounds [1995-01-01, 2100-01-01): what the MovieLens replay needs. */
  public static EventValidator forMovieLens() {
    return new EventValidator(MOVIELENS_MIN_EVENT_TIME, DEFAULT_MAX_EVENT_TIME);
  }

  public long minEventTimeMs() {
    return minEventTimeMs;
  }

  public long maxEventTimeMs() {
    return maxEventTimeMs;
  }

  /** One failed check: its reason and a detail naming the field and value. */
  public record Violation(RejectionReason reason, String detail) {}

  /** The first failed check, or empty when the event is valid. */
  public Optional<Violation> validate(UserEvent event) {
    if (event.getEventId() == null || event.getEventId().isBlank()) {
      return fail(RejectionReason.INVALID_FIELD, "eventId is blank");
    }
    if (event.getUserId() < 0) {
      return fail(RejectionReason.INVALID_FIELD, "userId is negative: " + event.getUserId());
    }
    if (event.getRequestId() < 0) {
      return fail(RejectionReason.INVALID_FIELD, "requestId is negative: " + event.getRequestId());
    }
    if (event.getPosition() < 0) {
      return fail(RejectionReason.INVALID_FIELD, "position is negative: " + event.getPosition());
    }
    if (event.getScene() == null || event.getScene().isBlank()) {
      return fail(RejectionReason.INVALID_FIELD, "scene is blank");
    }
    long time = event.getEventTimeMs();
    if (time < minEventTimeMs || time >= maxEventTimeMs) {
      return fail(
          RejectionReason.EVENT_TIME_OUT_OF_BOUNDS,
          "eventTimeMs "
              + time
              + " ("
              + describe(time)
              + ") outside ["
              + Instant.ofEpochMilli(minEventTimeMs)
              + ", "
              + Instant.ofEpochMilli(maxEventTimeMs)
              + ")");
    }
    Item item = event.getItem();
    if (item.getItemId() < 0) {
      return fail(RejectionReason.INVALID_FIELD, "item.itemId is negative: " + item.getItemId());
    }
    if (negative(item.getShopId())
        || negative(item.getBrandId())
        || negative(item.getCategoryId())) {
      return fail(
          RejectionReason.INVALID_FIELD,
          "negative side-info id (shop "
              + item.getShopId()
              + ", brand "
              + item.getBrandId()
              + ", category "
              + item.getCategoryId()
              + ")");
    }
    Double price = item.getPrice();
    if (price != null && (!Double.isFinite(price) || price < 0)) {
      return fail(
          RejectionReason.INVALID_PRICE, "item.price must be finite and >= 0, got " + price);
    }
    Optional<Violation> features = finite("item.features", item.getFeatures());
    if (features.isPresent()) {
      return features;
    }
    Optional<Violation> profile = finite("profile", event.getProfile());
    if (profile.isPresent()) {
      return profile;
    }
    boolean order = event.getType() == EventType.ORDER;
    Double amount = event.getOrderAmount();
    Integer quantity = event.getQuantity();
    if (!order && (amount != null || quantity != null)) {
      return fail(
          RejectionReason.INVALID_FIELD,
          "orderAmount/quantity are for ORDER events only, got them on " + event.getType());
    }
    if (amount != null && (!Double.isFinite(amount) || amount < 0)) {
      return fail(
          RejectionReason.INVALID_FIELD, "orderAmount must be finite and >= 0, got " + amount);
    }
    if (quantity != null && quantity < 1) {
      return fail(RejectionReason.INVALID_FIELD, "quantity must be >= 1, got " + quantity);
    }
    return Optional.empty();
  }

  private static Optional<Violation> finite(String name, Map<String, Double> values) {
    if (values == null) {
      return Optional.empty();
    }
    for (Map.Entry<String, Double> entry : values.entrySet()) {
      Double value = entry.getValue();
      if (value != null && !Double.isFinite(value)) {
        return fail(
            RejectionReason.INVALID_FEATURE,
            name + "[" + entry.getKey() + "] = " + value + " (use null for a missing value)");
      }
    }
    return Optional.empty();
  }

  private static boolean negative(Long id) {
    return id != null && id < 0;
  }

  private static String describe(long epochMs) {
    try {
      return Instant.ofEpochMilli(epochMs).toString();
    } catch (RuntimeException e) {
      return "unrepresentable";
    }
  }

  private static Optional<Violation> fail(RejectionReason reason, String detail) {
    return Optional.of(new Violation(reason, detail));
  }

  @Override
  public String toString() {
    return "EventValidator["
        + Instant.ofEpochMilli(minEventTimeMs)
        + ", "
        + Instant.ofEpochMilli(maxEventTimeMs)
        + ")";
  }
}
