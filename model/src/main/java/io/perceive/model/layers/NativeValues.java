package io.perceive.model.layers;

import io.perceive.model.core.HostView;
import java.lang.ref.Reference;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Element access to a c-contiguous INDArray's native memory from plain Java loops, without a copy.
 * ND4J costs 10–70 µs per call here (STACK.md); the per-step LSTM element-wise work would be a
 * dozen small ops, so most of it is done in Java passes over these views instead (measured in
 * docs/model-performance.md). Values are read and written as double in both FLOAT and DOUBLE, so
 * the arithmetic is the same code in both precisions.
 */
abstract sealed class NativeValues {

  /** Index of element 0 of the array inside the buffer. */
  final int base;

  /**
   * The array whose memory the NIO buffer views. The buffer holds no reference to it, so without
   * this field (and the reachability fences below) the array could be collected — and, with
   * JavaCPP's pointer GC on, its memory freed — while a bulk copy still reads it: the suspected
   * cause of the SIGSEGV in {@code jlong_disjoint_arraycopy} seen in serving (docs/serving.md).
   */
  final INDArray owner;

  NativeValues(int base, INDArray owner) {
    this.base = base;
    this.owner = owner;
  }

  abstract double get(int i);

  abstract void set(int i, double v);

  /** Bulk read of n values from element {@code from} into {@code dst[off..]} (widening). */
  abstract void read(int from, double[] dst, int off, int n);

  /** Bulk write of n values from {@code src[off..]} to element {@code from} (narrowing). */
  abstract void write(int from, double[] src, int off, int n);

  /** Bulk read of n values into {@code dst[off..]} (FLOAT: a plain copy; DOUBLE: rounded). */
  abstract void readFloats(int from, float[] dst, int off, int n);

  /**
   * Bulk write of n float values (FLOAT: a copy; DOUBLE: widened). <b>Flushes {@code
   * src[off..off+n)} in place</b> first ({@link #flushSubnormals}), so what Java keeps equals what
   * the native array holds.
   */
  abstract void writeFloats(int from, float[] src, int off, int n);

  /** 1.5·2^-103: float spacing 2^-126 (the smallest normal) all around it. */
  private static final float FLUSH = 1.5f * 0x1p-103f;

  /**
   * x = (x + 1.5·2^-103) − 1.5·2^-103 in place: every subnormal becomes 0 or ±2^-126, values below
   * ~3e-24 move by at most one float ulp (at most 2e-31 absolute), larger ones not at all (checked
   * over all 2^32 floats). Why not {@code |x| < MIN_NORMAL ? 0 : x} as {@link HostView#toFloat}:
   * that select is not vectorised by C2 (0.45 ns a value, 2 ms per bptt-32 minibatch for the LSTM's
   * dZ), this add/subtract is (0.07–0.2 ns). Subnormals must not reach BLAS: each multiply on one
   * takes x86's slow microcode path (docs/model-performance.md).
   */
  static void flushSubnormals(float[] x, int off, int n) {
    if (off == 0) {
      for (int i = 0; i < n; i++) x[i] = (x[i] + FLUSH) - FLUSH; // one index: vectorised
    } else {
      for (int i = off; i < off + n; i++) x[i] = (x[i] + FLUSH) - FLUSH;
    }
  }

  /** A view of {@code a}, which must be c-ordered and contiguous (e.g. a row block). */
  static NativeValues of(INDArray a) {
    if (!isContiguousC(a))
      throw new IllegalArgumentException(
          "expected a contiguous c-order array, got shape "
              + java.util.Arrays.toString(a.shape())
              + " stride "
              + java.util.Arrays.toString(a.stride()));
    int base = Math.toIntExact(a.offset());
    return switch (a.dataType()) {
      case FLOAT -> new Floats(a.data().asNioFloat(), base, a);
      case DOUBLE -> new Doubles(a.data().asNioDouble(), base, a);
      default ->
          throw new IllegalArgumentException("FLOAT or DOUBLE required, got " + a.dataType());
    };
  }

  static boolean isContiguousC(INDArray a) {
    if (a.ordering() != 'c' && a.rank() > 1) return false;
    long expected = 1;
    for (int d = a.rank() - 1; d >= 0; d--) {
      if (a.size(d) > 1 && a.stride(d) != expected) return false;
      expected *= a.size(d);
    }
    return true;
  }

  /**
   * A c-order view of rows [from, to) of a contiguous matrix-like array whose rows have {@code
   * rowLength} elements (rank kept as given by {@code shape}).
   */
  static INDArray rows(INDArray a, long from, long to, long rowLength) {
    return Nd4j.create(
        a.data(),
        new long[] {to - from, rowLength},
        new long[] {rowLength, 1},
        a.offset() + from * rowLength,
        'c',
        a.dataType());
  }

  /** A c-order view of the contiguous block [offset, offset + rows*cols) as [rows, cols]. */
  static INDArray block(INDArray a, long offset, long rows, long cols) {
    return Nd4j.create(
        a.data(),
        new long[] {rows, cols},
        new long[] {cols, 1},
        a.offset() + offset,
        'c',
        a.dataType());
  }

  /** A c-order view of the contiguous block [offset, offset + d0*d1*d2) as [d0, d1, d2]. */
  static INDArray block3(INDArray a, long offset, long d0, long d1, long d2) {
    return Nd4j.create(
        a.data(),
        new long[] {d0, d1, d2},
        new long[] {d1 * d2, d2, 1},
        a.offset() + offset,
        'c',
        a.dataType());
  }

  static INDArray zeros(DataType type, long... shape) {
    return Nd4j.zeros(type, shape);
  }

  static final class Floats extends NativeValues {
    private final FloatBuffer b;

    Floats(FloatBuffer b, int base, INDArray owner) {
      super(base, owner);
      this.b = b;
    }

    @Override
    double get(int i) {
      double v = b.get(base + i);
      Reference.reachabilityFence(owner);
      return v;
    }

    @Override
    void set(int i, double v) {
      b.put(base + i, (float) v);
      Reference.reachabilityFence(owner);
    }

    private float[] tmp = new float[0];

    private float[] tmp(int n) {
      if (tmp.length < n) tmp = new float[n];
      return tmp;
    }

    @Override
    void read(int from, double[] dst, int off, int n) {
      float[] t = tmp(n);
      b.get(base + from, t, 0, n);
      Reference.reachabilityFence(owner);
      for (int i = 0; i < n; i++) dst[off + i] = t[i];
    }

    @Override
    void readFloats(int from, float[] dst, int off, int n) {
      b.get(base + from, dst, off, n);
      Reference.reachabilityFence(owner);
    }

    @Override
    void writeFloats(int from, float[] src, int off, int n) {
      flushSubnormals(src, off, n);
      b.put(base + from, src, off, n);
      Reference.reachabilityFence(owner);
    }

    @Override
    void write(int from, double[] src, int off, int n) {
      float[] t = tmp(n);
      for (int i = 0; i < n; i++) t[i] = HostView.toFloat(src[off + i]); // no subnormals
      b.put(base + from, t, 0, n);
      Reference.reachabilityFence(owner);
    }
  }

  static final class Doubles extends NativeValues {
    private final DoubleBuffer b;

    Doubles(DoubleBuffer b, int base, INDArray owner) {
      super(base, owner);
      this.b = b;
    }

    @Override
    double get(int i) {
      double v = b.get(base + i);
      Reference.reachabilityFence(owner);
      return v;
    }

    @Override
    void set(int i, double v) {
      b.put(base + i, v);
      Reference.reachabilityFence(owner);
    }

    @Override
    void read(int from, double[] dst, int off, int n) {
      b.get(base + from, dst, off, n);
      Reference.reachabilityFence(owner);
    }

    @Override
    void readFloats(int from, float[] dst, int off, int n) {
      for (int i = 0; i < n; i++) dst[off + i] = (float) b.get(base + from + i);
      Reference.reachabilityFence(owner);
    }

    @Override
    void writeFloats(int from, float[] src, int off, int n) {
      for (int i = 0; i < n; i++) b.put(base + from + i, src[off + i]);
      Reference.reachabilityFence(owner);
    }

    @Override
    void write(int from, double[] src, int off, int n) {
      b.put(base + from, src, off, n);
      Reference.reachabilityFence(owner);
    }
  }

  /** σ(x) = 1 / (1 + e^-x). */
  static double sigmoid(double x) {
    return 1.0 / (1.0 + Math.exp(-x));
  }

  /**
   * tanh through one exp of a non-positive argument (no overflow, no cancellation for large |x|):
   * Math.tanh is not a JIT intrinsic and cost 3× a sigmoid here (docs/model-performance.md).
   */
  static double tanh(double x) {
    double t = Math.exp(-2.0 * Math.abs(x));
    double r = (1.0 - t) / (1.0 + t);
    return x < 0 ? -r : r;
  }
}
