package io.perceive.model.core;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Rows of one embedding table with their values: a sparse gradient, a sparse delta or an optimizer
 * update. {@code rows} are unique and ascending; {@code values} is [rows.length, dim].
 */
public record SparseRows(String table, int[] rows, INDArray values) {
  public int size() {
    return rows.length;
  }
}
