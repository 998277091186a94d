package io.perceive.model.input;

import java.util.List;
import java.util.Locale;

/**
 * Scene codes for the model's scene embedding (codes 0..13; -1 = missing): the documented scenes
 * get fixed codes, any other non-blank scene a stable hashed code among the spare ones, so a new
 * surface works without a schema or model change. The job and serving must agree on this mapping,
 * which is why it lives in the model library.
 */
public final class SceneCodes {

  /** Known scenes; code = index. The wire vocabulary is {@code io.perceive.schemas.Scenes}. */
  public static final List<String> KNOWN =
      List.of("search", "recommend", "ads", "rating", "cart", "detail", "home", "feed");

  /** Codes KNOWN.size() .. KNOWN.size() + SPARE - 1 take hashed unknown scenes. */
  public static final int SPARE = 6;

  /** Codes in use: the scene table needs at least this many rows + 1 (row 0 = missing). */
  public static final int CODES = 8 + SPARE;

  private SceneCodes() {}

  /** The code of a scene name; null or blank → -1 (missing). */
  public static int of(String scene) {
    if (scene == null || scene.isBlank()) return -1;
    String s = scene.trim().toLowerCase(Locale.ROOT);
    int i = KNOWN.indexOf(s);
    if (i >= 0) return i;
    return KNOWN.size() + Math.floorMod(s.hashCode(), SPARE);
  }

  /**
   * A scene name whose code is {@code code}: the known name, or for a hashed code a canonical name
   * ({@code other-<n>}) that hashes to it, or "" for -1 (missing). Why: the job keeps only codes in
   * its state, while the {@code user-state} record carries scene names; this inverse makes {@code
   * of(nameOf(c)) == c} for every code, so serving decodes the job's codes exactly.
   */
  public static String nameOf(int code) {
    if (code == -1) return "";
    if (code < 0 || code >= CODES)
      throw new IllegalArgumentException("scene code " + code + " outside -1.." + (CODES - 1));
    if (code < KNOWN.size()) return KNOWN.get(code);
    for (int n = 0; ; n++) {
      String name = "other-" + n;
      if (of(name) == code) return name;
    }
  }
}
