package io.perceive.model.layers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.Gradients;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.testing.GradientCheck;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class UserSequenceEncoderTest {

  static final int G = 3, T = 5;

  static SequenceConfig smallConfig(int bptt) {
    SequenceConfig d = SequenceConfig.defaults();
    return d.withTables(
            new SequenceConfig.TableSpec("emb/item", 40, 3),
            new SequenceConfig.TableSpec("emb/shop", 20, 2),
            new SequenceConfig.TableSpec("emb/brand", 20, 2),
            new SequenceConfig.TableSpec("emb/category", 10, 1),
            new SequenceConfig.TableSpec("emb/behaviour_type", 4, 2),
            new SequenceConfig.TableSpec("emb/scene", 4, 1),
            new SequenceConfig.TableSpec("emb/time_gap", 6, 1))
        .withSizes(4, 4, 6)
        .withBpttSteps(bptt);
  }

  static ParameterSet params(SequenceConfig cfg, UserSequenceEncoder enc, DataType type) {
    ParameterSet.Builder b = ParameterSet.builder(DataType.DOUBLE);
    cfg.registerTables(b, 0.5);
    enc.register(b);
    ParameterSet p = b.build(17);
    p.get("lstm/b").addi(Nd4j.linspace(-0.3, 0.3, 16, DataType.DOUBLE));
    p.get("attention/W").muli(2);
    return p.castTo(type);
  }

  /** Random windows; group 1 is left-padded by 2 with ids that occur nowhere else (> 1e6). */
  static SequenceInput input(SequenceConfig cfg, DataType type, long seed) {
    Random rnd = new Random(seed);
    int n = G * T;
    long[] item = new long[n], shop = new long[n], brand = new long[n], cat = new long[n];
    int[] bt = new int[n], sc = new int[n], gap = new int[n];
    float[] mask = new float[n];
    for (int u = 0; u < G; u++)
      for (int s = 0; s < T; s++) {
        int i = u * T + s;
        boolean pad = u == 1 && s < 2;
        mask[i] = pad ? 0 : 1;
        item[i] = pad ? 1_000_000 + i : rnd.nextInt(1000) - 1; // -1 now and then: missing
        shop[i] = rnd.nextInt(100);
        brand[i] = rnd.nextInt(100);
        cat[i] = rnd.nextInt(30);
        bt[i] = rnd.nextInt(cfg.behaviourType().rows() - 1);
        sc[i] = rnd.nextInt(cfg.scene().rows()) - 1;
        gap[i] = TimeGapBuckets.of((long) (rnd.nextDouble() * 1e6), cfg.timeGapBuckets());
      }
    Nd4j.getRandom().setSeed(seed);
    INDArray h0 = Nd4j.randn(DataType.DOUBLE, G, cfg.hidden()).muli(0.3).castTo(type);
    INDArray c0 = Nd4j.randn(DataType.DOUBLE, G, cfg.hidden()).muli(0.3).castTo(type);
    return new SequenceInput(G, T, item, shop, brand, cat, bt, sc, gap, mask, h0, c0);
  }

  @ParameterizedTest
  @ValueSource(ints = {T, 2})
  void wholeEncoderMatchesFiniteDifferences(int bptt) {
    SequenceConfig cfg = smallConfig(bptt);
    UserSequenceEncoder enc = new UserSequenceEncoder(cfg);
    ParameterSet p = params(cfg, enc, DataType.DOUBLE);
    SequenceInput in = input(cfg, DataType.DOUBLE, 5);
    Nd4j.getRandom().setSeed(9);
    INDArray query = Nd4j.randn(DataType.DOUBLE, G, cfg.queryDim());
    INDArray r = Nd4j.randn(DataType.DOUBLE, G, cfg.hidden());
    Gradients g = p.newGradients();
    UserSequenceEncoder.Cache c = new UserSequenceEncoder.Cache();
    enc.forward(p, in, query, c);
    UserSequenceEncoder.Grad gr = enc.backward(p, g, r.dup(), c);

    // padding steps touch no embedding row
    EmbeddingTable items = p.table("emb/item");
    for (int s = 0; s < 2; s++) {
      int padRow = items.rowOf(in.itemIds()[in.index(1, s)]);
      boolean sharedWithReal = false;
      for (int i = 0; i < G * T; i++)
        if (in.mask()[i] == 1 && items.rowOf(in.itemIds()[i]) == padRow) sharedWithReal = true;
      if (!sharedWithReal && bptt == T)
        assertThat(g.sparse("emb/item").rows()).doesNotContain(padRow);
    }

    if (bptt == T) {
      GradientCheck.check(
          p,
          q -> {
            enc.lstm().enforceStructure(q);
            return enc.forward(q, in, query, null).mul(r).sumNumber().doubleValue();
          },
          q -> {
            Gradients gg = q.newGradients();
            UserSequenceEncoder.Cache cc = new UserSequenceEncoder.Cache();
            enc.forward(q, in, query, cc);
            enc.backward(q, gg, r.dup(), cc);
            return gg;
          },
          60,
          7);
      GradientCheck.checkInput(
          query.dup(),
          x -> enc.forward(p, in, x, null).mul(r).sumNumber().doubleValue(),
          gr.dQuery(),
          50,
          8);
    } else {
      // truncated: only rows of the last bptt steps are touched
      java.util.Set<Integer> allowed = new java.util.HashSet<>();
      for (int u = 0; u < G; u++)
        for (int s = T - bptt; s < T; s++) allowed.add(items.rowOf(in.itemIds()[in.index(u, s)]));
      for (int row : g.sparse("emb/item").rows()) assertThat(allowed).contains(row);
      assertThat(gr.dH0().amaxNumber().doubleValue()).isZero();
      // the attention's gradient does not depend on truncation
      SequenceConfig full = smallConfig(T);
      UserSequenceEncoder encFull = new UserSequenceEncoder(full);
      Gradients gf = p.newGradients();
      UserSequenceEncoder.Cache cf = new UserSequenceEncoder.Cache();
      encFull.forward(p, in, query, cf);
      UserSequenceEncoder.Grad grf = encFull.backward(p, gf, r.dup(), cf);
      assertThat(gf.get("attention/W").sub(g.get("attention/W")).amaxNumber().doubleValue())
          .isZero();
      assertThat(grf.dQuery().sub(gr.dQuery()).amaxNumber().doubleValue()).isZero();
      assertThat(gf.get("lstm/W").sub(g.get("lstm/W")).amaxNumber().doubleValue()).isPositive();
    }
  }

  @Test
  void advanceEqualsOneSequenceStep() {
    SequenceConfig cfg = smallConfig(T);
    UserSequenceEncoder enc = new UserSequenceEncoder(cfg);
    ParameterSet p = params(cfg, enc, DataType.FLOAT);
    SequenceInput in = input(cfg, DataType.FLOAT, 6);
    // a one-step window per user = the first behaviour of each
    int[] first = new int[G];
    for (int u = 0; u < G; u++) first[u] = in.index(u, 0);
    StepInput step =
        new StepInput(
            pick(in.itemIds(), first),
            pick(in.shopIds(), first),
            pick(in.brandIds(), first),
            pick(in.categoryIds(), first),
            pick(in.behaviourTypes(), first),
            pick(in.scenes(), first),
            pick(in.timeGapBuckets(), first));
    LstmState next = enc.advance(p, in.h0(), in.c0(), step);
    SequenceInput one =
        new SequenceInput(
            G,
            1,
            step.itemIds(),
            step.shopIds(),
            step.brandIds(),
            step.categoryIds(),
            step.behaviourTypes(),
            step.scenes(),
            step.timeGapBuckets(),
            new float[] {1, 1, 1},
            in.h0(),
            in.c0());
    UserSequenceEncoder.Cache c = new UserSequenceEncoder.Cache();
    enc.forward(p, one, Nd4j.zeros(DataType.FLOAT, G, cfg.queryDim()), c);
    assertThat(next.h().sub(c.finalState().h()).amaxNumber().doubleValue()).isZero();
    assertThat(next.c().sub(c.finalState().c()).amaxNumber().doubleValue()).isZero();
  }

  @Test
  void refusesBadInputWithAClearMessage() {
    SequenceConfig cfg = smallConfig(T);
    UserSequenceEncoder enc = new UserSequenceEncoder(cfg);
    ParameterSet p = params(cfg, enc, DataType.FLOAT);
    SequenceInput ok = input(cfg, DataType.FLOAT, 1);
    int[] badTypes = ok.behaviourTypes().clone();
    badTypes[4] = cfg.behaviourType().rows() - 1; // one past the last code
    SequenceInput bad =
        new SequenceInput(
            G,
            T,
            ok.itemIds(),
            ok.shopIds(),
            ok.brandIds(),
            ok.categoryIds(),
            badTypes,
            ok.scenes(),
            ok.timeGapBuckets(),
            ok.mask(),
            ok.h0(),
            ok.c0());
    INDArray q = Nd4j.zeros(DataType.FLOAT, G, cfg.queryDim());
    assertThatThrownBy(() -> enc.forward(p, bad, q, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("behaviourTypes[4]");
    assertThatThrownBy(() -> enc.forward(p, ok, Nd4j.zeros(DataType.FLOAT, G, 3), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("query");
    assertThatThrownBy(
            () ->
                new SequenceInput(
                    G,
                    T,
                    new long[2],
                    ok.shopIds(),
                    ok.brandIds(),
                    ok.categoryIds(),
                    ok.behaviourTypes(),
                    ok.scenes(),
                    ok.timeGapBuckets(),
                    ok.mask(),
                    ok.h0(),
                    ok.c0()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("itemIds");
    float[] halfMask = ok.mask().clone();
    halfMask[0] = 0.5f;
    assertThatThrownBy(
            () ->
                new SequenceInput(
                    G,
                    T,
                    ok.itemIds(),
                    ok.shopIds(),
                    ok.brandIds(),
                    ok.categoryIds(),
                    ok.behaviourTypes(),
                    ok.scenes(),
                    ok.timeGapBuckets(),
                    halfMask,
                    ok.h0(),
                    ok.c0()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mask[0]");
    ParameterSet.Builder wrong = ParameterSet.builder(DataType.FLOAT);
    smallConfig(T)
        .withTables(
            new SequenceConfig.TableSpec("emb/item", 40, 5),
            cfg.shop(),
            cfg.brand(),
            cfg.category(),
            cfg.behaviourType(),
            cfg.scene(),
            cfg.timeGap())
        .registerTables(wrong, 0.1);
    enc.register(wrong);
    ParameterSet pw = wrong.build(1);
    assertThatThrownBy(() -> enc.forward(pw, ok, q, null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("emb/item");
  }

  static long[] pick(long[] a, int[] idx) {
    long[] r = new long[idx.length];
    for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
    return r;
  }

  static int[] pick(int[] a, int[] idx) {
    int[] r = new int[idx.length];
    for (int i = 0; i < idx.length; i++) r[i] = a[idx[i]];
    return r;
  }
}
