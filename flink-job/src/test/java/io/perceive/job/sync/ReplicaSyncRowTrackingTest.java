package io.perceive.job.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Row-tracked sync against the full-scan reference: after random sparse updates, sends (on time and
 * late), published versions, a restore and a FULL, every delta a tracked learner sends is the full
 * diff of its replica against its last-sent state (same rows, values, times, byte for byte), and
 * its replica, sent state and published model equal the full-scan learner's bit for bit.
 */
class ReplicaSyncRowTrackingTest {

  static final String RUN = "run-rows";
  static final int LEARNERS = 2;

  static ParameterSet params() {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("tower/W", Init.normal(1), 4, 3)
        .table("emb/user", 300, 4, 0.1)
        .table("emb/item", 50, 2, 0.1)
        .build(7);
  }

  /** One learner's replica, optimizer and sync; both worlds build it from the same seed. */
  static final class Learner {
    final ParameterSet p = params();
    final Optimizer o = OptimizerConfig.adam(0.03).create();
    final Random rnd;
    ReplicaSync sync;
    long t;

    Learner(int subtask, boolean tracked) {
      o.initialise(p);
      rnd = new Random(100 + subtask);
      sync =
          tracked
              ? new ReplicaSync(RUN, subtask, LEARNERS, p)
              : ReplicaSync.fullScan(RUN, subtask, LEARNERS, p);
    }

    /** A step touching a few random rows per table (sometimes none, sometimes no event time). */
    void train() {
      Gradients g = p.newGradients();
      for (int i = 0; i < p.denseLength(); i++) g.flat().putScalar(i, rnd.nextGaussian());
      for (EmbeddingTable tb : p.tables().values()) {
        TreeSet<Integer> rows = new TreeSet<>();
        int n = rnd.nextInt(6);
        for (int i = 0; i < n; i++) rows.add(rnd.nextInt(tb.rows()));
        if (rows.isEmpty()) continue;
        int[] r = rows.stream().mapToInt(Integer::intValue).toArray();
        double[] v = new double[r.length * tb.dim()];
        for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
        g.accumulate(
            tb.name(),
            r,
            Nd4j.create(v, new long[] {r.length, tb.dim()}, 'c').castTo(DataType.FLOAT));
      }
      o.step(p, g, rnd.nextInt(4) == 0 ? Optimizer.NO_EVENT_TIME : ++t);
    }
  }

  /** A parameter server and its learners. */
  static final class World {
    final ParameterServer ps;
    final Learner[] learners = new Learner[LEARNERS];
    final List<LearnerDelta> late = new ArrayList<>();

    World(MergeMode mode, boolean tracked) {
      ps = new ParameterServer(Map.of(), params(), mode);
      for (int i = 0; i < LEARNERS; i++) learners[i] = new Learner(i, tracked);
    }

    void publish(ModelUpdate u) throws Exception {
      ModelUpdate back = ModelUpdate.decode(u.encode());
      for (Learner l : learners) l.sync.onUpdate(back, l.p);
    }
  }

  static double[] values(ParameterSet p) {
    List<Double> all = new ArrayList<>();
    for (double d : HostView.toDoubles(p.flat())) all.add(d);
    for (EmbeddingTable t : p.tables().values()) {
      for (double d : HostView.toDoubles(t.weights())) all.add(d);
      for (long s : t.lastUpdate()) all.add((double) s);
    }
    return all.stream().mapToDouble(Double::doubleValue).toArray();
  }

  static void assertSame(ParameterSet a, ParameterSet b, String what) {
    assertThat(values(a)).as(what).containsExactly(values(b));
  }

  @Test
  void trackedDeltasAreTheFullDiffAndReplicasEqualTheFullScanOnes() throws Exception {
    for (MergeMode mode : MergeMode.values()) {
      World tracked = new World(mode, true);
      World reference = new World(mode, false);
      Random ops = new Random(42);
      long incarnation = 1;
      long version = 1;
      tracked.publish(tracked.ps.full(RUN, incarnation, version, 0));
      reference.publish(reference.ps.full(RUN, incarnation, version, 0));
      int rowsSent = 0;
      int versions = 0;
      for (int step = 0; step < 120; step++) {
        int i = ops.nextInt(LEARNERS);
        Learner a = tracked.learners[i];
        Learner b = reference.learners[i];
        int op = ops.nextInt(8);
        String at = mode + " step " + step + " op " + op + " learner " + i;
        if (step == 60) {
          // a restore from a checkpoint, then the restarted lineage's FULL
          for (int k = 0; k < LEARNERS; k++) {
            byte[] sa = tracked.learners[k].sync.save();
            byte[] sb = reference.learners[k].sync.save();
            assertThat(sa).as(at + " saved").isEqualTo(sb);
            tracked.learners[k].sync = new ReplicaSync(RUN, k, LEARNERS, tracked.learners[k].p);
            tracked.learners[k].sync.restore(sa);
            reference.learners[k].sync =
                ReplicaSync.fullScan(RUN, k, LEARNERS, reference.learners[k].p);
            reference.learners[k].sync.restore(sb);
          }
          incarnation++;
          version++;
          tracked.publish(tracked.ps.full(RUN, incarnation, version, step));
          reference.publish(reference.ps.full(RUN, incarnation, version, step));
        } else if (op < 4) {
          a.train();
          b.train();
        } else if (op < 6) {
          ParameterDelta full =
              ParameterDelta.diff(
                  a.sync.sent(),
                  a.p,
                  a.sync.publishedVersion(),
                  ParameterDelta.DenseMode.DIFFERENCE);
          Optional<LearnerDelta> da = a.sync.takeDelta(a.p, Map.of(), false, 0, step);
          Optional<LearnerDelta> db = b.sync.takeDelta(b.p, Map.of(), false, 0, step);
          assertThat(da.isPresent()).as(at).isEqualTo(db.isPresent());
          if (da.isEmpty()) {
            assertThat(ReplicaSync.isEmpty(full)).as(at + " nothing changed").isTrue();
          } else {
            assertThat(da.get().delta()).as(at + " tracked = full diff").isEqualTo(full.encode());
            assertThat(da.get().encode()).as(at + " = full scan").isEqualTo(db.get().encode());
            rowsSent += full.changedRows();
            boolean deliverLate = op == 5;
            if (deliverLate) {
              tracked.late.add(da.get());
              reference.late.add(db.get());
            } else {
              tracked.ps.accept(da.get());
              reference.ps.accept(db.get());
            }
          }
          full.release();
        } else {
          version++;
          Optional<ModelUpdate> ua = tracked.ps.mergeGathered(RUN, incarnation, version, step);
          Optional<ModelUpdate> ub = reference.ps.mergeGathered(RUN, incarnation, version, step);
          assertThat(ua.isPresent()).isEqualTo(ub.isPresent());
          if (ua.isPresent()) {
            tracked.publish(ua.get());
            reference.publish(ub.get());
            versions++;
          } else version--;
          for (LearnerDelta d : tracked.late) tracked.ps.accept(d);
          for (LearnerDelta d : reference.late) reference.ps.accept(d);
          tracked.late.clear();
          reference.late.clear();
        }
        for (int k = 0; k < LEARNERS; k++) {
          Learner x = tracked.learners[k];
          Learner y = reference.learners[k];
          assertSame(x.p, y.p, at + ": replica " + k);
          assertSame(x.sync.sent(), y.sync.sent(), at + ": sent " + k);
          if (y.sync.published() != null)
            assertSame(x.sync.published(), y.sync.published(), at + ": published " + k);
        }
      }
      Learner own = tracked.learners[0];
      assertThatThrownBy(() -> own.sync.takeDelta(own.p.copy(), Map.of(), false, 0, 0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("follows the replica it was created for");
      assertThat(rowsSent).as("sparse rows were sent").isGreaterThan(50);
      assertThat(versions).as("versions were published").isGreaterThan(5);
    }
  }
}
