package io.perceive.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Entry point of {@code ./perceive}: dispatches to the subcommand named by the first argument.
 *
 * <p>To add a subcommand, implement {@link Command} and add one line to {@link #COMMANDS}. A
 * command with its own parser returns true from {@link Command#parsesOwnArguments()} and reads
 * {@link Args#raw()}, e.g. {@code return Demo.main(args.raw());}.
 */
public final class Main {
  /** Subcommand name → implementation, in the order {@code --help} lists them. */
  static final Map<String, Class<? extends Command>> COMMANDS = new LinkedHashMap<>();

  static {
    COMMANDS.put("demo", DemoCommand.class);
    COMMANDS.put("run", RunCommand.class);
    COMMANDS.put("broker", BrokerCommand.class);
    COMMANDS.put("world", WorldCommand.class);
    COMMANDS.put("produce", ProduceCommand.class);
    COMMANDS.put("movielens", MovieLensCommand.class);
    COMMANDS.put("serve", ServeCommand.class);
    COMMANDS.put("quality", io.perceive.cli.quality.QualityCommand.class);
    COMMANDS.put("linear-reference", LinearReferenceCommand.class);
    COMMANDS.put("bench-e2e", io.perceive.cli.bench.BenchE2eCommand.class);
  }

  private Main() {}

  public static void main(String[] argv) {
    int status = run(argv, System.out, System.err);
    System.out.flush();
    System.exit(status);
  }

  /** Runs a command line and returns its exit code (tests call this instead of {@link #main}). */
  public static int run(String[] argv, PrintStream out, PrintStream err) {
    if (argv.length == 0
        || argv[0].equals("--help")
        || argv[0].equals("-h")
        || argv[0].equals("help")) {
      printUsage(argv.length == 0 ? err : out);
      return argv.length == 0 ? 2 : 0;
    }
    Class<? extends Command> type = COMMANDS.get(argv[0]);
    if (type == null) {
      err.println("perceive: unknown command '" + argv[0] + "'");
      printUsage(err);
      return 2;
    }
    Command command;
    try {
      command = type.getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      err.println("perceive: cannot create command " + type.getName() + ": " + e);
      return 1;
    }
    String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
    try {
      if (!command.parsesOwnArguments()
          && (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h"))) {
        out.println(command.usage());
        return 0;
      }
      return command.run(argsFor(command, rest), out, err);
    } catch (UsageException e) {
      err.println("perceive " + argv[0] + ": " + e.getMessage());
      err.println();
      err.println(command.usage());
      return 2;
    } catch (Exception e) {
      err.println("perceive " + argv[0] + ": " + e.getMessage());
      if (Boolean.getBoolean("perceive.debug")) {
        e.printStackTrace(err);
      }
      return 1;
    }
  }

  private static Args argsFor(Command command, String[] rest) throws UsageException {
    if (command.parsesOwnArguments()) {
      return Args.unparsed(rest);
    }
    Set<String> flags = command instanceof FlagDeclaring declaring ? declaring.flags() : Set.of();
    return Args.parse(rest, flags);
  }

  /** Implemented by commands that take {@code --flag}s without values. */
  public interface FlagDeclaring {
    Set<String> flags();
  }

  static void printUsage(PrintStream out) {
    out.println(
        "usage: ./perceive <command> [options]     (./perceive <command> --help for its options)");
    out.println();
    out.println("commands:");
    for (Map.Entry<String, Class<? extends Command>> entry : COMMANDS.entrySet()) {
      String summary;
      try {
        summary = entry.getValue().getDeclaredConstructor().newInstance().summary();
      } catch (ReflectiveOperationException e) {
        summary = "(unavailable: " + e + ")";
      }
      out.printf("  %-10s %s%n", entry.getKey(), summary);
    }
  }
}
