package io.perceive.job.learner;

/**
 * One prequentially scored sample: what the predictions output carries (ids, row kind, labels with
 * -1 = masked, the three predicted probabilities, the model version that scored it).
 */
public record ScoredSample(
    long userId,
    long requestId,
    long itemId,
    String impressionEventId,
    boolean conversionRow,
    int click,
    int conversion,
    int order,
    float pClick,
    float pConversion,
    float pOrder,
    long modelVersion,
    long labelTimeMs) {

  /** CSV header matching {@link #toCsv()}. */
  public static final String CSV_HEADER =
      "user_id,request_id,item_id,impression_event_id,row,click,conversion,order,p_click,p_conversion,p_order,model_version,label_time_ms";

  public String toCsv() {
    return userId
        + ","
        + requestId
        + ","
        + itemId
        + ","
        + impressionEventId
        + ","
        + (conversionRow ? "conversion" : "click")
        + ","
        + click
        + ","
        + conversion
        + ","
        + order
        + ","
        + pClick
        + ","
        + pConversion
        + ","
        + pOrder
        + ","
        + modelVersion
        + ","
        + labelTimeMs;
  }
}
