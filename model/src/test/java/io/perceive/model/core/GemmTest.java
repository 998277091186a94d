package io.perceive.model.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

class GemmTest {

  @Test
  void equalsNd4jGemmOnViewsWithOffsetsAndTransposes() {
    for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      Nd4j.getRandom().setSeed(7);
      INDArray big = Nd4j.rand(type, 40, 50);
      // a [6, 9] block with an offset and row stride 50; b [9, 5]; both transposed variants too
      INDArray a = big.get(NDArrayIndex.interval(3, 9), NDArrayIndex.interval(11, 20));
      INDArray b = Nd4j.rand(type, 20, 5).get(NDArrayIndex.interval(4, 13), NDArrayIndex.all());
      INDArray at = Nd4j.rand(type, 9, 6), bt = Nd4j.rand(type, 5, 9);
      for (boolean ta : new boolean[] {false, true})
        for (boolean tb : new boolean[] {false, true}) {
          INDArray x = ta ? at : a, y = tb ? bt : b;
          INDArray c = Nd4j.rand(type, 6, 5), ref = c.dup();
          Gemm.gemm(x, y, c, ta, tb, 0.5, 2.0);
          Nd4j.gemm(x, y, ref, ta, tb, 0.5, 2.0);
          assertThat(c.sub(ref).amaxNumber().doubleValue())
              .as(type + " transA=" + ta + " transB=" + tb)
              .isLessThan(type == DataType.FLOAT ? 1e-5 : 1e-12);
        }
    }
  }

  @Test
  void blockFormWritesOnlyItsBlock() {
    INDArray a = Nd4j.rand(DataType.DOUBLE, 4, 3); // rows 1..2 used
    INDArray b = Nd4j.rand(DataType.DOUBLE, 3, 2);
    INDArray c = Nd4j.zeros(DataType.DOUBLE, 5, 2); // rows 2..3 written
    Gemm.gemm(2, 2, 3, a, 3, 3, false, b, 0, 2, false, c, 4, 2, 1.0, 0.0);
    INDArray expected = a.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all()).mmul(b);
    assertThat(
            c.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all())
                .sub(expected)
                .amaxNumber()
                .doubleValue())
        .isLessThan(1e-12);
    assertThat(c.getRow(0).amaxNumber().doubleValue()).isZero();
    assertThat(c.getRow(4).amaxNumber().doubleValue()).isZero();
  }

  @Test
  void refusesWhatItCannotDo() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 3, 4), b = Nd4j.rand(DataType.FLOAT, 5, 2);
    assertThatThrownBy(() -> Gemm.gemm(a, b, Nd4j.create(DataType.FLOAT, 3, 2), false, false, 1, 0))
        .hasMessageContaining("shapes do not fit");
    assertThatThrownBy(
            () ->
                Gemm.gemm(
                    a,
                    Nd4j.rand(DataType.DOUBLE, 4, 2),
                    Nd4j.create(DataType.FLOAT, 3, 2),
                    false,
                    false,
                    1,
                    0))
        .hasMessageContaining("one type");
    INDArray strided =
        Nd4j.rand(DataType.FLOAT, 4, 8).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2, 8));
    assertThatThrownBy(
            () -> Gemm.gemm(a, strided, Nd4j.create(DataType.FLOAT, 3, 4), false, false, 1, 0))
        .hasMessageContaining("unit column stride");
    assertThatThrownBy(() -> Gemm.gemm(3, 2, 4, a, 4, 4, false, b, 0, 2, false, a, 0, 2, 1.0, 0.0))
        .hasMessageContaining("outside");
  }
}
