package io.perceive.model;

/**
 * Per-sample predictions [S]: p(click), p(conversion | click) and p(order) (ESMM: p(click) ·
 * p(conversion)), plus the raw click logit used for ranking.
 */
public record Predictions(
    double[] click, double[] conversion, double[] order, double[] clickLogit) {
  public int size() {
    return click.length;
  }
}
