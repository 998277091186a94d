package io.perceive.job.learner;

import io.perceive.job.domain.UserState;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoded user states of recently active users, in access order, with write-back: a state is
 * encoded into keyed RocksDB state only when it is evicted, before a checkpoint barrier and at end
 * of input — not on every event and timer. A session's events and timers then cost one decode and
 * one encode instead of one each. Bounded by a number of users.
 */
final class UserStateCache {

  /** Writes one state to the keyed backend (the operator sets the key). */
  interface Writer {
    void write(long user, UserState state) throws Exception;
  }

  private static final class Entry {
    final UserState state;
    boolean dirty;

    Entry(UserState state) {
      this.state = state;
    }
  }

  private final int capacity;
  private final LinkedHashMap<Long, Entry> entries;
  private long hits;
  private long misses;

  UserStateCache(int capacity) {
    if (capacity < 1) throw new IllegalArgumentException("state cache capacity must be >= 1");
    this.capacity = capacity;
    this.entries = new LinkedHashMap<>(Math.min(capacity, 1 << 16) * 2, 0.75f, true);
  }

  /** The cached state of a user, or null. */
  UserState get(long user) {
    Entry e = entries.get(user);
    if (e == null) misses++;
    else hits++;
    return e == null ? null : e.state;
  }

  /** Adds or replaces a user's state, marks it dirty; evicts (writing back) beyond capacity. */
  void put(long user, UserState state, Writer writer) throws Exception {
    Entry e = entries.get(user);
    if (e == null || e.state != state) {
      e = new Entry(state);
      entries.put(user, e);
    }
    e.dirty = true;
    while (entries.size() > capacity) {
      Iterator<Map.Entry<Long, Entry>> it = entries.entrySet().iterator();
      Map.Entry<Long, Entry> eldest = it.next();
      if (eldest.getKey() == user) break; // never evict the state being written
      it.remove();
      if (eldest.getValue().dirty) writer.write(eldest.getKey(), eldest.getValue().state);
    }
  }

  /** Caches a state read from the backend (clean). */
  void putClean(long user, UserState state) throws Exception {
    entries.put(user, new Entry(state));
  }

  void remove(long user) {
    entries.remove(user);
  }

  /** Writes every dirty state back; the cache keeps them (now clean). */
  void flush(Writer writer) throws Exception {
    for (Map.Entry<Long, Entry> e : entries.entrySet())
      if (e.getValue().dirty) {
        writer.write(e.getKey(), e.getValue().state);
        e.getValue().dirty = false;
      }
  }

  /** Drops everything (after a flush, e.g. on close). */
  void clear() {
    entries.clear();
  }

  int size() {
    return entries.size();
  }

  double hitRate() {
    long n = hits + misses;
    return n == 0 ? Double.NaN : (double) hits / n;
  }
}
