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
