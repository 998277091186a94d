package io.perceive.job.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.schemas.SnapshotManifest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

class SnapshotStoreTest {

  @TempDir Path dir;

  static Snapshot snapshot(long version, double value) {
    ParameterSet p =
        ParameterSet.builder(DataType.FLOAT).dense("w", Init.constant(value), 3).build(1);
    return new Snapshot(version, 1000L + version, Map.of("k", "v"), p, Optional.empty());
  }

  @Test
  void publishesVersionedFilesSwapsLatestAndPrunes() throws Exception {
    SnapshotStore store = new SnapshotStore(dir, 2);
    assertThat(store.highestVersion()).isEqualTo(-1);
    for (long v = 1; v <= 3; v++)
      store.publish(snapshot(v, v), 500 * v, Map.of("events-0", 7L), Map.of("auc_click", 0.7));
    assertThat(store.highestVersion()).isEqualTo(3);
    assertThat(dir.resolve(SnapshotStore.snapshotName(1))).doesNotExist();
    assertThat(dir.resolve(SnapshotStore.snapshotName(2))).exists();
    SnapshotManifest latest = SnapshotStore.readManifest(dir.resolve(SnapshotStore.LATEST));
    assertThat(latest.getModelVersion()).isEqualTo(3);
    assertThat(latest.getWatermarkMs()).isEqualTo(1500);
    assertThat(latest.getOffsets()).containsEntry("events-0", 7L);
    assertThat(latest.getChecksum()).startsWith("sha256:").hasSize(7 + 64);
    Path file =
        Path.of(java.net.URI.create(latest.getLocation())).resolve(latest.getFiles().get(0));
    assertThat(Files.size(file)).isEqualTo(latest.getSizeBytes());
    assertThat(SnapshotFile.read(file).parameters().get("w").getDouble(0)).isEqualTo(3.0);
    assertThat(SnapshotStore.readManifest(dir.resolve(SnapshotStore.manifestName(3))))
        .isEqualTo(latest);
    try (var s = Files.list(dir)) {
      assertThat(s.filter(p -> p.getFileName().toString().endsWith(".tmp"))).isEmpty();
    }
  }

  @Test
  void aVersionIsNeverWrittenTwice() throws Exception {
    SnapshotStore store = new SnapshotStore(dir, 5);
    store.publish(snapshot(4, 1), 0, Map.of(), Map.of());
    assertThatThrownBy(() -> store.publish(snapshot(4, 2), 0, Map.of(), Map.of()))
        .hasMessageContaining("never reused");
  }
}
