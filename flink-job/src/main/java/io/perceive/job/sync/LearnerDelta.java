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
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a learner subtask sends the parameter server at each sync: its parameter delta since its
 * previous send (an encoded {@code ParameterDelta}), numbered by a per-subtask sequence so that a
 * published version can say which of the subtask's deltas it contains, plus the learner's recent
 * prequential metrics (the server's publication gate reads them).
 *
 * <p>Encoding (version 1, big-endian): magic "PRCVLDLT" | int32 version | int32 subtask | int32
 * parallelism | int64 seq | int64 base version | byte final | int64 watermark | int32 n | n × (UTF
 * name, float64 value) | int32 length | delta bytes. Chunked with {@code DeltaChunks} on the way.
 *
 * @param subtask the sending learner subtask
 * @param parallelism number of learner subtasks (the server waits for this many final deltas)
 * @param seq 1, 2, … per subtask; never reused within a run's lineage
 * @param baseVersion published version the learner was rebased on when it sent this
 * @param last true for the subtask's final delta at end of input
 * @param watermarkMs the learner's event-time watermark
 * @param metrics recent prequential metrics, e.g. {@code auc_click}, {@code samples_click}
 * @param delta the encoded parameter delta
 */
public record LearnerDelta(
    int subtask,
    int parallelism,
    long seq,
    long baseVersion,
    boolean last,
    long watermarkMs,
    Map<String, Double> metrics,
    byte[] delta) {

  public static final byte[] MAGIC = "PRCVLDLT".getBytes(StandardCharsets.US_ASCII);
  public static final int CURRENT_VERSION = 1;

  public LearnerDelta {
    if (subtask < 0 || parallelism < 1 || subtask >= parallelism)
      throw new IllegalArgumentException(
          "subtask " + subtask + " of " + parallelism + " is not a learner subtask");
    if (seq < 1) throw new IllegalArgumentException("delta sequence numbers start at 1");
    metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
  }

  /** Chunk message id: unique per (subtask, seq) so the server's assemblers never mix messages. */
  public long messageId() {
    return ((long) subtask << 40) | seq;
  }

  public byte[] encode() {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(delta.length + 256);
      DataOutputStream out = new DataOutputStream(bytes);
      out.write(MAGIC);
      out.writeInt(CURRENT_VERSION);
      out.writeInt(subtask);
      out.writeInt(parallelism);
      out.writeLong(seq);
      out.writeLong(baseVersion);
      out.writeBoolean(last);
      out.writeLong(watermarkMs);
      out.writeInt(metrics.size());
      for (Map.Entry<String, Double> e : metrics.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeDouble(e.getValue());
      }
      out.writeInt(delta.length);
      out.write(delta);
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Inverse of {@link #encode()}; refuses bad magic, unknown versions and truncation. */
  public static LearnerDelta decode(byte[] b) throws MalformedDataException {
    if (b.length < MAGIC.length + 4 || !Arrays.equals(Arrays.copyOf(b, MAGIC.length), MAGIC))
      throw new MalformedDataException("not a Perceive learner delta (bad magic or truncated)");
    try {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
      in.skipNBytes(MAGIC.length);
      int version = in.readInt();
      if (version != CURRENT_VERSION)
        throw new MalformedDataException(
            "unsupported learner delta format version "
                + version
                + " (this reader understands "
                + CURRENT_VERSION
                + ")");
      int subtask = in.readInt();
      int parallelism = in.readInt();
      long seq = in.readLong();
      long base = in.readLong();
      boolean last = in.readBoolean();
      long wm = in.readLong();
      int n = in.readInt();
      if (n < 0 || n > 10_000) throw new MalformedDataException("bad metric count " + n);
      Map<String, Double> m = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) m.put(in.readUTF(), in.readDouble());
      int len = in.readInt();
      if (len < 0 || len > in.available())
        throw new MalformedDataException("delta length " + len + " exceeds the message");
      byte[] delta = in.readNBytes(len);
      if (in.read() != -1)
        throw new MalformedDataException("learner delta longer than its contents");
      return new LearnerDelta(subtask, parallelism, seq, base, last, wm, m, delta);
    } catch (EOFException e) {
      throw new MalformedDataException("learner delta shorter than its contents claim", e);
    } catch (IllegalArgumentException e) {
      throw new MalformedDataException("inconsistent learner delta: " + e.getMessage(), e);
    } catch (MalformedDataException e) {
      throw e;
    } catch (IOException e) {
      throw new MalformedDataException("unreadable learner delta: " + e.getMessage(), e);
    }
  }
}
