package io.perceive.job.learner;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.Sample;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

/**
 * A learner for operator tests of label joining and state handling: it scores every sample with a
 * value derived from its frozen inputs (so a test can see which inputs were used), counts steps,
 * and persists that count. The model math has its own tests in the model module.
 */
final class RecordingLearner implements Learner {
  long steps;

  @Override
  public float[][] scoreThenTrain(List<Sample> batch) {
    float[][] p = new float[batch.size()][];
    for (int i = 0; i < batch.size(); i++) {
      float w = batch.get(i).context().window().size();
      p[i] = new float[] {w / 100f, 0.5f, 0.25f};
    }
    steps++;
    return p;
  }

  /**
   * The click score a training step would report; p(order) = steps so far / 1000, so a test sees
   * when the score was taken (a training step always reports 0.25).
   */
  @Override
  public float[][] score(List<Sample> samples) {
    float[][] p = new float[samples.size()][];
    for (int i = 0; i < samples.size(); i++) {
      float w = samples.get(i).context().window().size();
      p[i] = new float[] {w / 100f, 0.5f, steps / 1000f};
    }
    scored += samples.size();
    return p;
  }

  /** Samples scored at impression time so far. */
  public long scored;

  @Override
  public void advance(float[] h, float[] c, Behaviour leaving, long nowMs) {
    h[0] += 1;
  }

  @Override
  public long steps() {
    return steps;
  }

  long version = 7;

  @Override
  public long version() {
    return version;
  }

  @Override
  public void setVersion(long v) {
    version = v;
  }

  @Override
  public io.perceive.model.snapshot.Snapshot snapshot(long v, boolean withOptimizer) {
    io.perceive.model.core.ParameterSet p =
        io.perceive.model.core.ParameterSet.builder(org.nd4j.linalg.api.buffer.DataType.FLOAT)
            .dense("steps", io.perceive.model.core.Init.constant(steps), 1)
            .build(1);
    return new io.perceive.model.snapshot.Snapshot(
        v, 0L, java.util.Map.of(), p, java.util.Optional.empty());
  }

  @Override
  public Map<String, double[]> gateUtilisation() {
    return Map.of();
  }

  @Override
  public byte[] saveState() {
    return ByteBuffer.allocate(8).putLong(steps).array();
  }

  @Override
  public void restoreState(byte[] state) {
    steps = ByteBuffer.wrap(state).getLong();
  }
}
