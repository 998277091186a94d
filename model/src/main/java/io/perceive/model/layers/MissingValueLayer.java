package io.perceive.model.layers;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.HostView;
import io.perceive.model.core.Init;
import io.perceive.model.core.ParameterSet;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Missing Value Layer of Meituan's "guess you like" ranking model: a missing continuous feature
 * (NaN in the input, or 0 in an optional presence mask) is replaced by a learned per-feature value
 * {@code <name>/fill} [F] trained by back-propagation, instead of 0 or a mean; present values pass
 * through a configured normalisation.
 *
 * <p>The inputs are a handful of columns per row, so the element-wise work runs in plain Java over
 * one copy of the input: cheaper here than a dozen ND4J calls of ~20 µs each (see STACK.md).
 */
public final class MissingValueLayer {

  /** How a present value is normalised before it enters the network. */
  public enum Normalisation {
    /** x as is. */
    NONE,
    /** (x - mean) / std with configured constants. */
    STANDARD,
    /** log(1 + x), for heavy-tailed non-negative values such as prices; requires x > -1. */
    LOG1P
  }

  /** One continuous feature: its name (for errors and docs) and normalisation. */
  public record Feature(String name, Normalisation normalisation, double mean, double std) {
    public Feature {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(normalisation, "normalisation");
      if (!(std > 0) || !Double.isFinite(std) || !Double.isFinite(mean))
        throw new IllegalArgumentException(
            "feature " + name + ": std must be finite and > 0 and mean finite");
    }

    public static Feature raw(String name) {
      return new Feature(name, Normalisation.NONE, 0, 1);
    }

    public static Feature standard(String name, double mean, double std) {
      return new Feature(name, Normalisation.STANDARD, mean, std);
    }

    public static Feature log1p(String name) {
      return new Feature(name, Normalisation.LOG1P, 0, 1);
    }

    double normalise(double x) {
      return switch (normalisation) {
        case NONE -> x;
        case STANDARD -> (x - mean) / std;
        case LOG1P -> {
          if (!(x > -1))
            throw new IllegalArgumentException(
                "feature " + name + " uses log1p and needs values > -1, got " + x);
          yield Math.log1p(x);
        }
      };
    }

    /** d normalise / dx at x. */
    double slope(double x) {
      return switch (normalisation) {
        case NONE -> 1;
        case STANDARD -> 1 / std;
        case LOG1P -> 1 / (1 + x);
      };
    }
  }

  /** What forward keeps for backward. */
  public static final class Cache {
    boolean[] missing; // [B*F]
    double[] slope; // [B*F], 0 where missing
    int rows;
  }

  private final String name;
  private final List<Feature> features;
  private final boolean learned;

  public MissingValueLayer(String name, List<Feature> features) {
    this(name, features, true);
  }

  /**
   * @param learned false turns the layer into the baseline it replaces (for the ablation study): a
   *     missing value becomes 0, the mean after standardisation, and no fill is registered or
   *     trained
   */
  public MissingValueLayer(String name, List<Feature> features, boolean learned) {
    this.name = Objects.requireNonNull(name);
    this.features = List.copyOf(features);
    this.learned = learned;
  }

  /** Whether missing values take the learned fill (true) or 0 (the ablation baseline). */
  public boolean learned() {
    return learned;
  }

  public int width() {
    return features.size();
  }

  public List<Feature> features() {
    return features;
  }

  public String fillName() {
    return name + "/fill";
  }

  /**
   * Registers the learned fill values, starting at 0 (the mean after standardisation); nothing when
   * the layer is not learned.
   */
  public void register(ParameterSet.Builder b) {
    if (features.isEmpty() || !learned) return;
    b.dense(fillName(), Init.ZEROS, features.size());
  }

  /** x [B, F] with NaN for missing → y [B, F] in x's data type. */
  public INDArray forward(ParameterSet p, INDArray x, Cache cache) {
    return forward(p, x, null, cache);
  }

  /**
   * x [B, F] → y [B, F]. A value is missing when it is NaN or when {@code present} (optional, [B,
   * F]) holds 0 there. Infinite values are refused: they are bad input, not missing data.
   */
  public INDArray forward(ParameterSet p, INDArray x, INDArray present, Cache cache) {
    int f = features.size();
    if (x.rank() != 2 || x.columns() != f)
      throw new IllegalArgumentException(
          name
              + ": expected [rows, "
              + f
              + "] features, got "
              + java.util.Arrays.toString(x.shape()));
    int rows = (int) x.rows();
    if (f == 0) return Nd4j.zeros(x.dataType(), rows, 0);
    double[] in = HostView.toDoubles(x);
    double[] mask = present == null ? null : HostView.toDoubles(present);
    if (mask != null && mask.length != in.length)
      throw new IllegalArgumentException(name + ": presence mask shape differs from the input");
    double[] fill = learned ? HostView.toDoubles(p.get(fillName())) : new double[f];
    double[] out = new double[in.length];
    boolean[] missing = new boolean[in.length];
    double[] slope = new double[in.length];
    for (int i = 0; i < in.length; i++) {
      int j = i % f;
      double v = in[i];
      if (Double.isNaN(v) || (mask != null && mask[i] == 0)) {
        missing[i] = true;
        out[i] = fill[j];
      } else {
        if (Double.isInfinite(v))
          throw new IllegalArgumentException(
              name + ": feature " + features.get(j).name() + " is infinite in row " + (i / f));
        Feature ft = features.get(j);
        out[i] = ft.normalise(v);
        slope[i] = ft.slope(v);
      }
    }
    if (cache != null) {
      cache.missing = missing;
      cache.slope = slope;
      cache.rows = rows;
    }
    return HostView.fromDoubles(out, rows, f, x.dataType());
  }

  /** The learned fill values [F] as doubles (read once per inference call). */
  public double[] fillValues(ParameterSet p) {
    if (!learned) return new double[features.size()]; // the ablation: missing = 0
    return features.isEmpty() ? new double[0] : HostView.toDoubles(p.get(fillName()));
  }

  /**
   * The inference forward of rows [fromRow, fromRow + rows) of raw [*, F] (row-major, NaN =
   * missing) straight into dst (row r at {@code dstOff + r * dstStride}): the same values as {@link
   * #forward} without native arrays (the scoring path fills its input buffer in Java).
   */
  public void inferInto(
      float[] raw, int fromRow, int rows, double[] fill, double[] dst, int dstOff, int dstStride) {
    int f = features.size();
    for (int r = 0; r < rows; r++) {
      int in = (fromRow + r) * f;
      int out = dstOff + r * dstStride;
      for (int j = 0; j < f; j++) {
        double v = raw[in + j];
        if (Double.isNaN(v)) {
          dst[out + j] = fill[j];
        } else {
          if (Double.isInfinite(v))
            throw new IllegalArgumentException(
                name
                    + ": feature "
                    + features.get(j).name()
                    + " is infinite in row "
                    + (fromRow + r));
          dst[out + j] = features.get(j).normalise(v);
        }
      }
    }
  }

  /** dy [B, F] → dx [B, F] (0 where missing); adds dL/dfill (sum over missing entries) into g. */
  public INDArray backward(ParameterSet p, Gradients g, INDArray dy, Cache cache) {
    int f = features.size();
    if (f == 0) return dy;
    double[] d = HostView.toDoubles(dy);
    double[] dFill = new double[f];
    double[] dx = new double[d.length];
    for (int i = 0; i < d.length; i++) {
      if (cache.missing[i]) dFill[i % f] += d[i];
      else dx[i] = d[i] * cache.slope[i];
    }
    if (learned) {
      INDArray gf = g.get(fillName());
      gf.addi(Nd4j.create(dFill).castTo(gf.dataType()));
    }
    return Nd4j.create(dx, new long[] {cache.rows, f}, 'c').castTo(dy.dataType());
  }
}
