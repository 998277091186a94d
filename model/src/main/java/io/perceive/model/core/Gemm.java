package io.perceive.model.core;

import java.lang.ref.Reference;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * C = alpha · op(A) · op(B) + beta · C straight through OpenBLAS's {@code cblas_sgemm}/{@code
 * cblas_dgemm} (the library ND4J itself loads), on the arrays' native memory.
 *
 * <p>Why not {@code Nd4j.gemm}: every call builds an ND4J custom op and its native context, which
 * costs tens of µs and — measured with {@code -Dorg.bytedeco.javacpp.nopointergc=true}, where
 * nothing frees it — ~1 KB of native memory per call that is never returned, preallocated output or
 * not (docs/model-performance.md). This call creates only three small Java objects. Arrays must be
 * rank 2, of one type (FLOAT or DOUBLE), with unit column stride (c-order, row views and column
 * intervals of c-order matrices are fine).
 */
public final class Gemm {

  private Gemm() {}

  /** A pointer at a raw address (no deallocator: the memory belongs to the INDArray). */
  private static final class At extends Pointer {
    At(long address) {
      this.address = address;
    }
  }

  public static void gemm(
      INDArray a,
      INDArray b,
      INDArray c,
      boolean transA,
      boolean transB,
      double alpha,
      double beta) {
    DataType type = c.dataType();
    if (a.dataType() != type || b.dataType() != type)
      throw new IllegalArgumentException(
          "gemm needs one type, got " + a.dataType() + ", " + b.dataType() + ", " + type);
    int m = rows(c), n = cols(c);
    int k = transA ? rows(a) : cols(a);
    if ((transA ? cols(a) : rows(a)) != m
        || (transB ? cols(b) : rows(b)) != k
        || (transB ? rows(b) : cols(b)) != n)
      throw new IllegalArgumentException(
          "gemm shapes do not fit: "
              + java.util.Arrays.toString(a.shape())
              + (transA ? "^T" : "")
              + " x "
              + java.util.Arrays.toString(b.shape())
              + (transB ? "^T" : "")
              + " -> "
              + java.util.Arrays.toString(c.shape()));
    int ta = transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
    int tb = transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
    int lda = ld(a), ldb = ld(b), ldc = ld(c);
    if (m == 0 || n == 0) return;
    try {
      switch (type) {
        case FLOAT ->
            openblas_nolapack.cblas_sgemm(
                openblas_nolapack.CblasRowMajor,
                ta,
                tb,
                m,
                n,
                k,
                (float) alpha,
                new FloatPointer(at(a, 4)),
                lda,
                new FloatPointer(at(b, 4)),
                ldb,
                (float) beta,
                new FloatPointer(at(c, 4)),
                ldc);
        case DOUBLE ->
            openblas_nolapack.cblas_dgemm(
                openblas_nolapack.CblasRowMajor,
                ta,
                tb,
                m,
                n,
                k,
                alpha,
                new DoublePointer(at(a, 8)),
                lda,
                new DoublePointer(at(b, 8)),
                ldb,
                beta,
                new DoublePointer(at(c, 8)),
                ldc);
        default -> throw new IllegalArgumentException("FLOAT or DOUBLE required, got " + type);
      }
    } finally {
      // the native call reads raw addresses: keep the arrays (and their memory) alive until here
      Reference.reachabilityFence(a);
      Reference.reachabilityFence(b);
      Reference.reachabilityFence(c);
    }
  }

  /**
   * The same on blocks of contiguous arrays given by element offsets (relative to each array's own
   * offset) and leading dimensions, so that a step of a recurrence needs no view objects: C[m, n] =
   * alpha · op(A) · op(B) + beta · C.
   */
  public static void gemm(
      int m,
      int n,
      int k,
      INDArray a,
      long aOffset,
      int lda,
      boolean transA,
      INDArray b,
      long bOffset,
      int ldb,
      boolean transB,
      INDArray c,
      long cOffset,
      int ldc,
      double alpha,
      double beta) {
    DataType type = c.dataType();
    if (a.dataType() != type || b.dataType() != type)
      throw new IllegalArgumentException(
          "gemm needs one type, got " + a.dataType() + ", " + b.dataType() + ", " + type);
    long aEnd = aOffset + (long) ((transA ? k : m) - 1) * lda + (transA ? m : k);
    long bEnd = bOffset + (long) ((transB ? n : k) - 1) * ldb + (transB ? k : n);
    long cEnd = cOffset + (long) (m - 1) * ldc + n;
    if (aOffset < 0
        || bOffset < 0
        || cOffset < 0
        || aEnd > a.length()
        || bEnd > b.length()
        || cEnd > c.length()) throw new IllegalArgumentException("gemm block outside its array");
    if (m == 0 || n == 0) return;
    int ta = transA ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
    int tb = transB ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans;
    try {
      switch (type) {
        case FLOAT ->
            openblas_nolapack.cblas_sgemm(
                openblas_nolapack.CblasRowMajor,
                ta,
                tb,
                m,
                n,
                k,
                (float) alpha,
                new FloatPointer(at(a, 4, aOffset)),
                lda,
                new FloatPointer(at(b, 4, bOffset)),
                ldb,
                (float) beta,
                new FloatPointer(at(c, 4, cOffset)),
                ldc);
        case DOUBLE ->
            openblas_nolapack.cblas_dgemm(
                openblas_nolapack.CblasRowMajor,
                ta,
                tb,
                m,
                n,
                k,
                alpha,
                new DoublePointer(at(a, 8, aOffset)),
                lda,
                new DoublePointer(at(b, 8, bOffset)),
                ldb,
                beta,
                new DoublePointer(at(c, 8, cOffset)),
                ldc);
        default -> throw new IllegalArgumentException("FLOAT or DOUBLE required, got " + type);
      }
    } finally {
      Reference.reachabilityFence(a);
      Reference.reachabilityFence(b);
      Reference.reachabilityFence(c);
    }
  }

  private static Pointer at(INDArray x, int bytes, long offset) {
    return new At(x.data().address() + (long) bytes * (x.offset() + offset));
  }

  private static Pointer at(INDArray x, int bytes) {
    return new At(x.data().address() + (long) bytes * x.offset());
  }

  private static int rows(INDArray x) {
    if (x.rank() != 2) throw new IllegalArgumentException("gemm needs rank-2 arrays");
    return Math.toIntExact(x.size(0));
  }

  private static int cols(INDArray x) {
    return Math.toIntExact(x.size(1));
  }

  /** The leading dimension: the row stride, for arrays whose columns are unit-stride. */
  private static int ld(INDArray x) {
    long rows = x.size(0), cols = x.size(1);
    if (cols > 1 && x.stride(1) != 1)
      throw new IllegalArgumentException(
          "gemm needs unit column stride, got stride " + java.util.Arrays.toString(x.stride()));
    if (x.ordering() != 'c' && rows > 1 && cols > 1)
      throw new IllegalArgumentException("gemm needs c-order arrays");
    long ld = rows > 1 ? x.stride(0) : cols;
    return Math.toIntExact(Math.max(ld, Math.max(1, cols)));
  }
}
