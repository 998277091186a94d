package io.perceive.model.snapshot;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.optim.OptimizerState;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The versioned binary snapshot file. Layout (format version 1):
 *
 * <pre>
 * header   8 bytes magic "PRCVSNAP" | int32 format version | int64 payload length   (big-endian)
 * payload  int64 model version | int64 created-at ms | model config (string map)
 *          | element type tag | dense layout: count × (name, rank, shape)
 *          | table layout: count × (name, rows, dim)
 *          | dense flat values | per table: weights, last-update times
 *          | optimizer flag (0/1) [ optimizer config (string map) | steps
 *                                   | count × (name, tensor) | count × (name, long array) ]
 * trailer  int32 CRC32C of the payload
 * </pre>
 *
 * <p>Writing goes to a temporary file in the target's directory, which is forced to disk and then
 * renamed over the target atomically (Monolith's practice), so a reader never sees half a file.
 * Reading checks magic, version, length and checksum before it parses anything.
 */
public final class SnapshotFile {

  private static final Logger LOG = LoggerFactory.getLogger(SnapshotFile.class);

  public static final byte[] MAGIC = "PRCVSNAP".getBytes(StandardCharsets.US_ASCII);

  /** The format this code writes; readers refuse any other. */
  public static final int CURRENT_VERSION = 1;

  static final int HEADER_BYTES = 8 + 4 + 8;

  static final int TRAILER_BYTES = 4;

  private SnapshotFile() {}

  /** Writes {@code s} to {@code target} atomically (temp file + rename). */
  public static void write(Path target, Snapshot s) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(header(0)); // length patched below, once known
        CRC32C crc = new CRC32C();
        CountingOutputStream counted =
            new CountingOutputStream(new CheckedOutputStream(Channels.newOutputStream(ch), crc));
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(counted, 1 << 16));
        writePayload(out, s);
        out.flush();
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER_BYTES).putInt((int) crc.getValue()).flip();
        while (trailer.hasRemaining()) ch.write(trailer);
        ByteBuffer h = header(counted.count);
        ch.position(0);
        while (h.hasRemaining()) ch.write(h);
        ch.force(true);
      }
      try { // createTempFile makes the file owner-only; serving may run as another user
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: keep its defaults
      }
      try {
        Files.move(
            tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        LOG.warn("{} has no atomic rename; replacing non-atomically", dir);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The same format as a file, in memory: for state that is not a file of its own, e.g. a learner's
   * replica in Flink operator state.
   */
  public static byte[] toBytes(Snapshot s) throws IOException {
    // One buffer of the estimated final size, header and trailer included, returned as is when the
    // estimate is exact. Why: a growing ByteArrayOutputStream plus the copies into the result held
    // ~4x the snapshot at once, and checkpoints serialise several model-sized states per
    // TaskManager (a 1.2 GB heap ran out with 34 MB snapshots in the local-cluster drill).
    Exposed bytes = new Exposed(Math.toIntExact(estimatedBytes(s)));
    bytes.write(header(0).array());
    CRC32C crc = new CRC32C();
    try (DataOutputStream out = new DataOutputStream(new CheckedOutputStream(bytes, crc))) {
      writePayload(out, s);
      long payload = bytes.size() - HEADER_BYTES;
      out.flush();
      bytes.write(ByteBuffer.allocate(TRAILER_BYTES).putInt((int) crc.getValue()).array());
      byte[] b = bytes.buffer();
      System.arraycopy(header(payload).array(), 0, b, 0, HEADER_BYTES);
      return bytes.size() == b.length ? b : Arrays.copyOf(b, bytes.size());
    }
  }

  /** A byte stream whose buffer is handed out without a copy. */
  private static final class Exposed extends java.io.ByteArrayOutputStream {
    Exposed(int size) {
      super(size);
    }

    byte[] buffer() {
      return buf;
    }
  }

  /** The exact serialised size of {@code s} (header and trailer included), as written below. */
  static long estimatedBytes(Snapshot s) {
    ParameterSet p = s.parameters();
    long n = HEADER_BYTES + TRAILER_BYTES + 8 + 8 + properties(s.modelConfig()) + 1 + 4 + 4 + 1;
    for (ParameterSet.DenseSpec d : p.denseSpecs().values())
      n += string(d.name()) + 4 + 8L * d.shape().length;
    n += p.flat().length() * p.dataType().width();
    for (EmbeddingTable t : p.tables().values())
      n +=
          string(t.name())
              + 8
              + t.weights().length() * t.weights().dataType().width()
              + 4
              + 8L * t.rows();
    if (s.optimizerState().isPresent()) {
      OptimizerState st = s.optimizerState().get();
      n += properties(st.config().toProperties()) + 8 + 4 + 4;
      for (var e : st.arrays().entrySet())
        n +=
            string(e.getKey())
                + 1
                + 4
                + 8L * e.getValue().rank()
                + e.getValue().length() * e.getValue().dataType().width();
      for (var e : st.counters().entrySet()) n += string(e.getKey()) + 4 + 8L * e.getValue().length;
    }
    return n;
  }

  private static long string(String v) {
    return 4 + v.getBytes(StandardCharsets.UTF_8).length;
  }

  private static long properties(Map<String, String> m) {
    long n = 4;
    for (var e : m.entrySet()) n += string(e.getKey()) + string(e.getValue());
    return n;
  }

  /**
   * Reads what {@link #toBytes} wrote, with the same refusals as {@link #read(Path)}; {@code
   * source} names the bytes in messages.
   */
  public static Snapshot fromBytes(byte[] bytes, String source) throws IOException {
    if (bytes.length < HEADER_BYTES + TRAILER_BYTES)
      throw new MalformedDataException(
          source
              + ": truncated snapshot ("
              + bytes.length
              + " bytes, header alone is "
              + HEADER_BYTES
              + ")");
    long payloadLength =
        readHeader(source, new DataInputStream(new java.io.ByteArrayInputStream(bytes)));
    long expected = HEADER_BYTES + payloadLength + TRAILER_BYTES;
    if (bytes.length != expected)
      throw new MalformedDataException(
          source + ": snapshot length " + bytes.length + " differs from the announced " + expected);
    CRC32C crc = new CRC32C();
    crc.update(bytes, HEADER_BYTES, (int) payloadLength);
    int stored = ByteBuffer.wrap(bytes, HEADER_BYTES + (int) payloadLength, TRAILER_BYTES).getInt();
    if (stored != (int) crc.getValue())
      throw new MalformedDataException(source + ": checksum mismatch: the snapshot is corrupt");
    try (DataInputStream in =
        new DataInputStream(
            new java.io.ByteArrayInputStream(
                bytes, HEADER_BYTES, (int) payloadLength + TRAILER_BYTES))) {
      return readPayload(in);
    } catch (EOFException e) {
      throw new MalformedDataException(source + ": payload shorter than its contents claim", e);
    } catch (MalformedDataException | IllegalArgumentException e) {
      throw new MalformedDataException(source + ": " + e.getMessage(), e);
    }
  }

  private static ByteBuffer header(long payloadLength) {
    return ByteBuffer.allocate(HEADER_BYTES)
        .put(MAGIC)
        .putInt(CURRENT_VERSION)
        .putLong(payloadLength)
        .flip();
  }

  private static void writePayload(DataOutputStream out, Snapshot s) throws IOException {
    ParameterSet p = s.parameters();
    out.writeLong(s.modelVersion());
    out.writeLong(s.createdAtMs());
    BinaryIo.writeProperties(out, s.modelConfig());
    out.writeByte(BinaryIo.typeTag(p.dataType()));
    out.writeInt(p.denseSpecs().size());
    for (ParameterSet.DenseSpec d : p.denseSpecs().values()) {
      BinaryIo.writeString(out, d.name());
      BinaryIo.writeShape(out, d.shape());
    }
    out.writeInt(p.tables().size());
    for (EmbeddingTable t : p.tables().values()) {
      BinaryIo.writeString(out, t.name());
      out.writeInt(t.rows());
      out.writeInt(t.dim());
    }
    BinaryIo.writeElements(out, p.flat());
    for (EmbeddingTable t : p.tables().values()) {
      BinaryIo.writeElements(out, t.weights());
      BinaryIo.writeLongs(out, t.lastUpdate());
    }
    Optional<OptimizerState> o = s.optimizerState();
    out.writeByte(o.isPresent() ? 1 : 0);
    if (o.isPresent()) {
      OptimizerState st = o.get();
      BinaryIo.writeProperties(out, st.config().toProperties());
      out.writeLong(st.steps());
      out.writeInt(st.arrays().size());
      for (var e : st.arrays().entrySet()) {
        BinaryIo.writeString(out, e.getKey());
        BinaryIo.writeTensor(out, e.getValue());
      }
      out.writeInt(st.counters().size());
      for (var e : st.counters().entrySet()) {
        BinaryIo.writeString(out, e.getKey());
        BinaryIo.writeLongs(out, e.getValue());
      }
    }
  }

  /**
   * Reads a snapshot, refusing bad magic, an unknown format version, a truncated or over-long file
   * and a checksum mismatch with a {@link MalformedDataException} naming the file and cause.
   */
  public static Snapshot read(Path file) throws IOException {
    long size = Files.size(file);
    if (size < HEADER_BYTES + TRAILER_BYTES)
      throw new MalformedDataException(
          file + ": truncated snapshot (" + size + " bytes, header alone is " + HEADER_BYTES + ")");
    long payloadLength;
    try (DataInputStream in = new DataInputStream(Files.newInputStream(file))) {
      payloadLength = readHeader(file.toString(), in);
    }
    long expected = HEADER_BYTES + payloadLength + TRAILER_BYTES;
    if (size < expected)
      throw new MalformedDataException(
          file + ": truncated snapshot: header announces " + expected + " bytes, file has " + size);
    if (size > expected)
      throw new MalformedDataException(
          file + ": " + (size - expected) + " unexpected bytes after the snapshot");
    verifyChecksum(file, payloadLength);
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      in.skipNBytes(HEADER_BYTES);
      return readPayload(in);
    } catch (EOFException e) {
      throw new MalformedDataException(file + ": payload shorter than its contents claim", e);
    } catch (MalformedDataException | IllegalArgumentException e) {
      throw new MalformedDataException(file + ": " + e.getMessage(), e);
    }
  }

  private static long readHeader(String file, DataInputStream in) throws IOException {
    byte[] magic = new byte[MAGIC.length];
    in.readFully(magic);
    if (!Arrays.equals(magic, MAGIC))
      throw new MalformedDataException(
          file + ": not a Perceive snapshot (bad magic " + hex(magic) + ")");
    int version = in.readInt();
    if (version != CURRENT_VERSION)
      throw new MalformedDataException(
          file
              + ": unsupported snapshot format version "
              + version
              + " (this reader understands "
              + CURRENT_VERSION
              + ")");
    long payloadLength = in.readLong();
    if (payloadLength < 0)
      throw new MalformedDataException(file + ": negative payload length " + payloadLength);
    return payloadLength;
  }

  private static void verifyChecksum(Path file, long payloadLength) throws IOException {
    CRC32C crc = new CRC32C();
    try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
      raw.skipNBytes(HEADER_BYTES);
      CheckedInputStream in = new CheckedInputStream(raw, crc);
      byte[] buf = new byte[1 << 16];
      long left = payloadLength;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) throw new MalformedDataException(file + ": truncated snapshot payload");
        left -= n;
      }
      int stored = new DataInputStream(raw).readInt();
      if (stored != (int) crc.getValue())
        throw new MalformedDataException(
            file
                + ": checksum mismatch (stored "
                + Integer.toHexString(stored)
                + ", computed "
                + Integer.toHexString((int) crc.getValue())
                + "): the file is corrupt");
    }
  }

  private static Snapshot readPayload(DataInputStream in) throws IOException {
    long modelVersion = in.readLong();
    long createdAt = in.readLong();
    Map<String, String> config = BinaryIo.readProperties(in);
    DataType type = BinaryIo.typeOf(in.readByte());
    ParameterSet.Builder b = ParameterSet.builder(type);
    int dense = BinaryIo.count(in, "dense parameter count");
    for (int i = 0; i < dense; i++)
      b.dense(BinaryIo.readString(in), Init.ZEROS, BinaryIo.readShape(in));
    int tables = BinaryIo.count(in, "table count");
    for (int i = 0; i < tables; i++) {
      String name = BinaryIo.readString(in);
      int rows = in.readInt();
      int dim = in.readInt();
      b.table(name, rows, dim, 0.0);
    }
    ParameterSet p = b.buildZeroed();
    BinaryIo.readElements(in, p.flat());
    for (EmbeddingTable t : p.tables().values()) {
      BinaryIo.readElements(in, t.weights());
      long[] stamps = BinaryIo.readLongs(in);
      if (stamps.length != t.rows())
        throw new MalformedDataException(
            t.name() + ": " + stamps.length + " last-update times for " + t.rows() + " rows");
      System.arraycopy(stamps, 0, t.lastUpdate(), 0, stamps.length);
    }
    Optional<OptimizerState> opt = Optional.empty();
    int flag = in.readByte();
    if (flag == 1) {
      OptimizerConfig oc = OptimizerConfig.fromProperties(BinaryIo.readProperties(in));
      long steps = in.readLong();
      Map<String, INDArray> arrays = new LinkedHashMap<>();
      int na = BinaryIo.count(in, "optimizer array count");
      for (int i = 0; i < na; i++) arrays.put(BinaryIo.readString(in), BinaryIo.readTensor(in));
      Map<String, long[]> counters = new LinkedHashMap<>();
      int nc = BinaryIo.count(in, "optimizer counter count");
      for (int i = 0; i < nc; i++) counters.put(BinaryIo.readString(in), BinaryIo.readLongs(in));
      opt = Optional.of(new OptimizerState(oc, steps, arrays, counters));
    } else if (flag != 0) {
      throw new MalformedDataException("bad optimizer flag " + flag);
    }
    in.readInt(); // the trailer (already verified): after it, the file must end
    if (in.read() != -1) throw new MalformedDataException("payload longer than its contents");
    return new Snapshot(modelVersion, createdAt, config, p, opt);
  }

  private static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  /** Counts the payload bytes on their way to the file. */
  private static final class CountingOutputStream extends java.io.FilterOutputStream {
    long count;

    CountingOutputStream(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      out.write(b);
      count++;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      count += len;
    }
  }
}
