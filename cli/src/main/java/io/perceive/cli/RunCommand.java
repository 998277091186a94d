package io.perceive.cli;

import io.perceive.job.PerceiveRun;
import java.io.PrintStream;

/**
 * {@code perceive run}: the learner against an existing Kafka cluster, in a local Flink cluster
 * (the same main class a cluster runs from the job jar).
 */
public final class RunCommand implements Command {

  @Override
  public String summary() {
    return "run the learner against an existing Kafka cluster (settings: README, Key | Default)";
  }

  @Override
  public String usage() {
    return PerceiveRun.usage();
  }

  @Override
  public boolean parsesOwnArguments() {
    return true;
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    NativeMemory.enablePointerGc(); // a learner runs long: free dropped ND4J memory
    PerceiveRun.main(args.raw().toArray(new String[0]));
    return 0;
  }
}
