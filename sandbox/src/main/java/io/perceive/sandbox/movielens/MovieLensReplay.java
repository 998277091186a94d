package io.perceive.sandbox.movielens;

import io.perceive.schemas.EventType;
import io.perceive.schemas.Item;
import io.perceive.schemas.Scenes;
import io.perceive.schemas.UserEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.TimeUnit;

/**
 * MovieLens (small: 100,004 ratings, 671 users, 1995-2016) replayed as events, converted at run
 * time from the Debian package {@code r-cran-dslabs} through {@code Rscript}; the data is never
 * stored in this repository (GroupLens terms).
 *
 * <p>Mapping: ratings in stable order (timestamp, user, movie); each rating is one request showing
 * one movie at position 0 in scene {@link Scenes#RATING}: an IMPRESSION; rating >= 4 also a CLICK;
 * rating = 5 also an ORDER; all three at the rating's timestamp (the job orders same-time events
 * impression < click < order). Category = the first listed genre; item features = one {@code
 * genre_<Name>} = 1 per genre and {@code release_year} (null when unknown); no price, shop or
 * brand.
 */
public final class MovieLensReplay {
  /** MovieLens genres in a fixed order: category id = index of the movie's first genre. */
  public static final List<String> GENRES =
      List.of(
          "(no genres listed)",
          "Action",
          "Adventure",
          "Animation",
          "Children",
          "Comedy",
          "Crime",
          "Documentary",
          "Drama",
          "Fantasy",
          "Film-Noir",
          "Horror",
          "IMAX",
          "Musical",
          "Mystery",
          "Romance",
          "Sci-Fi",
          "Thriller",
          "War",
          "Western");

  /** How to get the data when it is missing. */
  public static final String INSTALL_HINT =
      "run scripts/install-prereqs.sh (installs the Debian packages r-base-core and r-cran-dslabs)";

  private static final String EXPORT_SCRIPT =
      "suppressMessages(library(dslabs)); data(movielens);"
          + " args <- commandArgs(trailingOnly = TRUE);"
          + " write.table(movielens[, c('userId', 'movieId', 'rating', 'timestamp', 'year', 'genres')],"
          + " file = args[1], sep = '\\t', quote = FALSE, row.names = FALSE, na = '')";

  /** One rating as exported. */
  public record Rating(
      long userId,
      long movieId,
      double rating,
      long timestampSeconds,
      Integer year,
      String genres) {}

  private MovieLensReplay() {}

  /** Exports the ratings with {@code Rscript} into a temporary file and reads them, sorted. */
  public static List<Rating> load() throws IOException {
    Path tsv = Files.createTempFile("perceive-movielens-", ".tsv");
    try {
      export(tsv);
      return read(tsv);
    } finally {
      Files.deleteIfExists(tsv);
    }
  }

  /** Runs {@code Rscript} to write the dslabs MovieLens ratings as tab-separated text. */
  public static void export(Path tsv) throws IOException {
    ProcessBuilder builder =
        new ProcessBuilder(
                "Rscript", "--vanilla", "-e", EXPORT_SCRIPT, tsv.toAbsolutePath().toString())
            .redirectErrorStream(true);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new IOException("Rscript is not installed: " + INSTALL_HINT, e);
    }
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("Rscript did not finish exporting MovieLens within 120 s");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while exporting MovieLens", e);
    }
    if (process.exitValue() != 0) {
      String hint =
          output.contains("dslabs") ? " — the R package dslabs is missing: " + INSTALL_HINT : "";
      throw new IOException(
          "Rscript failed (exit " + process.exitValue() + ")" + hint + ":\n" + output.strip());
    }
  }

  /** Reads an exported file and sorts it by (timestamp, user, movie). */
  public static List<Rating> read(Path tsv) throws IOException {
    List<Rating> ratings = new ArrayList<>(100_100);
    try (BufferedReader reader = Files.newBufferedReader(tsv, StandardCharsets.UTF_8)) {
      String header = reader.readLine();
      if (header == null || !header.startsWith("userId\tmovieId\trating\ttimestamp")) {
        throw new IOException(tsv + ": unexpected header " + header);
      }
      long lineNumber = 1;
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNumber++;
        String[] f = line.split("\t", -1);
        if (f.length != 6) {
          throw new IOException(tsv + ":" + lineNumber + ": expected 6 columns, got " + f.length);
        }
        try {
          ratings.add(
              new Rating(
                  Long.parseLong(f[0]),
                  Long.parseLong(f[1]),
                  Double.parseDouble(f[2]),
                  Long.parseLong(f[3]),
                  f[4].isEmpty() ? null : Integer.valueOf(f[4]),
                  f[5]));
        } catch (NumberFormatException e) {
          throw new IOException(tsv + ":" + lineNumber + ": " + e.getMessage(), e);
        }
      }
    }
    ratings.sort(
        Comparator.comparingLong(Rating::timestampSeconds)
            .thenComparingLong(Rating::userId)
            .thenComparingLong(Rating::movieId));
    return ratings;
  }

  /** The events of the sorted ratings, lazily: 1 to 3 per rating. */
  public static Iterator<UserEvent> events(List<Rating> ratings) {
    return new Iterator<>() {
      private final Deque<UserEvent> buffer = new ArrayDeque<>(3);
      private final Map<String, Long> extraGenres = new LinkedHashMap<>();
      private int index;

      @Override
      public boolean hasNext() {
        return !buffer.isEmpty() || index < ratings.size();
      }

      @Override
      public UserEvent next() {
        if (buffer.isEmpty()) {
          if (index >= ratings.size()) {
            throw new NoSuchElementException();
          }
          Rating rating = ratings.get(index);
          index++;
          toEvents(rating, index, extraGenres, buffer);
        }
        return buffer.removeFirst();
      }
    };
  }

  private static void toEvents(
      Rating rating, long requestId, Map<String, Long> extraGenres, Deque<UserEvent> out) {
    String[] genres =
        rating.genres().isEmpty() ? new String[] {GENRES.get(0)} : rating.genres().split("\\|");
    Map<String, Double> features = new LinkedHashMap<>();
    for (String genre : genres) {
      features.put("genre_" + genre, 1.0);
    }
    features.put("release_year", rating.year() == null ? null : Double.valueOf(rating.year()));
    Item item =
        Item.newBuilder()
            .setItemId(rating.movieId())
            .setShopId(null)
            .setBrandId(null)
            .setCategoryId(categoryOf(genres[0], extraGenres))
            .setPrice(null)
            .setFeatures(features)
            .build();
    String prefix = "ml-" + rating.userId() + "-" + rating.movieId() + "-";
    long time = rating.timestampSeconds() * 1000L;
    out.add(event(prefix + "imp", rating, EventType.IMPRESSION, time, requestId, item));
    if (rating.rating() >= 4.0) {
      out.add(event(prefix + "click", rating, EventType.CLICK, time, requestId, item));
    }
    if (rating.rating() == 5.0) {
      out.add(event(prefix + "order", rating, EventType.ORDER, time, requestId, item));
    }
  }

  private static long categoryOf(String genre, Map<String, Long> extraGenres) {
    int known = GENRES.indexOf(genre);
    if (known >= 0) {
      return known;
    }
    // A genre this list lacks gets the next free id, in order of first appearance (deterministic).
    return extraGenres.computeIfAbsent(genre, g -> (long) (GENRES.size() + extraGenres.size()));
  }

  private static UserEvent event(
      String id, Rating rating, EventType type, long time, long requestId, Item item) {
    return UserEvent.newBuilder()
        .setEventId(id)
        .setUserId(rating.userId())
        .setType(type)
        .setEventTimeMs(time)
        .setRequestId(requestId)
        .setPosition(0)
        .setScene(Scenes.RATING)
        .setItem(item)
        .setProfile(null)
        .setOrderAmount(null)
        .setQuantity(null)
        .build();
  }
}
