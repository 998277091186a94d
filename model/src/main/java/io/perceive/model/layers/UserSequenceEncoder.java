package io.perceive.model.layers;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * STAND-IN for branch seq's property-gated LSTM + attention encoder, with the API of the model
 * spec, so that branch rank compiles and tests before seq lands; the merge of seq replaces this
 * file. It pools the masked mean of the item side-info embeddings and mixes it with the query: out
 * = tanh([mean_t e_t, query] W + b) [G, H]. Correct gradients, no recurrence.
 */
public final class UserSequenceEncoder {

  /** What forward keeps for backward. */
  public static final class Cache {
    int[][] rows; // per side table, [G*T]
    float[] mask;
    int groups;
    int steps;
    Dense.Cache mix = new Dense.Cache();
    INDArray pool; // [G, G*T] masked mean weights
  }

  /** dL/dquery [G, Q]. */
  public record Grad(INDArray dQuery) {}

  private final SequenceConfig cfg;
  private final Dense mix;

  public UserSequenceEncoder(SequenceConfig cfg) {
    this.cfg = cfg;
    this.mix =
        new Dense(
            cfg.attentionPrefix(), cfg.itemWidth() + cfg.queryDim(), cfg.hidden(), Activation.TANH);
  }

  public void register(ParameterSet.Builder b) {
    mix.register(b);
  }

  private SequenceConfig.TableSpec[] sides() {
    return new SequenceConfig.TableSpec[] {cfg.item(), cfg.shop(), cfg.brand(), cfg.category()};
  }

  public INDArray forward(ParameterSet p, SequenceInput in, INDArray query, Cache c) {
    int g = in.groups();
    int t = in.steps();
    long[][] ids = {in.itemIds(), in.shopIds(), in.brandIds(), in.categoryIds()};
    double[] avg = new double[g * t * g];
    for (int gi = 0; gi < g; gi++) {
      double n = 0;
      for (int s = 0; s < t; s++) n += in.mask()[gi * t + s];
      for (int s = 0; s < t; s++)
        if (n > 0) avg[gi * (g * t) + gi * t + s] = in.mask()[gi * t + s] / n;
    }
    INDArray pool = Nd4j.create(avg, new long[] {g, (long) g * t}, 'c').castTo(query.dataType());
    INDArray[] parts = new INDArray[5];
    int[][] rows = new int[4][];
    SequenceConfig.TableSpec[] sides = sides();
    for (int k = 0; k < 4; k++) {
      rows[k] = p.table(sides[k].name()).rowsOf(ids[k]);
      INDArray e = p.table(sides[k].name()).gather(rows[k]); // [G*T, d]
      INDArray m = Nd4j.createUninitialized(query.dataType(), g, sides[k].dim());
      Nd4j.gemm(pool, e, m, false, false, 1.0, 0.0);
      parts[k] = m;
    }
    parts[4] = query;
    INDArray x = Nd4j.hstack(parts); // [G, E + Q]
    if (c != null) {
      c.rows = rows;
      c.mask = in.mask();
      c.groups = g;
      c.steps = t;
      c.pool = pool;
    }
    return mix.forward(p, x, c == null ? null : c.mix);
  }

  public Grad backward(ParameterSet p, Gradients g, INDArray dOut, Cache c) {
    INDArray dx = mix.backward(p, g, dOut.dup(), c.mix); // [G, E + Q]
    SequenceConfig.TableSpec[] sides = sides();
    int off = 0;
    for (int k = 0; k < 4; k++) {
      int d = sides[k].dim();
      INDArray dm = dx.get(NDArrayIndex.all(), NDArrayIndex.interval(off, off + d)); // [G, d]
      INDArray de = Nd4j.createUninitialized(dx.dataType(), (long) c.groups * c.steps, d);
      Nd4j.gemm(c.pool, dm.dup('c'), de, true, false, 1.0, 0.0); // [G*T, d]
      g.accumulate(sides[k].name(), c.rows[k], de);
      off += d;
    }
    return new Grad(dx.get(NDArrayIndex.all(), NDArrayIndex.interval(off, dx.columns())).dup('c'));
  }

  public LstmState advance(ParameterSet p, INDArray h, INDArray c, StepInput step) {
    throw new UnsupportedOperationException("stand-in encoder: advance() comes with branch seq");
  }
}
