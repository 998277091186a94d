package io.perceive.model.snapshot;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.OptimizerState;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One published model state: its monotonically increasing version, creation time, the model
 * configuration as properties ({@code ModelConfig.toProperties()}), all parameters (with each
 * embedding row's last-update time) and, optionally, the optimizer state. Stored by {@link
 * SnapshotFile}.
 */
public record Snapshot(
    long modelVersion,
    long createdAtMs,
    Map<String, String> modelConfig,
    ParameterSet parameters,
    Optional<OptimizerState> optimizerState) {

  public Snapshot {
    if (modelVersion < 0)
      throw new IllegalArgumentException("modelVersion must be >= 0, got " + modelVersion);
    if (parameters == null) throw new IllegalArgumentException("parameters are required");
    modelConfig = Collections.unmodifiableMap(new LinkedHashMap<>(modelConfig));
    optimizerState = optimizerState == null ? Optional.empty() : optimizerState;
  }

  /**
   * Copies the parameters (values and row last-update times) into {@code target}, which must have
   * the same layout — e.g. a model built from {@link #modelConfig()}.
   */
  public void copyInto(ParameterSet target) {
    if (!target.sameLayout(parameters))
      throw new IllegalArgumentException("snapshot layout does not match the target parameters");
    target.flat().assign(parameters.flat());
    for (EmbeddingTable t : parameters.tables().values()) {
      EmbeddingTable dst = target.table(t.name());
      dst.weights().assign(t.weights());
      System.arraycopy(t.lastUpdate(), 0, dst.lastUpdate(), 0, t.rows());
      dst.markAllWritten();
    }
  }
}
