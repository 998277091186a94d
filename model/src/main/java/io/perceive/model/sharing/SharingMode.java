package io.perceive.model.sharing;

/**
 * How tasks share parameters (Ma et al., KDD 2018, "Modeling Task Relationships in MTL with MMoE").
 */
public enum SharingMode {
  /** One shared bottom layer feeding every task tower (the paper's baseline, eq. 1). */
  SHARED_BOTTOM,
  /** One-gate mixture of experts: one softmax gate over shared experts for all tasks (eq. 4). */
  OMOE,
  /** Multi-gate mixture of experts: one softmax gate per task over shared experts (eq. 5–6). */
  MMOE
}
