package io.perceive.serving;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.InputBuilder;

/**
 * One fully loaded, verified, immutable model version: what a request scores against. Requests take
 * one reference at their start, so a swap never mixes two versions inside one response.
 *
 * @param version the model version (monotonic, from the snapshot)
 * @param createdAtMs when the learner created the snapshot (snapshot age = now - this)
 * @param config the model configuration the snapshot was built with
 * @param model the model's structure for {@code config}
 * @param parameters the parameters, never modified after loading
 * @param inputs turns requests into the model's inputs exactly as the job does
 */
public record ServingModel(
    long version,
    long createdAtMs,
    ModelConfig config,
    MultiTaskModel model,
    ParameterSet parameters,
    InputBuilder inputs) {

  public static ServingModel of(
      long version, long createdAtMs, ModelConfig config, ParameterSet parameters) {
    MultiTaskModel model = new MultiTaskModel(config);
    return new ServingModel(
        version, createdAtMs, config, model, parameters, new InputBuilder(config));
  }
}
