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

  /**
   * Parses a line written by {@link #toCsv()}; throws {@link IllegalArgumentException} naming it.
   */
  public static ScoredSample fromCsv(String line) {
    String[] f = line.split(",", -1);
    if (f.length != 13)
      throw new IllegalArgumentException("expected 13 fields, got " + f.length + ": " + line);
    return new ScoredSample(
        Long.parseLong(f[0]),
        Long.parseLong(f[1]),
        Long.parseLong(f[2]),
        f[3],
        f[4].equals("conversion"),
        Integer.parseInt(f[5]),
        Integer.parseInt(f[6]),
        Integer.parseInt(f[7]),
        Float.parseFloat(f[8]),
        Float.parseFloat(f[9]),
        Float.parseFloat(f[10]),
        Long.parseLong(f[11]),
        Long.parseLong(f[12]));
  }

  /** Label of a task (0 click, 1 conversion, 2 order), -1 when masked. */
  public int label(int task) {
    return switch (task) {
      case 0 -> click;
      case 1 -> conversion;
      default -> order;
    };
  }

  /** Predicted probability of a task (0 click, 1 conversion, 2 order). */
  public float score(int task) {
    return switch (task) {
      case 0 -> pClick;
      case 1 -> pConversion;
      default -> pOrder;
    };
  }

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
