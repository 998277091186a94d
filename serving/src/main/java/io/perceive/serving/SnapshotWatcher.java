package io.perceive.serving;

import io.perceive.model.ModelConfig;
import io.perceive.model.snapshot.MalformedDataException;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.RecordFormatException;
import io.perceive.schemas.SnapshotManifest;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows new model versions (Monolith's practice: watch the manifest, load the files it names)
 * from a snapshot directory written by the learner's {@code SnapshotStore} — {@code
 * model-v<version>.snap}, {@code model-v<version>.manifest.json}, {@code latest.manifest.json} —
 * and from manifests offered by a topic follower. Each candidate is loaded completely and verified
 * (SHA-256 against the manifest, the snapshot's own format version and CRC32C, version and
 * configuration agreeing with the manifest, parameter layout compatible with the live model) before
 * one atomic swap in {@link LiveModel}. A corrupted, incomplete, older or incompatible snapshot is
 * refused with one log line and a counter, and the previous model stays live.
 */
public final class SnapshotWatcher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SnapshotWatcher.class);

  /** The manifest replaced by atomic rename on every publication. */
  public static final String LATEST = "latest.manifest.json";

  private static final Pattern VERSIONED = Pattern.compile("model-v(\\d{12})\\.manifest\\.json");
  private static final RecordCodec<SnapshotManifest> MANIFESTS =
      RecordCodec.of(SnapshotManifest.class);

  static final String REFUSED = "perceive_serving_snapshots_refused_total";
  static final String LOADED = "perceive_serving_snapshots_loaded_total";

  /** Why a snapshot was refused (the counter's label). */
  public enum Refusal {
    /** checksum, CRC or parse failure of the snapshot file. */
    CORRUPTED,
    /** manifest unreadable (truncated, half-written) or snapshot file missing. */
    INCOMPLETE,
    /** version lower than the live one. */
    OLDER,
    /** configuration or layout the live model cannot be swapped for, or an unknown format. */
    INCOMPATIBLE
  }

  private final Path dir;
  private final LiveModel live;
  private final ServingMetrics metrics;
  private final Set<String> refused = new HashSet<>();
  private ScheduledExecutorService poller;

  public SnapshotWatcher(Path dir, LiveModel live, ServingMetrics metrics) {
    this.dir = dir;
    this.live = live;
    this.metrics = metrics;
  }

  /** Polls the directory every {@code interval} on a daemon thread until {@link #close()}. */
  public synchronized void start(Duration interval) {
    if (poller != null) throw new IllegalStateException("already started");
    poller =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "snapshot-watcher");
              t.setDaemon(true);
              return t;
            });
    poller.scheduleWithFixedDelay(
        () -> {
          try {
            pollOnce();
          } catch (RuntimeException e) { // keep polling: the next publication may be fine
            LOG.error("snapshot poll of {} failed", dir, e);
          }
        },
        0,
        interval.toMillis(),
        TimeUnit.MILLISECONDS);
  }

  /**
   * Looks at the directory once: the latest manifest first, then (when it is unreadable, older or
   * refused) the versioned manifests newest first. Returns true if a new version went live.
   */
  public synchronized boolean pollOnce() {
    if (!Files.isDirectory(dir)) return false;
    Path latest = dir.resolve(LATEST);
    if (Files.exists(latest)) {
      SnapshotManifest m = readManifest(latest);
      if (m != null && m.getModelVersion() != live.version() && offer(m)) return true;
    }
    List<Long> versions = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        Matcher mt = VERSIONED.matcher(p.getFileName().toString());
        if (mt.matches()) versions.add(Long.parseLong(mt.group(1)));
      }
    } catch (IOException e) {
      LOG.warn("cannot list snapshot directory {}: {}", dir, e.toString());
      return false;
    }
    versions.sort(Comparator.reverseOrder());
    for (long v : versions) {
      if (v <= live.version()) break;
      SnapshotManifest m =
          readManifest(dir.resolve(String.format("model-v%012d.manifest.json", v)));
      if (m != null && offer(m)) return true;
    }
    return false;
  }

  /**
   * Loads, verifies and swaps in the snapshot {@code m} describes, unless it is not newer than the
   * live model. Returns true if it went live; a refusal is logged and counted once per snapshot.
   */
  public synchronized boolean offer(SnapshotManifest m) {
    long v = m.getModelVersion();
    long liveVersion = live.version();
    if (v == liveVersion) return false;
    String key = "v" + v + "/" + m.getChecksum();
    if (refused.contains(key)) return false;
    if (v < liveVersion)
      return refuse(key, Refusal.OLDER, "version " + v + " is older than live " + liveVersion);
    if (m.getSnapshotFormatVersion() != SnapshotFile.CURRENT_VERSION)
      return refuse(
          key,
          Refusal.INCOMPATIBLE,
          "version "
              + v
              + " has snapshot format "
              + m.getSnapshotFormatVersion()
              + ", this server reads format "
              + SnapshotFile.CURRENT_VERSION);
    if (m.getFiles().isEmpty())
      return refuse(key, Refusal.INCOMPLETE, "manifest of version " + v + " names no file");
    Path file = resolve(m);
    if (file == null || !Files.exists(file))
      return refuse(
          key,
          Refusal.INCOMPLETE,
          "snapshot file " + m.getFiles().get(0) + " of version " + v + " is missing");
    ServingModel next;
    try {
      String checksum = m.getChecksum();
      if (!checksum.startsWith("sha256:"))
        return refuse(
            key, Refusal.INCOMPATIBLE, "unknown checksum algorithm in '" + checksum + "'");
      String actual = "sha256:" + sha256(file);
      if (!actual.equalsIgnoreCase(checksum))
        return refuse(
            key,
            Refusal.CORRUPTED,
            file + " does not match its manifest's checksum (" + actual + " vs " + checksum + ")");
      Snapshot s = SnapshotFile.read(file);
      if (s.modelVersion() != v)
        return refuse(
            key,
            Refusal.CORRUPTED,
            file + " holds version " + s.modelVersion() + " but its manifest says " + v);
      if (m.getModelConfig() != null
          && !parseProperties(m.getModelConfig()).equals(s.modelConfig()))
        return refuse(
            key, Refusal.CORRUPTED, file + ": model configuration differs from its manifest's");
      ModelConfig cfg;
      try {
        cfg = ModelConfig.fromProperties(s.modelConfig());
      } catch (IllegalArgumentException e) {
        return refuse(key, Refusal.INCOMPATIBLE, file + ": " + e.getMessage());
      }
      next = ServingModel.of(v, s.createdAtMs(), cfg, s.parameters());
      ServingModel current = live.get().orElse(null);
      if (current != null && !current.parameters().sameLayout(next.parameters()))
        return refuse(
            key,
            Refusal.INCOMPATIBLE,
            "version "
                + v
                + " has a different parameter layout than live version "
                + current.version()
                + " (a changed model configuration needs a serving restart)");
      if (current != null
          && !(current.inputs().profileNames().equals(next.inputs().profileNames())
              && current.inputs().itemNames().equals(next.inputs().itemNames())))
        return refuse(key, Refusal.INCOMPATIBLE, "version " + v + " changes the feature names");
    } catch (NoSuchFileException e) {
      return refuse(key, Refusal.INCOMPLETE, "snapshot file vanished: " + e.getMessage());
    } catch (MalformedDataException e) {
      return refuse(key, Refusal.CORRUPTED, e.getMessage());
    } catch (IOException | RuntimeException e) {
      return refuse(key, Refusal.CORRUPTED, file + ": " + e);
    }
    if (!live.install(next)) return false;
    metrics.increment(LOADED, "");
    LOG.info("model version {} is live (from {})", v, file);
    return true;
  }

  private boolean refuse(String key, Refusal reason, String message) {
    refused.add(key);
    metrics.increment(REFUSED, "reason=\"" + reason.name().toLowerCase() + "\"");
    LOG.warn(
        "refused snapshot ({}): {}; model version {} stays live",
        reason.name().toLowerCase(),
        message,
        live.version());
    return false;
  }

  /** A manifest file, or null (refused once as incomplete) when it cannot be parsed. */
  private SnapshotManifest readManifest(Path file) {
    String key;
    byte[] bytes;
    try {
      key = file.getFileName() + "@" + Files.size(file) + "/" + Files.getLastModifiedTime(file);
      if (refused.contains(key)) return null;
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null; // pruned between listing and reading
    } catch (IOException e) {
      LOG.warn("cannot read manifest {}: {}", file, e.toString());
      return null;
    }
    try {
      return MANIFESTS.fromJson(bytes);
    } catch (RecordFormatException | RuntimeException e) {
      refuse(key, Refusal.INCOMPLETE, "manifest " + file + " is not readable: " + e.getMessage());
      return null;
    }
  }

  /**
   * The snapshot file: the manifest's location when it is a local path that exists, else the file
   * of that name in the watched directory (the learner's directory mounted elsewhere).
   */
  private Path resolve(SnapshotManifest m) {
    String name = m.getFiles().get(0);
    if (name.contains("/") || name.contains("\\") || name.startsWith(".")) return null;
    try {
      URI loc = URI.create(m.getLocation());
      if ("file".equals(loc.getScheme())) {
        Path p = Path.of(loc).resolve(name);
        if (Files.exists(p)) return p;
      }
    } catch (IllegalArgumentException e) {
      // not a usable URI: fall back to the watched directory
    }
    return dir.resolve(name);
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
      return java.util.HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The manifest's configuration text: one {@code key=value} per line, split at the first '='. */
  static Map<String, String> parseProperties(String text) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) continue;
      int eq = line.indexOf('=');
      if (eq < 0) throw new IllegalArgumentException("configuration line without '=': " + line);
      m.put(line.substring(0, eq), line.substring(eq + 1));
    }
    return m;
  }

  @Override
  public synchronized void close() {
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
  }
}
