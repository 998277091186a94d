package io.perceive.job.sync;

import io.perceive.model.snapshot.MalformedDataException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * One published model update on topic {@code model-updates} (reassembled from its chunks): a DELTA
 * from the previous version, a FULL parameter set (so a starting learner can bootstrap), or the END
 * of a bounded run. It names the run and the parameter-server incarnation that wrote it and, per
 * learner subtask, the highest delta sequence number the version contains — what a learner needs to
 * rebase (replica = published + its own deltas not yet contained).
 *
 * <p>Encoding (version 1, big-endian): magic "PRCVMUPD" | int32 version | UTF run id | int64
 * incarnation | byte kind | int64 model version | int64 base version | int64 created at | int64
 * watermark | int32 n | n × (int32 subtask, int64 seq) | int32 length | payload. Payload: DELTA →
 * {@code ParameterDelta} encoding; FULL → {@code SnapshotFile} bytes; END → empty.
 *
 * @param runId identifies one submission of the job (failover keeps it; a new run gets a new one)
 * @param incarnation the first version the publishing server instance wrote; every (re)start of the
 *     server gets a higher one, so learners can tell a restarted lineage from a lost one
 * @param baseVersion DELTA: the version it applies to; FULL and END: equal to {@code version}
 */
public record ModelUpdate(
    String runId,
    long incarnation,
    Kind kind,
    long version,
    long baseVersion,
    long createdAtMs,
    long watermarkMs,
    Map<Integer, Long> coverage,
    byte[] payload) {

  /** What an update carries. */
  public enum Kind {
    DELTA,
    FULL,
    END
  }

  public static final byte[] MAGIC = "PRCVMUPD".getBytes(StandardCharsets.US_ASCII);
  public static final int CURRENT_VERSION = 1;

  public ModelUpdate {
    coverage = Collections.unmodifiableMap(new TreeMap<>(coverage));
    if (version < 0) throw new IllegalArgumentException("model version must be >= 0");
  }

  /** The highest delta sequence number of {@code subtask} this version contains (0 = none). */
  public long covered(int subtask) {
    return coverage.getOrDefault(subtask, 0L);
  }

  /** Chunk message id: unique per (version, kind) on the topic. */
  public long messageId() {
    return (version << 2) | kind.ordinal();
  }

  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(payload.length + 256);
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(MAGIC);
      out.writeInt(CURRENT_VERSION);
      out.writeUTF(runId);
      out.writeLong(incarnation);
      out.writeByte(kind.ordinal());
      out.writeLong(version);
      out.writeLong(baseVersion);
      out.writeLong(createdAtMs);
      out.writeLong(watermarkMs);
      out.writeInt(coverage.size());
      for (Map.Entry<Integer, Long> e : coverage.entrySet()) {
        out.writeInt(e.getKey());
        out.writeLong(e.getValue());
      }
      out.writeInt(payload.length);
      out.write(payload);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Inverse of {@link #encode()}; refuses bad magic, unknown versions and truncation. */
  public static ModelUpdate decode(byte[] b) throws MalformedDataException {
    if (b.length < MAGIC.length + 4 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC))
      throw new MalformedDataException("not a Perceive model update (bad magic or truncated)");
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
      in.skipNBytes(MAGIC.length);
      int version = in.readInt();
      if (version != CURRENT_VERSION)
        throw new MalformedDataException(
            "unsupported model update format version "
                + version
                + " (this reader understands "
                + CURRENT_VERSION
                + ")");
      String run = in.readUTF();
      long inc = in.readLong();
      int k = in.readByte();
      if (k < 0 || k >= Kind.values().length) throw new MalformedDataException("bad kind " + k);
      long v = in.readLong();
      long base = in.readLong();
      long created = in.readLong();
      long wm = in.readLong();
      int n = in.readInt();
      if (n < 0 || n > 1 << 16) throw new MalformedDataException("bad coverage size " + n);
      Map<Integer, Long> cov = new TreeMap<>();
      for (int i = 0; i < n; i++) cov.put(in.readInt(), in.readLong());
      int len = in.readInt();
      if (len < 0 || len > in.available())
        throw new MalformedDataException("payload length " + len + " exceeds the message");
      byte[] payload = in.readNBytes(len);
      if (in.read() != -1)
        throw new MalformedDataException("model update longer than its contents");
      return new ModelUpdate(run, inc, Kind.values()[k], v, base, created, wm, cov, payload);
    } catch (EOFException e) {
      throw new MalformedDataException("model update shorter than its contents claim", e);
    } catch (IllegalArgumentException e) {
      throw new MalformedDataException("inconsistent model update: " + e.getMessage(), e);
    } catch (MalformedDataException e) {
      throw e;
    } catch (IOException e) {
      throw new MalformedDataException("unreadable model update: " + e.getMessage(), e);
    }
  }
}
