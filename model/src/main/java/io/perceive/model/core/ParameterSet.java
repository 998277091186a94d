package io.perceive.model.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * All trainable parameters of a model: dense tensors as named views over one flat buffer (the
 * Deeplearning4j layout, so optimizers, deltas and snapshots work on one array) plus hashed
 * embedding tables whose gradients are sparse.
 *
 * <p>Names are hierarchical ({@code lstm/W}, {@code gate_click/W}); the order of registration is
 * the layout order and is part of the snapshot format.
 */
public final class ParameterSet {

  /** Position and shape of one dense parameter inside the flat buffer. */
  public record DenseSpec(String name, long offset, long[] shape) {
    public long length() {
      long n = 1;
      for (long d : shape) n *= d;
      return n;
    }
  }

  private final DataType dataType;
  private final INDArray flat;
  private final Map<String, DenseSpec> specs;
  private final Map<String, INDArray> views;
  private final Map<String, EmbeddingTable> tables;

  private ParameterSet(
      DataType dataType,
      INDArray flat,
      Map<String, DenseSpec> specs,
      Map<String, EmbeddingTable> tables) {
    this.dataType = dataType;
    this.flat = flat;
    this.specs = Collections.unmodifiableMap(specs);
    this.tables = Collections.unmodifiableMap(tables);
    Map<String, INDArray> v = new LinkedHashMap<>();
    for (DenseSpec s : specs.values()) v.put(s.name(), viewOf(flat, s));
    this.views = Collections.unmodifiableMap(v);
  }

  /** A c-order view of one parameter over the flat buffer (no copy: writes reach the buffer). */
  static INDArray viewOf(INDArray flat, DenseSpec s) {
    long[] shape = s.shape();
    long[] stride = new long[shape.length];
    long st = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      stride[i] = st;
      st *= shape[i];
    }
    return Nd4j.create(
        flat.data(), shape, stride, flat.offset() + s.offset(), 'c', flat.dataType());
  }

  public static Builder builder(DataType dataType) {
    return new Builder(dataType);
  }

  public DataType dataType() {
    return dataType;
  }

  /** The flat buffer holding every dense parameter: a vector (at least one element long). */
  public INDArray flat() {
    return flat;
  }

  /** Number of dense parameters (the flat buffer may be one longer when there are none). */
  public long denseLength() {
    long n = 0;
    for (DenseSpec s : specs.values()) n += s.length();
    return n;
  }

  /** The view of a dense parameter; writes go to the flat buffer. */
  public INDArray get(String name) {
    INDArray v = views.get(name);
    if (v == null) throw new IllegalArgumentException("no dense parameter named '" + name + "'");
    return v;
  }

  public boolean hasDense(String name) {
    return views.containsKey(name);
  }

  public Map<String, DenseSpec> denseSpecs() {
    return specs;
  }

  public EmbeddingTable table(String name) {
    EmbeddingTable t = tables.get(name);
    if (t == null) throw new IllegalArgumentException("no embedding table named '" + name + "'");
    return t;
  }

  public Map<String, EmbeddingTable> tables() {
    return tables;
  }

  /** A zeroed gradient with this set's layout. */
  public Gradients newGradients() {
    return new Gradients(this);
  }

  /**
   * Frees the native buffers of the dense parameters and of every table now; the set must not be
   * used afterwards. Why: with JavaCPP's pointer GC off ({@code nopointergc}, STACK.md) a dropped
   * set is never freed, and sets decoded from snapshots or FULL updates are model-sized.
   */
  public void close() {
    if (flat.closeable()) flat.close();
    for (EmbeddingTable t : tables.values()) t.close();
  }

  /** A deep copy (same layout, copied values). */
  public ParameterSet copy() {
    Map<String, EmbeddingTable> t = new LinkedHashMap<>();
    for (EmbeddingTable e : tables.values()) t.put(e.name(), e.copy());
    return new ParameterSet(dataType, flat.dup(), new LinkedHashMap<>(specs), t);
  }

  /** The same layout and values in another floating point type (double for gradient checks). */
  public ParameterSet castTo(DataType type) {
    Map<String, EmbeddingTable> t = new LinkedHashMap<>();
    for (EmbeddingTable e : tables.values()) t.put(e.name(), e.castTo(type));
    return new ParameterSet(type, flat.castTo(type).dup(), new LinkedHashMap<>(specs), t);
  }

  /** True when another set has the same dense names/shapes/offsets and the same tables. */
  public boolean sameLayout(ParameterSet o) {
    if (o.specs.size() != specs.size() || o.tables.size() != tables.size()) return false;
    for (DenseSpec s : specs.values()) {
      DenseSpec q = o.specs.get(s.name());
      if (q == null || q.offset() != s.offset() || !java.util.Arrays.equals(q.shape(), s.shape()))
        return false;
    }
    for (EmbeddingTable e : tables.values()) {
      EmbeddingTable q = o.tables.get(e.name());
      if (q == null || q.rows() != e.rows() || q.dim() != e.dim()) return false;
    }
    return true;
  }

  /** Builds a parameter set; registration order is the layout order. */
  public static final class Builder {
    private final DataType dataType;
    private final List<DenseSpec> specs = new ArrayList<>();
    private final List<Init> inits = new ArrayList<>();
    private final Map<String, EmbeddingTable> tables = new LinkedHashMap<>();
    private long length;

    private Builder(DataType dataType) {
      if (!dataType.isFPType()) throw new IllegalArgumentException("floating point type required");
      this.dataType = dataType;
    }

    /** Registers a dense parameter; {@code init} fills it when {@link #build(long)} runs. */
    public Builder dense(String name, Init init, long... shape) {
      Objects.requireNonNull(name);
      for (DenseSpec s : specs)
        if (s.name().equals(name))
          throw new IllegalArgumentException("duplicate parameter " + name);
      if (tables.containsKey(name))
        throw new IllegalArgumentException("duplicate parameter " + name);
      DenseSpec s = new DenseSpec(name, length, shape.clone());
      specs.add(s);
      inits.add(init);
      length += s.length();
      return this;
    }

    /** Registers a hashed embedding table of {@code rows} x {@code dim}. */
    public Builder table(String name, int rows, int dim, double initStd) {
      if (tables.containsKey(name)) throw new IllegalArgumentException("duplicate table " + name);
      tables.put(name, new EmbeddingTable(name, rows, dim, dataType, initStd));
      return this;
    }

    /**
     * Allocates everything as zeros without running any initialiser: for loaders (snapshots,
     * deltas) that overwrite every value right after.
     */
    public ParameterSet buildZeroed() {
      INDArray flat = Nd4j.zeros(dataType, Math.max(length, 1));
      Map<String, DenseSpec> m = new LinkedHashMap<>();
      for (DenseSpec s : specs) m.put(s.name(), s);
      return new ParameterSet(dataType, flat, m, new LinkedHashMap<>(tables));
    }

    /** Allocates and initialises everything deterministically from {@code seed}. */
    public ParameterSet build(long seed) {
      INDArray flat = Nd4j.zeros(dataType, Math.max(length, 1));
      Map<String, DenseSpec> m = new LinkedHashMap<>();
      Random rnd = new Random(seed);
      for (int i = 0; i < specs.size(); i++) {
        DenseSpec s = specs.get(i);
        m.put(s.name(), s);
        inits.get(i).fill(viewOf(flat, s), rnd);
      }
      for (EmbeddingTable t : tables.values()) t.initialise(new Random(rnd.nextLong()));
      return new ParameterSet(dataType, flat, m, new LinkedHashMap<>(tables));
    }
  }
}
