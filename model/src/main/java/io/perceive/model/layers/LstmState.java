package io.perceive.model.layers;

import org.nd4j.linalg.api.ndarray.INDArray;

/** The recurrent state (h, c) of many users, each [B, hidden]. */
public record LstmState(INDArray h, INDArray c) {}
