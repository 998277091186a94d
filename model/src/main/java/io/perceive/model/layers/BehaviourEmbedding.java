package io.perceive.model.layers;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * DUPN's behaviour embedding (Ni et al., KDD 2018, "Input & Behavior Embedding"): a behaviour x_t =
 * (item, shop, brand, category; behaviour type, scene, time gap) becomes the item side-info
 * embedding e_t = [item, shop, brand, category] (E = 64 by default) and the property embedding p_t
 * = [behaviour type, scene, time gap] (P = 16). One gather per table per batch; the backward pass
 * adds sparse row gradients, skipping padding and truncated steps so they touch no row.
 */
public final class BehaviourEmbedding {

  /** The table rows of N behaviours, one int[N] per table, in the order e/p rows are produced. */
  public record Rows(
      int[] item, int[] shop, int[] brand, int[] category, int[] type, int[] scene, int[] gap) {
    public int size() {
      return item.length;
    }
  }

  private final SequenceConfig cfg;

  public BehaviourEmbedding(SequenceConfig cfg) {
    this.cfg = cfg;
  }

  /**
   * Rows of behaviours taken from the given arrays in the order {@code order} (order[i] = index
   * into the arrays; null = natural order). Ids hash ({@link EmbeddingTable#rowOf}); property code
   * v maps to row v + 1, -1 to the missing row; any other out-of-range code is refused.
   */
  public Rows rowsOf(
      ParameterSet p,
      long[] items,
      long[] shops,
      long[] brands,
      long[] categories,
      int[] types,
      int[] scenes,
      int[] gaps,
      int[] order) {
    int n = order == null ? items.length : order.length;
    EmbeddingTable ti = p.table(cfg.item().name());
    EmbeddingTable ts = p.table(cfg.shop().name());
    EmbeddingTable tb = p.table(cfg.brand().name());
    EmbeddingTable tc = p.table(cfg.category().name());
    int[] ri = new int[n], rs = new int[n], rb = new int[n], rc = new int[n];
    int[] rt = new int[n], rsc = new int[n], rg = new int[n];
    for (int k = 0; k < n; k++) {
      int i = order == null ? k : order[k];
      ri[k] = ti.rowOf(items[i]);
      rs[k] = ts.rowOf(shops[i]);
      rb[k] = tb.rowOf(brands[i]);
      rc[k] = tc.rowOf(categories[i]);
      rt[k] = propertyRow("behaviourTypes", i, types[i], cfg.behaviourType());
      rsc[k] = propertyRow("scenes", i, scenes[i], cfg.scene());
      rg[k] = propertyRow("timeGapBuckets", i, gaps[i], cfg.timeGap());
    }
    return new Rows(ri, rs, rb, rc, rt, rsc, rg);
  }

  /** Rows for a whole sequence batch, reordered step-major (row t * G + g). */
  public Rows rowsOf(ParameterSet p, SequenceInput in) {
    int g = in.groups(), t = in.steps();
    int[] order = new int[g * t];
    for (int s = 0; s < t; s++) for (int u = 0; u < g; u++) order[s * g + u] = u * t + s;
    return rowsOf(
        p,
        in.itemIds(),
        in.shopIds(),
        in.brandIds(),
        in.categoryIds(),
        in.behaviourTypes(),
        in.scenes(),
        in.timeGapBuckets(),
        order);
  }

  /** Rows for one streaming step of B users. */
  public Rows rowsOf(ParameterSet p, StepInput in) {
    return rowsOf(
        p,
        in.itemIds(),
        in.shopIds(),
        in.brandIds(),
        in.categoryIds(),
        in.behaviourTypes(),
        in.scenes(),
        in.timeGapBuckets(),
        null);
  }

  private static int propertyRow(String field, int i, int code, SequenceConfig.TableSpec t) {
    if (code < -1 || code > t.rows() - 2)
      throw new IllegalArgumentException(
          field
              + "["
              + i
              + "] = "
              + code
              + " is outside -1.."
              + (t.rows() - 2)
              + " (table "
              + t.name()
              + " has "
              + t.rows()
              + " rows)");
    return code + 1;
  }

  /** e [N, E]: the item side-info embeddings. */
  public INDArray itemEmbedding(ParameterSet p, Rows r) {
    return itemEmbedding(p, r, null, false);
  }

  /**
   * e [N, E] written into {@code reuse} when it has the right type and shape (else a new array,
   * outside any workspace when {@code detached}).
   */
  INDArray itemEmbedding(ParameterSet p, Rows r, INDArray reuse, boolean detached) {
    return concat(
        p,
        r.size(),
        new String[] {
          cfg.item().name(), cfg.shop().name(), cfg.brand().name(), cfg.category().name()
        },
        new int[][] {r.item, r.shop, r.brand, r.category},
        reuse,
        detached);
  }

  /** p [N, P]: the property embeddings. */
  public INDArray propertyEmbedding(ParameterSet p, Rows r) {
    return propertyEmbedding(p, r, null, false);
  }

  INDArray propertyEmbedding(ParameterSet p, Rows r, INDArray reuse, boolean detached) {
    return concat(
        p,
        r.size(),
        new String[] {cfg.behaviourType().name(), cfg.scene().name(), cfg.timeGap().name()},
        new int[][] {r.type, r.scene, r.gap},
        reuse,
        detached);
  }

  /**
   * The tables' rows side by side, [N, Σ dim]. Gathered in Java straight into one host buffer and
   * written with one bulk copy: seven native gathers plus seven strided column assignments cost ~10
   * ND4J calls and two copies of the data (docs/model-performance.md).
   */
  private static INDArray concat(
      ParameterSet p, int n, String[] tables, int[][] rows, INDArray reuse, boolean detached) {
    int width = 0;
    for (String t : tables) width += p.table(t).dim();
    INDArray out = PropertyGatedLstm.reuse(reuse, detached, p.dataType(), n, width); // [N, width]
    int col = 0;
    boolean host = true;
    for (String t : tables) host &= NativeValues.isContiguousC(p.table(t).weights());
    if (!host) { // a table that is a strided view: ND4J gathers
      for (int k = 0; k < tables.length; k++) {
        EmbeddingTable t = p.table(tables[k]);
        out.get(NDArrayIndex.all(), NDArrayIndex.interval(col, col + t.dim()))
            .assign(t.gather(rows[k]));
        col += t.dim();
      }
      return out;
    }
    if (p.dataType() == DataType.FLOAT) {
      float[] buf = new float[n * width];
      for (int k = 0; k < tables.length; k++) {
        INDArray w = p.table(tables[k]).weights();
        int dim = (int) w.columns(), base = Math.toIntExact(w.offset());
        FloatBuffer src = w.data().asNioFloat();
        int[] r = rows[k];
        for (int i = 0; i < n; i++) src.get(base + r[i] * dim, buf, i * width + col, dim);
        col += dim;
      }
      out.data().asNioFloat().put(Math.toIntExact(out.offset()), buf, 0, n * width);
    } else {
      double[] buf = new double[n * width];
      for (int k = 0; k < tables.length; k++) {
        INDArray w = p.table(tables[k]).weights();
        NativeValues src = NativeValues.of(w);
        int dim = (int) w.columns();
        int[] r = rows[k];
        for (int i = 0; i < n; i++) src.read(r[i] * dim, buf, i * width + col, dim);
        col += dim;
      }
      NativeValues.of(out).write(0, buf, 0, n * width);
    }
    return out;
  }

  /**
   * Adds the row gradients dE [N', E] and dP [N', P], which belong to behaviours {@code from ..
   * N-1} of {@code r} (N' = N - from), into {@code g}. Behaviours with {@code mask[i] == 0} (null =
   * none) are skipped, so padding and truncated steps touch no row.
   */
  public void backward(Gradients g, Rows r, INDArray dE, INDArray dP, int from, float[] mask) {
    int n = r.size() - from;
    int kept = 0;
    int[] keep = new int[n];
    for (int i = 0; i < n; i++) if (mask == null || mask[from + i] != 0f) keep[kept++] = i;
    if (kept == 0) return;
    keep = java.util.Arrays.copyOf(keep, kept);
    // dE and dP are read once each; every table takes its column block of the kept rows from the
    // Java copy (was: 2 row gathers + 7 column views, each copied by ND4J, per minibatch)
    int ew = (int) dE.columns(), pw = (int) dP.columns();
    double[] de = HostView.toDoubles(dE); // [N', E]
    double[] dp = HostView.toDoubles(dP); // [N', P]
    int[] at = kept == n ? null : keep;
    int col = 0;
    col = add(g, cfg.item(), pick(r.item, from, keep), de, at, ew, col);
    col = add(g, cfg.shop(), pick(r.shop, from, keep), de, at, ew, col);
    col = add(g, cfg.brand(), pick(r.brand, from, keep), de, at, ew, col);
    add(g, cfg.category(), pick(r.category, from, keep), de, at, ew, col);
    col = 0;
    col = add(g, cfg.behaviourType(), pick(r.type, from, keep), dp, at, pw, col);
    col = add(g, cfg.scene(), pick(r.scene, from, keep), dp, at, pw, col);
    add(g, cfg.timeGap(), pick(r.gap, from, keep), dp, at, pw, col);
  }

  private static int add(
      Gradients g,
      SequenceConfig.TableSpec t,
      int[] rows,
      double[] d,
      int[] valueRows,
      int stride,
      int col) {
    g.accumulate(t.name(), rows, d, valueRows, stride, col);
    return col + t.dim();
  }

  private static int[] pick(int[] rows, int from, int[] keep) {
    int[] out = new int[keep.length];
    for (int i = 0; i < keep.length; i++) out[i] = rows[from + keep[i]];
    return out;
  }
}
