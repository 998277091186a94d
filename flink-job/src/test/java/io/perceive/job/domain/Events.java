package io.perceive.job.domain;

import io.perceive.model.input.SceneCodes;
import java.util.concurrent.atomic.AtomicLong;

/** Small builders for domain events in tests. */
final class Events {
  private static final AtomicLong SEQ = new AtomicLong();

  private Events() {}

  static Item item(long id, float price) {
    return new Item(id, id % 7, id % 5, id % 3, new float[] {price});
  }

  static Event of(EventKind kind, long user, long request, long itemId, long time) {
    return new Event(
        kind.name().toLowerCase() + "-" + SEQ.incrementAndGet(),
        user,
        kind,
        time,
        request,
        0,
        SceneCodes.of("recommend"),
        item(itemId, 30f),
        null);
  }

  static Event impression(long user, long request, long item, long time) {
    return of(EventKind.IMPRESSION, user, request, item, time);
  }

  static Event click(long user, long request, long item, long time) {
    return of(EventKind.CLICK, user, request, item, time);
  }

  static Event cart(long user, long item, long time) {
    return of(EventKind.CART, user, -1, item, time);
  }

  static Event order(long user, long item, long time) {
    return of(EventKind.ORDER, user, -1, item, time);
  }
}
