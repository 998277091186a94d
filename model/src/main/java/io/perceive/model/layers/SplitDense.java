package io.perceive.model.layers;

import io.perceive.model.core.Gemm;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A fully connected first layer over [user, item] whose weight is split by input rows (DUPN's model
 * split): y = act(u W_user + b + item W_item). The user half u W_user + b is computed once per user
 * ({@link #userHalf}) and reused for every candidate item of that user, in training (once per
 * request group) and in serving (once per request).
 *
 * <p>With {@code userIn == 0} it is a plain dense layer over the item input with parameters {@code
 * <name>/W}, {@code <name>/b} (the standalone entry point). Otherwise {@code <name>/W_user}
 * [userIn, out], {@code <name>/W_item} [itemIn, out], {@code <name>/b} [out].
 */
public final class SplitDense {

  /** What forward keeps for backward. */
  public static final class Cache {
    INDArray item; // [S, itemIn]
    INDArray y; // [S, out]

    /** A cache filled by a caller that computed the forward itself (SharingBlock's fused gemm). */
    public static Cache of(INDArray item, INDArray y) {
      Cache c = new Cache();
      c.item = item;
      c.y = y;
      return c;
    }
  }

  private final String name;
  private final int userIn;
  private final int itemIn;
  private final int out;
  private final Activation act;

  public SplitDense(String name, int userIn, int itemIn, int out, Activation act) {
    if (userIn < 0 || itemIn < 1 || out < 1)
      throw new IllegalArgumentException(
          name
              + ": need userIn >= 0, itemIn >= 1, out >= 1; got "
              + userIn
              + ", "
              + itemIn
              + ", "
              + out);
    this.name = name;
    this.userIn = userIn;
    this.itemIn = itemIn;
    this.out = out;
    this.act = act;
  }

  public String name() {
    return name;
  }

  public int itemIn() {
    return itemIn;
  }

  public int userIn() {
    return userIn;
  }

  public int out() {
    return out;
  }

  public boolean split() {
    return userIn > 0;
  }

  public String userWeightName() {
    return name + "/W_user";
  }

  public String itemWeightName() {
    return split() ? name + "/W_item" : name + "/W";
  }

  public String biasName() {
    return name + "/b";
  }

  /** Registers the weights (He for ReLU, else Xavier, over the full fan-in) and a zero bias. */
  public void register(ParameterSet.Builder b) {
    int fanIn = userIn + itemIn;
    Init w = act == Activation.RELU ? Init.he(fanIn) : Init.xavier(fanIn, out);
    if (split()) b.dense(userWeightName(), w, userIn, out);
    b.dense(itemWeightName(), w, itemIn, out);
    b.dense(biasName(), Init.ZEROS, out);
  }

  /** u [G, userIn] → u W_user + b [G, out]: the pre-activation user half, once per user. */
  public INDArray userHalf(ParameterSet p, INDArray u) {
    if (!split()) throw new IllegalStateException(name + " has no user input");
    INDArray z = Nd4j.createUninitialized(u.dataType(), u.rows(), out); // [G, out]
    Gemm.gemm(u, p.get(userWeightName()), z, false, false, 1.0, 0.0);
    HostView.addRowVector(z, p.get(biasName())); // one Java pass, not an ND4J broadcast op
    return z;
  }

  /**
   * selector [G, S] (one-hot: column s has a 1 in the row of sample s's user), userHalf [G, out]
   * (from {@link #userHalf}; both null when not split) and item [S, itemIn] → y [S, out].
   *
   * <p>The user halves reach the samples through a gemm with the selector (selectorᵀ · userHalf)
   * written straight into y, instead of a row gather plus a copy: one BLAS call, cheaper here than
   * {@code Nd4j.pullRows}, and the same selector sums the gradient back per user.
   */
  public INDArray forward(
      ParameterSet p, INDArray selector, INDArray userHalf, INDArray item, Cache cache) {
    if (item.columns() != itemIn)
      throw new IllegalArgumentException(
          name + ": item input has " + item.columns() + " columns, expected " + itemIn);
    INDArray y = Nd4j.createUninitialized(item.dataType(), item.rows(), out); // [S, out]
    if (split()) {
      Gemm.gemm(selector, userHalf, y, true, false, 1.0, 0.0); // [S, G] · [G, out]
      Gemm.gemm(item, p.get(itemWeightName()), y, false, false, 1.0, 1.0);
    } else {
      Gemm.gemm(item, p.get(itemWeightName()), y, false, false, 1.0, 0.0);
      y.addiRowVector(p.get(biasName()));
    }
    act.applyInPlace(y);
    if (cache != null) {
      cache.item = item;
      cache.y = y;
    }
    return y;
  }

  /**
   * The unsplit computation, for checking and benchmarking the split: x = [userRows, item] [S,
   * userIn + itemIn] times the full weight [W_user; W_item] in one gemm, + b, then act.
   */
  public INDArray forwardUnsplit(ParameterSet p, INDArray userInput, INDArray item) {
    if (!split()) return forward(p, null, null, item, null);
    INDArray x = Nd4j.hstack(userInput, item); // [S, userIn + itemIn]
    INDArray w = Nd4j.vstack(p.get(userWeightName()), p.get(itemWeightName())); // [in, out]
    INDArray y = Nd4j.createUninitialized(item.dataType(), item.rows(), out); // [S, out]
    Gemm.gemm(x, w, y, false, false, 1.0, 0.0);
    y.addiRowVector(p.get(biasName()));
    return act.applyInPlace(y);
  }

  /**
   * dy [S, out] (overwritten: becomes dz, the gradient of each sample's pre-activation, which is
   * also dL/d userRows) → dItem [S, itemIn]. Adds dW_item (and db when not split) into g.
   */
  public INDArray backward(ParameterSet p, Gradients g, INDArray dy, Cache cache) {
    INDArray dItem = Nd4j.createUninitialized(dy.dataType(), dy.rows(), itemIn); // [S, itemIn]
    backwardInto(p, g, dy, cache, dItem, false);
    return dItem;
  }

  /**
   * {@link #backward} with dItem written into (or, when {@code accumulate}, added to) {@code
   * dItemOut} [S, itemIn]: a block of several layers sums their dItem in one array through the
   * gemm's beta instead of a new array and an ND4J add per layer (native allocations under
   * nopointergc are page-faulted and never returned, docs/model-performance.md).
   */
  public void backwardInto(
      ParameterSet p,
      Gradients g,
      INDArray dy,
      Cache cache,
      INDArray dItemOut,
      boolean accumulate) {
    INDArray dz = act.backwardInPlace(dy, cache.y); // [S, out]
    Gemm.gemm(cache.item, dz, g.get(itemWeightName()), true, false, 1.0, 1.0); // [itemIn, out]
    if (!split()) g.get(biasName()).addi(dz.sum(0));
    Gemm.gemm(dz, p.get(itemWeightName()), dItemOut, false, true, 1.0, accumulate ? 1.0 : 0.0);
  }

  /** dHalf [G, out] (per-user sum of dz) and u [G, userIn] → du [G, userIn]; adds dW_user, db. */
  public INDArray backwardUser(ParameterSet p, Gradients g, INDArray dHalf, INDArray u) {
    INDArray du = Nd4j.createUninitialized(dHalf.dataType(), dHalf.rows(), userIn); // [G, userIn]
    backwardUserInto(p, g, dHalf, u, du, false);
    return du;
  }

  /**
   * {@link #backwardUser} into (or, when {@code accumulate}, added to) {@code duOut} [G, userIn].
   */
  public void backwardUserInto(
      ParameterSet p, Gradients g, INDArray dHalf, INDArray u, INDArray duOut, boolean accumulate) {
    Gemm.gemm(u, dHalf, g.get(userWeightName()), true, false, 1.0, 1.0); // [userIn, out]
    g.get(biasName()).addi(dHalf.sum(0));
    Gemm.gemm(dHalf, p.get(userWeightName()), duOut, false, true, 1.0, accumulate ? 1.0 : 0.0);
  }
}
