package io.perceive.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

/** Data written with an older schema (kept as history/UserEvent-v1.avsc) is read by the current. */
class SchemaEvolutionTest {
  private final Schema v1 = SchemaHistory.load("UserEvent-v1.avsc");

  private GenericRecord v1Click() {
    Schema itemSchema = v1.getField("item").schema();
    GenericRecord item = new GenericData.Record(itemSchema);
    item.put("itemId", 1001L);
    item.put("shopId", 5L);
    item.put("brandId", null);
    item.put("categoryId", 12L);
    item.put("price", 9.5);
    item.put("features", Map.of("discount", 0.1));
    GenericRecord event = new GenericData.Record(v1);
    event.put("eventId", "old-1");
    event.put("userId", 42L);
    event.put("type", new GenericData.EnumSymbol(v1.getField("type").schema(), "CLICK"));
    event.put("eventTimeMs", SampleRecords.T0);
    event.put("requestId", 7L);
    event.put("position", 3);
    event.put("scene", "search");
    event.put("item", item);
    return event;
  }

  @Test
  void v1IsAnOlderSchemaWithADifferentFingerprint() {
    RecordCodec<UserEvent> codec = RecordCodec.of(UserEvent.class);

    assertThat(v1.getField("quantity")).isNull();
    assertThat(codec.knownFingerprints())
        .hasSize(2)
        .contains(
            codec.fingerprint(), org.apache.avro.SchemaNormalization.parsingFingerprint64(v1));
  }

  @Test
  void bytesWrittenWithV1AreReadByTheCurrentSchemaWithDefaults() {
    byte[] oldBytes = RecordCodec.encodeWith(v1, v1Click());

    DecodeResult result = new EventCodec().decode(oldBytes);

    assertThat(result.isValid()).as("%s", result).isTrue();
    UserEvent event = result.event();
    assertThat(event.getEventId()).isEqualTo("old-1");
    assertThat(event.getType()).isEqualTo(EventType.CLICK);
    assertThat(event.getItem().getPrice()).isEqualTo(9.5);
    assertThat(event.getItem().getFeatures()).containsEntry("discount", 0.1);
    assertThat(event.getProfile()).isNull();
    assertThat(event.getOrderAmount()).isNull();
    assertThat(event.getQuantity()).isNull();
  }

  @Test
  void withoutTheHistoryTheOldFingerprintIsAnUnknownSchema() {
    EventCodec codec =
        new EventCodec(EventValidator.defaults(), new RecordCodec<>(UserEvent.class, List.of()));

    DecodeResult result = codec.decode(RecordCodec.encodeWith(v1, v1Click()));

    assertThat(result.isValid()).isFalse();
    assertThat(result.rejection().reason()).isEqualTo(RejectionReason.UNKNOWN_SCHEMA);
  }

  @Test
  void everyHistorySchemaCanBeReadByTheCurrentOne() {
    for (Schema older : SchemaHistory.olderSchemas("UserEvent")) {
      assertThat(
              SchemaCompatibility.checkReaderWriterCompatibility(UserEvent.getClassSchema(), older)
                  .getType())
          .isEqualTo(SchemaCompatibilityType.COMPATIBLE);
    }
  }

  @Test
  void aNewerWriterWithAnExtraEventTypeIsRejectedAsUnknownType() {
    // A future writer adds a symbol; this reader cannot represent it and must say why.
    Schema newer =
        new Schema.Parser()
            .parse(
                UserEvent.getClassSchema()
                    .toString()
                    .replace("\"ORDER\"]", "\"ORDER\",\"RETURN\"]"));
    GenericRecord event = new GenericData.Record(newer);
    UserEvent sample = SampleRecords.impression();
    for (Schema.Field field : newer.getFields()) {
      event.put(
          field.name(), GenericData.get().deepCopy(field.schema(), toGenericValue(sample, field)));
    }
    event.put("type", new GenericData.EnumSymbol(newer.getField("type").schema(), "RETURN"));
    RecordCodec<UserEvent> codec = RecordCodec.of(UserEvent.class);
    codec.addWriterSchema(newer);

    DecodeResult result =
        new EventCodec(EventValidator.defaults(), codec)
            .decode(RecordCodec.encodeWith(newer, event));

    assertThat(result.isValid()).isFalse();
    assertThat(result.rejection().reason()).isEqualTo(RejectionReason.UNKNOWN_EVENT_TYPE);
  }

  private static Object toGenericValue(UserEvent sample, Schema.Field field) {
    try {
      GenericData.Record generic =
          JsonForm.toGeneric(
              JsonForm.parse(new EventCodec().toJson(sample).getBytes()),
              UserEvent.getClassSchema());
      return generic.get(field.name());
    } catch (RecordFormatException e) {
      throw new AssertionError(e);
    }
  }
}
