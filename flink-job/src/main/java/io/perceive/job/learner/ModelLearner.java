package io.perceive.job.learner;

import io.perceive.job.domain.Behaviour;
import io.perceive.job.domain.Sample;
import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.Predictions;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.layers.LstmState;
import io.perceive.model.layers.StepInput;
import io.perceive.model.layers.TimeGapBuckets;
import io.perceive.model.layers.UserSequenceEncoder;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A learner subtask's model: a {@link MultiTaskModel} replica in FLOAT with its optimizer. Each
 * minibatch is scored (prequential) and trained on in one forward + backward; the LSTM state of a
 * user advances with the current weights when a behaviour leaves the window.
 */
public final class ModelLearner implements Learner {

  private final ModelConfig config;
  private final MultiTaskModel model;
  private final UserSequenceEncoder encoder;
  private final BatchBuilder batches;
  private final int timeGapBuckets;
  private final ParameterSet params;
  private final Optimizer optimizer;
  private long version;
  private double[][] gates;
  private PhaseTimes phases = PhaseTimes.disabled();

  public ModelLearner(ModelConfig config, OptimizerConfig optimizerConfig) {
    this.config = config;
    this.model = new MultiTaskModel(config);
    this.encoder = model.sequenceEncoder();
    this.timeGapBuckets = config.sequenceConfig().timeGapBuckets();
    this.batches = new BatchBuilder(config);
    this.params = model.initialise(DataType.FLOAT);
    this.optimizer = optimizerConfig.create();
    optimizer.initialise(params);
  }

  public ModelConfig config() {
    return config;
  }

  public MultiTaskModel model() {
    return model;
  }

  public ParameterSet parameters() {
    return params;
  }

  @Override
  public void timePhases(PhaseTimes phases) {
    this.phases = phases;
  }

  @Override
  public float[][] scoreThenTrain(List<Sample> batch) {
    long t0 = System.nanoTime();
    TrainingBatch b = batches.build(batch);
    phases.since(PhaseTimes.Phase.INPUT_ASSEMBLY, t0);
    MultiTaskModel.StepResult r = model.forwardBackward(params, b);
    phases.add(PhaseTimes.Phase.FORWARD, r.forwardNanos());
    phases.add(PhaseTimes.Phase.BACKWARD, r.backwardNanos());
    long t1 = System.nanoTime();
    long eventTime = Long.MIN_VALUE;
    for (Sample s : batch) eventTime = Math.max(eventTime, s.labelTimeMs());
    optimizer.step(params, r.gradients(), eventTime);
    model.enforceStructure(params);
    phases.since(PhaseTimes.Phase.OPTIMIZER, t1);
    gates = r.gateMeans();
    float[][] p = new float[batch.size()][3];
    for (int i = 0; i < p.length; i++) {
      p[i][0] = (float) r.predictions().click()[i];
      p[i][1] = (float) r.predictions().conversion()[i];
      p[i][2] = (float) r.predictions().order()[i];
    }
    return p;
  }

  /**
   * Scores samples with the current weights and their frozen inputs, without training: one batched
   * forward, the user side once per (user, request) group. Returns p(click), p(conversion),
   * p(order) per sample.
   */
  @Override
  public float[][] score(List<Sample> samples) {
    Predictions r = model.predict(params, batches.build(samples));
    float[][] p = new float[samples.size()][3];
    for (int i = 0; i < p.length; i++) {
      p[i][0] = (float) r.click()[i];
      p[i][1] = (float) r.conversion()[i];
      p[i][2] = (float) r.order()[i];
    }
    return p;
  }

  @Override
  public void advance(float[] h, float[] c, Behaviour leaving, long nowMs) {
    long t0 = System.nanoTime();
    StepInput step =
        new StepInput(
            new long[] {leaving.itemId()},
            new long[] {leaving.shopId()},
            new long[] {leaving.brandId()},
            new long[] {leaving.categoryId()},
            new int[] {leaving.behaviourType()},
            new int[] {leaving.scene()},
            new int[] {TimeGapBuckets.of(Math.max(0, nowMs - leaving.timeMs()), timeGapBuckets)});
    INDArray hh = Nd4j.create(h, new long[] {1, h.length}, 'c');
    INDArray cc = Nd4j.create(c, new long[] {1, c.length}, 'c');
    LstmState next = encoder.advance(params, hh, cc, step);
    float[] nh = next.h().castTo(DataType.FLOAT).dup('c').data().asFloat();
    float[] nc = next.c().castTo(DataType.FLOAT).dup('c').data().asFloat();
    System.arraycopy(nh, 0, h, 0, h.length);
    System.arraycopy(nc, 0, c, 0, c.length);
    phases.since(PhaseTimes.Phase.STATE_ADVANCE, t0);
  }

  @Override
  public long steps() {
    return optimizer.steps();
  }

  @Override
  public long version() {
    return version;
  }

  @Override
  public void setVersion(long v) {
    this.version = v;
  }

  @Override
  public Map<String, double[]> gateUtilisation() {
    Map<String, double[]> m = new LinkedHashMap<>();
    if (gates == null) return m;
    for (int t = 0; t < gates.length; t++) m.put(model.tasks().get(t), gates[t]);
    return m;
  }

  @Override
  public Snapshot snapshot(long modelVersion, boolean withOptimizer) {
    return new Snapshot(
        modelVersion,
        System.currentTimeMillis(),
        config.toProperties(),
        params,
        withOptimizer ? Optional.of(optimizer.exportState()) : Optional.empty());
  }

  @Override
  public byte[] saveState() {
    try {
      return SnapshotFile.toBytes(snapshot(version, true));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serialise the learner replica", e);
    }
  }

  @Override
  public void restoreState(byte[] state) {
    Snapshot s;
    try {
      s = SnapshotFile.fromBytes(state, "checkpointed learner replica");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot restore the learner replica", e);
    }
    if (!ModelConfig.fromProperties(s.modelConfig()).equals(config))
      throw new IllegalStateException(
          "the checkpointed replica was trained with a different model configuration;"
              + " restore with the same model.* settings");
    s.copyInto(params);
    s.optimizerState().ifPresent(optimizer::importState);
    version = s.modelVersion();
  }

  @Override
  public float[][] predict(List<Sample> samples) {
    // the training forward's input path (BatchBuilder → InputBuilder), user side once per group
    io.perceive.model.Predictions r = model.predict(params, batches.build(samples));
    float[][] p = new float[samples.size()][3];
    for (int i = 0; i < p.length; i++) {
      p[i][0] = (float) r.click()[i];
      p[i][1] = (float) r.conversion()[i];
      p[i][2] = (float) r.order()[i];
    }
    return p;
  }
}
