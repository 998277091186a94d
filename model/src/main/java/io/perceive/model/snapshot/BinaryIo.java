package io.perceive.model.snapshot;

import io.perceive.model.core.HostView;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The primitive encodings shared by snapshots and deltas: scalars big-endian (DataOutput), strings
 * as length-prefixed UTF-8, tensor elements and long arrays as raw little-endian blocks.
 *
 * <p>Why raw blocks: a default model holds ~6.5 M embedding floats; element-wise DataOutput calls
 * would dominate the write time, while a block copy from the native buffer does not.
 */
public final class BinaryIo {

  /** Type tags of tensor elements on disk / on the wire. */
  public static final byte FLOAT32 = 1;

  public static final byte FLOAT64 = 2;

  /** Strings and maps above these sizes are refused as corrupt rather than allocated. */
  static final int MAX_STRING_BYTES = 1 << 20;

  static final int MAX_RANK = 8;

  private static final int BLOCK = 1 << 16;

  private BinaryIo() {}

  static void requireLittleEndianHost() {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN)
      throw new UnsupportedOperationException(
          "snapshot/delta I/O supports little-endian hosts only");
  }

  public static byte typeTag(DataType t) {
    return switch (t) {
      case FLOAT -> FLOAT32;
      case DOUBLE -> FLOAT64;
      default ->
          throw new IllegalArgumentException("only FLOAT and DOUBLE tensors are stored, got " + t);
    };
  }

  public static DataType typeOf(byte tag) throws IOException {
    return switch (tag) {
      case FLOAT32 -> DataType.FLOAT;
      case FLOAT64 -> DataType.DOUBLE;
      default -> throw new MalformedDataException("unknown tensor element type tag " + tag);
    };
  }

  public static void writeString(DataOutput out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  public static String readString(DataInput in) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > MAX_STRING_BYTES)
      throw new MalformedDataException("string length " + n + " out of range");
    byte[] b = new byte[n];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** A string map, sorted by key so that equal maps encode to equal bytes. */
  public static void writeProperties(DataOutput out, Map<String, String> m) throws IOException {
    TreeMap<String, String> sorted = new TreeMap<>(m);
    out.writeInt(sorted.size());
    for (var e : sorted.entrySet()) {
      writeString(out, e.getKey());
      writeString(out, e.getValue());
    }
  }

  public static Map<String, String> readProperties(DataInput in) throws IOException {
    int n = count(in, "property count");
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) m.put(readString(in), readString(in));
    return m;
  }

  /** Reads a non-negative count, refusing absurd values. */
  public static int count(DataInput in, String what) throws IOException {
    int n = in.readInt();
    if (n < 0 || n > 100_000_000)
      throw new MalformedDataException(what + " " + n + " out of range");
    return n;
  }

  public static void writeShape(DataOutput out, long[] shape) throws IOException {
    out.writeInt(shape.length);
    for (long d : shape) out.writeLong(d);
  }

  public static long[] readShape(DataInput in) throws IOException {
    int rank = in.readInt();
    if (rank < 0 || rank > MAX_RANK)
      throw new MalformedDataException("tensor rank " + rank + " out of range");
    long[] shape = new long[rank];
    long n = 1;
    for (int i = 0; i < rank; i++) {
      shape[i] = in.readLong();
      if (shape[i] < 0)
        throw new MalformedDataException("negative dimension in " + Arrays.toString(shape));
      n *= shape[i];
      if (n > Integer.MAX_VALUE)
        throw new MalformedDataException("tensor too large: " + Arrays.toString(shape));
    }
    return shape;
  }

  /** A self-describing tensor: type tag, shape, elements. */
  public static void writeTensor(DataOutput out, INDArray a) throws IOException {
    out.writeByte(typeTag(a.dataType()));
    writeShape(out, a.shape());
    writeElements(out, a);
  }

  public static INDArray readTensor(DataInput in) throws IOException {
    DataType t = typeOf(in.readByte());
    long[] shape = readShape(in);
    INDArray a = Nd4j.create(t, shape, 'c');
    readElements(in, a);
    return a;
  }

  /** The elements of a c-contiguous array as one little-endian block. */
  public static void writeElements(DataOutput out, INDArray a) throws IOException {
    requireLittleEndianHost();
    INDArray c = a.isView() || a.ordering() != 'c' ? a.dup('c') : a;
    try {
      writeContiguous(out, c);
    } finally {
      if (c != a && c.closeable()) c.close(); // a temporary copy: freed now (nopointergc)
    }
  }

  private static void writeContiguous(DataOutput out, INDArray c) throws IOException {
    if (c.length() == 0) return;
    ByteBuffer src = HostView.of(c).bytes();
    byte[] chunk = new byte[BLOCK];
    while (src.hasRemaining()) {
      int n = Math.min(BLOCK, src.remaining());
      src.get(chunk, 0, n);
      out.write(chunk, 0, n);
    }
  }

  /** Fills a c-contiguous array (its own type and length) from a little-endian block. */
  public static void readElements(DataInput in, INDArray target) throws IOException {
    requireLittleEndianHost();
    if (target.length() == 0) return;
    ByteBuffer dst = HostView.of(target).bytes();
    byte[] chunk = new byte[BLOCK];
    while (dst.hasRemaining()) {
      int n = Math.min(BLOCK, dst.remaining());
      in.readFully(chunk, 0, n);
      dst.put(chunk, 0, n);
    }
  }

  /** A long array: count, then a little-endian block. */
  public static void writeLongs(DataOutput out, long[] v) throws IOException {
    out.writeInt(v.length);
    ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < v.length; ) {
      b.clear();
      while (i < v.length && b.remaining() >= Long.BYTES) b.putLong(v[i++]);
      out.write(b.array(), 0, b.position());
    }
  }

  public static long[] readLongs(DataInput in) throws IOException {
    long[] v = new long[count(in, "long array length")];
    byte[] chunk = new byte[BLOCK];
    ByteBuffer b = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < v.length; ) {
      int n = Math.min(BLOCK / Long.BYTES, v.length - i);
      in.readFully(chunk, 0, n * Long.BYTES);
      b.clear();
      for (int k = 0; k < n; k++) v[i++] = b.getLong();
    }
    return v;
  }

  public static void writeInts(DataOutput out, int[] v) throws IOException {
    out.writeInt(v.length);
    ByteBuffer b = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < v.length; ) {
      b.clear();
      while (i < v.length && b.remaining() >= Integer.BYTES) b.putInt(v[i++]);
      out.write(b.array(), 0, b.position());
    }
  }

  public static int[] readInts(DataInput in) throws IOException {
    int[] v = new int[count(in, "int array length")];
    byte[] chunk = new byte[BLOCK];
    ByteBuffer b = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < v.length; ) {
      int n = Math.min(BLOCK / Integer.BYTES, v.length - i);
      in.readFully(chunk, 0, n * Integer.BYTES);
      b.clear();
      for (int k = 0; k < n; k++) v[i++] = b.getInt();
    }
    return v;
  }
}
