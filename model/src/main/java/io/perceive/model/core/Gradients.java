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
    double[] d =
        dRows.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).dup('c').data().asDouble();
    acc.add(rows, d);
  }

  /** The accumulated rows of a table (unique, ascending), in the parameters' data type. */
  public SparseRows sparse(String table) {
    RowAccumulator acc = sparse.get(table);
    if (acc == null) throw new IllegalArgumentException("no embedding table named '" + table + "'");
    return acc.toSparse(table, params.dataType());
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

  /** Accumulates row gradients in double precision; rows keyed by table row index. */
  static final class RowAccumulator {
    final int dim;
    private final Map<Integer, double[]> rows = new HashMap<>();

    RowAccumulator(int dim) {
      this.dim = dim;
    }

    void add(int[] idx, double[] d) {
      for (int i = 0; i < idx.length; i++) {
        double[] r = rows.computeIfAbsent(idx[i], k -> new double[dim]);
        int o = i * dim;
        for (int j = 0; j < dim; j++) r[j] += d[o + j];
      }
    }

    void scale(double s) {
      for (double[] r : rows.values()) for (int j = 0; j < dim; j++) r[j] *= s;
    }

    double squaredNorm() {
      double n = 0;
      for (double[] r : rows.values()) for (double x : r) n += x * x;
      return n;
    }

    void clear() {
      rows.clear();
    }

    SparseRows toSparse(String table, org.nd4j.linalg.api.buffer.DataType type) {
      int[] idx = rows.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
      double[] v = new double[idx.length * dim];
      for (int i = 0; i < idx.length; i++) System.arraycopy(rows.get(idx[i]), 0, v, i * dim, dim);
      INDArray values =
          idx.length == 0
              ? Nd4j.zeros(type, 0, dim)
              : Nd4j.create(v, new long[] {idx.length, dim}, 'c').castTo(type);
      return new SparseRows(table, idx, values);
    }
  }
}
