package io.perceive.cli;

import io.perceive.sandbox.world.WorldConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Reads a {@link WorldConfig} from {@code --world FILE} plus {@code --<key> value} overrides. */
final class WorldOptions {
  private WorldOptions() {}

  static WorldConfig from(Args args) throws UsageException, IOException {
    Path file = args.pathOption("world", null);
    Map<String, String> overrides = args.optionsMatching(WorldConfig::isKey);
    try {
      return WorldConfig.load(file, overrides);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    } catch (java.nio.file.NoSuchFileException e) {
      throw new UsageException("world file not found: " + file);
    }
  }

  static String usage() {
    return "World keys (--world FILE holds them as properties; --<key> VALUE on the command line wins):\n\n"
        + WorldConfig.markdownTable();
  }
}
