package io.perceive.model.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class GradientsTest {

  private static ParameterSet params(DataType type, int rows, int dim) {
    return ParameterSet.builder(type).table("item", rows, dim, 0.1).build(3);
  }

  /** Sparse rows equal a plain reference sum, through growth, repeats, scale, zero and reuse. */
  @Test
  void sparseRowsMatchAReferenceSum() {
    int rows = 5_000, dim = 3;
    for (DataType type : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
      Gradients g = params(type, rows, dim).newGradients();
      Random rnd = new Random(11);
      for (int round = 0; round < 2; round++) {
        TreeMap<Integer, double[]> ref = new TreeMap<>();
        for (int batch = 0; batch < 5; batch++) {
          int n = 700;
          int[] idx = new int[n];
          double[] d = new double[n * dim];
          for (int i = 0; i < n; i++) {
            idx[i] = rnd.nextInt(batch == 0 ? 20 : rows); // many repeats first, then spread
            for (int j = 0; j < dim; j++) {
              d[i * dim + j] = rnd.nextGaussian();
              ref.computeIfAbsent(idx[i], k -> new double[dim])[j] += d[i * dim + j];
            }
          }
          g.accumulate("item", idx, Nd4j.create(d, new long[] {n, dim}, 'c').castTo(type));
        }
        g.scale(0.5);
        SparseRows s = g.sparse("item");
        assertThat(s.rows()).containsExactly(ref.keySet().stream().mapToInt(i -> i).toArray());
        double tol = type == DataType.DOUBLE ? 1e-12 : 1e-4;
        double norm = 0;
        int i = 0;
        for (double[] r : ref.values()) {
          for (int j = 0; j < dim; j++) {
            assertThat(s.values().getDouble(i, j))
                .isCloseTo(0.5 * r[j], org.assertj.core.data.Offset.offset(tol));
            norm += 0.25 * r[j] * r[j];
          }
          i++;
        }
        assertThat(g.squaredNorm())
            .isCloseTo(norm, org.assertj.core.data.Offset.offset(1e-6 * norm));
        g.zero();
        assertThat(g.sparse("item").rows()).isEmpty();
      }
    }
  }
}
