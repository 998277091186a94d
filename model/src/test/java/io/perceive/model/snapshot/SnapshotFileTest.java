package io.perceive.model.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.optim.OptimizerState;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SnapshotFileTest {

  @TempDir Path dir;

  static ParameterSet params(DataType type, long seed) {
    return ParameterSet.builder(type)
        .dense("tower/W", Init.normal(1), 4, 3)
        .dense("tower/b", Init.normal(1), 3)
        .table("emb/item", 50, 4, 0.1)
        .table("emb/user", 20, 2, 0.1)
        .build(seed);
  }

  private static Gradients randomGrads(ParameterSet p, Random rnd) {
    Gradients g = p.newGradients();
    for (int i = 0; i < p.denseLength(); i++) g.flat().putScalar(i, rnd.nextGaussian());
    g.accumulate("emb/item", new int[] {rnd.nextInt(50), rnd.nextInt(50)}, gaussian(p, rnd, 2, 4));
    g.accumulate("emb/user", new int[] {rnd.nextInt(20)}, gaussian(p, rnd, 1, 2));
    return g;
  }

  private static INDArray gaussian(ParameterSet p, Random rnd, int rows, int cols) {
    double[] v = new double[rows * cols];
    for (int i = 0; i < v.length; i++) v[i] = rnd.nextGaussian();
    return Nd4j.create(v, new long[] {rows, cols}, 'c').castTo(p.dataType());
  }

  static void assertBitIdentical(ParameterSet a, ParameterSet b) {
    assertThat(a.sameLayout(b)).isTrue();
    assertThat(a.dataType()).isEqualTo(b.dataType());
    assertThat(bits(a.flat())).containsExactly(bits(b.flat()));
    for (String t : a.tables().keySet()) {
      assertThat(bits(a.table(t).weights())).as(t).containsExactly(bits(b.table(t).weights()));
      assertThat(a.table(t).lastUpdate()).as(t).containsExactly(b.table(t).lastUpdate());
    }
  }

  static long[] bits(INDArray a) {
    double[] d = a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    long[] r = new long[d.length];
    for (int i = 0; i < d.length; i++) r[i] = Double.doubleToRawLongBits(d[i]);
    return r;
  }

  @Test
  void roundTripKeepsEverythingAndTheOptimizerContinuesIdentically() throws Exception {
    ParameterSet p = params(DataType.FLOAT, 1);
    Optimizer adam = OptimizerConfig.adam(0.01).withClipNorm(3).create();
    adam.initialise(p);
    Random rnd = new Random(2);
    for (int s = 0; s < 5; s++) adam.step(p, randomGrads(p, rnd), 1_000 + s);
    Map<String, String> config = Map.of("model.hidden", "128", "model.sharing", "MMOE");
    Path f = dir.resolve("model-7.snap");
    SnapshotFile.write(
        f, new Snapshot(7, 1_764_000_000_123L, config, p, Optional.of(adam.exportState())));

    Snapshot s = SnapshotFile.read(f);
    assertThat(s.modelVersion()).isEqualTo(7);
    assertThat(s.createdAtMs()).isEqualTo(1_764_000_000_123L);
    assertThat(s.modelConfig()).isEqualTo(config);
    assertBitIdentical(s.parameters(), p);
    OptimizerState st = s.optimizerState().orElseThrow();
    assertThat(st.config()).isEqualTo(adam.config());
    assertThat(st.steps()).isEqualTo(5);
    assertThat(st.counters().get("table/emb/item/steps"))
        .containsExactly(adam.exportState().counters().get("table/emb/item/steps"));

    ParameterSet q = s.parameters();
    Optimizer restored = Optimizer.restore(q, st);
    for (int k = 0; k < 3; k++) {
      Random r1 = new Random(100 + k);
      Random r2 = new Random(100 + k);
      adam.step(p, randomGrads(p, r1), 2_000 + k);
      restored.step(q, randomGrads(q, r2), 2_000 + k);
    }
    assertBitIdentical(q, p);
  }

  @Test
  void roundTripInDoubleWithoutOptimizerAndCopyInto() throws Exception {
    ParameterSet p = params(DataType.DOUBLE, 3);
    p.table("emb/user").lastUpdate()[4] = 99;
    Path f = dir.resolve("d.snap");
    SnapshotFile.write(f, new Snapshot(0, 5, Map.of(), p, Optional.empty()));
    Snapshot s = SnapshotFile.read(f);
    assertThat(s.optimizerState()).isEmpty();
    assertBitIdentical(s.parameters(), p);
    ParameterSet target = params(DataType.DOUBLE, 4);
    s.copyInto(target);
    assertBitIdentical(target, p);
    assertThatThrownBy(
            () ->
                s.copyInto(
                    ParameterSet.builder(DataType.DOUBLE).dense("x", Init.ZEROS, 2).build(0)))
        .hasMessageContaining("layout");
  }

  @Test
  void writeReplacesAtomicallyAndLeavesNoTemporaryFiles() throws Exception {
    Path f = dir.resolve("latest.snap");
    SnapshotFile.write(
        f, new Snapshot(1, 1, Map.of(), params(DataType.FLOAT, 1), Optional.empty()));
    SnapshotFile.write(
        f, new Snapshot(2, 2, Map.of(), params(DataType.FLOAT, 2), Optional.empty()));
    assertThat(SnapshotFile.read(f).modelVersion()).isEqualTo(2);
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files).containsExactly(f);
    }
  }

  private Path written() throws Exception {
    Path f = dir.resolve("x.snap");
    SnapshotFile.write(
        f, new Snapshot(3, 3, Map.of("k", "v"), params(DataType.FLOAT, 5), Optional.empty()));
    return f;
  }

  @Test
  void badMagicIsRefused() throws Exception {
    Path f = written();
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.write("GARBAGE!".getBytes());
    }
    assertThatThrownBy(() -> SnapshotFile.read(f))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("not a Perceive snapshot");
  }

  @Test
  void unknownFormatVersionIsRefused() throws Exception {
    Path f = written();
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.seek(8);
      r.writeInt(2);
    }
    assertThatThrownBy(() -> SnapshotFile.read(f))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("unsupported snapshot format version 2")
        .hasMessageContaining("understands 1");
  }

  @Test
  void truncatedFileIsRefused() throws Exception {
    Path f = written();
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.setLength(r.length() - 9);
    }
    assertThatThrownBy(() -> SnapshotFile.read(f))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("truncated");
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      r.setLength(10);
    }
    assertThatThrownBy(() -> SnapshotFile.read(f)).hasMessageContaining("truncated");
  }

  @Test
  void corruptedPayloadFailsTheChecksum() throws Exception {
    Path f = written();
    try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
      long at = r.length() / 2;
      r.seek(at);
      int b = r.read();
      r.seek(at);
      r.write(b ^ 0x10);
    }
    assertThatThrownBy(() -> SnapshotFile.read(f))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("checksum mismatch");
  }

  @Test
  void inMemoryFormIsTheFileFormatAndIsCheckedTheSameWay() throws Exception {
    Path f = written();
    Snapshot s = SnapshotFile.read(f);
    byte[] bytes = SnapshotFile.toBytes(s);
    assertThat(bytes).isEqualTo(java.nio.file.Files.readAllBytes(f));
    Snapshot back = SnapshotFile.fromBytes(bytes, "replica");
    assertThat(back.modelVersion()).isEqualTo(3);
    assertBitIdentical(back.parameters(), s.parameters());
    byte[] corrupt = bytes.clone();
    corrupt[corrupt.length / 2] ^= 0x10;
    assertThatThrownBy(() -> SnapshotFile.fromBytes(corrupt, "replica"))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("replica: checksum mismatch");
    assertThatThrownBy(
            () ->
                SnapshotFile.fromBytes(java.util.Arrays.copyOf(bytes, bytes.length - 1), "replica"))
        .isInstanceOf(MalformedDataException.class)
        .hasMessageContaining("differs from the announced");
  }

  @Test
  void theInMemoryFormIsSizedExactlyUpFront() throws Exception {
    // toBytes fills one buffer of this size and hands it out without a copy (checkpoint heap)
    ParameterSet p = params(DataType.FLOAT, 4);
    Optimizer adam = OptimizerConfig.adam(0.01).create();
    adam.initialise(p);
    adam.step(p, randomGrads(p, new Random(5)), 1_000);
    Map<String, String> config = Map.of("model.hidden", "128", "model.name", "größe");
    for (Snapshot s :
        new Snapshot[] {
          new Snapshot(9, 1, config, p, Optional.of(adam.exportState())),
          new Snapshot(9, 1, Map.of(), params(DataType.DOUBLE, 6), Optional.empty())
        }) {
      byte[] bytes = SnapshotFile.toBytes(s);
      assertThat(SnapshotFile.estimatedBytes(s)).isEqualTo(bytes.length);
      assertThat(SnapshotFile.fromBytes(bytes, "sized").modelVersion()).isEqualTo(9);
    }
  }
}
