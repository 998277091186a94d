package io.perceive.cli;

import io.perceive.sandbox.movielens.MovieLensReplay;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.UserEvent;
import java.io.BufferedWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/** {@code ./perceive movielens}: converts the dslabs MovieLens ratings into JSON-lines events. */
public final class MovieLensCommand implements Command {
  @Override
  public String summary() {
    return "convert MovieLens (Debian r-cran-dslabs, via Rscript) into JSON-lines events";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "usage: ./perceive movielens [--out FILE]",
        "",
        "  --out FILE   JSON-lines output (default OUT/movielens/events.jsonl)",
        "",
        "Needs Rscript and the R package dslabs: " + MovieLensReplay.INSTALL_HINT + ".",
        "To send the replay to Kafka directly: ./perceive produce movielens --bootstrap HOST:PORT");
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    args.requireKnown(Set.of("out"), name -> false);
    Path file = args.pathOption("out", Path.of("OUT", "movielens", "events.jsonl"));
    List<MovieLensReplay.Rating> ratings = MovieLensReplay.load();
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    EventCodec codec = new EventCodec();
    long written = 0;
    try (BufferedWriter writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      Iterator<UserEvent> events = MovieLensReplay.events(ratings);
      while (events.hasNext()) {
        writer.write(codec.toJson(events.next()));
        writer.write('\n');
        written++;
      }
    }
    out.printf(
        "wrote %,d events from %,d MovieLens ratings to %s%n", written, ratings.size(), file);
    out.println(
        "(their event times start in 1995: produce them with --min-event-time 1995-01-01T00:00:00Z)");
    return 0;
  }
}
