package io.perceive.model.layers;

import io.perceive.model.core.ParameterSet;

/**
 * Sizes and table names of the user behaviour sequence encoder (DESIGN.md "The model"). The
 * embedding tables belong to the model (the candidate item shares {@code emb/item}, ...); this
 * config only names them and states the sizes the encoder expects.
 *
 * <p>Property codes (behaviour type, scene, time-gap bucket) map to row {@code code + 1}; code -1
 * is missing (row 0). A property table of R rows therefore accepts codes 0..R-2 — e.g. 31 time-gap
 * buckets for the 32-row table ({@link #timeGapBuckets()}).
 *
 * @param item item id table (default {@code emb/item} 65,536 × 32)
 * @param shop shop id table (default {@code emb/shop} 8,192 × 8)
 * @param brand brand id table (default {@code emb/brand} 8,192 × 8)
 * @param category category id table (default {@code emb/category} 1,024 × 16)
 * @param behaviourType behaviour type table (default {@code emb/behaviour_type} 8 × 8)
 * @param scene scene table (default {@code emb/scene} 16 × 4)
 * @param timeGap time-gap bucket table (default {@code emb/time_gap} 32 × 4)
 * @param hidden LSTM hidden size H (default 128); also the attention output size
 * @param attentionWindow N, how many of the last hidden states attention pools over (default 32)
 * @param queryDim Q, width of the attention query context (default 132 = user vector 128 + scene 4)
 * @param bpttSteps how many of the last steps the gradient flows back through (default 32 = N)
 * @param lstmPrefix parameter name prefix of the LSTM (default {@code lstm})
 * @param attentionPrefix parameter name prefix of the attention (default {@code attention})
 */
public record SequenceConfig(
    TableSpec item,
    TableSpec shop,
    TableSpec brand,
    TableSpec category,
    TableSpec behaviourType,
    TableSpec scene,
    TableSpec timeGap,
    int hidden,
    int attentionWindow,
    int queryDim,
    int bpttSteps,
    String lstmPrefix,
    String attentionPrefix) {

  /** Name and size of one embedding table. */
  public record TableSpec(String name, int rows, int dim) {
    public TableSpec {
      if (name == null || name.isEmpty()) throw new IllegalArgumentException("table name missing");
      if (rows < 2) throw new IllegalArgumentException(name + ": rows must be >= 2, got " + rows);
      if (dim < 1) throw new IllegalArgumentException(name + ": dim must be >= 1, got " + dim);
    }
  }

  public SequenceConfig {
    for (TableSpec t : new TableSpec[] {item, shop, brand, category, behaviourType, scene, timeGap})
      if (t == null) throw new IllegalArgumentException("every table spec is required");
    if (hidden < 1) throw new IllegalArgumentException("hidden must be >= 1, got " + hidden);
    if (attentionWindow < 1)
      throw new IllegalArgumentException("attentionWindow must be >= 1, got " + attentionWindow);
    if (queryDim < 1) throw new IllegalArgumentException("queryDim must be >= 1, got " + queryDim);
    if (bpttSteps < 1)
      throw new IllegalArgumentException("bpttSteps must be >= 1, got " + bpttSteps);
    if (lstmPrefix == null || attentionPrefix == null || lstmPrefix.equals(attentionPrefix))
      throw new IllegalArgumentException("lstm and attention prefixes must be set and differ");
  }

  /** DESIGN.md's default sizes. */
  public static SequenceConfig defaults() {
    return new SequenceConfig(
        new TableSpec("emb/item", 65_536, 32),
        new TableSpec("emb/shop", 8_192, 8),
        new TableSpec("emb/brand", 8_192, 8),
        new TableSpec("emb/category", 1_024, 16),
        new TableSpec("emb/behaviour_type", 8, 8),
        new TableSpec("emb/scene", 16, 4),
        new TableSpec("emb/time_gap", 32, 4),
        128,
        32,
        132,
        32,
        "lstm",
        "attention");
  }

  /** Width E of the item side-info embedding e_t (item + shop + brand + category). */
  public int itemWidth() {
    return item.dim() + shop.dim() + brand.dim() + category.dim();
  }

  /** Width P of the property embedding p_t (behaviour type + scene + time gap). */
  public int propertyWidth() {
    return behaviourType.dim() + scene.dim() + timeGap.dim();
  }

  /** How many time-gap bucket codes the time-gap table holds (rows - 1, row 0 = missing). */
  public int timeGapBuckets() {
    return timeGap.rows() - 1;
  }

  public SequenceConfig withBpttSteps(int steps) {
    return new SequenceConfig(
        item,
        shop,
        brand,
        category,
        behaviourType,
        scene,
        timeGap,
        hidden,
        attentionWindow,
        queryDim,
        steps,
        lstmPrefix,
        attentionPrefix);
  }

  /** The same config with every table resized (for small tests). */
  public SequenceConfig withTables(
      TableSpec item,
      TableSpec shop,
      TableSpec brand,
      TableSpec category,
      TableSpec behaviourType,
      TableSpec scene,
      TableSpec timeGap) {
    return new SequenceConfig(
        item,
        shop,
        brand,
        category,
        behaviourType,
        scene,
        timeGap,
        hidden,
        attentionWindow,
        queryDim,
        bpttSteps,
        lstmPrefix,
        attentionPrefix);
  }

  public SequenceConfig withSizes(int hidden, int attentionWindow, int queryDim) {
    return new SequenceConfig(
        item,
        shop,
        brand,
        category,
        behaviourType,
        scene,
        timeGap,
        hidden,
        attentionWindow,
        queryDim,
        bpttSteps,
        lstmPrefix,
        attentionPrefix);
  }

  /**
   * Registers the seven behaviour tables (for a stand-alone encoder in tests and benchmarks; the
   * model registers them itself, sharing {@code emb/item} etc. with the candidate item).
   */
  public void registerTables(ParameterSet.Builder b, double initStd) {
    for (TableSpec t : new TableSpec[] {item, shop, brand, category, behaviourType, scene, timeGap})
      b.table(t.name(), t.rows(), t.dim(), initStd);
  }
}
