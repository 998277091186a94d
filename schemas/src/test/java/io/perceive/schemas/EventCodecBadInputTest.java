package io.perceive.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every kind of bad input gives a typed rejection; nothing throws; nothing valid is dropped. */
class EventCodecBadInputTest {
  private final EventCodec codec = new EventCodec();

  private RejectionReason reasonOf(byte[] bytes) {
    DecodeResult result = codec.decode(bytes);
    assertThat(result.isValid()).as("expected a rejection, got %s", result).isFalse();
    assertThat(result.rejection().originalBytes()).isEqualTo(bytes);
    return result.rejection().reason();
  }

  private RejectionReason reasonOf(String json) {
    return reasonOf(json.getBytes(StandardCharsets.UTF_8));
  }

  private String validJson() {
    return codec.toJson(SampleRecords.impression());
  }

  @Test
  void emptyAndNullBytesAreMalformed() {
    assertThat(reasonOf(new byte[0])).isEqualTo(RejectionReason.MALFORMED);
    DecodeResult fromNull = codec.decode(null);
    assertThat(fromNull.rejection().reason()).isEqualTo(RejectionReason.MALFORMED);
  }

  @Test
  void garbageBytesAreMalformed() {
    assertThat(reasonOf(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
        .isEqualTo(RejectionReason.MALFORMED);
    assertThat(reasonOf("hello kafka")).isEqualTo(RejectionReason.MALFORMED);
  }

  @Test
  void truncatedAvroIsMalformed() {
    byte[] bytes = codec.encode(SampleRecords.impression());
    assertThat(reasonOf(Arrays.copyOf(bytes, bytes.length - 3)))
        .isEqualTo(RejectionReason.MALFORMED);
    assertThat(reasonOf(Arrays.copyOf(bytes, 6))).isEqualTo(RejectionReason.MALFORMED);
  }

  @Test
  void trailingBytesAreMalformed() {
    byte[] bytes = codec.encode(SampleRecords.impression());
    assertThat(reasonOf(Arrays.copyOf(bytes, bytes.length + 2)))
        .isEqualTo(RejectionReason.MALFORMED);
  }

  @Test
  void aHugeClaimedLengthIsMalformedNotAnAllocation() {
    byte[] bytes = codec.encode(SampleRecords.impression());
    byte[] forged = Arrays.copyOf(bytes, RecordCodec.HEADER_LENGTH + 5);
    // eventId length as zig-zag varint: 2^31 - 16 characters.
    long claimed = (1L << 31) - 16;
    long zigzag = claimed << 1;
    for (int i = 0; i < 5; i++) {
      forged[RecordCodec.HEADER_LENGTH + i] = (byte) ((zigzag & 0x7F) | (i < 4 ? 0x80 : 0));
      zigzag >>>= 7;
    }
    assertThat(reasonOf(forged)).isEqualTo(RejectionReason.MALFORMED);
  }

  @Test
  void unknownFingerprintIsUnknownSchema() {
    byte[] bytes = codec.encode(SampleRecords.impression());
    bytes[5] ^= 0x5A;
    assertThat(reasonOf(bytes)).isEqualTo(RejectionReason.UNKNOWN_SCHEMA);
  }

  @Test
  void invalidJsonIsMalformed() {
    assertThat(reasonOf("{\"eventId\": ")).isEqualTo(RejectionReason.MALFORMED);
    assertThat(reasonOf(validJson() + " {}")).isEqualTo(RejectionReason.MALFORMED);
    assertThat(reasonOf(validJson().replace("\"userId\":42", "\"userId\":\"42\"")))
        .isEqualTo(RejectionReason.MALFORMED);
    assertThat(reasonOf(validJson().replace("\"userId\":42", "\"userId\":4.2")))
        .isEqualTo(RejectionReason.MALFORMED);
  }

  @ParameterizedTest
  @CsvSource({"eventId", "userId", "type", "eventTimeMs", "requestId", "position", "scene", "item"})
  void missingRequiredFieldIsNamed(String field) throws Exception {
    var tree = JsonForm.toJsonTree(SampleRecords.impression());
    tree.remove(field);

    DecodeResult result = codec.decode(tree.toString().getBytes(StandardCharsets.UTF_8));

    assertThat(result.rejection().reason()).isEqualTo(RejectionReason.MISSING_FIELD);
    assertThat(result.rejection().detail()).contains(field);
  }

  @Test
  void missingNestedItemIdIsMissingField() {
    var tree = JsonForm.toJsonTree(SampleRecords.impression());
    ((com.fasterxml.jackson.databind.node.ObjectNode) tree.get("item")).remove("itemId");
    assertThat(reasonOf(tree.toString())).isEqualTo(RejectionReason.MISSING_FIELD);
  }

  @Test
  void unknownEventTypeIsTyped() {
    assertThat(reasonOf(validJson().replace("\"IMPRESSION\"", "\"RETURN\"")))
        .isEqualTo(RejectionReason.UNKNOWN_EVENT_TYPE);
    assertThat(reasonOf(validJson().replace("\"IMPRESSION\"", "\"click\"")))
        .isEqualTo(RejectionReason.UNKNOWN_EVENT_TYPE);
  }

  @ParameterizedTest
  @CsvSource({"NaN", "Infinity", "-Infinity", "-0.01", "\"NaN\""})
  void badPricesAreInvalidPrice(String price) {
    String json = validJson().replace("\"price\":19.99", "\"price\":" + price);
    assertThat(reasonOf(json)).isEqualTo(RejectionReason.INVALID_PRICE);
  }

  @Test
  void badPricesInAvroBytesAreInvalidPriceToo() {
    for (double price : new double[] {Double.NaN, Double.POSITIVE_INFINITY, -1.0}) {
      UserEvent event = SampleRecords.impression();
      event.getItem().setPrice(price);
      assertThat(reasonOf(codec.encode(event))).isEqualTo(RejectionReason.INVALID_PRICE);
    }
  }

  @Test
  void nonFiniteFeaturesAreInvalidFeature() {
    UserEvent event = SampleRecords.impression();
    event.getItem().getFeatures().put("discount", Double.NaN);
    assertThat(reasonOf(codec.encode(event))).isEqualTo(RejectionReason.INVALID_FEATURE);
    UserEvent profiled = SampleRecords.impression();
    profiled.getProfile().put("age_bucket", Double.NEGATIVE_INFINITY);
    assertThat(reasonOf(codec.encode(profiled))).isEqualTo(RejectionReason.INVALID_FEATURE);
  }

  @Test
  void eventTimesOutsideTheBoundsAreRejected() {
    UserEvent early = SampleRecords.impression();
    early.setEventTimeMs(Instant.parse("1995-06-01T00:00:00Z").toEpochMilli());
    UserEvent late = SampleRecords.impression();
    late.setEventTimeMs(Instant.parse("2100-01-01T00:00:00Z").toEpochMilli());
    UserEvent absurd = SampleRecords.impression();
    absurd.setEventTimeMs(Long.MIN_VALUE);

    assertThat(reasonOf(codec.encode(early))).isEqualTo(RejectionReason.EVENT_TIME_OUT_OF_BOUNDS);
    assertThat(reasonOf(codec.encode(late))).isEqualTo(RejectionReason.EVENT_TIME_OUT_OF_BOUNDS);
    assertThat(reasonOf(codec.encode(absurd))).isEqualTo(RejectionReason.EVENT_TIME_OUT_OF_BOUNDS);
    // The replay's bounds admit 1995.
    assertThat(new EventCodec(EventValidator.forMovieLens()).decode(codec.encode(early)).isValid())
        .isTrue();
  }

  @Test
  void configurableBoundsAreValidated() {
    Instant t = Instant.parse("2024-01-01T00:00:00Z");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new EventValidator(t, t))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("min < max");
  }

  @Test
  void invalidFieldsAreInvalidField() {
    List<UserEvent> bad = new ArrayList<>();
    UserEvent e = SampleRecords.impression();
    e.setUserId(-1L);
    bad.add(e);
    e = SampleRecords.impression();
    e.setEventId(" ");
    bad.add(e);
    e = SampleRecords.impression();
    e.setPosition(-2);
    bad.add(e);
    e = SampleRecords.impression();
    e.setScene("");
    bad.add(e);
    e = SampleRecords.impression();
    e.getItem().setItemId(-5L);
    bad.add(e);
    e = SampleRecords.impression();
    e.getItem().setCategoryId(-5L);
    bad.add(e);
    e = SampleRecords.impression();
    e.setOrderAmount(3.0); // amount on an impression
    bad.add(e);
    e = SampleRecords.order();
    e.setQuantity(0);
    bad.add(e);
    e = SampleRecords.order();
    e.setOrderAmount(Double.NaN);
    bad.add(e);
    for (UserEvent event : bad) {
      assertThat(reasonOf(codec.encode(event)))
          .as("%s", event)
          .isEqualTo(RejectionReason.INVALID_FIELD);
    }
  }

  @Test
  void nothingValidIsDropped() {
    List<UserEvent> valid = new ArrayList<>();
    valid.add(SampleRecords.impression());
    valid.add(SampleRecords.order());
    for (EventType type : new EventType[] {EventType.CLICK, EventType.CART}) {
      UserEvent e = SampleRecords.impression();
      e.setType(type);
      valid.add(e);
    }
    UserEvent minimal = SampleRecords.impression();
    minimal.setProfile(null);
    minimal.getItem().setShopId(null);
    minimal.getItem().setCategoryId(null);
    minimal.getItem().setPrice(null);
    minimal.getItem().setFeatures(new java.util.HashMap<>());
    valid.add(minimal);
    UserEvent zeroes = SampleRecords.impression();
    zeroes.setUserId(0L);
    zeroes.setRequestId(0L);
    zeroes.setPosition(0);
    zeroes.getItem().setPrice(0.0);
    zeroes.setScene("a-new-scene");
    zeroes.setEventTimeMs(EventValidator.DEFAULT_MIN_EVENT_TIME.toEpochMilli());
    valid.add(zeroes);

    for (UserEvent event : valid) {
      DecodeResult fromAvro = codec.decode(codec.encode(event));
      DecodeResult fromJson = codec.decodeJson(codec.toJson(event));
      assertThat(fromAvro.isValid()).as("avro %s", fromAvro).isTrue();
      assertThat(fromAvro.event()).isEqualTo(event);
      assertThat(fromJson.isValid()).as("json %s", fromJson).isTrue();
      assertThat(fromJson.event()).isEqualTo(event);
    }
  }

  @Test
  void handWrittenMinimalJsonIsAccepted() {
    String json =
        "  {\"eventId\":\"k-1\",\"userId\":7,\"type\":\"CLICK\",\"eventTimeMs\":1709294400000,"
            + "\"requestId\":1,\"position\":0,\"scene\":\"search\",\"item\":{\"itemId\":3},"
            + "\"somethingNew\":true}\n";

    DecodeResult result = codec.decodeJson(json);

    assertThat(result.isValid()).as("%s", result).isTrue();
    assertThat(result.event().getItem().getFeatures()).isEmpty();
    assertThat(result.event().getItem().getPrice()).isNull();
  }

  @Test
  void randomAndMutatedBytesNeverThrow() {
    Random random = new Random(7);
    byte[] valid = codec.encode(SampleRecords.order());
    int rejected = 0;
    for (int i = 0; i < 20_000; i++) {
      byte[] bytes;
      if (i % 2 == 0) {
        bytes = valid.clone();
        // keep the header so the datum decoder itself is exercised
        int flips = 1 + random.nextInt(4);
        for (int f = 0; f < flips; f++) {
          int at =
              RecordCodec.HEADER_LENGTH + random.nextInt(valid.length - RecordCodec.HEADER_LENGTH);
          bytes[at] = (byte) random.nextInt(256);
        }
      } else {
        bytes = new byte[random.nextInt(64)];
        random.nextBytes(bytes);
        if (bytes.length > 0 && random.nextBoolean()) {
          bytes[0] = '{';
        }
      }
      DecodeResult result = codec.decode(bytes); // must not throw
      assertThat(result).isNotNull();
      if (!result.isValid()) {
        rejected++;
        assertThat(result.rejection().reason()).isNotNull();
      } else {
        // whatever survives mutation must be a fully valid event
        assertThat(codec.validator().validate(result.event())).isEmpty();
      }
    }
    assertThat(rejected).isGreaterThan(10_000);
  }

  @Test
  void deadLetterKeepsTheOriginalBytesAndReason() throws Exception {
    byte[] bad = "{\"eventId\":".getBytes(StandardCharsets.UTF_8);
    Rejection rejection = codec.decode(bad).rejection();

    DeadLetter letter = DeadLetters.of("42".getBytes(), rejection, "events", 2, 99L, 1000L);
    DeadLetter back = DeadLetters.decode(DeadLetters.encode(letter));

    assertThat(back).isEqualTo(letter);
    assertThat(back.getOriginalBytes().array()).isEqualTo(bad);
    assertThat(DeadLetters.reason(back)).contains(RejectionReason.MALFORMED);
    assertThat(back.getPartition()).isEqualTo(2);
    assertThat(back.getOffset()).isEqualTo(99L);
  }
}
