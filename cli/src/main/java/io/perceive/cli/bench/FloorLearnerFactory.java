package io.perceive.cli.bench;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.Sample;
import io.perceive.job.learner.Learner;
import io.perceive.job.learner.LearnerFactory;
import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.snapshot.Snapshot;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The benchmark's no-learning floor: a {@link Learner} that does no math, so a job built with it
 * runs the same source, validation, dedupe, keyed RocksDB state, label joining, minibatch gathering
 * and parameter-sync messages as the learning job, without the model. It holds the model's
 * parameter layout (never changed) only because the parameter server merges deltas of that layout
 * and ends a bounded run when every learner has sent its final one.
 */
public final class FloorLearnerFactory implements LearnerFactory {

  private static final long serialVersionUID = 1L;

  private final LinkedHashMap<String, String> model;

  public FloorLearnerFactory(Map<String, String> model) {
    this.model = new LinkedHashMap<>(model);
    ModelConfig.fromProperties(model); // validate on the client
  }

  @Override
  public Learner create(int subtaskIndex, int parallelism) {
    return new FloorLearner(ModelConfig.fromProperties(model));
  }

  /** Constant scores, no training, no LSTM steps; the replica stays the initial model. */
  static final class FloorLearner implements Learner {
    private static final float[] CONSTANT = {0.5f, 0.5f, 0.25f};

    private final ModelConfig config;
    private final ParameterSet params;
    private long version;
    private long steps;

    FloorLearner(ModelConfig config) {
      this.config = config;
      this.params = new MultiTaskModel(config).initialise(DataType.FLOAT);
    }

    @Override
    public float[][] scoreThenTrain(List<Sample> batch) {
      steps++;
      return constant(batch.size());
    }

    @Override
    public float[][] score(List<Sample> samples) {
      return constant(samples.size());
    }

    @Override
    public float[][] predict(List<Sample> samples) {
      return constant(samples.size());
    }

    private static float[][] constant(int n) {
      float[][] p = new float[n][];
      for (int i = 0; i < n; i++) p[i] = CONSTANT.clone();
      return p;
    }

    @Override
    public void advance(float[] h, float[] c, Behaviour leaving, long nowMs) {
      // no model: the user's (h, c) stay as they are
    }

    @Override
    public long steps() {
      return steps;
    }

    @Override
    public long version() {
      return version;
    }

    @Override
    public void setVersion(long version) {
      this.version = version;
    }

    @Override
    public Snapshot snapshot(long modelVersion, boolean withOptimizer) {
      return new Snapshot(
          modelVersion,
          System.currentTimeMillis(),
          config.toProperties(),
          params,
          Optional.empty());
    }

    @Override
    public Map<String, double[]> gateUtilisation() {
      return Map.of();
    }

    /** Only the version and step count: the parameters never change. */
    @Override
    public byte[] saveState() {
      return ByteBuffer.allocate(16).putLong(version).putLong(steps).array();
    }

    @Override
    public void restoreState(byte[] state) {
      if (state.length != 16)
        throw new IllegalStateException(
            "not a floor learner's checkpointed state (" + state.length + " bytes, expected 16)");
      ByteBuffer b = ByteBuffer.wrap(state);
      version = b.getLong();
      steps = b.getLong();
    }

    @Override
    public ParameterSet parameters() {
      return params;
    }
  }
}
