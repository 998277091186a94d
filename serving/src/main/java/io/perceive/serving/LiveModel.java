package io.perceive.serving;

import io.perceive.model.core.EmbeddingTable;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model version currently served: a single atomic reference that only ever moves to a higher
 * version, so a request sees one complete model and versions never go backwards. Requests {@link
 * #acquire()} a lease; a replaced model's parameters are released (off-heap memory freed) when its
 * last lease closes — JavaCPP's pointer GC is off (STACK.md), so nothing else would free them.
 */
public final class LiveModel {

  private static final Logger LOG = LoggerFactory.getLogger(LiveModel.class);

  /** A model and its users: the live slot holds one count, each open lease one more. */
  private static final class Entry {
    final ServingModel model;
    final AtomicInteger holders = new AtomicInteger(1);

    Entry(ServingModel model) {
      this.model = model;
    }
  }

  /** The use of one model version by one request; close it when the request is done. */
  public final class Lease implements AutoCloseable {
    private final Entry entry;
    private boolean closed;

    private Lease(Entry entry) {
      this.entry = entry;
    }

    public ServingModel model() {
      return entry.model;
    }

    @Override
    public void close() {
      if (closed) return;
      closed = true;
      release(entry);
    }
  }

  private final AtomicReference<Entry> current = new AtomicReference<>();
  private final java.util.concurrent.atomic.AtomicLong freed =
      new java.util.concurrent.atomic.AtomicLong();
  private final boolean freeReplaced;

  /** A live model that frees replaced models' parameters once no request uses them. */
  public LiveModel() {
    this(true);
  }

  /** {@code freeReplaced = false} keeps replaced models' memory (tests that hold old models). */
  public LiveModel(boolean freeReplaced) {
    this.freeReplaced = freeReplaced;
  }

  /**
   * The live model for reading its version and age. Do not score with it: use {@link #acquire()},
   * since a model replaced meanwhile may have its parameters freed.
   */
  public Optional<ServingModel> get() {
    Entry e = current.get();
    return e == null ? Optional.empty() : Optional.of(e.model);
  }

  /** The live version, or -1 before the first model. */
  public long version() {
    Entry e = current.get();
    return e == null ? -1 : e.model.version();
  }

  /** A lease on the live model, or empty before the first model. */
  public Optional<Lease> acquire() {
    while (true) {
      Entry e = current.get();
      if (e == null) return Optional.empty();
      int n = e.holders.get();
      // 0 = already replaced and released: the slot has moved on, read it again
      if (n > 0 && e.holders.compareAndSet(n, n + 1)) return Optional.of(new Lease(e));
    }
  }

  /**
   * Installs {@code next} if its version is higher than the live one; returns false (and changes
   * nothing) otherwise. Safe against concurrent installers.
   */
  public boolean install(ServingModel next) {
    Entry fresh = new Entry(next);
    while (true) {
      Entry prev = current.get();
      if (prev != null && prev.model.version() >= next.version()) return false;
      if (current.compareAndSet(prev, fresh)) {
        if (prev != null) release(prev); // the slot's own hold
        return true;
      }
    }
  }

  private void release(Entry e) {
    if (e.holders.decrementAndGet() == 0 && freeReplaced && free(e.model)) freed.incrementAndGet();
  }

  /** Replaced models whose parameter memory has been freed. */
  public long freedModels() {
    return freed.get();
  }

  private static boolean free(ServingModel m) {
    try {
      boolean all = close(m.parameters().flat());
      for (EmbeddingTable t : m.parameters().tables().values()) all &= close(t.weights());
      return all;
    } catch (RuntimeException ex) { // leaking is better than failing a swap
      LOG.warn(
          "could not free the parameters of replaced version {}: {}", m.version(), ex.toString());
      return false;
    }
  }

  private static boolean close(INDArray a) {
    if (a == null || !a.closeable()) return false;
    a.close();
    return true;
  }
}
