package io.perceive.cli;

import java.io.PrintStream;

/**
 * One {@code ./perceive} subcommand. Implementations need a public no-argument constructor and are
 * registered by name in {@link Main#COMMANDS}.
 */
public interface Command {
  /** One line for {@code ./perceive --help}. */
  String summary();

  /** Full usage text for {@code ./perceive <name> --help} and usage errors. */
  String usage();

  /**
   * Runs the command and returns the process exit code (0 = success). Throw {@link UsageException}
   * for bad arguments (exit 2, usage printed); any other exception is reported as a failure (exit
   * 1) with its message.
   */
  int run(Args args, PrintStream out, PrintStream err) throws Exception;

  /**
   * True when the command parses its own arguments: {@link Args#raw()} then holds them untouched
   * and no option parsing happens (e.g. a command delegating to another parser).
   */
  default boolean parsesOwnArguments() {
    return false;
  }
}
