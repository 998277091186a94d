package io.perceive.job.domain;

/**
 * Label-joining and per-user state settings (DESIGN.md, "Samples and labels").
 *
 * @param clickWindowMs an impression becomes a click-negative when this much event time passes
 *     without its click (a click at exactly the deadline still counts)
 * @param attributionWindowMs a click becomes an order-negative when this much event time passes
 *     without an order of the same item
 * @param dedupeHorizonMs event ids are remembered this long (event time) to drop duplicates
 * @param idleTimeoutMs a user with no event for this long is cleared; at least the longest label
 *     window
 * @param windowSize behaviours kept raw in the window (the attention window N)
 * @param hiddenSize LSTM hidden size H: the (h, c) kept per user
 * @param priceLevelBounds ascending price boundaries; level = number of bounds &lt;= price
 */
public record LabelConfig(
    long clickWindowMs,
    long attributionWindowMs,
    long dedupeHorizonMs,
    long idleTimeoutMs,
    int windowSize,
    int hiddenSize,
    float[] priceLevelBounds)
    implements java.io.Serializable {

  public LabelConfig {
    if (clickWindowMs <= 0) throw new IllegalArgumentException("click window must be > 0");
    if (attributionWindowMs <= 0)
      throw new IllegalArgumentException("attribution window must be > 0");
    if (dedupeHorizonMs < 0) throw new IllegalArgumentException("dedupe horizon must be >= 0");
    long longest = clickWindowMs + attributionWindowMs;
    if (idleTimeoutMs < longest)
      throw new IllegalArgumentException(
          "idle timeout "
              + idleTimeoutMs
              + " ms must be at least click + attribution window ("
              + longest
              + " ms): a user may not be cleared while a label is pending");
    if (windowSize < 1) throw new IllegalArgumentException("window size must be >= 1");
    if (hiddenSize < 1) throw new IllegalArgumentException("hidden size must be >= 1");
    for (int i = 1; i < priceLevelBounds.length; i++)
      if (!(priceLevelBounds[i] > priceLevelBounds[i - 1]))
        throw new IllegalArgumentException("price level bounds must be strictly ascending");
  }

  /** DESIGN.md defaults: 30 min click window, 24 h attribution, N = 32, H = 128. */
  public static LabelConfig defaults() {
    return new LabelConfig(
        30 * 60_000L,
        24 * 3_600_000L,
        24 * 3_600_000L,
        48 * 3_600_000L,
        32,
        128,
        new float[] {10f, 20f, 50f, 100f, 200f, 500f, 1000f});
  }

  /** Number of price levels (bounds + 1). */
  public int priceLevels() {
    return priceLevelBounds.length + 1;
  }

  /** The price level of a price, or -1 when the price is missing. */
  public int priceLevel(float price) {
    if (Float.isNaN(price)) return -1;
    int l = 0;
    while (l < priceLevelBounds.length && priceLevelBounds[l] <= price) l++;
    return l;
  }

  public LabelConfig withWindows(long click, long attribution, long idle) {
    return new LabelConfig(
        click, attribution, dedupeHorizonMs, idle, windowSize, hiddenSize, priceLevelBounds);
  }
}
