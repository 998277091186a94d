package io.perceive.model.sharing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.loss.MeanSquaredError;
import io.perceive.model.testing.GradientCheck;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class SharingBlockTest {

  private static final List<String> TASKS = List.of("a", "b", "c");

  private static double loss(SharingBlock.Output o, INDArray[] r) {
    double l = 0;
    for (int t = 0; t < r.length; t++) l += o.taskOutputs()[t].mul(r[t]).sumNumber().doubleValue();
    return l;
  }

  private static INDArray[] projections(int rows, int tasks) {
    Nd4j.getRandom().setSeed(17);
    INDArray[] r = new INDArray[tasks];
    for (int t = 0; t < tasks; t++) r[t] = Nd4j.rand(DataType.DOUBLE, rows, 1).subi(0.5);
    return r;
  }

  private static INDArray[] dups(INDArray[] r) {
    INDArray[] d = new INDArray[r.length];
    for (int t = 0; t < r.length; t++) d[t] = r[t].dup();
    return d;
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void standaloneGradientsMatchFiniteDifferences(SharingMode mode) {
    SharingBlock block = new SharingBlock(SharingConfig.standalone(mode, TASKS, 5, 3, 4, 6, 3));
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    block.register(b);
    ParameterSet p = b.build(5);
    Nd4j.getRandom().setSeed(3);
    INDArray x = Nd4j.randn(DataType.DOUBLE, 7, 5);
    INDArray[] r = projections(7, 3);
    GradientCheck.check(
        p,
        q -> loss(block.forward(q, x, null), r),
        q -> {
          Gradients g = q.newGradients();
          SharingBlock.Cache c = new SharingBlock.Cache();
          block.forward(q, x, c);
          block.backward(q, g, dups(r), c);
          return g;
        },
        30,
        1);
    SharingBlock.Cache c = new SharingBlock.Cache();
    block.forward(p, x, c);
    INDArray dx = block.backward(p, p.newGradients(), dups(r), c).dItem();
    GradientCheck.checkInput(x.dup(), xx -> loss(block.forward(p, xx, null), r), dx, 35, 2);
  }

  @ParameterizedTest
  @EnumSource(SharingMode.class)
  void splitGradientsMatchFiniteDifferences(SharingMode mode) {
    SharingBlock block = new SharingBlock(new SharingConfig(mode, TASKS, 4, 3, 3, 4, 6, 0));
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    block.register(b);
    ParameterSet p = b.build(6);
    Nd4j.getRandom().setSeed(4);
    INDArray u = Nd4j.randn(DataType.DOUBLE, 3, 4); // 3 users
    INDArray item = Nd4j.randn(DataType.DOUBLE, 8, 3);
    int[] group = {0, 0, 2, 1, 2, 2, 0, 1};
    INDArray[] r = projections(8, 3);
    GradientCheck.check(
        p,
        q -> loss(block.forward(q, block.encodeUser(q, u), group, item, null), r),
        q -> {
          Gradients g = q.newGradients();
          SharingBlock.Cache c = new SharingBlock.Cache();
          block.forward(q, block.encodeUser(q, u), group, item, c);
          block.backward(q, g, dups(r), c);
          return g;
        },
        30,
        1);
    SharingBlock.Cache c = new SharingBlock.Cache();
    block.forward(p, block.encodeUser(p, u), group, item, c);
    SharingBlock.Grad grad = block.backward(p, p.newGradients(), dups(r), c);
    GradientCheck.checkInput(
        u.dup(),
        uu -> loss(block.forward(p, block.encodeUser(p, uu), group, item, null), r),
        grad.dUser(),
        12,
        2);
    GradientCheck.checkInput(
        item.dup(),
        ii -> loss(block.forward(p, block.encodeUser(p, u), group, ii, null), r),
        grad.dItem(),
        24,
        3);
  }

  @Test
  void gateUtilisationIsADistributionPerTask() {
    SharingBlock block =
        new SharingBlock(SharingConfig.standalone(SharingMode.MMOE, TASKS, 5, 4, 4, 6, 3));
    ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
    block.register(b);
    ParameterSet p = b.build(5);
    SharingBlock.Output o = block.forward(p, Nd4j.randn(DataType.FLOAT, 16, 5), null);
    for (int t = 0; t < 3; t++) {
      double[] m = o.gateMeansOfTask(t);
      assertThat(m).hasSize(4);
      assertThat(java.util.Arrays.stream(m).sum())
          .isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-5));
    }
    assertThat(o.gateMeansOfTask(0)).isNotEqualTo(o.gateMeansOfTask(1));
  }

  @Test
  void expertsStartDifferentAndStayDifferentAfterTraining() {
    SharingBlock block =
        new SharingBlock(
            SharingConfig.standalone(SharingMode.MMOE, List.of("y1", "y2"), 6, 4, 8, 6, 4));
    ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
    block.register(b);
    ParameterSet p = b.build(9);
    assertExpertsDistinct(block, p);
    Nd4j.getRandom().setSeed(1);
    INDArray w = Nd4j.randn(DataType.FLOAT, 6, 1);
    for (int step = 0; step < 200; step++) {
      INDArray x = Nd4j.randn(DataType.FLOAT, 64, 6);
      float[] y1 = x.mmul(w).data().asFloat();
      float[] y2 = Nd4j.math().sin(x.mmul(w)).data().asFloat();
      SharingBlock.Cache c = new SharingBlock.Cache();
      SharingBlock.Output o = block.forward(p, x, c);
      INDArray[] d = new INDArray[2];
      float[][] ys = {y1, y2};
      for (int t = 0; t < 2; t++) {
        double[] pred = o.taskOutputs()[t].castTo(DataType.DOUBLE).data().asDouble();
        double[] dy = new double[64];
        MeanSquaredError.apply(pred, ys[t], 1, dy);
        d[t] = Nd4j.create(dy, new long[] {64, 1}, 'c').castTo(DataType.FLOAT);
      }
      Gradients g = p.newGradients();
      block.backward(p, g, d, c);
      p.flat().subi(g.flat().mul(0.05));
    }
    assertExpertsDistinct(block, p);
  }

  private static void assertExpertsDistinct(SharingBlock block, ParameterSet p) {
    List<String> names = block.expertNames();
    assertThat(names).hasSize(4);
    for (int i = 0; i < names.size(); i++)
      for (int j = i + 1; j < names.size(); j++) {
        INDArray a = p.get(block.expertItemWeight(i));
        INDArray c = p.get(block.expertItemWeight(j));
        double rel = a.sub(c).norm2Number().doubleValue() / a.norm2Number().doubleValue();
        assertThat(rel).as("experts %d and %d differ", i, j).isGreaterThan(0.5);
      }
  }

  @Test
  void validatesUpFront() {
    assertThatThrownBy(
            () -> SharingConfig.standalone(SharingMode.MMOE, List.of("a"), 5, 4, 4, 6, 3))
        .hasMessageContaining(">= 2 tasks");
    assertThatThrownBy(() -> SharingConfig.standalone(SharingMode.OMOE, TASKS, 5, 1, 4, 6, 3))
        .hasMessageContaining(">= 2 experts");
    assertThatThrownBy(
            () -> SharingConfig.standalone(SharingMode.MMOE, List.of("a", "a"), 5, 4, 4, 6, 3))
        .hasMessageContaining("unique");
    SharingBlock split =
        new SharingBlock(new SharingConfig(SharingMode.MMOE, TASKS, 4, 3, 3, 4, 6, 0));
    ParameterSet.Builder b = ParameterSet.builder(DataType.FLOAT);
    split.register(b);
    ParameterSet p = b.build(1);
    assertThatThrownBy(() -> split.forward(p, Nd4j.zeros(DataType.FLOAT, 2, 3), null))
        .hasMessageContaining("user part");
    assertThatThrownBy(
            () ->
                split.forward(
                    p,
                    split.encodeUser(p, Nd4j.zeros(DataType.FLOAT, 1, 4)),
                    new int[] {0, 1},
                    Nd4j.zeros(DataType.FLOAT, 2, 3),
                    null))
        .hasMessageContaining("group 1 of 1");
  }
}
