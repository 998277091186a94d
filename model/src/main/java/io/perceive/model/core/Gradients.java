package io.perceive.model.core;

import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gradients with the layout of a {@link ParameterSet}: a dense flat buffer with named views (layers
 * accumulate into them, e.g. gemm with beta = 1) and, per embedding table, sparse rows accumulated
 * from gathered-row gradients. Only touched rows exist.
 */
public final class Gradients {

  private final ParameterSet params;
  private final INDArray flat;
  private final Map<String, INDArray> views = new HashMap<>();
  private final Map<String, RowAccumulator> sparse = new LinkedHashMap<>();
  private final Map<String, Double> stepScales = new HashMap<>();
  private final Map<String, Double> learningRateScales = new HashMap<>();

  Gradients(ParameterSet params) {
    this.params = params;
    this.flat = Nd4j.zeros(params.dataType(), params.flat().length());
    for (ParameterSet.DenseSpec s : params.denseSpecs().values())
      views.put(s.name(), ParameterSet.viewOf(flat, s));
    for (EmbeddingTable t : params.tables().values())
      sparse.put(t.name(), new RowAccumulator(t.dim()));
  }

  public ParameterSet params() {
    return params;
  }

  /** The dense gradient buffer (same layout as {@link ParameterSet#flat()}). */
  public INDArray flat() {
    return flat;
  }

  /** The gradient view of a dense parameter; layers add into it. */
  public INDArray get(String name) {
    INDArray v = views.get(name);
    if (v == null) throw new IllegalArgumentException("no dense parameter named '" + name + "'");
    return v;
  }

  /**
   * Adds the gradient of gathered rows: {@code dRows[i]} is the gradient w.r.t. {@code
   * table.row(rows[i])}. Repeated rows sum.
   */
  public void accumulate(String table, int[] rows, INDArray dRows) {
    RowAccumulator acc = sparse.get(table);
    if (acc == null) throw new IllegalArgumentException("no embedding table named '" + table + "'");
    if (dRows.rows() != rows.length || dRows.columns() != acc.dim)
      throw new IllegalArgumentException(
          table
              + ": gradient shape "
              + Arrays.toString(dRows.shape())
              + " does not fit "
              + rows.length
              + " rows of "
              + acc.dim);
    acc.add(rows, HostView.toDoubles(dRows));
  }

  /**
   * Adds row gradients held in Java: gradient i (for {@code table.row(rows[i])}) is {@code
   * values[(valueRows == null ? i : valueRows[i]) * stride + col ..]}, the table's width long. Lets
   * a caller that read one wide gradient matrix once feed several tables from its column blocks,
   * with no column view, copy or row gather per table. Repeated rows sum.
   */
  public void accumulate(
      String table, int[] rows, double[] values, int[] valueRows, int stride, int col) {
    RowAccumulator acc = sparse.get(table);
    if (acc == null) throw new IllegalArgumentException("no embedding table named '" + table + "'");
    if (col < 0 || col + acc.dim > stride)
      throw new IllegalArgumentException(
          table + ": columns " + col + ".." + (col + acc.dim) + " outside a row of " + stride);
    if (valueRows != null && valueRows.length != rows.length)
      throw new IllegalArgumentException(table + ": one value row per table row required");
    acc.add(rows, values, valueRows, stride, col);
  }

  /** The accumulated rows of a table (unique, ascending), in the parameters' data type. */
  public SparseRows sparse(String table) {
    RowAccumulator acc = sparse.get(table);
    if (acc == null) throw new IllegalArgumentException("no embedding table named '" + table + "'");
    return acc.toSparse(table, params.dataType());
  }

  /**
   * Asks the optimizer to multiply table {@code table}'s row gradients by {@code s} before its
   * update (a per-table preconditioner; the gradients held here stay the loss's gradients). Why:
   * the wide part steps on the minibatch's sum of per-sample gradients rather than their mean (see
   * {@code io.perceive.model.wide.WidePart}). Default 1.
   */
  public void setStepScale(String table, double s) {
    if (!sparse.containsKey(table))
      throw new IllegalArgumentException("no embedding table named '" + table + "'");
    if (!(s > 0) || !Double.isFinite(s))
      throw new IllegalArgumentException(table + ": step scale must be finite and > 0, got " + s);
    stepScales.put(table, s);
  }

  /**
   * Asks the optimizer to multiply its learning rate by {@code s} for table {@code table}'s rows (a
   * per-table learning rate, e.g. the wide part's {@code wide.learning_rate_scale}). Default 1.
   */
  public void setLearningRateScale(String table, double s) {
    if (!sparse.containsKey(table))
      throw new IllegalArgumentException("no embedding table named '" + table + "'");
    if (!(s > 0) || !Double.isFinite(s))
      throw new IllegalArgumentException(
          table + ": learning-rate scale must be finite and > 0, got " + s);
    learningRateScales.put(table, s);
  }

  /** The learning-rate scale of a table ({@link #setLearningRateScale}); 1 unless set. */
  public double learningRateScale(String table) {
    return learningRateScales.getOrDefault(table, 1.0);
  }

  /** The step scale of a table ({@link #setStepScale}); 1 unless set. */
  public double stepScale(String table) {
    return stepScales.getOrDefault(table, 1.0);
  }

  /** Names of all tables (each may have zero touched rows). */
  public Iterable<String> tableNames() {
    return Collections.unmodifiableSet(sparse.keySet());
  }

  /** Multiplies every gradient by {@code s} (e.g. 1 / batch size). */
  public void scale(double s) {
    flat.muli(s);
    for (RowAccumulator a : sparse.values()) a.scale(s);
  }

  /** Sum of squares over the dense and sparse parts (for clipping and monitoring). */
  public double squaredNorm() {
    double n = flat.norm2Number().doubleValue();
    n *= n;
    for (RowAccumulator a : sparse.values()) n += a.squaredNorm();
    return n;
  }

  /** Clears everything for the next minibatch. */
  public void zero() {
    flat.assign(0);
    for (RowAccumulator a : sparse.values()) a.clear();
  }

  /**
   * Accumulates row gradients in double precision; rows keyed by table row index. An
   * open-addressing int → slot map over one growing value pool, instead of a {@code
   * HashMap<Integer, double[]>}: a minibatch adds tens of thousands of gathered rows (T × G per
   * sequence table), and boxing plus one small array per row showed in profiles.
   */
  static final class RowAccumulator {
    final int dim;
    private int[] keys = new int[64]; // table row per hash slot
    private int[] slotOf = empty(64); // index into the pool per hash slot, -1 = empty
    private int[] order = new int[32]; // table row of each pool slot, in insertion order
    private double[] pool;
    private int size;

    RowAccumulator(int dim) {
      this.dim = dim;
      pool = new double[32 * dim];
    }

    private static int[] empty(int n) {
      int[] a = new int[n];
      Arrays.fill(a, -1);
      return a;
    }

    /** The pool slot of table row {@code row}, created (zero) when absent. */
    private int slot(int row) {
      int mask = keys.length - 1;
      int h = mix(row) & mask;
      while (slotOf[h] >= 0) {
        if (keys[h] == row) return slotOf[h];
        h = (h + 1) & mask;
      }
      if (size == order.length) {
        order = Arrays.copyOf(order, size * 2);
        pool = Arrays.copyOf(pool, size * 2 * dim);
      }
      keys[h] = row;
      slotOf[h] = size;
      order[size] = row;
      int s = size++;
      if (size * 2 > keys.length) rehash();
      return s;
    }

    private static int mix(int x) {
      int h = x * 0x9E3779B9;
      return h ^ (h >>> 16);
    }

    private void rehash() {
      int[] k = new int[keys.length * 2];
      int[] v = empty(k.length);
      int mask = k.length - 1;
      for (int s = 0; s < size; s++) {
        int h = mix(order[s]) & mask;
        while (v[h] >= 0) h = (h + 1) & mask;
        k[h] = order[s];
        v[h] = s;
      }
      keys = k;
      slotOf = v;
    }

    void add(int[] idx, double[] d, int[] valueRows, int stride, int col) {
      for (int i = 0; i < idx.length; i++) {
        int o = slot(idx[i]) * dim;
        int src = (valueRows == null ? i : valueRows[i]) * stride + col;
        if (src < 0 || src + dim > d.length)
          throw new IllegalArgumentException("gradient row " + i + " outside the values");
        for (int j = 0; j < dim; j++) pool[o + j] += d[src + j];
      }
    }

    void add(int[] idx, double[] d) {
      for (int i = 0; i < idx.length; i++) {
        int o = slot(idx[i]) * dim;
        int src = i * dim;
        for (int j = 0; j < dim; j++) pool[o + j] += d[src + j];
      }
    }

    void scale(double s) {
      for (int i = 0; i < size * dim; i++) pool[i] *= s;
    }

    double squaredNorm() {
      double n = 0;
      for (int i = 0; i < size * dim; i++) n += pool[i] * pool[i];
      return n;
    }

    void clear() {
      Arrays.fill(slotOf, -1);
      Arrays.fill(pool, 0, size * dim, 0.0);
      size = 0;
    }

    SparseRows toSparse(String table, org.nd4j.linalg.api.buffer.DataType type) {
      long[] rowAndSlot = new long[size]; // sorted by table row (signed), slot in the low bits
      for (int s = 0; s < size; s++) rowAndSlot[s] = ((long) order[s] << 32) | s;
      Arrays.sort(rowAndSlot);
      int[] idx = new int[size];
      double[] v = new double[size * dim];
      for (int i = 0; i < size; i++) {
        int slot = (int) rowAndSlot[i];
        idx[i] = order[slot];
        System.arraycopy(pool, slot * dim, v, i * dim, dim);
      }
      INDArray values =
          size == 0 ? Nd4j.zeros(type, 0, dim) : HostView.fromDoubles(v, size, dim, type);
      return new SparseRows(table, idx, values);
    }
  }
}
