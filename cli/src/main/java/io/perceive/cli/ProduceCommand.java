package io.perceive.cli;

import io.perceive.sandbox.EventProducer;
import io.perceive.sandbox.JsonLinesSource;
import io.perceive.sandbox.movielens.MovieLensReplay;
import io.perceive.sandbox.world.TruthFile;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventValidator;
import io.perceive.schemas.Topics;
import io.perceive.schemas.TruthRecord;
import io.perceive.schemas.UserEvent;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@code ./perceive produce}: sends a world, a JSON-lines file or the MovieLens replay to Kafka.
 */
public final class ProduceCommand implements Command {
  private static final Set<String> COMMON =
      Set.of("bootstrap", "topic", "rate", "connect-timeout", "min-event-time", "max-event-time");

  @Override
  public String summary() {
    return "send events to Kafka from a synthetic world, a JSON-lines file or the MovieLens replay";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "usage: ./perceive produce world     [--world FILE] [--<world key> VALUE ...] [--truth FILE] [common]",
        "       ./perceive produce jsonl     --file FILE [common]",
        "       ./perceive produce movielens [common]",
        "",
        "common options:",
        "  --bootstrap HOST:PORT   Kafka bootstrap servers (default 127.0.0.1:9092)",
        "  --topic NAME            topic (default " + Topics.EVENTS + ")",
        "  --rate N                at most N events/s (default 0 = as fast as possible)",
        "  --connect-timeout S     give up when the broker does not answer within S seconds (default 10)",
        "  --min-event-time T      reject events before instant T (default "
            + EventValidator.DEFAULT_MIN_EVENT_TIME
            + "; movielens: "
            + EventValidator.MOVIELENS_MIN_EVENT_TIME
            + ")",
        "  --max-event-time T      reject events at or after instant T (default "
            + EventValidator.DEFAULT_MAX_EVENT_TIME
            + ")",
        "",
        "world: --truth FILE writes the true probabilities of every impression (Avro) while producing.",
        "jsonl: one event per line in its JSON form; the whole file is checked first, an invalid line",
        "       is reported with its number and nothing is sent.",
        "movielens: converted at run time from Debian r-cran-dslabs ("
            + MovieLensReplay.INSTALL_HINT
            + ").",
        "",
        "Records are Avro single-object bytes, key = user id (decimal). Exit 1 when the broker is",
        "unreachable or a record is invalid, 2 on bad arguments.",
        "",
        WorldOptions.usage());
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    String source = args.positional(0, "source: world, jsonl or movielens");
    String bootstrap = args.option("bootstrap", "127.0.0.1:9092");
    String topic = args.option("topic", Topics.EVENTS);
    double rate = args.doubleOption("rate", 0, 0, 1e9);
    int timeoutSeconds = args.intOption("connect-timeout", 10, 1, 3600);
    Instant defaultMin =
        source.equals("movielens")
            ? EventValidator.MOVIELENS_MIN_EVENT_TIME
            : EventValidator.DEFAULT_MIN_EVENT_TIME;
    EventValidator validator;
    try {
      validator =
          new EventValidator(
              instant(args, "min-event-time", defaultMin),
              instant(args, "max-event-time", EventValidator.DEFAULT_MAX_EVENT_TIME));
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }

    Iterator<UserEvent> events;
    long total;
    TruthFile.Writer truthWriter = null;
    switch (source) {
      case "world":
        {
          args.requireKnown(union(COMMON, Set.of("world", "truth")), WorldConfig::isKey);
          WorldConfig config = WorldOptions.from(args);
          Path truthPath = args.pathOption("truth", null);
          Consumer<TruthRecord> truthSink = record -> {};
          if (truthPath != null) {
            truthWriter = TruthFile.create(truthPath);
            truthSink = truthWriter;
          }
          events = new World(config).events(truthSink);
          total = config.events;
          break;
        }
      case "jsonl":
        {
          args.requireKnown(union(COMMON, Set.of("file")), name -> false);
          Path file =
              args.positionals().size() > 1
                  ? Path.of(args.positionals().get(1))
                  : Path.of(args.requiredOption("file"));
          if (!Files.isReadable(file)) {
            throw new UsageException("cannot read " + file);
          }
          EventCodec codec = new EventCodec(validator);
          try {
            total = JsonLinesSource.check(file, codec);
          } catch (JsonLinesSource.InvalidLineException e) {
            err.println("perceive produce: invalid record at " + e.getMessage());
            err.println("nothing was sent");
            return 1;
          }
          events = new JsonLinesSource(file, codec);
          break;
        }
      case "movielens":
        {
          args.requireKnown(COMMON, name -> false);
          err.println("converting MovieLens with Rscript ...");
          List<MovieLensReplay.Rating> ratings = MovieLensReplay.load();
          events = MovieLensReplay.events(ratings);
          total = -1;
          break;
        }
      default:
        throw new UsageException("unknown source '" + source + "': use world, jsonl or movielens");
    }

    try (EventProducer producer =
        new EventProducer(bootstrap, topic, rate, Duration.ofSeconds(timeoutSeconds), validator)) {
      ProgressBar progress = new ProgressBar(err, total);
      long sent = producer.send(events, progress::update);
      progress.finish();
      out.printf("sent %,d events to topic %s on %s%n", sent, topic, bootstrap);
    } catch (EventProducer.InvalidEventException e) {
      err.println();
      err.println(
          "perceive produce: " + e.getMessage() + "; " + e.index() + " events before it were sent");
      return 1;
    } catch (EventProducer.UnreachableException e) {
      err.println("perceive produce: " + e.getMessage());
      return 1;
    } finally {
      if (truthWriter != null) {
        truthWriter.close();
        out.printf(
            "wrote %,d truth records to %s%n", truthWriter.count(), args.option("truth", ""));
      }
    }
    return 0;
  }

  private static Instant instant(Args args, String name, Instant defaultValue)
      throws UsageException {
    String text = args.option(name, null);
    if (text == null) {
      return defaultValue;
    }
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw new UsageException(
          "--"
              + name
              + " must be an ISO-8601 instant like 1995-01-01T00:00:00Z, got '"
              + text
              + "'");
    }
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    java.util.Set<String> all = new java.util.HashSet<>(a);
    all.addAll(b);
    return all;
  }
}
