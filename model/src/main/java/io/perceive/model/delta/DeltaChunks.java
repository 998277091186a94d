package io.perceive.model.delta;

import io.perceive.model.snapshot.MalformedDataException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Splits an encoded message (a delta or full parameters) into chunks that each fit a Kafka message,
 * and reads chunk headers. Chunk layout (version 1, big-endian):
 *
 * <pre>
 * magic "PRCVCHNK" | int32 version | int64 message id | int32 index | int32 count
 * | int32 message length | int32 CRC32C of the whole message | int32 body length | body
 * | int32 CRC32C of everything before it in this chunk
 * </pre>
 *
 * Reassembly: {@link ChunkAssembler}.
 */
public final class DeltaChunks {

  public static final byte[] MAGIC = "PRCVCHNK".getBytes(StandardCharsets.US_ASCII);

  public static final int CURRENT_VERSION = 1;

  /** Header and trailer bytes around each body. */
  public static final int OVERHEAD = 8 + 4 + 8 + 4 + 4 + 4 + 4 + 4 + 4;

  /**
   * Default chunk limit: 900,000 bytes, under Kafka's default 1 MB message limit ({@code
   * message.max.bytes} = 1,048,588) with room for the record's key, headers and batch overhead.
   */
  public static final int DEFAULT_MAX_CHUNK_BYTES = 900_000;

  private DeltaChunks() {}

  /** One parsed chunk. */
  public record Chunk(
      long messageId, int index, int count, int messageLength, int messageCrc, byte[] body) {}

  /**
   * Splits {@code message} into chunks of at most {@code maxChunkBytes} bytes each (headers
   * included).
   */
  public static List<byte[]> split(byte[] message, long messageId, int maxChunkBytes) {
    if (maxChunkBytes <= OVERHEAD)
      throw new IllegalArgumentException(
          "maxChunkBytes must exceed the chunk overhead of " + OVERHEAD + ", got " + maxChunkBytes);
    int bodyMax = maxChunkBytes - OVERHEAD;
    int count = Math.max(1, (message.length + bodyMax - 1) / bodyMax);
    CRC32C whole = new CRC32C();
    whole.update(message);
    List<byte[]> chunks = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int from = i * bodyMax;
      int len = Math.min(bodyMax, message.length - from);
      ByteBuffer b = ByteBuffer.allocate(OVERHEAD + len);
      b.put(MAGIC).putInt(CURRENT_VERSION).putLong(messageId).putInt(i).putInt(count);
      b.putInt(message.length).putInt((int) whole.getValue()).putInt(len).put(message, from, len);
      CRC32C c = new CRC32C();
      c.update(b.array(), 0, b.position());
      b.putInt((int) c.getValue());
      chunks.add(b.array());
    }
    return chunks;
  }

  public static List<byte[]> split(byte[] message, long messageId) {
    return split(message, messageId, DEFAULT_MAX_CHUNK_BYTES);
  }

  /** Parses and verifies one chunk (magic, version, lengths, chunk checksum). */
  public static Chunk parse(byte[] chunk) throws MalformedDataException {
    if (chunk.length < OVERHEAD)
      throw new MalformedDataException("truncated chunk: " + chunk.length + " bytes");
    ByteBuffer b = ByteBuffer.wrap(chunk);
    byte[] magic = new byte[MAGIC.length];
    b.get(magic);
    if (!Arrays.equals(magic, MAGIC))
      throw new MalformedDataException("not a Perceive chunk (bad magic)");
    int version = b.getInt();
    if (version != CURRENT_VERSION)
      throw new MalformedDataException(
          "unsupported chunk format version "
              + version
              + " (this reader understands "
              + CURRENT_VERSION
              + ")");
    long id = b.getLong();
    int index = b.getInt();
    int count = b.getInt();
    int total = b.getInt();
    int wholeCrc = b.getInt();
    int len = b.getInt();
    if (count < 1
        || index < 0
        || index >= count
        || total < 0
        || len < 0
        || len != chunk.length - OVERHEAD)
      throw new MalformedDataException(
          "inconsistent chunk header (index "
              + index
              + " of "
              + count
              + ", body "
              + len
              + " of "
              + chunk.length
              + " bytes)");
    byte[] body = new byte[len];
    b.get(body);
    CRC32C c = new CRC32C();
    c.update(chunk, 0, b.position());
    if (b.getInt() != (int) c.getValue())
      throw new MalformedDataException(
          "chunk " + index + " of message " + id + ": checksum mismatch");
    return new Chunk(id, index, count, total, wholeCrc, body);
  }
}
