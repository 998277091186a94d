package io.perceive.model.sharing;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;

/**
 * Sizes of a {@link SharingBlock}, validated up front.
 *
 * @param mode shared-bottom, OMoE or MMoE
 * @param tasks task names (≥ 2, unique); towers are {@code tower_<task>}, MMoE gates {@code
 *     gate_<task>}
 * @param userWidth width of the per-user input (0 = no user part: a plain [B, D] block)
 * @param itemWidth width of the per-sample input
 * @param experts number of experts (≥ 2 for OMoE/MMoE; ignored for shared-bottom)
 * @param expertHidden units of each single-layer ReLU expert
 * @param bottomHidden units of the shared-bottom ReLU layer
 * @param towerHidden units of each task tower's hidden ReLU layer (0 = tower is one linear unit)
 */
public record SharingConfig(
    SharingMode mode,
    List<String> tasks,
    int userWidth,
    int itemWidth,
    int experts,
    int expertHidden,
    int bottomHidden,
    int towerHidden) {

  public SharingConfig {
    Objects.requireNonNull(mode, "mode");
    tasks = List.copyOf(tasks);
    if (tasks.size() < 2)
      throw new IllegalArgumentException("a multi-task block needs >= 2 tasks, got " + tasks);
    if (new HashSet<>(tasks).size() != tasks.size())
      throw new IllegalArgumentException("task names must be unique: " + tasks);
    for (String t : tasks)
      if (t.isEmpty() || !t.matches("[A-Za-z0-9_]+"))
        throw new IllegalArgumentException("task names are [A-Za-z0-9_]+, got '" + t + "'");
    if (userWidth < 0) throw new IllegalArgumentException("userWidth must be >= 0: " + userWidth);
    if (itemWidth < 1) throw new IllegalArgumentException("itemWidth must be >= 1: " + itemWidth);
    if (mode != SharingMode.SHARED_BOTTOM && experts < 2)
      throw new IllegalArgumentException(mode + " needs >= 2 experts, got " + experts);
    if (mode != SharingMode.SHARED_BOTTOM && expertHidden < 1)
      throw new IllegalArgumentException("expertHidden must be >= 1: " + expertHidden);
    if (mode == SharingMode.SHARED_BOTTOM && bottomHidden < 1)
      throw new IllegalArgumentException("bottomHidden must be >= 1: " + bottomHidden);
    if (towerHidden < 0)
      throw new IllegalArgumentException("towerHidden must be >= 0: " + towerHidden);
  }

  /** A standalone block over a dense input [B, inputWidth] (no user/item split). */
  public static SharingConfig standalone(
      SharingMode mode,
      List<String> tasks,
      int inputWidth,
      int experts,
      int expertHidden,
      int bottomHidden,
      int towerHidden) {
    return new SharingConfig(
        mode, tasks, 0, inputWidth, experts, expertHidden, bottomHidden, towerHidden);
  }
}
