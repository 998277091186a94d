package io.perceive.model;

/**
 * The per-task losses of one batch (each a mean over the rows it applies to, unweighted; 0 when no
 * row applies) and the weighted total that was differentiated.
 */
public record Losses(
    double click,
    double conversion,
    double order,
    double klBound,
    double pairwise,
    double price,
    double total) {}
