package io.perceive.bench;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Thread-CPU milliseconds per {@code forwardBackward} of one default-config minibatch (256 groups,
 * one sample each, FLOAT) at a given bptt: median and minimum over the repetitions after 5 warm-up
 * calls. A steadier per-minibatch figure than {@link ModelBenchmark}'s mean of a few calls after 2
 * warm-ups (docs/model-performance.md, session 4). Arguments: {@code [bpttSteps=32] [reps=30]}.
 */
public final class TrainingLoop {

  private TrainingLoop() {}

  public static void main(String[] args) {
    int bptt = args.length > 0 ? Integer.parseInt(args[0]) : 32;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    ModelConfig cfg = ModelConfig.defaults().toBuilder().set(ModelConfig.BPTT_STEPS, bptt).build();
    MultiTaskModel m = new MultiTaskModel(cfg);
    ParameterSet p = m.initialise(DataType.FLOAT);
    TrainingBatch b = ModelBenchmark.batch(cfg, 256, 256, 40);
    for (int i = 0; i < 5; i++) m.forwardBackward(p, b);
    double[] ms = new double[reps];
    for (int i = 0; i < reps; i++) {
      long c0 = SequenceBenchmark.cpuNanos();
      m.forwardBackward(p, b);
      ms[i] = (SequenceBenchmark.cpuNanos() - c0) / 1e6;
    }
    Arrays.sort(ms);
    System.out.printf(
        "bptt %d: median %.1f ms, min %.1f ms per minibatch (%d reps)%n",
        bptt, ms[reps / 2], ms[0], reps);
  }
}
