package io.perceive.model.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class HostViewTest {

  @Test
  void doublesRoundTripInBothPrecisions() {
    double[] v = {1.5, -2.25, 3.0, 0.125, -7.0, 1e-3};
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray a = HostView.fromDoubles(v, 2, 3, type);
      assertThat(a.dataType()).isEqualTo(type);
      assertThat(a.shape()).containsExactly(2, 3);
      assertThat(a.getDouble(1, 0)).isEqualTo(0.125);
      double[] back = HostView.toDoubles(a);
      for (int i = 0; i < v.length; i++)
        assertThat(back[i]).isCloseTo(v[i], org.assertj.core.data.Offset.offset(1e-6));
    }
  }

  /** FLOAT writes flush subnormal results to 0 (x86 slow path in BLAS); DOUBLE keeps them. */
  @Test
  void floatWritesFlushSubnormalsOnly() {
    double[] v = {1e-40, -3e-39, 2e-38, -1e-30, Float.MIN_NORMAL, 0.5, Double.NaN};
    double[] f = HostView.toDoubles(HostView.fromDoubles(v, 1, v.length, DataType.FLOAT));
    assertThat(f[0]).isZero();
    assertThat(f[1]).isZero();
    assertThat(f[2]).isEqualTo((double) (float) 2e-38);
    assertThat(f[3]).isEqualTo((double) (float) -1e-30);
    assertThat(f[4]).isEqualTo(Float.MIN_NORMAL);
    assertThat(f[5]).isEqualTo(0.5);
    assertThat(f[6]).isNaN();
    double[] d = HostView.toDoubles(HostView.fromDoubles(v, 1, v.length, DataType.DOUBLE));
    assertThat(d[0]).isEqualTo(1e-40);
    assertThat(d[1]).isEqualTo(-3e-39);
  }

  /** Java bias + ReLU pass and row-copy hstack give ND4J's values. */
  @Test
  void addRowVectorAndHstackMatchNd4j() {
    INDArray y = Nd4j.rand(DataType.FLOAT, 5, 3).subi(0.5);
    INDArray b = Nd4j.rand(DataType.FLOAT, 3).subi(0.5);
    INDArray ref = org.nd4j.linalg.ops.transforms.Transforms.relu(y.addRowVector(b), true);
    INDArray mine = y.dup();
    HostView.addRowVector(mine, b, true);
    assertThat(HostView.toDoubles(mine)).containsExactly(HostView.toDoubles(ref));
    INDArray a = Nd4j.rand(DataType.FLOAT, 5, 2);
    assertThat(HostView.toDoubles(HostView.hstack(DataType.FLOAT, a, y)))
        .containsExactly(HostView.toDoubles(Nd4j.hstack(a, y)));
    assertThatThrownBy(() -> HostView.addRowVector(mine, Nd4j.zeros(DataType.FLOAT, 4), false))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void toDoublesOfAStridedViewFollowsCOrder() {
    INDArray m = Nd4j.arange(12).castTo(DataType.FLOAT).reshape('c', 3, 4);
    INDArray cols = m.get(NDArrayIndex.all(), NDArrayIndex.interval(1, 3)); // [3, 2], strided
    assertThat(HostView.toDoubles(cols)).containsExactly(1, 2, 5, 6, 9, 10);
  }

  @Test
  void bulkReadAndWriteAtAnOffset() {
    INDArray a = Nd4j.zeros(DataType.FLOAT, 2, 4);
    HostView view = HostView.of(a);
    view.write(5, new double[] {9, 8, 7}, 0, 2);
    double[] got = new double[3];
    view.read(4, got, 0, 3);
    assertThat(got).containsExactly(0, 9, 8);
    assertThat(a.getDouble(1, 1)).isEqualTo(9.0);
  }

  @Test
  void wrongSizeIsRejected() {
    assertThatThrownBy(() -> HostView.fromDoubles(new double[5], 2, 3, DataType.FLOAT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("5 values");
  }
}
