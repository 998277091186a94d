package io.perceive.model.delta;

import io.perceive.model.snapshot.MalformedDataException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * Reassembles messages from the chunks of {@link DeltaChunks}, read in topic order from a
 * single-partition topic, and reports every irregularity instead of silently mis-assembling:
 *
 * <ul>
 *   <li><b>out of order</b> (an index other than the next expected): still assembled correctly,
 *       counted in {@link #outOfOrderChunks()};
 *   <li><b>duplicate</b> (an index already held, or a chunk of a recently completed message): an
 *       identical copy is ignored and counted in {@link #duplicateChunks()}; a copy with different
 *       bytes is refused ({@link MalformedDataException});
 *   <li><b>missing</b>: when a chunk of a new message arrives while the current one is incomplete,
 *       the incomplete one is abandoned and listed in {@link #abandoned()} with its missing
 *       indices; {@link #missing()} lists what the current message still lacks.
 * </ul>
 *
 * Corrupt chunks (bad magic, version, checksum, header disagreeing with earlier chunks) and a
 * reassembled message whose checksum fails are refused with {@link MalformedDataException}.
 */
public final class ChunkAssembler {

  /** A message given up because a newer one started before it was complete. */
  public record Abandoned(long messageId, int[] missingIndices, int chunkCount) {}

  private static final int REMEMBERED_COMPLETED = 16;

  private DeltaChunks.Chunk first; // header of the message being assembled, null when idle
  private byte[][] bodies;
  private int received;
  private int nextExpected;
  private long duplicates;
  private long outOfOrder;
  private final List<Abandoned> abandoned = new ArrayList<>();
  private final Deque<Long> completed = new ArrayDeque<>();

  /** Adds one chunk; returns the whole message when this chunk completes it. */
  public Optional<byte[]> accept(byte[] raw) throws MalformedDataException {
    DeltaChunks.Chunk c = DeltaChunks.parse(raw);
    if (completed.contains(c.messageId())
        && (first == null || first.messageId() != c.messageId())) {
      duplicates++; // a redelivered chunk of a message already handed out
      return Optional.empty();
    }
    if (first != null && first.messageId() != c.messageId()) {
      abandoned.add(new Abandoned(first.messageId(), missing(), first.count()));
      first = null;
    }
    if (first == null) {
      first = c;
      bodies = new byte[c.count()][];
      received = 0;
      nextExpected = 0;
    } else if (c.count() != first.count()
        || c.messageLength() != first.messageLength()
        || c.messageCrc() != first.messageCrc()) {
      throw new MalformedDataException(
          "chunk "
              + c.index()
              + " of message "
              + c.messageId()
              + " disagrees with the message's earlier chunks");
    }
    if (bodies[c.index()] != null) {
      if (!Arrays.equals(bodies[c.index()], c.body()))
        throw new MalformedDataException(
            "chunk "
                + c.index()
                + " of message "
                + c.messageId()
                + " arrived twice with different contents");
      duplicates++;
      return Optional.empty();
    }
    if (c.index() != nextExpected) outOfOrder++;
    nextExpected = c.index() + 1;
    bodies[c.index()] = c.body();
    received++;
    if (received < first.count()) return Optional.empty();
    byte[] message = new byte[first.messageLength()];
    int at = 0;
    for (byte[] b : bodies) {
      if (at + b.length > message.length)
        throw new MalformedDataException(
            "message " + first.messageId() + ": chunks longer than the message length");
      System.arraycopy(b, 0, message, at, b.length);
      at += b.length;
    }
    long id = first.messageId();
    int crcExpected = first.messageCrc();
    first = null;
    bodies = null;
    remember(id);
    CRC32C crc = new CRC32C();
    crc.update(message);
    if (at != message.length || (int) crc.getValue() != crcExpected)
      throw new MalformedDataException(
          "message " + id + ": reassembled bytes fail the message checksum");
    return Optional.of(message);
  }

  private void remember(long id) {
    completed.addLast(id);
    if (completed.size() > REMEMBERED_COMPLETED) completed.removeFirst();
  }

  /** Indices the message being assembled still lacks (empty when idle). */
  public int[] missing() {
    if (first == null) return new int[0];
    List<Integer> m = new ArrayList<>();
    for (int i = 0; i < bodies.length; i++) if (bodies[i] == null) m.add(i);
    return m.stream().mapToInt(Integer::intValue).toArray();
  }

  /** True while a message is partly assembled. */
  public boolean inProgress() {
    return first != null;
  }

  public long duplicateChunks() {
    return duplicates;
  }

  public long outOfOrderChunks() {
    return outOfOrder;
  }

  /** Messages abandoned incomplete, oldest first. */
  public List<Abandoned> abandoned() {
    return Collections.unmodifiableList(abandoned);
  }
}
