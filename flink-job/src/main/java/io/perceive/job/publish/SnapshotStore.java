package io.perceive.job.publish;

import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.SnapshotManifest;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A directory of published model snapshots (Monolith's layout): each version is written once as
 * {@code model-v<version>.snap} with its manifest {@code model-v<version>.manifest.json}; the small
 * {@code latest.manifest.json} is replaced by an atomic rename, so a reader sees either the old or
 * the new manifest, never half of one. The versioned manifests are the truth where a filesystem has
 * no atomic rename. Only the newest {@code keep} versions are kept.
 */
public final class SnapshotStore {

  public static final String LATEST = "latest.manifest.json";
  private static final Pattern SNAP = Pattern.compile("model-v(\\d{12})\\.snap");
  private static final RecordCodec<SnapshotManifest> MANIFESTS =
      RecordCodec.of(SnapshotManifest.class);

  private final Path dir;
  private final int keep;

  public SnapshotStore(Path dir, int keep) {
    if (keep < 1) throw new IllegalArgumentException("keep must be >= 1");
    this.dir = dir;
    this.keep = keep;
  }

  public Path dir() {
    return dir;
  }

  public static String snapshotName(long version) {
    return String.format("model-v%012d.snap", version);
  }

  public static String manifestName(long version) {
    return String.format("model-v%012d.manifest.json", version);
  }

  /** The highest version present in the directory, or -1 when none. */
  public long highestVersion() throws IOException {
    long max = -1;
    if (!Files.isDirectory(dir)) return max;
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        Matcher m = SNAP.matcher(p.getFileName().toString());
        if (m.matches()) max = Math.max(max, Long.parseLong(m.group(1)));
      }
    }
    return max;
  }

  /**
   * Writes a snapshot under its version, then its manifest, then swaps {@code latest}; returns the
   * manifest. Refuses to overwrite an existing version (versions are never reused).
   */
  public SnapshotManifest publish(
      Snapshot s, long watermarkMs, Map<String, Long> offsets, Map<String, Double> metrics)
      throws IOException {
    Files.createDirectories(dir);
    long v = s.modelVersion();
    Path file = dir.resolve(snapshotName(v));
    if (Files.exists(file))
      throw new IllegalStateException(
          "model version " + v + " is already published in " + dir + "; versions are never reused");
    SnapshotFile.write(file, s);
    SnapshotManifest m =
        SnapshotManifest.newBuilder()
            .setModelVersion(v)
            .setSnapshotFormatVersion(SnapshotFile.CURRENT_VERSION)
            .setLocation(dir.toUri().toString())
            .setFiles(List.of(file.getFileName().toString()))
            .setChecksum("sha256:" + sha256(file))
            .setSizeBytes(Files.size(file))
            .setCreatedAtMs(s.createdAtMs())
            .setWatermarkMs(watermarkMs)
            .setOffsets(Map.copyOf(offsets))
            .setMetrics(Map.copyOf(metrics))
            .setModelConfig(propertiesText(s.modelConfig()))
            .build();
    byte[] json = MANIFESTS.toJson(m).getBytes(StandardCharsets.UTF_8);
    writeAtomically(dir.resolve(manifestName(v)), json);
    writeAtomically(dir.resolve(LATEST), json);
    prune();
    return m;
  }

  /** Reads a manifest file (the latest one when {@code name} is {@link #LATEST}). */
  public static SnapshotManifest readManifest(Path file) throws IOException {
    try {
      return MANIFESTS.fromJson(Files.readAllBytes(file));
    } catch (io.perceive.schemas.RecordFormatException e) {
      throw new IOException("manifest " + file + " is not readable: " + e.getMessage(), e);
    }
  }

  private void prune() throws IOException {
    List<Long> versions = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        Matcher m = SNAP.matcher(p.getFileName().toString());
        if (m.matches()) versions.add(Long.parseLong(m.group(1)));
      }
    }
    versions.sort(null);
    for (int i = 0; i < versions.size() - keep; i++) {
      Files.deleteIfExists(dir.resolve(manifestName(versions.get(i))));
      Files.deleteIfExists(dir.resolve(snapshotName(versions.get(i))));
    }
  }

  static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    try {
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String propertiesText(Map<String, String> props) {
    StringBuilder sb = new StringBuilder();
    props.forEach((k, v) -> sb.append(k).append('=').append(v).append('\n'));
    return sb.toString();
  }
}
