package io.perceive.job.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.snapshot.MalformedDataException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Learner replicas, the parameter server and rebasing without Flink: at one learner the synced
 * replica equals a single loop bit for bit; at two, after every published version each replica is
 * the published model plus exactly its own not-yet-contained changes.
 */
class ReplicaSyncTest {

  static final String RUN = "run-1";

  static ParameterSet params() {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("tower/W", Init.normal(1), 5, 4)
        .dense("tower/b", Init.ZEROS, 4)
        .table("emb/item", 40, 3, 0.1)
        .build(11);
  }

  /** A replica with its own optimizer, trained on a deterministic random gradient stream. */
  static final class Replica {
    final ParameterSet p = params();
    final Optimizer o = OptimizerConfig.adam(0.05).create();
    final Random rnd;
    long t;

    Replica(long seed) {
      o.initialise(p);
      rnd = new Random(seed);
    }

    void train(int steps) {
      for (int s = 0; s < steps; s++) {
        Gradients g = p.newGradients();
        for (int i = 0; i < p.denseLength(); i++) g.flat().putScalar(i, rnd.nextGaussian());
        int[] rows = {rnd.nextInt(20), 20 + rnd.nextInt(20)};
        double[] v = new double[6];
        for (int i = 0; i < 6; i++) v[i] = rnd.nextGaussian();
        g.accumulate(
            "emb/item", rows, Nd4j.create(v, new long[] {2, 3}, 'c').castTo(DataType.FLOAT));
        o.step(p, g, ++t);
      }
    }
  }

  static double[] values(ParameterSet p) {
    double[] d = HostView.toDoubles(p.flat());
    double[] e = HostView.toDoubles(p.table("emb/item").weights());
    double[] all = Arrays.copyOf(d, d.length + e.length);
    System.arraycopy(e, 0, all, d.length, e.length);
    return all;
  }

  static double maxAbsDiff(double[] a, double[] b) {
    double m = 0;
    for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  }

  static ModelUpdate roundTrip(ModelUpdate u) throws MalformedDataException {
    return ModelUpdate.decode(u.encode());
  }

  static LearnerDelta roundTrip(LearnerDelta d) throws MalformedDataException {
    return LearnerDelta.decode(d.encode());
  }

  @Test
  void atOneLearnerTheSyncedReplicaEqualsASingleLoopBitForBit() throws Exception {
    Replica synced = new Replica(5);
    Replica alone = new Replica(5);
    ParameterServer ps = new ParameterServer(Map.of(), params(), MergeMode.AVERAGE);
    ReplicaSync sync = new ReplicaSync(RUN, 0, 1, synced.p);
    assertThat(sync.onUpdate(roundTrip(ps.full(RUN, 1, 1, 0)), synced.p))
        .isEqualTo(ReplicaSync.Outcome.REBASED);
    for (int round = 0; round < 6; round++) {
      synced.train(3);
      alone.train(3);
      ps.accept(roundTrip(sync.takeDelta(synced.p, Map.of(), false, 0, round).orElseThrow()));
      synced.train(2); // trained after the send: unsent when the version comes back
      alone.train(2);
      ModelUpdate u = ps.mergeGathered(RUN, 1, ps.version() + 1, round).orElseThrow();
      assertThat(sync.onUpdate(roundTrip(u), synced.p)).isEqualTo(ReplicaSync.Outcome.REBASED);
      assertThat(values(synced.p)).containsExactly(values(alone.p));
      assertThat(synced.p.table("emb/item").lastUpdate())
          .containsExactly(alone.p.table("emb/item").lastUpdate());
    }
    assertThat(sync.publishedVersion()).isEqualTo(7);
  }

  @Test
  void atTwoLearnersEachReplicaIsThePublishedModelPlusItsOwnUncontainedChanges() throws Exception {
    for (MergeMode mode : MergeMode.values()) {
      Replica a = new Replica(1);
      Replica b = new Replica(2);
      ParameterServer ps = new ParameterServer(Map.of(), params(), mode);
      ReplicaSync sa = new ReplicaSync(RUN, 0, 2, a.p);
      ReplicaSync sb = new ReplicaSync(RUN, 1, 2, b.p);
      ModelUpdate full = roundTrip(ps.full(RUN, 1, 1, 0));
      sa.onUpdate(full, a.p);
      sb.onUpdate(full, b.p);
      long v = 1;
      double[] bAfterRebase = values(b.p);
      for (int round = 0; round < 5; round++) {
        a.train(2);
        b.train(3);
        ps.accept(roundTrip(sa.takeDelta(a.p, Map.of(), false, 0, round).orElseThrow()));
        // b's delta of this round reaches the server only after the version is cut
        LearnerDelta late = roundTrip(sb.takeDelta(b.p, Map.of(), false, 0, round).orElseThrow());
        double[] aSent = values(a.p);
        a.train(1); // unsent
        double[] aUnsent = minus(values(a.p), aSent);
        double[] bBefore = values(b.p);
        ModelUpdate u = roundTrip(ps.mergeGathered(RUN, 1, ++v, round).orElseThrow());
        assertThat(u.covered(0)).isEqualTo(round + 1);
        assertThat(u.covered(1)).isEqualTo(round); // the late one is not in it
        sa.onUpdate(u, a.p);
        sb.onUpdate(u, b.p);
        double[] pub = values(sa.published());
        // a: published + its unsent step
        assertThat(maxAbsDiff(minus(values(a.p), pub), aUnsent)).as(mode + " a").isLessThan(1e-6);
        // b: published + its late delta, which this version does not contain: the training since
        // its previous rebase
        double[] bOwn = minus(bBefore, bAfterRebase);
        assertThat(maxAbsDiff(minus(values(b.p), pub), bOwn)).as(mode + " b").isLessThan(1e-6);
        bAfterRebase = values(b.p);
        assertThat(sb.pendingDeltas()).isEqualTo(1);
        ps.accept(late);
      }
      // drain: both send everything, one last version, no training after it → both equal it
      ps.accept(roundTrip(sa.takeDelta(a.p, Map.of(), true, 0, 9).orElseThrow()));
      ps.accept(roundTrip(sb.takeDelta(b.p, Map.of(), true, 0, 9).orElseThrow()));
      assertThat(ps.allFinished()).isTrue();
      ModelUpdate last = roundTrip(ps.mergeGathered(RUN, 1, ++v, 9).orElseThrow());
      sa.onUpdate(last, a.p);
      sb.onUpdate(last, b.p);
      assertThat(sa.divergence(a.p)).as(mode.name()).isZero();
      assertThat(sb.divergence(b.p)).as(mode.name()).isZero();
      assertThat(values(a.p)).containsExactly(values(ps.global()));
      assertThat(sa.onUpdate(roundTrip(ps.end(RUN, 1, 10)), a.p))
          .isEqualTo(ReplicaSync.Outcome.END);
    }
  }

  private static double[] minus(double[] x, double[] y) {
    double[] r = new double[x.length];
    for (int i = 0; i < r.length; i++) r[i] = x[i] - y[i];
    return r;
  }

  @Test
  void aRestoredLearnerFollowsOnlyTheRestartedServersLineage() throws Exception {
    Replica a = new Replica(3);
    ParameterServer ps = new ParameterServer(Map.of(), params(), MergeMode.SUM);
    ReplicaSync s = new ReplicaSync(RUN, 0, 1, a.p);
    s.onUpdate(ps.full(RUN, 1, 1, 0), a.p);
    a.train(2);
    ps.accept(s.takeDelta(a.p, Map.of(), false, 0, 0).orElseThrow());
    byte[] checkpoint = s.save();
    byte[] serverCheckpoint = ps.save();
    ModelUpdate lost = ps.mergeGathered(RUN, 1, 2, 0).orElseThrow(); // after the checkpoint

    ReplicaSync restored = new ReplicaSync(RUN, 0, 1, a.p);
    restored.restore(checkpoint);
    assertThat(restored.sequence()).isEqualTo(1);
    assertThat(restored.pendingDeltas()).isEqualTo(1);
    assertThat(restored.onUpdate(lost, a.p)).isEqualTo(ReplicaSync.Outcome.IGNORED);
    ParameterServer ps2 = new ParameterServer(Map.of(), params(), MergeMode.SUM);
    ps2.restore(serverCheckpoint);
    assertThat(ps2.save()).isEqualTo(serverCheckpoint);
    ModelUpdate full = ps2.full(RUN, 3, 3, 0); // the restarted server: version 3, incarnation 3
    assertThat(restored.onUpdate(ps2.end(RUN, 1, 0), a.p)).isEqualTo(ReplicaSync.Outcome.IGNORED);
    assertThat(restored.onUpdate(full, a.p)).isEqualTo(ReplicaSync.Outcome.REBASED);
    assertThat(restored.publishedVersion()).isEqualTo(3);
    assertThat(restored.onUpdate(ps.full("another-run", 9, 9, 0), a.p))
        .isEqualTo(ReplicaSync.Outcome.IGNORED);
  }

  @Test
  void messagesRoundTripAndRefuseUnknownVersionsAndTruncation() throws Exception {
    LearnerDelta d =
        new LearnerDelta(1, 2, 7, 3, true, 99, Map.of("auc_click", 0.7), new byte[] {1, 2, 3});
    LearnerDelta back = LearnerDelta.decode(d.encode());
    assertThat(back.metrics()).isEqualTo(d.metrics());
    assertThat(back.delta()).containsExactly(1, 2, 3);
    assertThat(List.of(back.subtask(), back.parallelism())).containsExactly(1, 2);
    assertThat(back.seq()).isEqualTo(7);
    assertThat(back.last()).isTrue();
    ModelUpdate u =
        new ModelUpdate(
            RUN, 4, ModelUpdate.Kind.DELTA, 5, 4, 1, 2, Map.of(0, 3L, 1, 2L), new byte[] {9});
    ModelUpdate ub = ModelUpdate.decode(u.encode());
    assertThat(ub.coverage()).isEqualTo(u.coverage());
    assertThat(List.of(ub.runId(), ub.kind(), ub.version(), ub.baseVersion()))
        .containsExactly(RUN, ModelUpdate.Kind.DELTA, 5L, 4L);

    byte[] bad = u.encode();
    bad[ModelUpdate.MAGIC.length + 3] = 2; // format version 2
    assertThatThrownBy(() -> ModelUpdate.decode(bad))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("unsupported model update format version 2");
    byte[] cut = Arrays.copyOf(d.encode(), d.encode().length - 2);
    assertThatThrownBy(() -> LearnerDelta.decode(cut)).isInstanceOf(MalformedDataException.class);
    byte[] other = d.encode();
    other[ModelUpdate.MAGIC.length + 3] = 9;
    assertThatThrownBy(() -> LearnerDelta.decode(other))
        .hasMessageContaining("unsupported learner delta format version 9");
  }
}
