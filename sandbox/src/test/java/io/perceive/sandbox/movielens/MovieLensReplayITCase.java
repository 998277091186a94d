package io.perceive.sandbox.movielens;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventType;
import io.perceive.schemas.EventValidator;
import io.perceive.schemas.UserEvent;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Converts the real dslabs MovieLens data (Debian r-cran-dslabs, via Rscript) and checks the
 * mapping.
 */
class MovieLensReplayITCase {
  private static List<MovieLensReplay.Rating> ratings;
  private static List<UserEvent> events;

  @BeforeAll
  static void convert() throws Exception {
    ratings = MovieLensReplay.load();
    events = new ArrayList<>();
    MovieLensReplay.events(ratings).forEachRemaining(events::add);
  }

  /** Asks R itself, independently of the Java conversion. */
  private static long countInR(String expression) throws Exception {
    Process process =
        new ProcessBuilder(
                "Rscript",
                "--vanilla",
                "-e",
                "suppressMessages(library(dslabs)); data(movielens); cat(" + expression + ")")
            .redirectErrorStream(true)
            .start();
    String output =
        new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return Long.parseLong(output);
  }

  @Test
  void countsFollowTheMapping() throws Exception {
    Map<EventType, Long> byType =
        events.stream().collect(Collectors.groupingBy(UserEvent::getType, Collectors.counting()));

    assertThat(ratings).hasSize(100_004);
    assertThat(byType.get(EventType.IMPRESSION)).isEqualTo(100_004);
    assertThat(byType.get(EventType.CLICK)).isEqualTo(countInR("sum(movielens$rating >= 4)"));
    assertThat(byType.get(EventType.ORDER)).isEqualTo(countInR("sum(movielens$rating == 5)"));
    assertThat(byType).doesNotContainKey(EventType.CART);
    System.out.printf("MovieLens replay: %s from %d ratings%n", byType, ratings.size());
  }

  @Test
  void eventsAreInStableTimeOrderAndValidFrom1995() {
    EventValidator replayBounds = EventValidator.forMovieLens();
    EventValidator defaultBounds = EventValidator.defaults();
    EventCodec replayCodec = new EventCodec(replayBounds);
    long previous = Long.MIN_VALUE;
    long rejectedByDefaultBounds = 0;
    for (int i = 0; i < events.size(); i++) {
      UserEvent event = events.get(i);
      assertThat(event.getEventTimeMs()).isGreaterThanOrEqualTo(previous);
      previous = event.getEventTimeMs();
      assertThat(replayBounds.validate(event)).as("%s", event).isEmpty();
      if (defaultBounds.validate(event).isPresent()) {
        rejectedByDefaultBounds++;
      }
      if (i % 50 == 0) { // the wire round trip itself is covered in schemas; sample it here
        assertThat(replayCodec.decode(replayCodec.encode(event)).event()).isEqualTo(event);
      }
    }
    assertThat(Instant.ofEpochMilli(events.get(0).getEventTimeMs()).toString())
        .startsWith("1995-01");
    assertThat(rejectedByDefaultBounds).isPositive(); // the default bounds would drop the 1990s
    assertThat(events.stream().map(UserEvent::getEventId).distinct().count())
        .isEqualTo(events.size());
  }

  @Test
  void eachRatingIsOneRequestWithGenreFeatures() {
    UserEvent first = events.get(0);
    MovieLensReplay.Rating rating = ratings.get(0);
    assertThat(first.getType()).isEqualTo(EventType.IMPRESSION);
    assertThat(first.getRequestId()).isEqualTo(1);
    assertThat(first.getPosition()).isZero();
    assertThat(first.getItem().getItemId()).isEqualTo(rating.movieId());
    assertThat(first.getItem().getPrice()).isNull();
    String firstGenre = rating.genres().split("\\|")[0];
    assertThat(first.getItem().getCategoryId())
        .isEqualTo(MovieLensReplay.GENRES.indexOf(firstGenre));
    assertThat(first.getItem().getFeatures())
        .containsEntry("genre_" + firstGenre, 1.0)
        .containsKey("release_year");
    // a clicked rating's click shares the impression's request, item and time
    for (int i = 0; i + 1 < events.size(); i++) {
      UserEvent click = events.get(i + 1);
      if (click.getType() == EventType.CLICK) {
        UserEvent impression = events.get(i);
        assertThat(impression.getType()).isEqualTo(EventType.IMPRESSION);
        assertThat(click.getRequestId()).isEqualTo(impression.getRequestId());
        assertThat(click.getItem()).isEqualTo(impression.getItem());
        assertThat(click.getEventTimeMs()).isEqualTo(impression.getEventTimeMs());
        break;
      }
    }
    assertThat(events.stream().mapToLong(UserEvent::getRequestId).max().getAsLong())
        .isEqualTo(100_004);
  }
}
