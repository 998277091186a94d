package io.perceive.model.optim;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.core.SparseRows;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What every update rule shares: state bookkeeping, global-norm clipping, decoupled weight decay on
 * dense parameters, and the split into one dense update on the flat buffer plus a sparse update of
 * the touched rows of every table.
 */
abstract class AbstractOptimizer implements Optimizer {

  static final String DENSE = "dense/";
  static final String TABLE = "table/";

  protected final OptimizerConfig config;
  private ParameterSet layout; // the layout the state was allocated for
  protected long steps;
  protected final Map<String, INDArray> arrays = new LinkedHashMap<>();
  protected final Map<String, long[]> counters = new LinkedHashMap<>();

  AbstractOptimizer(OptimizerConfig config, OptimizerConfig.Kind kind) {
    if (config.kind() != kind)
      throw new IllegalArgumentException("configuration is for " + config.kind() + ", not " + kind);
    this.config = config;
  }

  @Override
  public OptimizerConfig config() {
    return config;
  }

  @Override
  public final void initialise(ParameterSet p) {
    layout = p;
    steps = 0;
    arrays.clear();
    counters.clear();
    allocate(p);
  }

  /** Registers this rule's state arrays for {@code p} (via {@link #denseState}, ...). */
  abstract void allocate(ParameterSet p);

  /** Dense state: one array as long as the flat buffer, filled with {@code value}. */
  INDArray denseState(ParameterSet p, String name, double value) {
    INDArray a = Nd4j.valueArrayOf(new long[] {p.flat().length()}, value, p.dataType());
    arrays.put(DENSE + name, a);
    return a;
  }

  /** Per-table state: one [rows, dim] array per table, filled with {@code value}. */
  void tableState(ParameterSet p, String name, double value) {
    for (EmbeddingTable t : p.tables().values())
      arrays.put(
          TABLE + t.name() + "/" + name,
          Nd4j.valueArrayOf(new long[] {t.rows(), t.dim()}, value, p.dataType()));
  }

  /** Per-table, per-row step counts (lazy Adam's bias correction). */
  void tableCounters(ParameterSet p, String name) {
    for (EmbeddingTable t : p.tables().values())
      counters.put(TABLE + t.name() + "/" + name, new long[t.rows()]);
  }

  INDArray array(String name) {
    return arrays.get(name);
  }

  @Override
  public boolean isInitialised() {
    return layout != null;
  }

  @Override
  public long steps() {
    return steps;
  }

  @Override
  public void reset() {
    if (layout == null) throw new IllegalStateException("optimizer not initialised");
    initialise(layout);
  }

  @Override
  public final void step(ParameterSet p, Gradients g, long eventTimeMs) {
    if (layout == null)
      throw new IllegalStateException("optimizer not initialised: call initialise");
    if (p.dataType() != layout.dataType() || !p.sameLayout(layout))
      throw new IllegalArgumentException(
          "parameters do not have the layout the optimizer was initialised for");
    if (!g.params().sameLayout(p))
      throw new IllegalArgumentException("gradients do not have the parameters' layout");
    steps++;
    double scale = 1.0;
    if (config.clipNorm() > 0) {
      double norm = Math.sqrt(g.squaredNorm());
      if (!Double.isFinite(norm))
        throw new IllegalArgumentException("gradient norm is not finite: " + norm);
      if (norm > config.clipNorm()) scale = config.clipNorm() / norm;
    }
    if (p.denseLength() > 0) {
      if (config.weightDecay() > 0)
        p.flat().muli(1.0 - config.learningRate() * config.weightDecay());
      updateDense(p.flat(), g.flat(), scale);
    }
    for (String name : g.tableNames()) {
      SparseRows rows = g.sparse(name);
      if (rows.size() == 0) continue;
      EmbeddingTable t = p.table(name);
      updateRows(
          t,
          rows.rows(),
          HostView.of(rows.values()),
          scale * g.stepScale(name),
          g.learningRateScale(name));
      for (int r : rows.rows()) t.markWritten(r);
      if (eventTimeMs != NO_EVENT_TIME) {
        long[] stamp = t.lastUpdate();
        for (int r : rows.rows()) stamp[r] = eventTimeMs;
      }
    }
  }

  /** Updates the whole flat buffer {@code w} from gradient {@code g} scaled by {@code scale}. */
  abstract void updateDense(INDArray w, INDArray g, double scale);

  /**
   * Updates the touched {@code rows} of {@code t}; {@code grad} holds their gradients row after row
   * ([rows.length, dim]). Implementations loop in Java over host views (see {@link HostView}).
   */
  abstract void updateRows(
      EmbeddingTable t, int[] rows, HostView grad, double scale, double learningRateScale);

  @Override
  public OptimizerState exportState() {
    if (layout == null) throw new IllegalStateException("optimizer not initialised");
    Map<String, INDArray> a = new LinkedHashMap<>();
    arrays.forEach((k, v) -> a.put(k, v.dup()));
    Map<String, long[]> c = new LinkedHashMap<>();
    counters.forEach((k, v) -> c.put(k, v.clone()));
    return new OptimizerState(config, steps, a, c);
  }

  @Override
  public void importState(OptimizerState s) {
    if (layout == null)
      throw new IllegalStateException(
          "initialise the optimizer for the parameters before importing state");
    if (s.config().kind() != config.kind())
      throw new IllegalArgumentException(
          "optimizer state is for " + s.config().kind() + ", this optimizer is " + config.kind());
    if (!s.arrays().keySet().equals(arrays.keySet()))
      throw new IllegalArgumentException(
          "optimizer state arrays " + s.arrays().keySet() + " do not match " + arrays.keySet());
    if (!s.counters().keySet().equals(counters.keySet()))
      throw new IllegalArgumentException(
          "optimizer state counters "
              + s.counters().keySet()
              + " do not match "
              + counters.keySet());
    for (var e : s.arrays().entrySet()) {
      INDArray mine = arrays.get(e.getKey());
      if (!Arrays.equals(mine.shape(), e.getValue().shape()))
        throw new IllegalArgumentException(
            "optimizer state "
                + e.getKey()
                + " has shape "
                + Arrays.toString(e.getValue().shape())
                + ", expected "
                + Arrays.toString(mine.shape()));
    }
    for (var e : s.counters().entrySet())
      if (counters.get(e.getKey()).length != e.getValue().length)
        throw new IllegalArgumentException(
            "optimizer counter " + e.getKey() + " has the wrong length");
    for (var e : s.arrays().entrySet()) {
      INDArray src = e.getValue();
      INDArray mine = arrays.get(e.getKey());
      mine.assign(src.dataType() == mine.dataType() ? src : src.castTo(mine.dataType()));
    }
    for (var e : s.counters().entrySet())
      System.arraycopy(e.getValue(), 0, counters.get(e.getKey()), 0, e.getValue().length);
    steps = s.steps();
  }

  /** A one-element-per-call BLAS y += alpha·x over the whole buffer. */
  static void axpy(double alpha, INDArray x, INDArray y) {
    Nd4j.getBlasWrapper().level1().axpy(x.length(), alpha, x, y);
  }

  static boolean isFloat(ParameterSet p) {
    return p.dataType() == DataType.FLOAT;
  }
}
