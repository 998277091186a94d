package io.perceive.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Parsed command-line arguments: positionals, {@code --name value} / {@code --name=value} options,
 * and {@code --flag}s (which the command declares, so a flag never swallows the next word).
 */
public final class Args {
  private final List<String> positionals = new ArrayList<>();
  private final Map<String, String> options = new LinkedHashMap<>();
  private final Set<String> flags = new LinkedHashSet<>();
  private final List<String> raw = new ArrayList<>();

  private Args() {}

  /**
   * Arguments kept as given, for a command that parses its own ({@link
   * Command#parsesOwnArguments}).
   */
  public static Args unparsed(String[] argv) {
    Args args = new Args();
    args.raw.addAll(List.of(argv));
    return args;
  }

  /** The arguments after the command name, exactly as given. */
  public List<String> raw() {
    return Collections.unmodifiableList(raw);
  }

  /** Parses {@code argv}; names in {@code flagNames} take no value. */
  public static Args parse(String[] argv, Set<String> flagNames) throws UsageException {
    Args args = new Args();
    args.raw.addAll(List.of(argv));
    for (int i = 0; i < argv.length; i++) {
      String word = argv[i];
      if (word.startsWith("--") && word.length() > 2) {
        String name = word.substring(2);
        int eq = name.indexOf('=');
        if (eq >= 0) {
          args.options.put(name.substring(0, eq), name.substring(eq + 1));
        } else if (flagNames.contains(name)) {
          args.flags.add(name);
        } else if (i + 1 < argv.length) {
          args.options.put(name, argv[++i]);
        } else {
          throw new UsageException("option --" + name + " needs a value");
        }
      } else if (word.equals("-h")) {
        args.flags.add("help");
      } else {
        args.positionals.add(word);
      }
    }
    return args;
  }

  public List<String> positionals() {
    return Collections.unmodifiableList(positionals);
  }

  /** The i-th positional, or a usage error naming {@code what}. */
  public String positional(int index, String what) throws UsageException {
    if (index >= positionals.size()) {
      throw new UsageException("missing " + what);
    }
    return positionals.get(index);
  }

  public boolean flag(String name) {
    return flags.contains(name);
  }

  public String option(String name, String defaultValue) {
    return options.getOrDefault(name, defaultValue);
  }

  public String requiredOption(String name) throws UsageException {
    String value = options.get(name);
    if (value == null) {
      throw new UsageException("missing option --" + name);
    }
    return value;
  }

  public Path pathOption(String name, Path defaultValue) {
    String value = options.get(name);
    return value == null ? defaultValue : Path.of(value);
  }

  /** A number option, checked against [min, max]. */
  public double doubleOption(String name, double defaultValue, double min, double max)
      throws UsageException {
    String value = options.get(name);
    if (value == null) {
      return defaultValue;
    }
    double parsed;
    try {
      parsed = Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be a number, got '" + value + "'");
    }
    if (!(parsed >= min && parsed <= max)) {
      throw new UsageException(
          "--" + name + " must be in [" + min + ", " + max + "], got " + value);
    }
    return parsed;
  }

  /** An integer option, checked against [min, max]. */
  public int intOption(String name, int defaultValue, int min, int max) throws UsageException {
    String value = options.get(name);
    if (value == null) {
      return defaultValue;
    }
    try {
      int parsed = Integer.parseInt(value);
      if (parsed < min || parsed > max) {
        throw new UsageException(
            "--" + name + " must be in [" + min + ", " + max + "], got " + value);
      }
      return parsed;
    } catch (NumberFormatException e) {
      throw new UsageException("--" + name + " must be an integer, got '" + value + "'");
    }
  }

  /** Options whose name matches {@code filter}, in command-line order. */
  public Map<String, String> optionsMatching(Predicate<String> filter) {
    Map<String, String> matching = new LinkedHashMap<>();
    options.forEach(
        (name, value) -> {
          if (filter.test(name)) {
            matching.put(name, value);
          }
        });
    return matching;
  }

  /**
   * Fails on any option or flag that is neither in {@code known} nor accepted by {@code alsoKnown}.
   */
  public void requireKnown(Set<String> known, Predicate<String> alsoKnown) throws UsageException {
    for (String name : options.keySet()) {
      if (!known.contains(name) && !alsoKnown.test(name)) {
        throw new UsageException("unknown option --" + name);
      }
    }
    for (String name : flags) {
      if (!known.contains(name) && !name.equals("help")) {
        throw new UsageException("unknown flag --" + name);
      }
    }
  }
}
