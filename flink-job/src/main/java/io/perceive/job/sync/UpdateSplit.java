package io.perceive.job.sync;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.apache.flink.api.connector.source.SourceSplit;
import org.apache.flink.core.io.SimpleVersionedSerializer;

/**
 * The one split of {@link ModelUpdateSource}: the single partition of {@code model-updates}, where
 * to start (an offset, or a timestamp for a fresh run) and the newest server incarnation of this
 * run seen so far (after a restore, an END counts only from a newer incarnation).
 */
public record UpdateSplit(
    String topic, int partition, long startOffset, long startTimestampMs, long incarnationFloor)
    implements SourceSplit {

  @Override
  public String splitId() {
    return topic + "-" + partition;
  }

  /** Versioned serializer of the split (checkpoint format). */
  public static final class Serializer implements SimpleVersionedSerializer<UpdateSplit> {
    public static final int CURRENT_VERSION = 1;

    @Override
    public int getVersion() {
      return CURRENT_VERSION;
    }

    @Override
    public byte[] serialize(UpdateSplit s) throws IOException {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(b);
      out.writeUTF(s.topic());
      out.writeInt(s.partition());
      out.writeLong(s.startOffset());
      out.writeLong(s.startTimestampMs());
      out.writeLong(s.incarnationFloor());
      out.flush();
      return b.toByteArray();
    }

    @Override
    public UpdateSplit deserialize(int version, byte[] bytes) throws IOException {
      if (version != CURRENT_VERSION)
        throw new IOException(
            "unsupported model-updates split version " + version + " (understood: 1)");
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
      return new UpdateSplit(
          in.readUTF(), in.readInt(), in.readLong(), in.readLong(), in.readLong());
    }
  }

  /** Versioned serializer of the enumerator's checkpoint: whether the split was handed out. */
  public static final class AssignedSerializer implements SimpleVersionedSerializer<Boolean> {
    @Override
    public int getVersion() {
      return 1;
    }

    @Override
    public byte[] serialize(Boolean assigned) {
      return new byte[] {(byte) (assigned ? 1 : 0)};
    }

    @Override
    public Boolean deserialize(int version, byte[] bytes) throws IOException {
      if (version != 1 || bytes.length != 1)
        throw new IOException("unsupported model-updates enumerator state version " + version);
      return bytes[0] == 1;
    }
  }
}
