package io.perceive.model.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.optim.OptimizerState;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The committed golden fixture {@code golden/params-v1.snap} (format version 1): today's reader
 * must keep loading it with exactly these values. Regenerate only for a new format version (then
 * keep the old file and its test) with this class's {@code main}.
 */
class GoldenSnapshotTest {

  static final String RESOURCE = "/golden/params-v1.snap";

  /** Every value is a short binary fraction, exact in float. */
  static Snapshot golden() {
    ParameterSet p =
        ParameterSet.builder(DataType.FLOAT)
            .dense("tower/W", Init.ZEROS, 3, 4)
            .dense("tower/b", Init.ZEROS, 4)
            .table("emb/item", 10, 2, 0.0)
            .buildZeroed();
    for (int i = 0; i < 12; i++) p.flat().putScalar(i, (i - 5) / 8.0);
    for (int i = 0; i < 4; i++) p.flat().putScalar(12 + i, 0.5 * i);
    EmbeddingTable t = p.table("emb/item");
    for (int r = 0; r < 10; r++) {
      for (int j = 0; j < 2; j++) t.weights().putScalar(r, j, r + j / 4.0);
      t.lastUpdate()[r] = r % 3 == 0 ? 0 : 1_700_000_000_000L + r;
    }
    Map<String, INDArray> arrays = new LinkedHashMap<>();
    arrays.put("dense/m", Nd4j.arange(16).castTo(DataType.FLOAT).divi(8));
    arrays.put("dense/v", Nd4j.valueArrayOf(new long[] {16}, 0.25, DataType.FLOAT));
    arrays.put("table/emb/item/m", Nd4j.valueArrayOf(new long[] {10, 2}, -0.125, DataType.FLOAT));
    arrays.put("table/emb/item/v", Nd4j.valueArrayOf(new long[] {10, 2}, 0.0625, DataType.FLOAT));
    Map<String, long[]> counters =
        Map.of("table/emb/item/steps", new long[] {0, 1, 2, 0, 4, 5, 0, 7, 8, 0});
    OptimizerState st = new OptimizerState(OptimizerConfig.adam(0.002), 9, arrays, counters);
    Map<String, String> config = new LinkedHashMap<>();
    config.put("model.name", "golden");
    config.put("model.embedding.item.dim", "2");
    return new Snapshot(42, 1_764_000_000_000L, config, p, Optional.of(st));
  }

  /**
   * Regenerates the fixture (only when the format version changes; the old fixture then stays as
   * the previous version's golden file): run from {@code model/} with the test class path.
   */
  public static void main(String[] args) throws Exception {
    SnapshotFile.write(Paths.get("src/test/resources" + RESOURCE), golden());
  }

  @Test
  void goldenFixtureLoadsWithItsValues() throws Exception {
    Snapshot s = SnapshotFile.read(resource());
    assertThat(s.modelVersion()).isEqualTo(42);
    assertThat(s.createdAtMs()).isEqualTo(1_764_000_000_000L);
    assertThat(s.modelConfig()).containsEntry("model.name", "golden").hasSize(2);
    ParameterSet p = s.parameters();
    assertThat(p.denseSpecs().keySet()).containsExactly("tower/W", "tower/b");
    assertThat(p.get("tower/W").getDouble(2, 3)).isEqualTo((11 - 5) / 8.0);
    assertThat(p.get("tower/b").getDouble(3)).isEqualTo(1.5);
    assertThat(p.table("emb/item").weights().getDouble(7, 1)).isEqualTo(7.25);
    assertThat(p.table("emb/item").lastUpdate()[4]).isEqualTo(1_700_000_000_004L);
    SnapshotFileTest.assertBitIdentical(p, golden().parameters());
    OptimizerState st = s.optimizerState().orElseThrow();
    assertThat(st.config()).isEqualTo(OptimizerConfig.adam(0.002));
    assertThat(st.steps()).isEqualTo(9);
    assertThat(st.arrays().get("dense/m").getDouble(15)).isEqualTo(1.875);
    assertThat(st.counters().get("table/emb/item/steps")[8]).isEqualTo(8);
    // The stored state is a valid Adam state for the stored layout.
    assertThat(Optimizer.restore(p, st).steps()).isEqualTo(9);
  }

  private static Path resource() throws URISyntaxException {
    return Paths.get(GoldenSnapshotTest.class.getResource(RESOURCE).toURI());
  }
}
