package io.perceive.model.optim;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Every optimizer hyperparameter, typed, defaulted and validated; stored in snapshots as properties
 * ({@link #toProperties()} / {@link #fromProperties(Map)}).
 *
 * @param kind which update rule
 * @param learningRate step size η (&gt; 0); default 0.001 (Adam's usual value)
 * @param beta1 Adam's first-moment decay β1 in [0, 1); default 0.9
 * @param beta2 Adam's second-moment decay β2 in [0, 1); default 0.999
 * @param epsilon added to the root of the second moment / accumulator (&gt; 0); default 1e-8
 * @param weightDecay decoupled weight decay λ on <b>dense</b> parameters only (w ← w − η·λ·w before
 *     the update, AdamW-style; embeddings are never decayed, since a row's decay would depend on
 *     how often it is touched); default 0 (off)
 * @param clipNorm global-norm clipping: when the L2 norm of all gradients (dense and sparse)
 *     exceeds it, every gradient is scaled by clipNorm / norm; 0 = off (default)
 * @param adagradInitialAccumulator Adagrad's starting accumulator value (≥ 0); default 0.1
 *     (TensorFlow's default, avoids huge first steps)
 */
public record OptimizerConfig(
    Kind kind,
    double learningRate,
    double beta1,
    double beta2,
    double epsilon,
    double weightDecay,
    double clipNorm,
    double adagradInitialAccumulator) {

  /** The update rule. */
  public enum Kind {
    SGD,
    ADAGRAD,
    ADAM
  }

  public OptimizerConfig {
    if (kind == null) throw new IllegalArgumentException("optimizer kind is required");
    check(
        learningRate > 0 && Double.isFinite(learningRate),
        "learningRate must be > 0",
        learningRate);
    check(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1)", beta1);
    check(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1)", beta2);
    check(epsilon > 0 && Double.isFinite(epsilon), "epsilon must be > 0", epsilon);
    check(
        weightDecay >= 0 && Double.isFinite(weightDecay), "weightDecay must be >= 0", weightDecay);
    check(clipNorm >= 0 && Double.isFinite(clipNorm), "clipNorm must be >= 0 (0 = off)", clipNorm);
    check(
        adagradInitialAccumulator >= 0 && Double.isFinite(adagradInitialAccumulator),
        "adagradInitialAccumulator must be >= 0",
        adagradInitialAccumulator);
  }

  private static void check(boolean ok, String what, double value) {
    if (!ok) throw new IllegalArgumentException("optimizer: " + what + ", got " + value);
  }

  /** Defaults for {@code kind}: η = 0.001 for Adam, 0.01 for SGD and Adagrad. */
  public static OptimizerConfig defaults(Kind kind) {
    double lr = kind == Kind.ADAM ? 0.001 : 0.01;
    return new OptimizerConfig(kind, lr, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.1);
  }

  public static OptimizerConfig sgd(double learningRate) {
    return defaults(Kind.SGD).withLearningRate(learningRate);
  }

  public static OptimizerConfig adagrad(double learningRate) {
    return defaults(Kind.ADAGRAD).withLearningRate(learningRate);
  }

  public static OptimizerConfig adam(double learningRate) {
    return defaults(Kind.ADAM).withLearningRate(learningRate);
  }

  public OptimizerConfig withLearningRate(double v) {
    return new OptimizerConfig(
        kind, v, beta1, beta2, epsilon, weightDecay, clipNorm, adagradInitialAccumulator);
  }

  public OptimizerConfig withBetas(double b1, double b2) {
    return new OptimizerConfig(
        kind, learningRate, b1, b2, epsilon, weightDecay, clipNorm, adagradInitialAccumulator);
  }

  public OptimizerConfig withEpsilon(double v) {
    return new OptimizerConfig(
        kind, learningRate, beta1, beta2, v, weightDecay, clipNorm, adagradInitialAccumulator);
  }

  public OptimizerConfig withWeightDecay(double v) {
    return new OptimizerConfig(
        kind, learningRate, beta1, beta2, epsilon, v, clipNorm, adagradInitialAccumulator);
  }

  public OptimizerConfig withClipNorm(double v) {
    return new OptimizerConfig(
        kind, learningRate, beta1, beta2, epsilon, weightDecay, v, adagradInitialAccumulator);
  }

  public OptimizerConfig withAdagradInitialAccumulator(double v) {
    return new OptimizerConfig(kind, learningRate, beta1, beta2, epsilon, weightDecay, clipNorm, v);
  }

  /** The optimizer this configuration describes, not yet initialised. */
  public Optimizer create() {
    return switch (kind) {
      case SGD -> new Sgd(this);
      case ADAGRAD -> new Adagrad(this);
      case ADAM -> new Adam(this);
    };
  }

  /** Keys prefixed {@code optimizer.}; doubles in Java's round-trip-exact text form. */
  public Map<String, String> toProperties() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("optimizer.kind", kind.name());
    m.put("optimizer.learningRate", Double.toString(learningRate));
    m.put("optimizer.beta1", Double.toString(beta1));
    m.put("optimizer.beta2", Double.toString(beta2));
    m.put("optimizer.epsilon", Double.toString(epsilon));
    m.put("optimizer.weightDecay", Double.toString(weightDecay));
    m.put("optimizer.clipNorm", Double.toString(clipNorm));
    m.put("optimizer.adagradInitialAccumulator", Double.toString(adagradInitialAccumulator));
    return m;
  }

  /** Inverse of {@link #toProperties()}; missing keys take the kind's defaults. */
  public static OptimizerConfig fromProperties(Map<String, String> m) {
    String k = m.get("optimizer.kind");
    if (k == null) throw new IllegalArgumentException("optimizer.kind missing");
    Kind kind;
    try {
      kind = Kind.valueOf(k);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("unknown optimizer.kind '" + k + "'", e);
    }
    OptimizerConfig d = defaults(kind);
    return new OptimizerConfig(
        kind,
        num(m, "optimizer.learningRate", d.learningRate),
        num(m, "optimizer.beta1", d.beta1),
        num(m, "optimizer.beta2", d.beta2),
        num(m, "optimizer.epsilon", d.epsilon),
        num(m, "optimizer.weightDecay", d.weightDecay),
        num(m, "optimizer.clipNorm", d.clipNorm),
        num(m, "optimizer.adagradInitialAccumulator", d.adagradInitialAccumulator));
  }

  private static double num(Map<String, String> m, String key, double dflt) {
    String v = m.get(key);
    if (v == null) return dflt;
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " is not a number: '" + v + "'", e);
    }
  }
}
