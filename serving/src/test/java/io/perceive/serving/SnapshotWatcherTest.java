package io.perceive.serving;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.ModelConfig;
import io.perceive.model.core.ParameterSet;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every bad publication is refused, counted once, and the previous model stays live. */
class SnapshotWatcherTest {

  static ModelConfig cfg;
  static ParameterSet params;

  @TempDir Path dir;
  final LiveModel live = new LiveModel();
  final ServingMetrics metrics = new ServingMetrics();

  @BeforeAll
  static void model() {
    cfg = Fixtures.smallConfig();
    params = Fixtures.trained(cfg, 1, 5);
  }

  private SnapshotWatcher watcherWithVersion1() throws Exception {
    Fixtures.publish(dir, cfg, params, 1);
    SnapshotWatcher w = new SnapshotWatcher(dir, live, metrics);
    assertThat(w.pollOnce()).isTrue();
    assertThat(live.version()).isEqualTo(1);
    return w;
  }

  private long refused(String reason) {
    return metrics.counter(SnapshotWatcher.REFUSED, "reason=\"" + reason + "\"");
  }

  @Test
  void corruptedSnapshotIsRefusedOnceAndTheOldModelStaysLive() throws Exception {
    SnapshotWatcher w = watcherWithVersion1();
    ServingModel before = live.get().orElseThrow();
    Path v2 = Fixtures.publish(dir, cfg, params, 2);
    try (RandomAccessFile f = new RandomAccessFile(v2.toFile(), "rw")) {
      f.seek(f.length() / 2);
      int b = f.read();
      f.seek(f.length() / 2);
      f.write(b ^ 0x5A);
    }
    assertThat(w.pollOnce()).isFalse();
    assertThat(w.pollOnce()).isFalse();
    assertThat(live.get()).containsSame(before);
    assertThat(refused("corrupted")).isEqualTo(1);
    assertThat(metrics.render())
        .contains("perceive_serving_snapshots_refused_total{reason=\"corrupted\"} 1");
    // the next good publication goes live
    Fixtures.publish(dir, cfg, params, 3);
    assertThat(w.pollOnce()).isTrue();
    assertThat(live.version()).isEqualTo(3);
  }

  @Test
  void truncatedManifestIsRefusedAndTheVersionedManifestsAreTheFallback() throws Exception {
    SnapshotWatcher w = watcherWithVersion1();
    Fixtures.publish(dir, cfg, params, 2);
    Path latest = dir.resolve(SnapshotWatcher.LATEST);
    byte[] json = Files.readAllBytes(latest);
    Files.write(latest, java.util.Arrays.copyOf(json, json.length / 2));
    Path versioned = dir.resolve("model-v000000000002.manifest.json");
    Files.write(versioned, java.util.Arrays.copyOf(json, json.length / 3));
    assertThat(w.pollOnce()).isFalse();
    assertThat(live.version()).isEqualTo(1);
    assertThat(refused("incomplete")).isEqualTo(2);
    // once the versioned manifest is whole again, it is loaded even though latest stays broken
    Files.write(versioned, json);
    assertThat(w.pollOnce()).isTrue();
    assertThat(live.version()).isEqualTo(2);
  }

  @Test
  void olderIncompatibleAndMissingSnapshotsAreRefused() throws Exception {
    SnapshotWatcher w = watcherWithVersion1();
    // a manifest for an older version (e.g. a learner restored from an old checkpoint)
    Path v0 = Fixtures.publish(dir, cfg, params, 0);
    assertThat(w.pollOnce()).isFalse();
    assertThat(refused("older")).isEqualTo(1);

    // a different layout (wider LSTM) cannot replace the live model
    ModelConfig wider = cfg.toBuilder().set(ModelConfig.LSTM_HIDDEN, 24).build();
    Fixtures.publish(dir, wider, Fixtures.trained(wider, 1, 6), 4);
    assertThat(w.pollOnce()).isFalse();
    assertThat(refused("incompatible")).isEqualTo(1);

    // a manifest whose snapshot file is not there
    Path v5 = Fixtures.publish(dir, cfg, params, 5);
    Files.delete(v5);
    assertThat(w.pollOnce()).isFalse();
    assertThat(refused("incomplete")).isEqualTo(1);
    assertThat(live.version()).isEqualTo(1);
    assertThat(Files.exists(v0)).isTrue();
  }

  @Test
  void aSnapshotWhoseVersionDisagreesWithItsManifestIsRefused() throws Exception {
    SnapshotWatcher w = watcherWithVersion1();
    Path v2 = Fixtures.publish(dir, cfg, params, 2);
    // manifest 3 points at the file of version 2 with a valid checksum of that file
    var m =
        Fixtures.manifest(dir, cfg, 3, v2.getFileName().toString(), SnapshotWatcher.sha256(v2), 0);
    assertThat(w.offer(m)).isFalse();
    assertThat(refused("corrupted")).isEqualTo(1);
    assertThat(live.version()).isEqualTo(1);
    assertThat(
            w.offer(
                Fixtures.manifest(
                    dir, cfg, 2, v2.getFileName().toString(), SnapshotWatcher.sha256(v2), 0)))
        .isTrue();
  }
}
