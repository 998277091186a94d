package io.perceive.model.layers;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * DUPN's user behaviour sequence encoder (Ni et al., KDD 2018): behaviour embedding →
 * property-gated LSTM over the window → attention pooling with the query context, giving the 128-d
 * behaviour half of the user representation. The embedding tables are the model's ({@link
 * SequenceConfig} names them); this class registers only {@code lstm/*} and {@code attention/*}.
 */
public final class UserSequenceEncoder {

  /** What forward keeps for backward; reusable across minibatches of the same shape. */
  public static final class Cache {
    SequenceInput input;
    float[] stepMask; // [T*G] step-major
    BehaviourEmbedding.Rows rows;
    INDArray itemEmbedding; // [T*G, E], reused across calls of the same shape
    INDArray propertyEmbedding; // [T*G, P]
    final PropertyGatedLstm.Cache lstm = new PropertyGatedLstm.Cache();
    final AttentionPooling.Cache attention = new AttentionPooling.Cache();

    /** The LSTM state after the window's last step (h [G, H], c [G, H]; views into the cache). */
    public LstmState finalState() {
      return lstm.finalState();
    }
  }

  /**
   * dL/dquery [G, Q]; dL/dh0 and dL/dc0 [G, H] are zero unless back-propagation reaches the window
   * start (bpttSteps ≥ T).
   */
  public record Grad(INDArray dQuery, INDArray dH0, INDArray dC0) {}

  private final SequenceConfig cfg;
  private final BehaviourEmbedding embedding;
  private final PropertyGatedLstm lstm;
  private final AttentionPooling attention;

  public UserSequenceEncoder(SequenceConfig cfg) {
    this.cfg = cfg;
    this.embedding = new BehaviourEmbedding(cfg);
    this.lstm =
        new PropertyGatedLstm(cfg.lstmPrefix(), cfg.itemWidth(), cfg.propertyWidth(), cfg.hidden());
    this.attention =
        new AttentionPooling(
            cfg.attentionPrefix(), cfg.queryDim(), cfg.hidden(), cfg.attentionWindow());
  }

  public SequenceConfig config() {
    return cfg;
  }

  public PropertyGatedLstm lstm() {
    return lstm;
  }

  public AttentionPooling attention() {
    return attention;
  }

  public BehaviourEmbedding embedding() {
    return embedding;
  }

  /** Output width (the attention output, = hidden). */
  public int outputWidth() {
    return cfg.hidden();
  }

  /** Registers the dense parameters {@code lstm/W, lstm/b, attention/W, attention/b}. */
  public void register(ParameterSet.Builder b) {
    lstm.register(b);
    attention.register(b);
  }

  private final ThreadLocal<Cache> inferenceWork = ThreadLocal.withInitial(Cache::new);

  /** in (G windows of T steps) + query [G, Q] → attention output [G, H]. */
  public INDArray forward(ParameterSet p, SequenceInput in, INDArray query, Cache c) {
    checkTables(p);
    if (in.h0().columns() != cfg.hidden())
      throw new IllegalArgumentException(
          "h0/c0 must have hidden = " + cfg.hidden() + " columns, got " + in.h0().columns());
    Cache cache = c;
    int g = in.groups(), t = in.steps();
    float[] stepMask = new float[g * t];
    for (int s = 0; s < t; s++)
      for (int u = 0; u < g; u++) stepMask[s * g + u] = in.mask()[u * t + s];
    BehaviourEmbedding.Rows rows = embedding.rowsOf(p, in); // step-major
    boolean keep = cache != null;
    // Without a cache (scoring) the work arrays come from this thread's inference cache: the same
    // shapes every request, so no native allocation per call (they were a fifth of encodeUser's
    // time, docs/model-performance.md). Only the returned attention output is a new array.
    Cache work = keep ? cache : inferenceWork.get();
    INDArray e = embedding.itemEmbedding(p, rows, work.itemEmbedding, true); // [T*G, E]
    INDArray pr = embedding.propertyEmbedding(p, rows, work.propertyEmbedding, true); // [T*G, P]
    INDArray hidden =
        keep
            ? lstm.forward(p, e, pr, stepMask, g, in.h0(), in.c0(), cache.lstm) // [T, G, H]
            : lstm.forwardInference(p, e, pr, stepMask, g, in.h0(), in.c0(), work.lstm);
    INDArray out = attention.forward(p, hidden, stepMask, query, work.attention); // [G, H]
    if (!keep) {
      work.itemEmbedding = e;
      work.propertyEmbedding = pr;
    }
    if (keep) {
      cache.input = in;
      cache.stepMask = stepMask;
      cache.rows = rows;
      cache.itemEmbedding = e;
      cache.propertyEmbedding = pr;
    }
    return out;
  }

  /**
   * dOut [G, H] → dL/dquery; accumulates LSTM, attention and (sparse) embedding gradients over the
   * last {@link SequenceConfig#bpttSteps()} steps.
   */
  public Grad backward(ParameterSet p, Gradients g, INDArray dOut, Cache c) {
    AttentionPooling.Grad ag = attention.backward(p, g, dOut, c.attention);
    PropertyGatedLstm.Grad lg = lstm.backward(p, g, ag.dHidden(), cfg.bpttSteps(), c.lstm);
    int from = lg.firstStep() * c.input.groups();
    embedding.backward(g, c.rows, lg.dItem(), lg.dProperty(), from, c.stepMask);
    return new Grad(ag.dQuery(), lg.dH0(), lg.dC0());
  }

  /** One batched LSTM step for B users (a behaviour leaving the window); returns the new state. */
  public LstmState advance(ParameterSet p, INDArray h, INDArray c, StepInput step) {
    checkTables(p);
    BehaviourEmbedding.Rows rows = embedding.rowsOf(p, step);
    return lstm.step(
        p, embedding.itemEmbedding(p, rows), embedding.propertyEmbedding(p, rows), h, c);
  }

  private void checkTables(ParameterSet p) {
    for (SequenceConfig.TableSpec t :
        new SequenceConfig.TableSpec[] {
          cfg.item(),
          cfg.shop(),
          cfg.brand(),
          cfg.category(),
          cfg.behaviourType(),
          cfg.scene(),
          cfg.timeGap()
        }) {
      int dim = p.table(t.name()).dim();
      if (dim != t.dim())
        throw new IllegalArgumentException(
            "table " + t.name() + " has dim " + dim + ", the sequence config expects " + t.dim());
    }
  }
}
