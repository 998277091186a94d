package io.perceive.serving;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The model version currently served: a single atomic reference that only ever moves to a higher
 * version, so a request sees one complete model and versions never go backwards.
 */
public final class LiveModel {

  private final AtomicReference<ServingModel> current = new AtomicReference<>();

  /** The live model, if one has been installed. */
  public Optional<ServingModel> get() {
    return Optional.ofNullable(current.get());
  }

  /** The live version, or -1 before the first model. */
  public long version() {
    ServingModel m = current.get();
    return m == null ? -1 : m.version();
  }

  /**
   * Installs {@code next} if its version is higher than the live one; returns false (and changes
   * nothing) otherwise. Safe against concurrent installers.
   */
  public boolean install(ServingModel next) {
    while (true) {
      ServingModel prev = current.get();
      if (prev != null && prev.version() >= next.version()) return false;
      if (current.compareAndSet(prev, next)) return true;
    }
  }
}
