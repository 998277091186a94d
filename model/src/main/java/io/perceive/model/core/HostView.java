package io.perceive.model.core;

import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A zero-copy Java view of the elements of a c-contiguous FLOAT or DOUBLE native array.
 *
 * <p>Why: updating a few thousand touched embedding rows or streaming tens of MB to a file costs
 * one ND4J call per row or a full copy of the table; a plain Java loop over the native memory costs
 * neither (STACK.md: ND4J's per-call floor is 10-70 µs here).
 */
public final class HostView {

  private final FloatBuffer floats; // exactly one of floats / doubles is set
  private final DoubleBuffer doubles;
  private final ByteBuffer bytes;
  private final DataType type;
  // the array whose memory the buffers view: they hold no reference to it, so it is kept here and
  // fenced after every access (with JavaCPP's pointer GC on it could otherwise be freed mid-copy)
  private final INDArray owner;

  private HostView(INDArray a) {
    owner = a;
    type = a.dataType();
    if (type != DataType.FLOAT && type != DataType.DOUBLE)
      throw new IllegalArgumentException("FLOAT or DOUBLE array required, got " + type);
    if (a.ordering() != 'c' || !isContiguous(a))
      throw new IllegalArgumentException("c-contiguous array required");
    int size = type.width();
    ByteBuffer whole = a.data().asNio().order(ByteOrder.nativeOrder());
    long start = a.offset() * size;
    long end = start + a.length() * size;
    if (end > whole.capacity())
      throw new IllegalStateException("array extends beyond its buffer's host memory");
    ByteBuffer b = whole.duplicate().order(ByteOrder.nativeOrder());
    b.limit((int) end).position((int) start);
    bytes = b.slice().order(ByteOrder.nativeOrder());
    floats = type == DataType.FLOAT ? bytes.asFloatBuffer() : null;
    doubles = type == DataType.DOUBLE ? bytes.asDoubleBuffer() : null;
  }

  /** A view of {@code a}; writes through the view change {@code a}. */
  public static HostView of(INDArray a) {
    return new HostView(a);
  }

  private static boolean isContiguous(INDArray a) {
    if (a.length() <= 1) return true;
    long[] shape = a.shape();
    long[] stride = a.stride();
    long expect = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] != 1 && stride[i] != expect) return false;
      expect *= shape[i];
    }
    return true;
  }

  public DataType dataType() {
    return type;
  }

  public int length() {
    return floats != null ? floats.capacity() : doubles.capacity();
  }

  public double get(int i) {
    double v = floats != null ? floats.get(i) : doubles.get(i);
    Reference.reachabilityFence(owner);
    return v;
  }

  /** Stores {@code v}, rounded to the array's type. */
  public void set(int i, double v) {
    if (floats != null) floats.put(i, (float) v);
    else doubles.put(i, v);
    Reference.reachabilityFence(owner);
  }

  /** The raw elements as bytes in native order (a view: position 0, limit = length × width). */
  public ByteBuffer bytes() {
    return bytes.duplicate().order(ByteOrder.nativeOrder());
  }

  private float[] scratch = new float[0]; // reused by bulk reads/writes of FLOAT (one thread)

  private float[] scratch(int n) {
    if (scratch.length < n) scratch = new float[n];
    return scratch;
  }

  /**
   * Bulk read of {@code n} elements from {@code from} into {@code dst[off..]}, widened to double.
   */
  public void read(int from, double[] dst, int off, int n) {
    if (doubles != null) {
      doubles.get(from, dst, off, n);
      Reference.reachabilityFence(owner);
      return;
    }
    float[] t = scratch(n);
    floats.get(from, t, 0, n);
    Reference.reachabilityFence(owner);
    for (int i = 0; i < n; i++) dst[off + i] = t[i];
  }

  /** Bulk write of {@code n} values from {@code src[off..]} to element {@code from} (rounded). */
  public void write(int from, double[] src, int off, int n) {
    if (doubles != null) {
      doubles.put(from, src, off, n);
      Reference.reachabilityFence(owner);
      return;
    }
    float[] t = scratch(n);
    for (int i = 0; i < n; i++) t[i] = toFloat(src[off + i]);
    floats.put(from, t, 0, n);
    Reference.reachabilityFence(owner);
  }

  /**
   * {@code v} rounded to float, with results below the smallest normal float flushed to 0. Why:
   * every multiply-add on a subnormal operand takes a slow microcode path on x86 unless the CPU
   * flushes them, which OpenBLAS does not ask for; an untrained MMoE's saturated gates made ~3 % of
   * the mixtures subnormal and the towers' gemms 6× slower (docs/model-performance.md). The change
   * is below 1.2e-38 in absolute value.
   */
  public static float toFloat(double v) {
    float f = (float) v;
    return Math.abs(f) < Float.MIN_NORMAL ? 0f : f;
  }

  /**
   * All elements of {@code a} in c order as doubles: one bulk copy instead of ND4J's per-element
   * {@code asDouble()} of a cast copy (which showed in profiles of the scoring path).
   */
  public static double[] toDoubles(INDArray a) {
    INDArray c = a.ordering() == 'c' && isContiguous(a) ? a : a.dup('c');
    double[] r = new double[Math.toIntExact(c.length())];
    new HostView(c).read(0, r, 0, r.length);
    return r;
  }

  /** y [B, N] += b [N] on every row, in place (c-order y). */
  public static void addRowVector(INDArray y, INDArray b) {
    addRowVector(y, b, false);
  }

  /**
   * y [B, N] += b [N] on every row, then max(·, 0) when {@code relu}, in place, in one Java pass:
   * bit-identical to ND4J's {@code addiRowVector} + relu (a float sum computed in double and
   * rounded once is the float sum), without their two native op calls.
   */
  public static void addRowVector(INDArray y, INDArray b, boolean relu) {
    addRowVector(y, toDoubles(b), relu);
  }

  /** The same with the bias given as Java values. */
  public static void addRowVector(INDArray y, double[] bias, boolean relu) {
    int n = Math.toIntExact(y.columns());
    if (bias.length != n)
      throw new IllegalArgumentException(
          "bias has " + bias.length + " values for " + n + " columns");
    HostView v = new HostView(y);
    int rows = Math.toIntExact(y.rows());
    double[] row = new double[n];
    for (int r = 0; r < rows; r++) {
      v.read(r * n, row, 0, n);
      for (int j = 0; j < n; j++) {
        double x = row[j] + bias[j];
        row[j] = relu && x < 0 ? 0 : x;
      }
      v.write(r * n, row, 0, n);
    }
  }

  /**
   * [a, b, ...] side by side: a new c-order [B, Σ cols] array of {@code type} (one native array and
   * Java row copies instead of ND4J's {@code hstack}, which costs a custom op per call).
   */
  public static INDArray hstack(DataType type, INDArray... parts) {
    long rows = parts[0].rows();
    int width = 0;
    for (INDArray x : parts) {
      if (x.rows() != rows) throw new IllegalArgumentException("hstack: row counts differ");
      width += Math.toIntExact(x.columns());
    }
    double[] all = new double[Math.toIntExact(rows * width)];
    int off = 0;
    for (INDArray x : parts) {
      int c = Math.toIntExact(x.columns());
      double[] v = toDoubles(x);
      for (int r = 0; r < rows; r++) System.arraycopy(v, r * c, all, r * width + off, c);
      off += c;
    }
    return fromDoubles(all, rows, width, type);
  }

  /** A new c-order [rows, cols] array of {@code type} holding {@code v} (row-major). */
  public static INDArray fromDoubles(double[] v, long rows, long cols, DataType type) {
    if (v.length != rows * cols)
      throw new IllegalArgumentException(
          v.length + " values for a [" + rows + ", " + cols + "] matrix");
    INDArray a = Nd4j.createUninitialized(type, rows, cols);
    new HostView(a).write(0, v, 0, v.length);
    return a;
  }
}
