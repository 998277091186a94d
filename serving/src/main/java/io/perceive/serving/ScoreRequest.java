package io.perceive.serving;

import java.util.List;
import java.util.Map;

/**
 * The JSON body of {@code POST /score}. Unknown fields are refused (400). A user is identified by
 * {@code userId} (its state is then read from the user-state store) and/or described by {@code
 * behaviours} (its recent window, oldest first, for users the store does not know).
 *
 * @param userId the user (optional; absent = anonymous)
 * @param scene the request's scene, e.g. "home" (optional)
 * @param requestTimeMs the time behaviour ages are measured at (optional; default now)
 * @param behaviours the user's recent behaviours (optional; overrides the stored window)
 * @param profile profile features by model feature name (optional; merged over the stored ones)
 * @param candidates the items to score (required, 1..max)
 * @param alpha exponent of p(conversion) in the ranking score (optional; server default)
 */
public record ScoreRequest(
    Long userId,
    String scene,
    Long requestTimeMs,
    List<Behaviour> behaviours,
    Map<String, Double> profile,
    List<Candidate> candidates,
    Double alpha) {

  /** One behaviour of the user's window; {@code type} is IMPRESSION, CLICK, CART or ORDER. */
  public record Behaviour(
      Long itemId,
      Long shopId,
      Long brandId,
      Long categoryId,
      String type,
      String scene,
      Long eventTimeMs) {}

  /** One candidate item; {@code features} by model feature name (e.g. price). */
  public record Candidate(
      Long itemId, Long shopId, Long brandId, Long categoryId, Map<String, Double> features) {}
}
