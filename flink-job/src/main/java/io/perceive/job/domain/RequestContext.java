package io.perceive.job.domain;

import java.util.List;

/**
 * The user-side inputs of a request, frozen at its first impression's event time before any later
 * event of the user: LSTM state at the window start, the window's behaviours, profile features and
 * activity statistics. Every sample of the request uses exactly these inputs for its prequential
 * score and its training step, so the user-side work is done once per (user, request) group.
 *
 * @param h0 LSTM hidden state at the window start [H]
 * @param c0 LSTM cell state at the window start [H]
 * @param window the behaviours in the window, oldest first (at most N)
 * @param profile profile features in the configured order (NaN = missing), never null
 * @param stats activity statistics at that time (see {@link UserState#statsFeatures()})
 */
public record RequestContext(
    long userId,
    long requestId,
    int scene,
    long timeMs,
    float[] h0,
    float[] c0,
    List<Behaviour> window,
    float[] profile,
    float[] stats) {}
