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

  @Override
  public void advance(float[] h, float[] c, Behaviour leaving, long nowMs) {
    h[0] += 1;
  }

  @Override
  public long steps() {
    return steps;
  }

  @Override
  public long version() {
    return 7;
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
