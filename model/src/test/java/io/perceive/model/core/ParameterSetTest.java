package io.perceive.model.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ParameterSetTest {

  private static ParameterSet sample(long seed) {
    return ParameterSet.builder(DataType.FLOAT)
        .dense("a/W", Init.xavier(3, 4), 3, 4)
        .dense("a/b", Init.constant(0.5), 4)
        .table("item", 10, 2, 0.1)
        .build(seed);
  }

  @Test
  void viewsWriteThroughToTheFlatBuffer() {
    ParameterSet p = sample(1);
    assertThat(p.denseLength()).isEqualTo(16);
    p.get("a/b").putScalar(2, 7.0);
    assertThat(p.flat().getDouble(12 + 2)).isEqualTo(7.0);
    p.flat().putScalar(1, -3.0);
    assertThat(p.get("a/W").getDouble(0, 1)).isEqualTo(-3.0);
  }

  @Test
  void initialisationIsDeterministicBySeed() {
    assertThat(sample(7).flat()).isEqualTo(sample(7).flat());
    assertThat(sample(7).table("item").weights()).isEqualTo(sample(7).table("item").weights());
    assertThat(sample(7).flat()).isNotEqualTo(sample(8).flat());
  }

  @Test
  void copyIsDeepAndCastKeepsValues() {
    ParameterSet p = sample(3);
    ParameterSet c = p.copy();
    c.get("a/W").addi(1.0);
    assertThat(p.get("a/W").getDouble(0, 0)).isNotEqualTo(c.get("a/W").getDouble(0, 0));
    ParameterSet d = p.castTo(DataType.DOUBLE);
    assertThat(d.dataType()).isEqualTo(DataType.DOUBLE);
    assertThat(d.sameLayout(p)).isTrue();
    assertThat(d.get("a/W").getDouble(1, 2))
        .isEqualTo(p.get("a/W").getDouble(1, 2), org.assertj.core.data.Offset.offset(1e-7));
  }

  @Test
  void duplicateNamesAndUnknownNamesAreRefused() {
    assertThatThrownBy(
            () ->
                ParameterSet.builder(DataType.FLOAT)
                    .dense("x", Init.ZEROS, 1)
                    .dense("x", Init.ZEROS, 2))
        .hasMessageContaining("duplicate");
    assertThatThrownBy(() -> sample(1).get("nope")).hasMessageContaining("nope");
  }

  @Test
  void sparseGradientsSumRepeatedRowsAndListOnlyTouchedRows() {
    ParameterSet p = sample(1);
    Gradients g = p.newGradients();
    INDArray d = Nd4j.create(new float[][] {{1, 2}, {3, 4}, {10, 20}});
    g.accumulate("item", new int[] {5, 2, 5}, d);
    SparseRows s = g.sparse("item");
    assertThat(s.rows()).containsExactly(2, 5);
    assertThat(s.values().getDouble(0, 1)).isEqualTo(4.0);
    assertThat(s.values().getDouble(1, 0)).isEqualTo(11.0);
    assertThat(s.values().getDouble(1, 1)).isEqualTo(22.0);
    g.zero();
    assertThat(g.sparse("item").size()).isZero();
  }

  @Test
  void gatherReturnsTheTableRowsAndMissingIdsShareRowZero() {
    ParameterSet p = sample(2);
    EmbeddingTable t = p.table("item");
    assertThat(t.rowOf(-1)).isEqualTo(EmbeddingTable.MISSING_ROW);
    for (long id = 0; id < 100; id++) assertThat(t.rowOf(id)).isBetween(1, 9);
    INDArray g = t.gather(new int[] {3, 0, 3});
    assertThat(g.getRow(0)).isEqualTo(t.weights().getRow(3));
    assertThat(g.getRow(1)).isEqualTo(t.weights().getRow(0));
  }
}
