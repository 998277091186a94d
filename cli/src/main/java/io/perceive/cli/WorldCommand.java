package io.perceive.cli;

import io.perceive.sandbox.world.TruthFile;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.UserEvent;
import java.io.BufferedWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/** {@code ./perceive world}: writes a world's events as JSON lines plus its truth file. */
public final class WorldCommand implements Command {
  @Override
  public String summary() {
    return "generate a synthetic world: events as JSON lines + its truth (true probabilities) file";
  }

  @Override
  public String usage() {
    return "usage: ./perceive world [--out DIR] [--world FILE] [--<world key> VALUE ...]\n\n"
        + "Writes DIR/events.jsonl, DIR/truth.avro and DIR/world.properties (default DIR: OUT/world).\n\n"
        + WorldOptions.usage();
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    args.requireKnown(Set.of("out", "world"), WorldConfig::isKey);
    WorldConfig config = WorldOptions.from(args);
    Path dir = args.pathOption("out", Path.of("OUT", "world"));
    Files.createDirectories(dir);
    Path events = dir.resolve("events.jsonl");
    Path truth = dir.resolve("truth.avro");
    EventCodec codec = new EventCodec();
    ProgressBar progress = new ProgressBar(err, config.events);
    long started = System.nanoTime();
    long written = 0;
    try (TruthFile.Writer truthWriter = TruthFile.create(truth);
        BufferedWriter writer = Files.newBufferedWriter(events, StandardCharsets.UTF_8)) {
      World.Stream stream = new World(config).events(truthWriter);
      while (stream.hasNext()) {
        UserEvent event = stream.next();
        writer.write(codec.toJson(event));
        writer.write('\n');
        written++;
        if (written % 20_000 == 0 || !stream.hasNext()) {
          progress.update(written, written / Math.max(1e-9, (System.nanoTime() - started) / 1e9));
        }
      }
      progress.finish();
      writeProperties(dir.resolve("world.properties"), config.values());
      out.printf(
          "wrote %,d events to %s and %,d truth records to %s (%,d duplicates, %,d late)%n",
          written, events, truthWriter.count(), truth, stream.duplicates(), stream.late());
    }
    return 0;
  }

  private static void writeProperties(Path file, Map<String, String> values)
      throws java.io.IOException {
    Properties props = new Properties();
    props.putAll(values);
    try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      props.store(writer, "effective world configuration");
    }
  }
}
