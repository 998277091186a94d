package io.perceive.model.core;

import java.util.BitSet;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A hashed embedding table of {@code rows x dim}. Row 0 is reserved for a missing id (learned like
 * any other row); ids hash into rows 1..rows-1. Gradients for a table are sparse (see {@link
 * Gradients#sparse(String)}).
 *
 * <p>Each row carries the event time of its last update, so that rows nobody touched for long can
 * be expired (ByteDance Monolith's expirable embeddings).
 */
public final class EmbeddingTable {

  /** The row a missing (null / negative) id maps to. */
  public static final int MISSING_ROW = 0;

  private final String name;
  private final int rows;
  private final int dim;
  private final double initStd;
  private INDArray weights; // [rows, dim]
  private final long[] lastUpdate;
  // rows whose values or last-update time were written since the last drain: lets a consumer
  // (the learner's ReplicaSync) diff and copy only those instead of the whole table
  private final BitSet written;

  EmbeddingTable(String name, int rows, int dim, DataType type, double initStd) {
    if (rows < 2) throw new IllegalArgumentException(name + ": rows must be >= 2, got " + rows);
    if (dim < 1) throw new IllegalArgumentException(name + ": dim must be >= 1, got " + dim);
    this.name = name;
    this.rows = rows;
    this.dim = dim;
    this.initStd = initStd;
    this.weights = Nd4j.zeros(type, rows, dim);
    this.lastUpdate = new long[rows];
    this.written = new BitSet(rows);
    this.written.set(0, rows); // a new table's contents are new to any consumer
  }

  /** Frees the weights' native buffer now; the table must not be used afterwards. */
  public void close() {
    if (weights.closeable()) weights.close();
  }

  private EmbeddingTable(EmbeddingTable o, INDArray weights) {
    this.name = o.name;
    this.rows = o.rows;
    this.dim = o.dim;
    this.initStd = o.initStd;
    this.weights = weights;
    this.lastUpdate = o.lastUpdate.clone();
    this.written = new BitSet(rows);
    this.written.set(0, rows); // a copy is new to any consumer, as a new table is
  }

  void initialise(Random rnd) {
    if (initStd == 0) return; // zero-initialised (the wide part): the weights are zeros already
    double[] v = new double[rows * dim];
    for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian() * initStd;
    weights.assign(Nd4j.create(v, new long[] {rows, dim}, 'c').castTo(weights.dataType()));
  }

  public String name() {
    return name;
  }

  public int rows() {
    return rows;
  }

  public int dim() {
    return dim;
  }

  /** The weights, [rows, dim]; writes change the table. */
  public INDArray weights() {
    return weights;
  }

  /** Event time (ms) each row was last updated; 0 = never. */
  public long[] lastUpdate() {
    return lastUpdate;
  }

  /**
   * Records that row {@code row}'s values or last-update time were written. Every writer of {@link
   * #weights()} or {@link #lastUpdate()} outside this class calls this (or {@link
   * #markAllWritten()}): a consumer of {@link #drainWrittenInto} trusts unmarked rows to be
   * unchanged.
   */
  public void markWritten(int row) {
    written.set(row);
  }

  /** Records that every row may have been written (a bulk assign, a restore). */
  public void markAllWritten() {
    written.set(0, rows);
  }

  /**
   * Adds the rows written since the previous drain to {@code into} and forgets them. Why: the
   * optimizer already knows which rows a step touched; keeping them here makes a parameter sync's
   * diff and copy proportional to those rows rather than to the table (docs/streaming-learner.md).
   */
  public void drainWrittenInto(BitSet into) {
    into.or(written);
    written.clear();
  }

  /** The row of an id: {@link #MISSING_ROW} for a negative id, else a mixed hash into 1..rows-1. */
  public int rowOf(long id) {
    if (id < 0) return MISSING_ROW;
    return 1 + (int) Long.remainderUnsigned(mix(id), rows - 1);
  }

  /** Rows for many ids. */
  public int[] rowsOf(long[] ids) {
    int[] r = new int[ids.length];
    for (int i = 0; i < ids.length; i++) r[i] = rowOf(ids[i]);
    return r;
  }

  /** The embeddings of {@code rows} as a new [rows.length, dim] array (one native gather). */
  public INDArray gather(int[] rowIdx) {
    if (rowIdx.length == 0) return Nd4j.zeros(weights.dataType(), 0, dim);
    // a bulk byte copy per row into one new array: ND4J's pullRows costs a native op and its
    // shape/TAD bookkeeping per call, more than the copy itself at serving's row counts
    INDArray out = Nd4j.createUninitialized(weights.dataType(), rowIdx.length, dim);
    java.nio.ByteBuffer src = HostView.of(weights).bytes();
    java.nio.ByteBuffer dst = HostView.of(out).bytes();
    int rowBytes = dim * weights.dataType().width();
    for (int i = 0; i < rowIdx.length; i++) {
      int r = rowIdx[i];
      if (r < 0 || r >= rows)
        throw new IndexOutOfBoundsException(name + ": row " + r + " of " + rows);
      dst.put(i * rowBytes, src, r * rowBytes, rowBytes);
    }
    java.lang.ref.Reference.reachabilityFence(weights);
    java.lang.ref.Reference.reachabilityFence(out);
    return out;
  }

  EmbeddingTable copy() {
    return new EmbeddingTable(this, weights.dup());
  }

  EmbeddingTable castTo(DataType type) {
    return new EmbeddingTable(this, weights.castTo(type).dup());
  }

  /** murmur3's 64-bit finaliser: spreads consecutive ids over the table (and the wide crosses). */
  public static long mix(long k) {
    k ^= k >>> 33;
    k *= 0xff51afd7ed558ccdL;
    k ^= k >>> 33;
    k *= 0xc4ceb9fe1a85ec53L;
    k ^= k >>> 33;
    return k;
  }
}
