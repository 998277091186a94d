package io.perceive.job.sync;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Native memory of parameter sync: a full sync cycle (both learners send, the server merges and
 * publishes, both learners rebase; a FULL every few versions) must not leave native buffers of the
 * model's size behind. Why: the test JVMs and the launcher run JavaCPP with {@code
 * nopointergc=true}, where a dropped ND4J array is never freed, and a learner syncing every few
 * minibatches goes through thousands of cycles (a dense-sized temporary per diff or apply grew a
 * P=2 job to 24 GB in a minute). Measured on the resident set (JavaCPP's own counter does not track
 * buffers under {@code nopointergc}), not the clock.
 */
class SyncNativeMemoryTest {

  static final String RUN = "run-native";
  static final int DENSE = 1_000_000; // 8 MB per DOUBLE copy: a leak of one per cycle stands out

  static ParameterSet params() {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("tower/W", Init.normal(1), DENSE / 1000, 1000)
        .table("emb/item", 5_000, 8, 0.1)
        .build(11);
  }

  /** Moves the dense part and a few rows, as an optimizer step would (without its own buffers). */
  static void touch(ParameterSet p, Random r) {
    HostView flat = HostView.of(p.flat());
    for (int i = 0; i < 50; i++) {
      int at = r.nextInt(DENSE);
      flat.set(at, flat.get(at) + 0.01 * r.nextGaussian());
    }
    EmbeddingTable t = p.table("emb/item");
    HostView w = HostView.of(t.weights());
    for (int i = 0; i < 20; i++) {
      int row = r.nextInt(t.rows());
      for (int j = 0; j < t.dim(); j++)
        w.set(row * t.dim() + j, w.get(row * t.dim() + j) + 0.01 * r.nextGaussian());
      t.lastUpdate()[row] = Math.max(t.lastUpdate()[row], 1 + i);
      t.markWritten(row);
    }
  }

  /**
   * The process's resident set. Why not a byte counter: neither JavaCPP's (it tracks nothing under
   * {@code nopointergc}) nor ND4J's allocation tracker (it does not see host buffers) counts them.
   * A buffer that is freed goes back to malloc and is reused, so only what is kept makes this grow.
   */
  static long liveBytes() {
    java.lang.management.MemoryMXBean m = java.lang.management.ManagementFactory.getMemoryMXBean();
    return Pointer.physicalBytes()
        - m.getHeapMemoryUsage().getCommitted()
        - m.getNonHeapMemoryUsage().getCommitted();
  }

  @Test
  void aSyncCycleLeavesNoModelSizedNativeBuffersBehind() throws Exception {
    for (MergeMode mode : MergeMode.values()) {
      ParameterServer ps = new ParameterServer(Map.of(), params(), mode);
      ParameterSet[] replicas = {params(), params()};
      ReplicaSync[] syncs = {
        new ReplicaSync(RUN, 0, 2, replicas[0]), new ReplicaSync(RUN, 1, 2, replicas[1])
      };
      Random r = new Random(5);
      long[] version = {1};
      Runnable cycle =
          () -> {
            try {
              for (int k = 0; k < 2; k++) {
                touch(replicas[k], r);
                Optional<LearnerDelta> d =
                    syncs[k].takeDelta(replicas[k], Map.of("auc_click", 0.6), false, 0, 0);
                if (d.isPresent()) ps.accept(LearnerDelta.decode(d.get().encode()));
              }
              version[0]++;
              ModelUpdate u = ps.mergeGathered(RUN, 1, version[0], 0).orElseThrow();
              for (int k = 0; k < 2; k++) {
                ModelUpdate back = ModelUpdate.decode(u.encode());
                assertThat(syncs[k].onUpdate(back, replicas[k]))
                    .isEqualTo(ReplicaSync.Outcome.REBASED);
              }
              if (version[0] % 5 == 0) {
                version[0]++;
                ModelUpdate full = ps.full(RUN, 1, version[0], 0);
                for (int k = 0; k < 2; k++)
                  syncs[k].onUpdate(ModelUpdate.decode(full.encode()), replicas[k]);
              }
            } catch (Exception e) {
              throw new AssertionError(e);
            }
          };
      ModelUpdate first = ps.full(RUN, 1, 1, 0);
      for (int k = 0; k < 2; k++)
        syncs[k].onUpdate(ModelUpdate.decode(first.encode()), replicas[k]);
      for (int i = 0; i < 10; i++) cycle.run(); // warm-up: lazily created buffers
      System.gc();
      long before = liveBytes();
      int cycles = 40;
      for (int i = 0; i < cycles; i++) cycle.run();
      System.gc();
      long perCycle = (liveBytes() - before) / cycles;
      System.out.printf("%s: %d resident bytes added per sync cycle%n", mode, perCycle);
      // A dense DOUBLE temporary is DENSE * 8 bytes; before they were freed, a cycle kept ~10 of
      // them (83 MB). The resident set is noisy (heap pages, malloc's free lists: -4..+3 MB per
      // cycle measured here), so this catches a dense-sized temporary per cycle, not a few KB.
      assertThat(perCycle)
          .as(mode + ": resident bytes added per sync cycle (dense DOUBLE copy = %d)", DENSE * 8)
          .isLessThan(DENSE * 8L);
      // the learners still agree with the server: the cycle did its job
      for (int k = 0; k < 2; k++) assertThat(syncs[k].publishedVersion()).isEqualTo(ps.version());
    }
  }
}
