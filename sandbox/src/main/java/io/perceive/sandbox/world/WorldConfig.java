package io.perceive.sandbox.world;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * Parameters of a synthetic {@link World}: typed, defaulted, range-checked and documented in one
 * table ({@link #KEYS}), read from a properties file with overrides (command line wins over the
 * file, the file over the defaults).
 */
public final class WorldConfig {

  /** One documented key: its name, default, inclusive range (for numbers) and meaning. */
  public record Key(String name, String defaultValue, String range, String description) {}

  /** Every key, in documentation order. */
  public static final List<Key> KEYS =
      List.of(
          new Key(
              "seed",
              "42",
              "any long",
              "random seed; the same seed and keys give the same events and truth"),
          new Key("users", "3000", "1 - 10,000,000", "number of users"),
          new Key("items", "20000", "1 - 10,000,000", "number of items"),
          new Key(
              "categories",
              "50",
              "1 - items (default: min(50, items))",
              "number of item categories (each has an interest direction and a price level)"),
          new Key(
              "shops", "500", "1 - 10,000,000", "number of shops (Zipf-distributed over items)"),
          new Key(
              "brands", "2000", "1 - 10,000,000", "number of brands (brands cluster by category)"),
          new Key(
              "events",
              "300000",
              "1 - 2,000,000,000",
              "total events of every type, duplicates included"),
          new Key(
              "days",
              "14",
              "0.01 - 3650",
              "approximate span of event time; sessions arrive uniformly over it"),
          new Key(
              "start_time",
              "2024-01-01T00:00:00Z",
              "ISO-8601 instant",
              "event time of the first session"),
          new Key(
              "session_intent_strength",
              "0.6",
              "0 - 1",
              "weight of the session's short-term intent in click propensity (0 = only long-term interest; the LSTM's signal)"),
          new Key(
              "interest_drift",
              "0.05",
              "0 - 1",
              "fraction of a user's long-term interest replaced by a random direction per simulated day"),
          new Key(
              "price_missing_rate",
              "0.1",
              "0 - 1",
              "average share of events whose item price is missing; more often for some shops and for expensive items (not at random)"),
          new Key(
              "click_order_coupling",
              "0.7",
              "0 - 1",
              "1 = order propensity follows click propensity, 0 = independent (price fit and item conversion quality only)"),
          new Key(
              "items_per_request", "8", "1 - 100", "items shown per request (positions 0..n-1)"),
          new Key("requests_per_session", "4", "1 - 100", "mean requests (page views) per session"),
          new Key(
              "position_bias",
              "0.6",
              "0 - 5",
              "click logit falls by position_bias * ln(1 + position)"),
          new Key(
              "click_bias",
              "-3.0",
              "-10 - 5",
              "click logit intercept (sets the average click rate)"),
          new Key(
              "conversion_bias",
              "-3.5",
              "-10 - 5",
              "conversion (order given click) logit intercept"),
          new Key("latent_dim", "8", "2 - 64", "dimension of the latent interest space"),
          new Key(
              "duplicate_rate",
              "0.002",
              "0 - 0.5",
              "share of events delivered twice (same event id)"),
          new Key(
              "out_of_order_rate",
              "0.005",
              "0 - 0.5",
              "share of events delivered late, after later events"),
          new Key(
              "max_delivery_delay_seconds",
              "120",
              "1 - 86400",
              "longest delivery delay of a late or duplicate event (event-time seconds): the out-of-orderness bound"));

  private static final Map<String, Key> BY_NAME = new LinkedHashMap<>();

  static {
    for (Key key : KEYS) {
      BY_NAME.put(key.name(), key);
    }
  }

  public final long seed;
  public final int users;
  public final int items;
  public final int categories;
  public final int shops;
  public final int brands;
  public final long events;
  public final double days;
  public final Instant startTime;
  public final double sessionIntentStrength;
  public final double interestDrift;
  public final double priceMissingRate;
  public final double clickOrderCoupling;
  public final int itemsPerRequest;
  public final double requestsPerSession;
  public final double positionBias;
  public final double clickBias;
  public final double conversionBias;
  public final int latentDim;
  public final double duplicateRate;
  public final double outOfOrderRate;
  public final int maxDeliveryDelaySeconds;

  private final Map<String, String> values;

  private WorldConfig(Map<String, String> values) {
    this.values = Map.copyOf(values);
    seed = parseLong("seed", Long.MIN_VALUE, Long.MAX_VALUE);
    users = (int) parseLong("users", 1, 10_000_000);
    items = (int) parseLong("items", 1, 10_000_000);
    categories = (int) parseLong("categories", 1, items);
    shops = (int) parseLong("shops", 1, 10_000_000);
    brands = (int) parseLong("brands", 1, 10_000_000);
    events = parseLong("events", 1, 2_000_000_000L);
    days = parseDouble("days", 0.01, 3650);
    startTime = parseInstant("start_time");
    sessionIntentStrength = parseDouble("session_intent_strength", 0, 1);
    interestDrift = parseDouble("interest_drift", 0, 1);
    priceMissingRate = parseDouble("price_missing_rate", 0, 1);
    clickOrderCoupling = parseDouble("click_order_coupling", 0, 1);
    itemsPerRequest = (int) parseLong("items_per_request", 1, 100);
    requestsPerSession = parseDouble("requests_per_session", 1, 100);
    positionBias = parseDouble("position_bias", 0, 5);
    clickBias = parseDouble("click_bias", -10, 5);
    conversionBias = parseDouble("conversion_bias", -10, 5);
    latentDim = (int) parseLong("latent_dim", 2, 64);
    duplicateRate = parseDouble("duplicate_rate", 0, 0.5);
    outOfOrderRate = parseDouble("out_of_order_rate", 0, 0.5);
    maxDeliveryDelaySeconds = (int) parseLong("max_delivery_delay_seconds", 1, 86_400);
  }

  /** All defaults. */
  public static WorldConfig defaults() {
    return of(Map.of());
  }

  /** Defaults overridden by {@code overrides} (keys as in {@link #KEYS}; '-' may stand for '_'). */
  public static WorldConfig of(Map<String, String> overrides) {
    Map<String, String> values = new LinkedHashMap<>();
    for (Key key : KEYS) {
      values.put(key.name(), key.defaultValue());
    }
    for (Map.Entry<String, String> entry : overrides.entrySet()) {
      String name = normalize(entry.getKey());
      if (!BY_NAME.containsKey(name)) {
        throw new IllegalArgumentException(
            "unknown world key '" + entry.getKey() + "'; known keys: " + BY_NAME.keySet());
      }
      values.put(name, entry.getValue().trim());
    }
    if (!overrides.containsKey("categories") && isInteger(values.get("items"))) {
      // The default category count must not exceed a small catalogue.
      long items = Long.parseLong(values.get("items").replace("_", "").replace(",", ""));
      values.put("categories", Long.toString(Math.max(1, Math.min(50, items))));
    }
    return new WorldConfig(values);
  }

  /**
   * Defaults, then the properties file (when not null), then {@code overrides}: the precedence of
   * {@code --world FILE} and command-line options.
   */
  public static WorldConfig load(Path file, Map<String, String> overrides) throws IOException {
    Map<String, String> merged = new LinkedHashMap<>();
    if (file != null) {
      Properties props = new Properties();
      try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        props.load(in);
      }
      for (String name : props.stringPropertyNames()) {
        merged.put(normalize(name), props.getProperty(name));
      }
    }
    for (Map.Entry<String, String> entry : overrides.entrySet()) {
      merged.put(normalize(entry.getKey()), entry.getValue());
    }
    try {
      return of(merged);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException((file == null ? "" : file + ": ") + e.getMessage(), e);
    }
  }

  /** A copy with some keys changed. */
  public WorldConfig with(Map<String, String> overrides) {
    Map<String, String> merged = new LinkedHashMap<>(values);
    for (Map.Entry<String, String> entry : overrides.entrySet()) {
      merged.put(normalize(entry.getKey()), entry.getValue());
    }
    return of(merged);
  }

  /** True when {@code name} (or its '-' spelling) is a world key. */
  public static boolean isKey(String name) {
    return BY_NAME.containsKey(normalize(name));
  }

  /** Every key's effective value, as properties text would hold it. */
  public Map<String, String> values() {
    return new TreeMap<>(values);
  }

  /** The keys as a Markdown table (README and {@code world --help}). */
  public static String markdownTable() {
    StringBuilder table =
        new StringBuilder("| Key | Default | Range | Meaning |\n| --- | --- | --- | --- |\n");
    for (Key key : KEYS) {
      table
          .append("| `")
          .append(key.name())
          .append("` | ")
          .append(key.defaultValue())
          .append(" | ")
          .append(key.range())
          .append(" | ")
          .append(key.description())
          .append(" |\n");
    }
    return table.toString();
  }

  @Override
  public String toString() {
    return "WorldConfig" + values();
  }

  private static boolean isInteger(String text) {
    try {
      Long.parseLong(text.replace("_", "").replace(",", ""));
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private static String normalize(String name) {
    return name.trim().replace('-', '_');
  }

  private long parseLong(String name, long min, long max) {
    String text = values.get(name);
    long value;
    try {
      value = Long.parseLong(text.replace("_", "").replace(",", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "world key '" + name + "' must be an integer, got '" + text + "'");
    }
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          "world key '" + name + "' must be in [" + min + ", " + max + "], got " + value);
    }
    return value;
  }

  private double parseDouble(String name, double min, double max) {
    String text = values.get(name);
    double value;
    try {
      value = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "world key '" + name + "' must be a number, got '" + text + "'");
    }
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(
          "world key '" + name + "' must be in [" + min + ", " + max + "], got " + text);
    }
    return value;
  }

  private Instant parseInstant(String name) {
    String text = values.get(name);
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(
          "world key '"
              + name
              + "' must be an ISO-8601 instant like 2024-01-01T00:00:00Z, got '"
              + text
              + "'");
    }
  }
}
