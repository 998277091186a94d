package io.perceive.model.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RationalTanhTest {

  /** Every float input on a 1e-5 grid over [-20, 20] (4 M points), against Math.tanh / exp. */
  @Test
  void tanhAndSigmoidAreWithinFloatPrecisionOnADenseGrid() {
    double maxTanh = 0, maxRelSmall = 0, maxSigmoid = 0;
    for (double x = -20; x <= 20; x += 1e-5) {
      float xf = (float) x;
      double exact = Math.tanh(xf);
      double e = Math.abs(RationalTanh.tanh(xf) - exact);
      maxTanh = Math.max(maxTanh, e);
      if (xf != 0f && Math.abs(xf) < 0.5) maxRelSmall = Math.max(maxRelSmall, e / Math.abs(exact));
      double s = 1 / (1 + Math.exp(-xf));
      maxSigmoid = Math.max(maxSigmoid, Math.abs(RationalTanh.sigmoid(xf) - s));
    }
    assertThat(maxTanh).isLessThan(4e-7);
    assertThat(maxRelSmall).isLessThan(3e-7); // relative accuracy near 0, where tanh(x) ≈ x
    assertThat(maxSigmoid).isLessThan(2e-7);
  }

  @Test
  void limitsSignsAndSpecialValues() {
    assertThat(RationalTanh.tanh(0f)).isZero();
    assertThat(RationalTanh.tanh(1e-30f))
        .isEqualTo(1e-30f, org.assertj.core.data.Offset.offset(1e-36f));
    assertThat(RationalTanh.tanh(-3f)).isEqualTo(-RationalTanh.tanh(3f));
    assertThat(RationalTanh.tanh(1e30f)).isBetween(1f - 1e-7f, 1f);
    assertThat(RationalTanh.tanh(Float.NEGATIVE_INFINITY)).isBetween(-1f, -1f + 1e-7f);
    assertThat(RationalTanh.sigmoid(-1e30f)).isBetween(0f, 1e-7f);
    assertThat(RationalTanh.sigmoid(0f)).isEqualTo(0.5f);
    assertThat(RationalTanh.tanh(Float.NaN)).isNaN();
    for (float x = -30f; x <= 30f; x += 1e-3f) {
      assertThat(RationalTanh.tanh(x)).isBetween(-1f, 1f);
      assertThat(RationalTanh.sigmoid(x)).isBetween(0f, 1f);
    }
    // non-decreasing up to rounding noise: float evaluation may step back by up to twice the error
    // bound
    float prev = -2f;
    for (float x = -10f; x <= 10f; x += 1e-4f) {
      float y = RationalTanh.tanh(x);
      assertThat(y).isGreaterThanOrEqualTo(prev - 8e-7f);
      prev = y;
    }
  }
}
