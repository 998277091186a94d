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
 * @param impressionScore the impression-time score, the row's prequential score when present (null:
 *     not taken, e.g. state restored from format version 1; the minibatch's score is used)
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
    long labelTimeMs,
    ImpressionScore impressionScore) {

  /** Label value meaning "unknown for this row; the task's loss is masked". */
  public static final byte MASKED = -1;

  /** Which of an impression's two rows this is. */
  public enum Row {
    CLICK,
    CONVERSION
  }

  /** An unlabelled row of a pending impression, for its impression-time score. */
  public static Sample toScore(RequestContext context, PendingImpression p) {
    return new Sample(
        context,
        p.eventId(),
        p.item(),
        p.position(),
        Row.CLICK,
        MASKED,
        MASKED,
        MASKED,
        -1,
        p.timeMs(),
        null);
  }

  public Sample withImpressionScore(ImpressionScore s) {
    return new Sample(
        context,
        impressionEventId,
        item,
        position,
        row,
        click,
        conversion,
        order,
        priceLevel,
        labelTimeMs,
        s);
  }

  public long userId() {
    return context.userId();
  }

  public long requestId() {
    return context.requestId();
  }
}
