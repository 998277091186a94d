package io.perceive.job.domain;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything the learner keeps for one user (DESIGN.md default): LSTM (h, c) at the start of the
 * behaviour window, the window's raw behaviours, profile features and activity statistics, the
 * frozen contexts of requests with pending labels, pending impressions and clicks, and recently
 * seen event ids for de-duplication, and events waiting for the watermark. Mutable; persisted with
 * {@link UserStateCodec}.
 */
public final class UserState {

  float[] h0;
  float[] c0;
  final ArrayDeque<Behaviour> window = new ArrayDeque<>();
  float[] profile; // configured order, NaN = missing; null until an event carries one
  long impressions;
  long clicks;
  long orders;
  long lastEventTimeMs = Long.MIN_VALUE;
  final Map<Long, RequestContext> requests = new LinkedHashMap<>();
  final List<PendingImpression> pendingImpressions = new ArrayList<>();
  final List<PendingClick> pendingClicks = new ArrayList<>();
  final LinkedHashMap<String, Long> seenEventIds = new LinkedHashMap<>();
  final List<Event> buffered = new ArrayList<>(); // arrived, waiting for the watermark
  long timerAt = Long.MAX_VALUE; // earliest event-time timer registered for this user
  long servingEmittedAtMs = Long.MIN_VALUE; // event time of the last user-state emission
  boolean servingChanged; // applied events not yet in an emitted user-state record

  public UserState(int hiddenSize) {
    h0 = new float[hiddenSize];
    c0 = new float[hiddenSize];
  }

  public float[] h0() {
    return h0;
  }

  public float[] c0() {
    return c0;
  }

  public List<Behaviour> window() {
    return List.copyOf(window);
  }

  public List<PendingImpression> pendingImpressions() {
    return List.copyOf(pendingImpressions);
  }

  public List<PendingClick> pendingClicks() {
    return List.copyOf(pendingClicks);
  }

  public Map<Long, RequestContext> requests() {
    return Map.copyOf(requests);
  }

  /** Events that arrived but wait for the watermark to pass them (processing order is by time). */
  public List<Event> buffered() {
    return buffered;
  }

  /** The earliest event-time timer the operator registered for this user (MAX = none). */
  public long timerAt() {
    return timerAt;
  }

  public void setTimerAt(long t) {
    timerAt = t;
  }

  /**
   * The state of a user who went idle: everything is forgotten except events that already arrived
   * but wait for the watermark, and the event ids still inside the de-duplication horizon.
   */
  public UserState restartedAfterIdle() {
    UserState fresh = new UserState(h0.length);
    fresh.buffered.addAll(buffered);
    fresh.seenEventIds.putAll(seenEventIds);
    return fresh;
  }

  /** Earliest event time among the buffered events (MAX when none). */
  public long earliestBuffered() {
    long m = Long.MAX_VALUE;
    for (Event e : buffered) m = Math.min(m, e.timeMs());
    return m;
  }

  public long lastEventTimeMs() {
    return lastEventTimeMs;
  }

  /**
   * Attaches an impression-time score to the pending impression {@code impressionEventId}, or to
   * its pending click when it was clicked before the score was taken. Returns false when neither is
   * pending any more (its rows were emitted; the caller attaches the score to them).
   */
  public boolean attachScore(String impressionEventId, ImpressionScore score) {
    for (int i = 0; i < pendingImpressions.size(); i++)
      if (pendingImpressions.get(i).eventId().equals(impressionEventId)) {
        pendingImpressions.set(i, pendingImpressions.get(i).withScore(score));
        return true;
      }
    for (int i = 0; i < pendingClicks.size(); i++)
      if (pendingClicks.get(i).impressionEventId().equals(impressionEventId)) {
        pendingClicks.set(i, pendingClicks.get(i).withScore(score));
        return true;
      }
    return false;
  }

  public boolean hasPendingLabels() {
    return !pendingImpressions.isEmpty() || !pendingClicks.isEmpty();
  }

  /** Number of activity statistics in {@link #statsFeatures()}. */
  public static final int STATS = 4;

  /** Names of the activity statistics, in {@link #statsFeatures()} order (model feature names). */
  public static final java.util.List<String> STAT_NAMES =
      java.util.List.of(
          "activity_impressions", "activity_clicks", "activity_orders", "activity_ctr");

  /**
   * Activity statistics as raw model features (the model's Missing Value Layer normalises them):
   * impressions, clicks and orders seen, and a smoothed click-through rate (prior 1 click in 20
   * impressions).
   */
  public float[] statsFeatures() {
    return new float[] {
      impressions, clicks, orders, (float) ((clicks + 1.0) / (impressions + 20.0))
    };
  }

  float[] profileOrMissing(int profileSize) {
    if (profile != null) return profile.clone();
    float[] p = new float[profileSize];
    Arrays.fill(p, Float.NaN);
    return p;
  }

  /** Profile features in the configured order (NaN = missing), a copy. */
  public float[] profileFeatures(int profileSize) {
    return profileOrMissing(profileSize);
  }

  /** Event time at which this user's serving state was last emitted (MIN = never). */
  public long servingEmittedAtMs() {
    return servingEmittedAtMs;
  }

  /** Whether events were applied since the last serving-state emission. */
  public boolean servingChanged() {
    return servingChanged;
  }

  /** Notes that an applied event changed what serving sees. */
  public void markServingChanged() {
    servingChanged = true;
  }

  /** Notes that the current serving state was emitted at event time {@code timeMs}. */
  public void markServingEmitted(long timeMs) {
    servingEmittedAtMs = timeMs;
    servingChanged = false;
  }
}
