package io.perceive.model.wide;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One family of sparse binary features of the wide part (Cheng et al. 2016, "Wide &amp; Deep
 * Learning for Recommender Systems", §3.1: cross-product transformations φ_k(x) = Π_i x_i^{c_ki}).
 * A cross is active for a sample when every id it combines is known (≥ 0); its value is then 1 and
 * its weight row is the hashed bucket of (cross, ids). A missing id makes the cross inactive rather
 * than mapping it to a shared "missing" bucket: a row shared by every unknown user would learn the
 * average of unrelated users and add it to each of them.
 */
public enum WideCross {
  /** The user's own bias: each user's click / conversion / order level. */
  USER("user"),
  /** The item's own bias: each item's level. */
  ITEM("item"),
  /** user × the candidate's category: a user's taste for a category. */
  USER_CATEGORY("user_category"),
  /** user × the candidate's shop. */
  USER_SHOP("user_shop"),
  /** user × the candidate's brand. */
  USER_BRAND("user_brand"),
  /** user × the candidate item (repeat interest in one item). */
  USER_ITEM("user_item"),
  /** the request's scene × the candidate's category. */
  SCENE_CATEGORY("scene_category"),
  /** the candidate's category alone (a category's level across users). */
  CATEGORY("category"),
  /**
   * category of each of the user's newest behaviours × the candidate's category (one slot per
   * behaviour, {@code wide.recent_behaviours} of them; a category seen twice counts twice): the
   * session's intent as Wide &amp; Deep's "installed app × impressed app" cross, shared by all
   * users, so it is learned from every user's events rather than from one user's.
   */
  RECENT_CATEGORY_CATEGORY("recent_category_category");

  private final String key;

  WideCross(String key) {
    this.key = key;
  }

  /** The name used in {@code wide.crosses}. */
  public String key() {
    return key;
  }

  /** Parses a comma-separated list of cross names; repeats and unknown names are refused. */
  public static List<WideCross> parseList(String s) {
    List<WideCross> r = new ArrayList<>();
    if (s.isBlank()) return List.of();
    for (String part : s.split(",")) {
      String name = part.trim().toLowerCase(Locale.ROOT);
      WideCross found = null;
      for (WideCross c : values()) if (c.key.equals(name)) found = c;
      if (found == null)
        throw new IllegalArgumentException(
            "unknown wide cross '"
                + part.trim()
                + "' (known: "
                + formatList(List.of(values()))
                + ")");
      if (r.contains(found))
        throw new IllegalArgumentException("wide cross '" + name + "' listed twice");
      r.add(found);
    }
    return List.copyOf(r);
  }

  public static String formatList(List<WideCross> crosses) {
    StringBuilder sb = new StringBuilder();
    for (WideCross c : crosses) {
      if (sb.length() > 0) sb.append(',');
      sb.append(c.key);
    }
    return sb.toString();
  }
}
