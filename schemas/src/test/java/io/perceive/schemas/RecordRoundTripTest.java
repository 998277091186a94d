package io.perceive.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every record type survives Avro single-object and JSON round trips unchanged. */
class RecordRoundTripTest {

  static Stream<SpecificRecord> records() {
    return Stream.of(
        SampleRecords.impression(),
        SampleRecords.order(),
        SampleRecords.deadLetter(),
        SampleRecords.manifest(),
        SampleRecords.updateChunk(),
        SampleRecords.userState(),
        SampleRecords.truth());
  }

  @ParameterizedTest
  @MethodSource("records")
  @SuppressWarnings("unchecked")
  <T extends SpecificRecord> void avroSingleObjectRoundTrip(T record) throws Exception {
    RecordCodec<T> codec = RecordCodec.of((Class<T>) record.getClass());
    byte[] bytes = codec.encode(record);

    assertThat(bytes[0]).isEqualTo(RecordCodec.MAGIC_0);
    assertThat(bytes[1]).isEqualTo(RecordCodec.MAGIC_1);
    assertThat(RecordCodec.readFingerprint(bytes)).isEqualTo(codec.fingerprint());
    assertThat(codec.decode(bytes)).isEqualTo(record);
  }

  @ParameterizedTest
  @MethodSource("records")
  @SuppressWarnings("unchecked")
  <T extends SpecificRecord> void jsonRoundTrip(T record) throws Exception {
    RecordCodec<T> codec = RecordCodec.of((Class<T>) record.getClass());
    String json = codec.toJson(record);

    assertThat(json).startsWith("{").doesNotContain("\n");
    assertThat(codec.fromJson(json)).isEqualTo(record);
  }

  @ParameterizedTest
  @MethodSource("records")
  @SuppressWarnings("unchecked")
  <T extends SpecificRecord> void avroSingleObjectMatchesAvrosOwnEncoder(T record)
      throws Exception {
    // Our header + datum must be byte-identical to Avro's BinaryMessageEncoder, so any Avro
    // client's single-object decoder reads what we write.
    RecordCodec<T> codec = RecordCodec.of((Class<T>) record.getClass());
    var avroEncoder =
        new org.apache.avro.message.BinaryMessageEncoder<T>(
            org.apache.avro.specific.SpecificData.getForClass(record.getClass()), codec.schema());
    byte[] avro = avroEncoder.encode(record).array();

    assertThat(codec.encode(record)).isEqualTo(avro);
  }

  @org.junit.jupiter.api.Test
  void jsonFormIsPlainJsonWithoutUnionWrappers() throws Exception {
    String json = new EventCodec().toJson(SampleRecords.impression());

    assertThat(json).contains("\"price\":19.99").contains("\"brandId\":null");
    assertThat(json).contains("\"type\":\"IMPRESSION\"");
    assertThat(List.of(json)).noneMatch(s -> s.contains("{\"double\""));
  }
}
