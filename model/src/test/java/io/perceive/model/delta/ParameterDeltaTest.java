package io.perceive.model.delta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta.DenseMode;
import io.perceive.model.delta.ParameterDelta.MergeMode;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.snapshot.MalformedDataException;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ParameterDeltaTest {

  static ParameterSet params(long seed) {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("tower/W", Init.normal(1), 5, 4)
        .dense("tower/b", Init.ZEROS, 4)
        .table("emb/item", 40, 3, 0.1)
        .table("emb/user", 10, 2, 0.1)
        .build(seed);
  }

  static int[] bits(INDArray a) {
    float[] f = a.dup('c').data().asFloat();
    int[] r = new int[f.length];
    for (int i = 0; i < f.length; i++) r[i] = Float.floatToRawIntBits(f[i]);
    return r;
  }

  static void assertBitIdentical(ParameterSet a, ParameterSet b) {
    assertThat(bits(a.flat())).containsExactly(bits(b.flat()));
    for (String t : a.tables().keySet()) {
      assertThat(bits(a.table(t).weights())).as(t).containsExactly(bits(b.table(t).weights()));
      assertThat(a.table(t).lastUpdate()).as(t).containsExactly(b.table(t).lastUpdate());
    }
  }

  /** Trains {@code p} a few Adam steps touching a few rows (a learner's sync interval). */
  static void train(ParameterSet p, long seed, int steps) {
    Optimizer o = OptimizerConfig.adam(0.05).create();
    o.initialise(p);
    Random rnd = new Random(seed);
    for (int s = 0; s < steps; s++) {
      Gradients g = p.newGradients();
      for (int i = 0; i < p.denseLength(); i++) g.flat().putScalar(i, rnd.nextGaussian());
      int[] rows = {rnd.nextInt(40), rnd.nextInt(40)};
      double[] v = new double[6];
      for (int i = 0; i < 6; i++) v[i] = rnd.nextGaussian();
      g.accumulate("emb/item", rows, Nd4j.create(v, new long[] {2, 3}, 'c').castTo(DataType.FLOAT));
      o.step(p, g, 1_000 * seed + s);
    }
  }

  @Test
  void applyingTheDiffReproducesTheTargetBitForBit() throws Exception {
    ParameterSet a = params(1);
    ParameterSet b = a.copy();
    train(b, 2, 7);
    // Hard cases for float arithmetic: crossing zero, huge relative change, from/to exactly zero.
    b.flat().putScalar(0, -a.flat().getFloat(0) * 0.999f);
    b.flat().putScalar(1, a.flat().getFloat(1) * 1e6f);
    b.flat().putScalar(2, 0f);
    b.flat().putScalar(21, 3.3e-7f); // tower/b starts at 0
    for (DenseMode mode : DenseMode.values()) {
      ParameterDelta d = ParameterDelta.diff(a, b, 5, mode);
      ParameterSet target = a.copy();
      d.applyTo(target);
      assertBitIdentical(target, b);
      ParameterSet viaWire = a.copy();
      ParameterDelta.decode(d.encode()).applyTo(viaWire);
      assertBitIdentical(viaWire, b);
    }
  }

  @Test
  void applyIsExactForUnrelatedRandomStatesOfSimilarScale() {
    ParameterSet a = params(3);
    ParameterSet b = params(4); // every value differs, many signs flip
    b.table("emb/user").lastUpdate()[3] = 77;
    ParameterSet target = a.copy();
    ParameterDelta.diff(a, b, 0, DenseMode.DIFFERENCE).applyTo(target);
    assertBitIdentical(target, b);
  }

  @Test
  void onlyChangedRowsTravel() {
    ParameterSet a = params(5);
    ParameterSet b = a.copy();
    b.table("emb/item").weights().putScalar(7, 1, 0.5);
    b.table("emb/item").weights().putScalar(30, 0, -0.5);
    b.table("emb/user").lastUpdate()[2] = 123; // a re-stamped row travels too
    ParameterDelta d = ParameterDelta.diff(a, b, 9, DenseMode.DIFFERENCE);
    assertThat(d.tables().get("emb/item").rows()).containsExactly(7, 30);
    assertThat(d.tables().get("emb/user").rows()).containsExactly(2);
    assertThat(d.changedRows()).isEqualTo(3);
    assertThat(d.baseVersion()).isEqualTo(9);
    assertThat(d.dense().sumNumber().doubleValue()).isZero();
  }

  private static boolean touches(ParameterDelta d, String table, int row) {
    for (int r : d.tables().get(table).rows()) if (r == row) return true;
    return false;
  }

  @Test
  void mergeSumsOrAveragesLearnerDeltas() {
    ParameterSet base = params(6);
    ParameterSet l1 = base.copy();
    ParameterSet l2 = base.copy();
    train(l1, 11, 3);
    train(l2, 12, 3);
    l1.table("emb/user").weights().putScalar(4, 0, 2.0); // touched by learner 1 only
    ParameterDelta d1 = ParameterDelta.diff(base, l1, 3, DenseMode.DIFFERENCE);
    ParameterDelta d2 = ParameterDelta.diff(base, l2, 4, DenseMode.DIFFERENCE);

    ParameterSet summed = base.copy();
    ParameterDelta sum = ParameterDelta.merge(List.of(d1, d2), MergeMode.SUM);
    sum.applyTo(summed);
    assertThat(sum.baseVersion()).isEqualTo(3);
    for (int i = 0; i < base.denseLength(); i++) {
      double expect = l1.flat().getDouble(i) + l2.flat().getDouble(i) - base.flat().getDouble(i);
      assertThat(summed.flat().getDouble(i)).isCloseTo(expect, within(1e-5));
    }
    ParameterSet averaged = base.copy();
    ParameterDelta.merge(List.of(d1, d2), MergeMode.AVERAGE).applyTo(averaged);
    for (int i = 0; i < base.denseLength(); i++) {
      double expect = (l1.flat().getDouble(i) + l2.flat().getDouble(i)) / 2;
      assertThat(averaged.flat().getDouble(i)).isCloseTo(expect, within(1e-5));
    }
    double u0 = base.table("emb/user").weights().getDouble(4, 0);
    assertThat(averaged.table("emb/user").weights().getDouble(4, 0))
        .isCloseTo((u0 + 2.0) / 2, within(1e-6));
    assertThat(summed.table("emb/user").weights().getDouble(4, 0)).isCloseTo(2.0, within(1e-6));
    // ROW_AVERAGE: dense averaged, a row touched by one learner only keeps its full change, a row
    // touched by both is averaged
    ParameterSet rowAveraged = base.copy();
    ParameterDelta.merge(List.of(d1, d2), MergeMode.ROW_AVERAGE).applyTo(rowAveraged);
    for (int i = 0; i < base.denseLength(); i++)
      assertThat(rowAveraged.flat().getDouble(i))
          .isCloseTo(averaged.flat().getDouble(i), within(1e-9));
    assertThat(rowAveraged.table("emb/user").weights().getDouble(4, 0))
        .isCloseTo(2.0, within(1e-6));
    for (String table : List.of("emb/user", "emb/item"))
      for (int r = 0; r < base.table(table).weights().rows(); r++)
        for (int j = 0; j < base.table(table).weights().columns(); j++) {
          double b0 = base.table(table).weights().getDouble(r, j);
          double c1 = l1.table(table).weights().getDouble(r, j) - b0;
          double c2 = l2.table(table).weights().getDouble(r, j) - b0;
          boolean t1 = touches(d1, table, r), t2 = touches(d2, table, r);
          double expect = b0 + (t1 && t2 ? (c1 + c2) / 2 : c1 + c2);
          assertThat(rowAveraged.table(table).weights().getDouble(r, j))
              .as("%s row %d", table, r)
              .isCloseTo(expect, within(1e-6));
        }
    // Row stamps: the newest of the learners'.
    for (int r = 0; r < 40; r++)
      assertThat(summed.table("emb/item").lastUpdate()[r])
          .isEqualTo(
              Math.max(l1.table("emb/item").lastUpdate()[r], l2.table("emb/item").lastUpdate()[r]));

    ParameterDelta w1 = ParameterDelta.diff(base, l1, 3, DenseMode.WHOLE);
    ParameterDelta w2 = ParameterDelta.diff(base, l2, 3, DenseMode.WHOLE);
    assertThatThrownBy(() -> ParameterDelta.merge(List.of(w1, w2), MergeMode.SUM))
        .hasMessageContaining("averaged");
    assertThatThrownBy(() -> ParameterDelta.merge(List.of(w1, d2), MergeMode.AVERAGE))
        .hasMessageContaining("dense modes");
    ParameterSet avgWhole = base.copy();
    ParameterDelta.merge(List.of(w1, w2), MergeMode.AVERAGE).applyTo(avgWhole);
    assertThat(avgWhole.flat().getDouble(3)).isCloseTo(averaged.flat().getDouble(3), within(1e-6));
  }

  @Test
  void aDeltaForAnotherLayoutIsRefused() {
    ParameterDelta d = ParameterDelta.diff(params(1), params(2), 0, DenseMode.DIFFERENCE);
    ParameterSet other =
        ParameterSet.builder(DataType.FLOAT).dense("tower/W", Init.ZEROS, 5, 4).build(0);
    assertThatThrownBy(() -> d.applyTo(other)).hasMessageContaining("layout");
  }

  @Test
  void decodeRefusesBadMagicUnknownVersionTruncationAndCorruption() {
    byte[] ok = ParameterDelta.diff(params(1), params(2), 0, DenseMode.DIFFERENCE).encode();
    byte[] magic = ok.clone();
    magic[0] = 'X';
    assertThatThrownBy(() -> ParameterDelta.decode(magic))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("magic");
    byte[] version = ok.clone();
    version[11] = 9;
    assertThatThrownBy(() -> ParameterDelta.decode(version)).hasMessageContaining("version 9");
    byte[] cut = java.util.Arrays.copyOf(ok, ok.length - 5);
    assertThatThrownBy(() -> ParameterDelta.decode(cut)).hasMessageContaining("checksum");
    byte[] flipped = ok.clone();
    flipped[ok.length / 2] ^= 1;
    assertThatThrownBy(() -> ParameterDelta.decode(flipped)).hasMessageContaining("checksum");
  }

  /** The rows of a table written since its last drain. */
  static java.util.BitSet written(ParameterSet p, String table) {
    java.util.BitSet b = new java.util.BitSet();
    p.table(table).drainWrittenInto(b);
    return b;
  }

  @Test
  void writersMarkTheRowsTheyWriteAndADiffOverThemIsTheFullDiff() throws Exception {
    ParameterSet a = params(3);
    assertThat(written(a, "emb/item").cardinality()).as("a new table is all new").isEqualTo(40);
    assertThat(written(a, "emb/item").isEmpty()).as("drained").isTrue();
    ParameterSet b = a.copy();
    written(b, "emb/item");
    written(b, "emb/user");
    train(b, 5, 4); // touches emb/item only
    java.util.BitSet touched = written(b, "emb/item");
    assertThat(touched.cardinality()).isBetween(1, 8);
    assertThat(written(b, "emb/user").isEmpty()).isTrue();

    ParameterDelta full = ParameterDelta.diff(a, b, 0, DenseMode.DIFFERENCE);
    ParameterDelta some =
        ParameterDelta.diff(
            a,
            b,
            0,
            DenseMode.DIFFERENCE,
            java.util.Map.of("emb/item", touched, "emb/user", new java.util.BitSet()));
    assertThat(some.encode()).isEqualTo(full.encode());
    assertThat(full.tables().get("emb/item").rows()).containsExactly(touched.stream().toArray());

    ParameterSet c = a.copy();
    written(c, "emb/item");
    full.applyTo(c);
    assertThat(written(c, "emb/item")).isEqualTo(touched);
    assertBitIdentical(c, b);
    new io.perceive.model.snapshot.Snapshot(0, 0, java.util.Map.of(), a, java.util.Optional.empty())
        .copyInto(c);
    assertThat(written(c, "emb/user").cardinality()).as("a bulk copy marks all").isEqualTo(10);
  }
}
