package io.perceive.model.delta;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta.DenseMode;
import io.perceive.model.snapshot.MalformedDataException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class ChunkAssemblerTest {

  static byte[] message(int bytes, long seed) {
    byte[] m = new byte[bytes];
    new Random(seed).nextBytes(m);
    return m;
  }

  @Test
  void aLargeDeltaSplitsUnderTheDefaultLimitAndReassembles() throws Exception {
    ParameterSet a =
        ParameterSet.builder(DataType.FLOAT).table("emb/item", 6_000, 32, 0.1).build(1);
    ParameterSet b =
        ParameterSet.builder(DataType.FLOAT).table("emb/item", 6_000, 32, 0.1).build(2);
    byte[] encoded = ParameterDelta.diff(a, b, 0, DenseMode.DIFFERENCE).encode(); // ~1.6 MB
    List<byte[]> chunks = DeltaChunks.split(encoded, 77);
    assertThat(chunks.size()).isGreaterThanOrEqualTo(2);
    for (byte[] c : chunks)
      assertThat(c.length).isLessThanOrEqualTo(DeltaChunks.DEFAULT_MAX_CHUNK_BYTES);
    ChunkAssembler asm = new ChunkAssembler();
    Optional<byte[]> out = Optional.empty();
    for (byte[] c : chunks) out = asm.accept(c);
    ParameterSet target = a.copy();
    ParameterDelta.decode(out.orElseThrow()).applyTo(target);
    assertThat(ParameterDeltaTest.bits(target.table("emb/item").weights()))
        .containsExactly(ParameterDeltaTest.bits(b.table("emb/item").weights()));
    assertThat(asm.duplicateChunks()).isZero();
    assertThat(asm.outOfOrderChunks()).isZero();
  }

  @Test
  void outOfOrderChunksAreDetectedAndStillAssembled() throws Exception {
    byte[] m = message(1_000, 1);
    List<byte[]> chunks = new ArrayList<>(DeltaChunks.split(m, 5, 100));
    assertThat(chunks).hasSize(1_000 / (100 - DeltaChunks.OVERHEAD) + 1);
    Collections.swap(chunks, 1, 3);
    ChunkAssembler asm = new ChunkAssembler();
    Optional<byte[]> out = Optional.empty();
    for (byte[] c : chunks) out = asm.accept(c);
    assertThat(out).isPresent();
    assertThat(out.get()).isEqualTo(m);
    assertThat(asm.outOfOrderChunks()).isGreaterThan(0);
  }

  @Test
  void duplicatesAreIgnoredAndCountedAndConflictingOnesRefused() throws Exception {
    byte[] m = message(500, 2);
    List<byte[]> chunks = DeltaChunks.split(m, 6, 200);
    ChunkAssembler asm = new ChunkAssembler();
    assertThat(asm.accept(chunks.get(0))).isEmpty();
    assertThat(asm.accept(chunks.get(0))).isEmpty(); // redelivered
    assertThat(asm.duplicateChunks()).isEqualTo(1);
    Optional<byte[]> out = Optional.empty();
    for (int i = 1; i < chunks.size(); i++) out = asm.accept(chunks.get(i));
    assertThat(out.orElseThrow()).isEqualTo(m);
    assertThat(asm.accept(chunks.get(1))).isEmpty(); // late copy of a completed message
    assertThat(asm.duplicateChunks()).isEqualTo(2);
    assertThat(asm.inProgress()).isFalse();

    List<byte[]> other = DeltaChunks.split(message(500, 3), 7, 200);
    List<byte[]> forged = DeltaChunks.split(message(500, 4), 7, 200);
    ChunkAssembler b = new ChunkAssembler();
    b.accept(other.get(0));
    assertThatThrownBy(() -> b.accept(forged.get(0))).isInstanceOf(MalformedDataException.class);
  }

  @Test
  void missingChunksAreReportedWhenTheNextMessageStarts() throws Exception {
    List<byte[]> first = DeltaChunks.split(message(600, 4), 8, 150);
    List<byte[]> second = DeltaChunks.split(message(300, 5), 9, 150);
    ChunkAssembler asm = new ChunkAssembler();
    asm.accept(first.get(0));
    asm.accept(first.get(2));
    assertThat(asm.missing()).contains(1, 3);
    Optional<byte[]> out = Optional.empty();
    for (byte[] c : second) out = asm.accept(c);
    assertThat(out).isPresent();
    assertThat(asm.abandoned()).hasSize(1);
    assertThat(asm.abandoned().get(0).messageId()).isEqualTo(8);
    assertThat(asm.abandoned().get(0).missingIndices()).contains(1, 3);
  }

  @Test
  void corruptChunksAreRefused() {
    byte[] c = DeltaChunks.split(message(100, 6), 1, 80).get(0);
    byte[] flipped = c.clone();
    flipped[c.length - 6] ^= 4;
    assertThatThrownBy(() -> new ChunkAssembler().accept(flipped)).hasMessageContaining("checksum");
    byte[] magic = c.clone();
    magic[0] = 'Z';
    assertThatThrownBy(() -> new ChunkAssembler().accept(magic)).hasMessageContaining("magic");
    assertThatThrownBy(() -> DeltaChunks.split(new byte[10], 1, DeltaChunks.OVERHEAD))
        .hasMessageContaining("overhead");
  }
}
