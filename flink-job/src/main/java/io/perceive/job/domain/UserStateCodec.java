package io.perceive.job.domain;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The persisted form of {@link UserState} (RocksDB keyed state): a format-version byte, then a
 * compact binary body (zig-zag varints for ids and counts). Reading an unknown version fails with a
 * clear message; every change to the body adds a version and keeps the old reader.
 *
 * <p>Versions: 1 — the first body; 2 — the serving-state throttle appended; 3 — each pending
 * impression and pending click ends with its impression-time score (a presence byte, then p(click),
 * p(conversion), p(order) as floats and the model version as a long). A version-1 state reads with
 * no scores: those rows are reported with their minibatch score.
 */
public final class UserStateCodec {

  /**
   * Version written by this build. 2 appends the serving-state throttle (last emission time,
   * changed flag) to version 1's body; 3 adds the impression-time score to each pending impression
   * and pending click. Versions 1 and 2 are still read.
   */
  public static final int CURRENT_VERSION = 3;

  private UserStateCodec() {}

  public static byte[] encode(UserState s) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(2048);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(CURRENT_VERSION);
      writeVarLong(out, s.h0.length);
      writeFloats(out, s.h0);
      writeFloats(out, s.c0);
      writeBehaviours(out, s.window);
      writeNullableFloats(out, s.profile);
      writeVarLong(out, s.impressions);
      writeVarLong(out, s.clicks);
      writeVarLong(out, s.orders);
      out.writeLong(s.lastEventTimeMs);
      writeVarLong(out, s.requests.size());
      for (RequestContext r : s.requests.values()) {
        writeVarLong(out, r.userId());
        writeVarLong(out, r.requestId());
        writeVarLong(out, r.scene());
        out.writeLong(r.timeMs());
        writeFloats(out, r.h0());
        writeFloats(out, r.c0());
        writeBehaviours(out, r.window());
        writeVarLong(out, r.profile().length);
        writeFloats(out, r.profile());
        writeVarLong(out, r.stats().length);
        writeFloats(out, r.stats());
      }
      writeVarLong(out, s.pendingImpressions.size());
      for (PendingImpression p : s.pendingImpressions) {
        out.writeUTF(p.eventId());
        writeVarLong(out, p.requestId());
        writeItem(out, p.item());
        writeVarLong(out, p.position());
        out.writeLong(p.timeMs());
        out.writeLong(p.deadlineMs());
        writeScore(out, p.score());
      }
      writeVarLong(out, s.pendingClicks.size());
      for (PendingClick c : s.pendingClicks) {
        out.writeUTF(c.impressionEventId());
        writeVarLong(out, c.requestId());
        writeItem(out, c.item());
        writeVarLong(out, c.position());
        out.writeLong(c.impressionTimeMs());
        out.writeLong(c.clickTimeMs());
        out.writeLong(c.deadlineMs());
        writeScore(out, c.score());
      }
      writeVarLong(out, s.seenEventIds.size());
      for (var e : s.seenEventIds.entrySet()) {
        out.writeUTF(e.getKey());
        out.writeLong(e.getValue());
      }
      writeVarLong(out, s.buffered.size());
      for (Event e : s.buffered) writeEvent(out, e);
      out.writeLong(s.timerAt);
      out.writeLong(s.servingEmittedAtMs);
      out.writeBoolean(s.servingChanged);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  public static UserState decode(byte[] bytes) {
    if (bytes == null || bytes.length == 0)
      throw new IllegalArgumentException("user state: empty bytes");
    int version = bytes[0];
    if (version < 1 || version > CURRENT_VERSION)
      throw new IllegalArgumentException(
          "user state: unknown format version "
              + version
              + " (this build reads versions 1 to "
              + CURRENT_VERSION
              + "); was the state written by a newer Perceive?");
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      in.readByte();
      int h = (int) readVarLong(in);
      UserState s = new UserState(h);
      s.h0 = readFloats(in, h);
      s.c0 = readFloats(in, h);
      s.window.addAll(readBehaviours(in));
      s.profile = readNullableFloats(in);
      s.impressions = readVarLong(in);
      s.clicks = readVarLong(in);
      s.orders = readVarLong(in);
      s.lastEventTimeMs = in.readLong();
      long n = readVarLong(in);
      for (long i = 0; i < n; i++) {
        long user = readVarLong(in);
        long request = readVarLong(in);
        int scene = (int) readVarLong(in);
        long time = in.readLong();
        float[] rh = readFloats(in, h);
        float[] rc = readFloats(in, h);
        List<Behaviour> w = readBehaviours(in);
        float[] profile = readFloats(in, (int) readVarLong(in));
        float[] stats = readFloats(in, (int) readVarLong(in));
        s.requests.put(
            request, new RequestContext(user, request, scene, time, rh, rc, w, profile, stats));
      }
      n = readVarLong(in);
      for (long i = 0; i < n; i++)
        s.pendingImpressions.add(
            new PendingImpression(
                in.readUTF(),
                readVarLong(in),
                readItem(in),
                (int) readVarLong(in),
                in.readLong(),
                in.readLong(),
                version >= 3 ? readScore(in) : null));
      n = readVarLong(in);
      for (long i = 0; i < n; i++)
        s.pendingClicks.add(
            new PendingClick(
                in.readUTF(),
                readVarLong(in),
                readItem(in),
                (int) readVarLong(in),
                in.readLong(),
                in.readLong(),
                in.readLong(),
                version >= 3 ? readScore(in) : null));
      n = readVarLong(in);
      for (long i = 0; i < n; i++) s.seenEventIds.put(in.readUTF(), in.readLong());
      n = readVarLong(in);
      for (long i = 0; i < n; i++) s.buffered.add(readEvent(in));
      s.timerAt = in.readLong();
      if (version >= 2) {
        s.servingEmittedAtMs = in.readLong();
        s.servingChanged = in.readBoolean();
      }
      if (in.available() != 0)
        throw new IllegalArgumentException(
            "user state: "
                + in.available()
                + " trailing bytes after a version-"
                + version
                + " body");
      return s;
    } catch (IOException e) {
      throw new IllegalArgumentException("user state: truncated or corrupt (" + e + ")", e);
    }
  }

  private static void writeScore(DataOutputStream out, ImpressionScore s) throws IOException {
    out.writeBoolean(s != null);
    if (s == null) return;
    out.writeFloat(s.click());
    out.writeFloat(s.conversion());
    out.writeFloat(s.order());
    out.writeLong(s.modelVersion());
  }

  private static ImpressionScore readScore(DataInputStream in) throws IOException {
    if (!in.readBoolean()) return null;
    return new ImpressionScore(in.readFloat(), in.readFloat(), in.readFloat(), in.readLong());
  }

  private static void writeBehaviours(DataOutputStream out, Iterable<Behaviour> bs)
      throws IOException {
    List<Behaviour> list = new ArrayList<>();
    bs.forEach(list::add);
    writeVarLong(out, list.size());
    for (Behaviour b : list) {
      writeVarLong(out, b.itemId());
      writeVarLong(out, b.shopId());
      writeVarLong(out, b.brandId());
      writeVarLong(out, b.categoryId());
      writeVarLong(out, b.behaviourType());
      writeVarLong(out, b.scene());
      out.writeLong(b.timeMs());
    }
  }

  private static List<Behaviour> readBehaviours(DataInputStream in) throws IOException {
    int n = (int) readVarLong(in);
    List<Behaviour> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++)
      list.add(
          new Behaviour(
              readVarLong(in),
              readVarLong(in),
              readVarLong(in),
              readVarLong(in),
              (int) readVarLong(in),
              (int) readVarLong(in),
              in.readLong()));
    return list;
  }

  private static void writeEvent(DataOutputStream out, Event e) throws IOException {
    out.writeUTF(e.eventId());
    writeVarLong(out, e.userId());
    out.writeByte(e.kind().ordinal());
    out.writeLong(e.timeMs());
    writeVarLong(out, e.requestId());
    writeVarLong(out, e.position());
    writeVarLong(out, e.scene());
    writeItem(out, e.item());
    writeNullableFloats(out, e.profile());
  }

  private static Event readEvent(DataInputStream in) throws IOException {
    String id = in.readUTF();
    long user = readVarLong(in);
    int kind = in.readUnsignedByte();
    if (kind >= EventKind.values().length) throw new IOException("unknown event kind " + kind);
    return new Event(
        id,
        user,
        EventKind.values()[kind],
        in.readLong(),
        readVarLong(in),
        (int) readVarLong(in),
        (int) readVarLong(in),
        readItem(in),
        readNullableFloats(in));
  }

  private static void writeItem(DataOutputStream out, Item it) throws IOException {
    writeVarLong(out, it.itemId());
    writeVarLong(out, it.shopId());
    writeVarLong(out, it.brandId());
    writeVarLong(out, it.categoryId());
    writeVarLong(out, it.features().length);
    writeFloats(out, it.features());
  }

  private static Item readItem(DataInputStream in) throws IOException {
    long item = readVarLong(in);
    long shop = readVarLong(in);
    long brand = readVarLong(in);
    long cat = readVarLong(in);
    float[] f = readFloats(in, (int) readVarLong(in));
    return new Item(item, shop, brand, cat, f);
  }

  private static void writeFloats(DataOutputStream out, float[] v) throws IOException {
    for (float x : v) out.writeFloat(x);
  }

  private static float[] readFloats(DataInputStream in, int n) throws IOException {
    if (n < 0 || n > 1 << 20) throw new IOException("implausible array length " + n);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = in.readFloat();
    return v;
  }

  private static void writeNullableFloats(DataOutputStream out, float[] v) throws IOException {
    if (v == null) {
      writeVarLong(out, -1);
      return;
    }
    writeVarLong(out, v.length);
    writeFloats(out, v);
  }

  private static float[] readNullableFloats(DataInputStream in) throws IOException {
    long n = readVarLong(in);
    return n < 0 ? null : readFloats(in, (int) n);
  }

  static void writeVarLong(DataOutputStream out, long v) throws IOException {
    long z = (v << 1) ^ (v >> 63); // zig-zag: small negatives (-1 = missing id) stay short
    while ((z & ~0x7FL) != 0) {
      out.writeByte((int) ((z & 0x7F) | 0x80));
      z >>>= 7;
    }
    out.writeByte((int) z);
  }

  static long readVarLong(DataInputStream in) throws IOException {
    long z = 0;
    int shift = 0;
    while (true) {
      int b = in.readUnsignedByte();
      z |= (long) (b & 0x7F) << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
      if (shift > 63) throw new IOException("varint too long");
    }
    return (z >>> 1) ^ -(z & 1);
  }
}
