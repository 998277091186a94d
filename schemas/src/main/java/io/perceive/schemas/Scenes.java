package io.perceive.schemas;

import java.util.Set;

/**
 * The documented scene vocabulary of {@link UserEvent#getScene()}.
 *
 * <p>Scene is a free string on the wire so a new surface can start sending events without a schema
 * change; the model hashes it. Validation only requires it to be non-blank.
 */
public final class Scenes {
  /** Results of a user's query: candidates follow the user's current (session) intent. */
  public static final String SEARCH = "search";

  /** Personalised feed ("guess you like"): candidates follow long-term interests. */
  public static final String RECOMMEND = "recommend";

  /** Paid placements: candidates chosen by advertisers, weakly personalised. */
  public static final String ADS = "ads";

  /** MovieLens replay: one rated movie per request, as if the rating page showed it. */
  public static final String RATING = "rating";

  /** Every scene this project's producers emit. */
  public static final Set<String> KNOWN = Set.of(SEARCH, RECOMMEND, ADS, RATING);

  private Scenes() {}
}
