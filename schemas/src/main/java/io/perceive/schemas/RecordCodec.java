package io.perceive.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.AvroTypeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes one generated record type as Avro single-object bytes and as its JSON form, and decodes
 * both, resolving older writer schemas by their fingerprint.
 *
 * <p>Single-object encoding (Avro specification, "Single-object encoding"): {@code C3 01}, the
 * 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's parsing canonical form, then
 * the binary datum. A reader keeps every writer schema it may meet (the current one plus {@code
 * history/} schemas) and resolves the datum into the current generated class. Thread-safe.
 */
public final class RecordCodec<T extends SpecificRecord> {
  /** First two bytes of every single-object encoded message. */
  public static final byte MAGIC_0 = (byte) 0xC3;

  public static final byte MAGIC_1 = (byte) 0x01;

  /** Bytes before the datum: magic (2) + fingerprint (8). */
  public static final int HEADER_LENGTH = 10;

  static {
    // Avro allocates a string/bytes/array of the length a datum claims before reading it; garbage
    // bytes could claim 2 GB. Events are < 1 MB (Kafka's default message size), so cap the claims
    // unless the operator has set the limits explicitly. Applies JVM-wide; see docs/events.md.
    setIfAbsent("org.apache.avro.limits.string.maxLength", 16 << 20);
    setIfAbsent("org.apache.avro.limits.bytes.maxLength", 64 << 20);
    setIfAbsent("org.apache.avro.limits.collectionItems.maxLength", 4 << 20);
  }

  private final Class<T> type;
  private final Schema schema;
  private final long fingerprint;
  private final SpecificData data;
  private final Map<Long, Schema> writerSchemas = new ConcurrentHashMap<>();
  private final Map<Long, DatumReader<T>> readers = new ConcurrentHashMap<>();
  private final SpecificDatumWriter<T> writer;

  /** A codec for {@code type} that knows its current schema and the given older writer schemas. */
  public RecordCodec(Class<T> type, Collection<Schema> olderWriterSchemas) {
    this.type = type;
    this.data = SpecificData.getForClass(type);
    this.schema = data.getSchema(type);
    this.fingerprint = SchemaNormalization.parsingFingerprint64(schema);
    this.writer = new SpecificDatumWriter<>(schema, data);
    writerSchemas.put(fingerprint, schema);
    for (Schema older : olderWriterSchemas) {
      addWriterSchema(older);
    }
  }

  /** A codec for {@code type} with its current schema and the history shipped in this module. */
  public static <T extends SpecificRecord> RecordCodec<T> of(Class<T> type) {
    return new RecordCodec<>(type, SchemaHistory.olderSchemas(type.getSimpleName()));
  }

  /**
   * Registers a writer schema whose data this codec should read (it must resolve to the current).
   */
  public void addWriterSchema(Schema older) {
    writerSchemas.putIfAbsent(SchemaNormalization.parsingFingerprint64(older), older);
  }

  public Schema schema() {
    return schema;
  }

  /** CRC-64-AVRO fingerprint of the current schema, as written in every encoded message. */
  public long fingerprint() {
    return fingerprint;
  }

  /** Fingerprints of every writer schema this codec can read. */
  public Set<Long> knownFingerprints() {
    return Set.copyOf(writerSchemas.keySet());
  }

  /** Single-object bytes of {@code record} under the current schema. */
  public byte[] encode(T record) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    writeHeader(out, fingerprint);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      writer.write(record, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in-memory stream: cannot happen
    }
    return out.toByteArray();
  }

  /**
   * Single-object bytes of a generic datum written with an arbitrary (e.g. older) schema; used by
   * tests and tools that must produce what an old writer would have produced.
   */
  public static byte[] encodeWith(Schema writerSchema, Object datum) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    writeHeader(out, SchemaNormalization.parsingFingerprint64(writerSchema));
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      new GenericDatumWriter<Object>(writerSchema, GenericData.get()).write(datum, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * Decodes single-object bytes; every failure is a {@link RecordFormatException} with a reason.
   */
  public T decode(byte[] bytes) throws RecordFormatException {
    if (bytes == null || bytes.length == 0) {
      throw new RecordFormatException(RejectionReason.MALFORMED, "empty record");
    }
    if (bytes.length < HEADER_LENGTH || bytes[0] != MAGIC_0 || bytes[1] != MAGIC_1) {
      throw new RecordFormatException(
          RejectionReason.MALFORMED,
          "not Avro single-object bytes (header C3 01 + 8-byte fingerprint) nor JSON: "
              + preview(bytes));
    }
    long writerFingerprint = readFingerprint(bytes);
    DatumReader<T> reader = readers.get(writerFingerprint);
    if (reader == null) {
      Schema writerSchema = writerSchemas.get(writerFingerprint);
      if (writerSchema == null) {
        throw new RecordFormatException(
            RejectionReason.UNKNOWN_SCHEMA,
            String.format(
                "writer schema fingerprint %016x is not a known %s schema (known: %d)",
                writerFingerprint, schema.getName(), writerSchemas.size()));
      }
      reader =
          readers.computeIfAbsent(
              writerFingerprint, f -> new SpecificDatumReader<>(writerSchema, schema, data));
    }
    BinaryDecoder decoder =
        DecoderFactory.get()
            .binaryDecoder(bytes, HEADER_LENGTH, bytes.length - HEADER_LENGTH, null);
    T record;
    try {
      record = reader.read(null, decoder);
      if (!decoder.isEnd()) {
        throw new RecordFormatException(
            RejectionReason.MALFORMED, "trailing bytes after the " + schema.getName() + " datum");
      }
    } catch (AvroTypeException e) {
      throw classifyResolutionFailure(e);
    } catch (IOException | RuntimeException e) {
      // EOFException (truncated), AvroRuntimeException (negative lengths, limits),
      // IndexOutOfBounds (bad union/enum index), ...: all mean the bytes are not a datum.
      throw new RecordFormatException(
          RejectionReason.MALFORMED,
          "undecodable "
              + schema.getName()
              + " datum: "
              + e.getClass().getSimpleName()
              + (e.getMessage() == null ? "" : " " + e.getMessage()));
    }
    return record;
  }

  private RecordFormatException classifyResolutionFailure(AvroTypeException e) {
    String message = String.valueOf(e.getMessage());
    if (message.contains("missing required field")) {
      return new RecordFormatException(RejectionReason.MISSING_FIELD, message);
    }
    if (message.contains("No match for")) {
      // An enum symbol the writer knew and this reader does not: for events, the event type.
      return new RecordFormatException(
          schema.getName().equals("UserEvent")
              ? RejectionReason.UNKNOWN_EVENT_TYPE
              : RejectionReason.INVALID_FIELD,
          message);
    }
    return new RecordFormatException(RejectionReason.MALFORMED, message);
  }

  /** The record as one line of JSON (see {@link JsonForm}). */
  public String toJson(T record) {
    return JsonForm.toJson(record);
  }

  /** Parses the JSON form into the generated class. */
  public T fromJson(byte[] json) throws RecordFormatException {
    GenericData.Record generic = JsonForm.toGeneric(JsonForm.parse(json), schema);
    return toSpecific(generic);
  }

  /** Parses the JSON form into the generated class. */
  public T fromJson(String json) throws RecordFormatException {
    return fromJson(json.getBytes(StandardCharsets.UTF_8));
  }

  /** Converts a generic record of the current schema into the generated class. */
  public T toSpecific(GenericData.Record generic) throws RecordFormatException {
    // Through binary: the datum reader builds exactly the generated types (String, List, enums).
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    try {
      new GenericDatumWriter<GenericData.Record>(schema, GenericData.get()).write(generic, encoder);
      encoder.flush();
      byte[] bytes = out.toByteArray();
      return readers
          .computeIfAbsent(fingerprint, f -> new SpecificDatumReader<>(schema, schema, data))
          .read(null, DecoderFactory.get().binaryDecoder(bytes, null));
    } catch (IOException | AvroRuntimeException | ClassCastException e) {
      throw new RecordFormatException(
          RejectionReason.MALFORMED,
          "record does not fit " + schema.getName() + ": " + e.getMessage());
    }
  }

  /** True when the bytes look like the JSON form (first non-blank byte is an opening brace). */
  public static boolean looksLikeJson(byte[] bytes) {
    for (byte b : bytes) {
      if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
        continue;
      }
      return b == '{';
    }
    return false;
  }

  /** The class this codec produces. */
  public Class<T> type() {
    return type;
  }

  static long readFingerprint(byte[] bytes) {
    long value = 0;
    for (int i = 0; i < 8; i++) {
      value |= (bytes[2 + i] & 0xFFL) << (8 * i);
    }
    return value;
  }

  private static void writeHeader(ByteArrayOutputStream out, long fingerprint) {
    out.write(MAGIC_0);
    out.write(MAGIC_1);
    for (int i = 0; i < 8; i++) {
      out.write((int) (fingerprint >>> (8 * i)) & 0xFF);
    }
  }

  static String preview(byte[] bytes) {
    StringBuilder text = new StringBuilder();
    int n = Math.min(bytes.length, 16);
    for (int i = 0; i < n; i++) {
      text.append(String.format("%02x", bytes[i] & 0xFF));
    }
    if (bytes.length > n) {
      text.append("... (").append(bytes.length).append(" bytes)");
    }
    return text.toString();
  }

  private static void setIfAbsent(String property, int value) {
    if (System.getProperty(property) == null) {
      System.setProperty(property, Integer.toString(value));
    }
  }
}
