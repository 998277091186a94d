package io.perceive.model.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.core.SparseRows;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Central finite-difference gradient checks in double precision (the Deeplearning4j practice):
 * every dense parameter (or a random sample of its entries), every touched embedding row, and
 * inputs.
 */
public final class GradientCheck {

  /** eps for central differences in double precision. */
  public static final double EPS = 1e-6;

  /** Relative error accepted (absolute error below {@link #MIN_ABS} always passes). */
  public static final double MAX_REL = 1e-5;

  public static final double MIN_ABS = 1e-9;

  private GradientCheck() {}

  /**
   * Checks analytic gradients of {@code loss} w.r.t. every parameter in {@code p} (which must be
   * DOUBLE). {@code analytic} runs forward + backward and returns the gradients; {@code loss} runs
   * forward only. Checks at most {@code perParam} random entries of each dense parameter and of
   * each table's touched rows; untouched rows must have zero numerical gradient (checked on a
   * sample).
   */
  public static void check(
      ParameterSet p,
      ToDoubleFunction<ParameterSet> loss,
      Function<ParameterSet, Gradients> analytic,
      int perParam,
      long seed) {
    assertThat(p.dataType())
        .as("gradient checks run in double precision")
        .isEqualTo(DataType.DOUBLE);
    Gradients g = analytic.apply(p);
    Random rnd = new Random(seed);
    List<String> failures = new ArrayList<>();
    int checked = 0;
    for (ParameterSet.DenseSpec s : p.denseSpecs().values()) {
      INDArray w = p.get(s.name()).reshape(s.length());
      INDArray gw = g.get(s.name()).reshape(s.length());
      for (long idx : sample(s.length(), perParam, rnd)) {
        double num = numeric(p, loss, w, idx);
        double ana = gw.getDouble(idx);
        checked++;
        if (!close(num, ana))
          failures.add(s.name() + "[" + idx + "] analytic " + ana + " numeric " + num);
      }
    }
    for (EmbeddingTable t : p.tables().values()) {
      SparseRows sr = g.sparse(t.name());
      INDArray w = t.weights();
      int[] touched = sr.rows();
      for (int k : sampleIdx(touched.length, perParam, rnd)) {
        int row = touched[k];
        int col = rnd.nextInt(t.dim());
        long flat = (long) row * t.dim() + col;
        double num = numeric(p, loss, w.reshape((long) t.rows() * t.dim()), flat);
        double ana = sr.values().getDouble(k, col);
        checked++;
        if (!close(num, ana))
          failures.add(t.name() + "[" + row + "," + col + "] analytic " + ana + " numeric " + num);
      }
      // a few untouched rows must not influence the loss
      java.util.Set<Integer> tset = new java.util.HashSet<>();
      for (int r : touched) tset.add(r);
      for (int tries = 0, done = 0; tries < 50 && done < 3; tries++) {
        int row = rnd.nextInt(t.rows());
        if (tset.contains(row)) continue;
        done++;
        double num = numeric(p, loss, w.reshape((long) t.rows() * t.dim()), (long) row * t.dim());
        if (Math.abs(num) > 1e-8)
          failures.add(t.name() + "[" + row + "] untouched row has numeric gradient " + num);
      }
    }
    assertThat(checked).as("entries checked").isPositive();
    assertThat(failures).as("gradient mismatches").isEmpty();
  }

  /** Checks dL/dx against central differences for an input {@code x} (DOUBLE). */
  public static void checkInput(
      INDArray x, ToDoubleFunction<INDArray> loss, INDArray analyticDx, int maxEntries, long seed) {
    assertThat(x.dataType()).isEqualTo(DataType.DOUBLE);
    Random rnd = new Random(seed);
    INDArray flat = x.reshape(x.length());
    INDArray aflat = analyticDx.dup('c').reshape(x.length());
    List<String> failures = new ArrayList<>();
    for (long idx : sample(x.length(), maxEntries, rnd)) {
      double orig = flat.getDouble(idx);
      flat.putScalar(idx, orig + EPS);
      double lp = loss.applyAsDouble(x);
      flat.putScalar(idx, orig - EPS);
      double lm = loss.applyAsDouble(x);
      flat.putScalar(idx, orig);
      double num = (lp - lm) / (2 * EPS);
      double ana = aflat.getDouble(idx);
      if (!close(num, ana)) failures.add("input[" + idx + "] analytic " + ana + " numeric " + num);
    }
    assertThat(failures).as("input gradient mismatches").isEmpty();
  }

  private static double numeric(
      ParameterSet p, ToDoubleFunction<ParameterSet> loss, INDArray flatView, long idx) {
    double orig = flatView.getDouble(idx);
    flatView.putScalar(idx, orig + EPS);
    double lp = loss.applyAsDouble(p);
    flatView.putScalar(idx, orig - EPS);
    double lm = loss.applyAsDouble(p);
    flatView.putScalar(idx, orig);
    return (lp - lm) / (2 * EPS);
  }

  static boolean close(double num, double ana) {
    double abs = Math.abs(num - ana);
    if (abs < MIN_ABS) return true;
    return abs / Math.max(Math.abs(num), Math.abs(ana)) < MAX_REL;
  }

  private static long[] sample(long n, int max, Random rnd) {
    if (n <= max) {
      long[] all = new long[(int) n];
      for (int i = 0; i < n; i++) all[i] = i;
      return all;
    }
    long[] s = new long[max];
    for (int i = 0; i < max; i++) s[i] = (long) (rnd.nextDouble() * n);
    return s;
  }

  private static int[] sampleIdx(int n, int max, Random rnd) {
    long[] l = sample(n, max, rnd);
    int[] r = new int[l.length];
    for (int i = 0; i < l.length; i++) r[i] = (int) l[i];
    return r;
  }
}
