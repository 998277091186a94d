package io.perceive.job.domain;

/**
 * A labelled training row (DESIGN.md "Samples and labels"). A click row carries the click label
 * (and order = 0 when not clicked); a conversion row, emitted for a clicked impression, carries the
 * conversion and order labels. Unknown labels are {@link #MASKED}.
 *
 * @param context the frozen user-side inputs of the impression's request
 * @param impressionEventId id of the impression the row belongs to (joins with the world's truth)
 * @param priceLevel price-preference label (ordered item's price level), or -1
 * @param labelTimeMs event time at which the label matured (click, order, or window close)
 */
public record Sample(
    RequestContext context,
    String impressionEventId,
    Item item,
    int position,
    Row row,
    byte click,
    byte conversion,
    byte order,
    int priceLevel,
    long labelTimeMs) {

  /** Label value meaning "unknown for this row; the task's loss is masked". */
  public static final byte MASKED = -1;

  /** Which of an impression's two rows this is. */
  public enum Row {
    CLICK,
    CONVERSION
  }

  public long userId() {
    return context.userId();
  }

  public long requestId() {
    return context.requestId();
  }
}
