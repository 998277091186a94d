package io.perceive.job.domain;

import java.util.List;
import java.util.Locale;

/**
 * Scene vocabulary: the scenes the producers document get fixed small ids; any other scene string
 * gets a stable hashed id (so a new scene still works, it just shares hash rows).
 */
public final class Scenes {

  /** Known scenes, id = index + 1 (0 = unknown/missing). */
  public static final List<String> KNOWN =
      List.of("search", "recommend", "ads", "cart", "detail", "home", "feed");

  private Scenes() {}

  public static int idOf(String scene) {
    if (scene == null || scene.isEmpty()) return 0;
    String s = scene.toLowerCase(Locale.ROOT);
    int i = KNOWN.indexOf(s);
    if (i >= 0) return i + 1;
    return 1000 + Math.floorMod(s.hashCode(), 1 << 20);
  }
}
