package io.perceive.model.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The complete state of an {@link Optimizer}: its configuration, the step count, named state arrays
 * ({@code dense/m}, {@code table/emb/item/v}, ...) and named per-row step counters ({@code
 * table/emb/item/steps}, lazy Adam). Persisted in snapshots.
 */
public record OptimizerState(
    OptimizerConfig config,
    long steps,
    Map<String, INDArray> arrays,
    Map<String, long[]> counters) {

  public OptimizerState {
    if (config == null) throw new IllegalArgumentException("config is required");
    if (steps < 0) throw new IllegalArgumentException("steps must be >= 0, got " + steps);
    arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
    counters = Collections.unmodifiableMap(new LinkedHashMap<>(counters));
  }

  /** A deep copy (arrays duplicated). */
  public OptimizerState copy() {
    Map<String, INDArray> a = new LinkedHashMap<>();
    arrays.forEach((k, v) -> a.put(k, v.dup()));
    Map<String, long[]> c = new LinkedHashMap<>();
    counters.forEach((k, v) -> c.put(k, v.clone()));
    return new OptimizerState(config, steps, a, c);
  }
}
