package io.perceive.cli;

import io.perceive.cli.demo.Demo;
import java.io.PrintStream;

/** {@code perceive demo}: the whole system on this machine (see {@link Demo}). */
public final class DemoCommand implements Command {

  @Override
  public String summary() {
    return "embedded Kafka + local Flink + a generated world: watch the model learn, get a report";
  }

  @Override
  public String usage() {
    return Demo.usage();
  }

  @Override
  public boolean parsesOwnArguments() {
    return true;
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) {
    NativeMemory.enablePointerGc(); // a learner runs long: free dropped ND4J memory
    return Demo.main(args.raw());
  }
}
