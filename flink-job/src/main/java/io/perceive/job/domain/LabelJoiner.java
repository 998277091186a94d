package io.perceive.job.domain;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns one user's events, given in processing order (event time, then impression &lt; click &lt;
 * cart &lt; order), into labelled samples exactly as DESIGN.md's "Samples and labels" contract
 * says. Flink-free: the operator reads the {@link UserState}, calls this, writes the state back and
 * keeps an event-time timer at {@link #nextDeadline(UserState)}.
 *
 * <ul>
 *   <li>An impression freezes its request's user-side inputs ({@link RequestContext}) at its event
 *       time, before any later event of the user, and waits for its click.
 *   <li>A click on (request, item) emits the impression's click row (click = 1) and waits for an
 *       order; when the click window closes first, the row is click = 0, order = 0.
 *   <li>An order is attributed to the last pending click on the same item: conversion row with
 *       conversion = 1, order = 1; when the attribution window closes first, both are 0.
 *   <li>Unmatched clicks and orders advance the behaviour window and are only counted.
 * </ul>
 */
public final class LabelJoiner {

  /** Counted outcomes the operator turns into metrics. */
  public enum Counter {
    EVENTS,
    DUPLICATES,
    ORPHAN_CLICKS,
    UNATTRIBUTED_ORDERS,
    CLICK_ROWS,
    CONVERSION_ROWS,
    USERS_EXPIRED
  }

  /** Where samples and counts go. */
  public interface Output {
    void sample(Sample s);

    /**
     * A new pending impression, as an unlabelled row with its frozen inputs: the learner scores it
     * now (batched) and attaches the score ({@link UserState#attachScore}) so that its rows are
     * reported with the impression-time score.
     */
    default void impression(Sample unlabelled) {}

    void count(Counter c);
  }

  /**
   * Advances a user's LSTM state (in place) by one behaviour: called when a behaviour leaves the
   * window ({@code nowMs} = event time of the behaviour that pushed it out). The job implements it
   * with the current model weights.
   */
  @FunctionalInterface
  public interface StateAdvancer {
    void advance(float[] h, float[] c, Behaviour leaving, long nowMs);
  }

  private final LabelConfig cfg;
  private final int profileSize;
  private final StateAdvancer advancer;

  public LabelJoiner(LabelConfig cfg, int profileSize, StateAdvancer advancer) {
    this.cfg = cfg;
    this.profileSize = profileSize;
    this.advancer = advancer;
  }

  public LabelConfig config() {
    return cfg;
  }

  /**
   * True when the event's id was already seen within the de-duplication horizon; otherwise
   * remembers it. Ids older than the horizon (relative to the newest event time seen) are
   * forgotten.
   */
  public boolean isDuplicate(UserState s, Event e) {
    long newest = Math.max(s.lastEventTimeMs, e.timeMs());
    Iterator<Map.Entry<String, Long>> it = s.seenEventIds.entrySet().iterator();
    while (it.hasNext()) {
      if (it.next().getValue() < newest - cfg.dedupeHorizonMs()) it.remove();
      else break; // insertion order ~ time order; stop at the first young entry
    }
    if (s.seenEventIds.containsKey(e.eventId())) return true;
    s.seenEventIds.put(e.eventId(), e.timeMs());
    return false;
  }

  /** Applies one event; events must come in processing order. */
  public void onEvent(UserState s, Event e, Output out) {
    out.count(Counter.EVENTS);
    s.lastEventTimeMs = Math.max(s.lastEventTimeMs, e.timeMs());
    if (e.profile() != null) s.profile = e.profile().clone();
    switch (e.kind()) {
      case IMPRESSION -> onImpression(s, e, out);
      case CLICK -> {
        onClick(s, e, out);
        appendBehaviour(s, e);
      }
      case CART -> appendBehaviour(s, e);
      case ORDER -> {
        onOrder(s, e, out);
        appendBehaviour(s, e);
      }
    }
  }

  private void onImpression(UserState s, Event e, Output out) {
    s.impressions++;
    RequestContext ctx = s.requests.computeIfAbsent(e.requestId(), r -> freeze(s, e));
    PendingImpression p =
        new PendingImpression(
            e.eventId(),
            e.requestId(),
            e.item(),
            e.position(),
            e.timeMs(),
            e.timeMs() + cfg.clickWindowMs(),
            null);
    s.pendingImpressions.add(p);
    out.impression(Sample.toScore(ctx, p));
  }

  private RequestContext freeze(UserState s, Event e) {
    return new RequestContext(
        e.userId(),
        e.requestId(),
        e.scene(),
        e.timeMs(),
        s.h0.clone(),
        s.c0.clone(),
        List.copyOf(s.window),
        s.profileOrMissing(profileSize),
        s.statsFeatures());
  }

  private void onClick(UserState s, Event e, Output out) {
    s.clicks++;
    PendingImpression hit = null;
    for (PendingImpression p : s.pendingImpressions)
      if (p.requestId() == e.requestId() && p.item().itemId() == e.item().itemId()) {
        hit = p;
        break;
      }
    if (hit == null) {
      out.count(Counter.ORPHAN_CLICKS);
      return;
    }
    s.pendingImpressions.remove(hit);
    RequestContext ctx = s.requests.get(hit.requestId());
    emit(
        out,
        ctx,
        hit.eventId(),
        hit.item(),
        hit.position(),
        Sample.Row.CLICK,
        1,
        -1,
        -1,
        -1,
        e.timeMs(),
        hit.score());
    s.pendingClicks.add(
        new PendingClick(
            hit.eventId(),
            hit.requestId(),
            hit.item(),
            hit.position(),
            hit.timeMs(),
            e.timeMs(),
            e.timeMs() + cfg.attributionWindowMs(),
            hit.score()));
  }

  private void onOrder(UserState s, Event e, Output out) {
    s.orders++;
    PendingClick last = null;
    for (PendingClick c : s.pendingClicks)
      if (c.item().itemId() == e.item().itemId()
          && (last == null || c.clickTimeMs() >= last.clickTimeMs())) last = c;
    if (last == null) {
      out.count(Counter.UNATTRIBUTED_ORDERS);
      return;
    }
    s.pendingClicks.remove(last);
    RequestContext ctx = s.requests.get(last.requestId());
    float price = Float.isNaN(e.item().price()) ? last.item().price() : e.item().price();
    emit(
        out,
        ctx,
        last.impressionEventId(),
        last.item(),
        last.position(),
        Sample.Row.CONVERSION,
        -1,
        1,
        1,
        cfg.priceLevel(price),
        e.timeMs(),
        last.score());
    dropUnusedContexts(s);
  }

  private void appendBehaviour(UserState s, Event e) {
    Item it = e.item();
    s.window.addLast(
        new Behaviour(
            it.itemId(),
            it.shopId(),
            it.brandId(),
            it.categoryId(),
            e.kind().behaviourType(),
            e.scene(),
            e.timeMs()));
    while (s.window.size() > cfg.windowSize())
      advancer.advance(s.h0, s.c0, s.window.removeFirst(), e.timeMs());
  }

  /**
   * Closes every label window whose deadline is at or before {@code timeMs} (emitting negatives),
   * then, when the user has been idle for the idle timeout, returns true: the caller clears the
   * state.
   */
  public boolean onTime(UserState s, long timeMs, Output out) {
    List<PendingImpression> expiredImpressions = new ArrayList<>();
    for (PendingImpression p : s.pendingImpressions)
      if (p.deadlineMs() <= timeMs) expiredImpressions.add(p);
    for (PendingImpression p : expiredImpressions) {
      s.pendingImpressions.remove(p);
      emit(
          out,
          s.requests.get(p.requestId()),
          p.eventId(),
          p.item(),
          p.position(),
          Sample.Row.CLICK,
          0,
          -1,
          0,
          -1,
          p.deadlineMs(),
          p.score());
    }
    List<PendingClick> expiredClicks = new ArrayList<>();
    for (PendingClick c : s.pendingClicks) if (c.deadlineMs() <= timeMs) expiredClicks.add(c);
    for (PendingClick c : expiredClicks) {
      s.pendingClicks.remove(c);
      emit(
          out,
          s.requests.get(c.requestId()),
          c.impressionEventId(),
          c.item(),
          c.position(),
          Sample.Row.CONVERSION,
          -1,
          0,
          0,
          -1,
          c.deadlineMs(),
          c.score());
    }
    dropUnusedContexts(s);
    if (s.lastEventTimeMs != Long.MIN_VALUE && timeMs >= idleDeadline(s)) {
      flush(s, out);
      out.count(Counter.USERS_EXPIRED);
      return true;
    }
    return false;
  }

  /** Emits every pending label as a negative now (idle expiry; end of input uses the timers). */
  public void flush(UserState s, Output out) {
    long saved = s.lastEventTimeMs;
    s.lastEventTimeMs = Long.MIN_VALUE; // suppress the idle branch while flushing
    onTime(s, Long.MAX_VALUE, out);
    s.lastEventTimeMs = saved;
  }

  private long idleDeadline(UserState s) {
    return s.lastEventTimeMs + cfg.idleTimeoutMs();
  }

  /** The earliest event time at which {@link #onTime} has work: a label deadline or idle expiry. */
  public long nextDeadline(UserState s) {
    long d = s.lastEventTimeMs == Long.MIN_VALUE ? Long.MAX_VALUE : idleDeadline(s);
    for (PendingImpression p : s.pendingImpressions) d = Math.min(d, p.deadlineMs());
    for (PendingClick c : s.pendingClicks) d = Math.min(d, c.deadlineMs());
    return d;
  }

  private static void dropUnusedContexts(UserState s) {
    Set<Long> live = new HashSet<>();
    for (PendingImpression p : s.pendingImpressions) live.add(p.requestId());
    for (PendingClick c : s.pendingClicks) live.add(c.requestId());
    s.requests.keySet().retainAll(live);
  }

  private void emit(
      Output out,
      RequestContext ctx,
      String impressionId,
      Item item,
      int position,
      Sample.Row row,
      int click,
      int conversion,
      int order,
      int priceLevel,
      long labelTime,
      ImpressionScore score) {
    out.sample(
        new Sample(
            ctx,
            impressionId,
            item,
            position,
            row,
            (byte) click,
            (byte) conversion,
            (byte) order,
            priceLevel,
            labelTime,
            score));
    out.count(row == Sample.Row.CLICK ? Counter.CLICK_ROWS : Counter.CONVERSION_ROWS);
  }
}
