package io.perceive.cli.report;

/**
 * One line of the job's predictions output (see {@code ScoredSample#toCsv}): labels are -1 where
 * masked.
 */
public record PredictionRow(
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

  /** Parses one CSV line; throws {@link IllegalArgumentException} naming the problem. */
  public static PredictionRow parse(String line) {
    String[] f = line.split(",", -1);
    if (f.length != 13)
      throw new IllegalArgumentException("expected 13 fields, got " + f.length + ": " + line);
    return new PredictionRow(
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

  /** Predicted probability of a task. */
  public float score(int task) {
    return switch (task) {
      case 0 -> pClick;
      case 1 -> pConversion;
      default -> pOrder;
    };
  }
}
