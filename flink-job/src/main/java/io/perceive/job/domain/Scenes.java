package io.perceive.job.domain;

import java.util.List;
import java.util.Locale;

/**
 * Scene codes for the model's scene embedding (codes 0..13 of a 16-row table; -1 = missing): the
 * documented scenes get fixed codes, any other non-blank scene a stable hashed code among the spare
 * ones, so a new surface works without a schema or model change.
 */
public final class Scenes {

  /** Known scenes; code = index. The wire vocabulary is {@code io.perceive.schemas.Scenes}. */
  public static final List<String> KNOWN =
      List.of("search", "recommend", "ads", "rating", "cart", "detail", "home", "feed");

  /** Codes KNOWN.size() .. KNOWN.size() + SPARE - 1 take hashed unknown scenes. */
  static final int SPARE = 6;

  private Scenes() {}

  public static int idOf(String scene) {
    if (scene == null || scene.isBlank()) return -1;
    String s = scene.trim().toLowerCase(Locale.ROOT);
    int i = KNOWN.indexOf(s);
    if (i >= 0) return i;
    return KNOWN.size() + Math.floorMod(s.hashCode(), SPARE);
  }
}
