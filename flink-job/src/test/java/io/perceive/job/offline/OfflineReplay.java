package io.perceive.job.offline;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.LabelConfig;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.job.learner.FeatureLayout;
import io.perceive.job.learner.ModelLearner;
import io.perceive.job.source.EventMapping;
import io.perceive.model.ModelConfig;
import io.perceive.model.metrics.Auc;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import io.perceive.schemas.UserEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A single-loop replay of a world through the label joiner and the model learner, without Flink or
 * Kafka: a quick way to study learning (docs/streaming-learner.md). Simplifications: a user's label
 * deadlines close only at that user's next event, and nothing is flushed at the end.
 *
 * <p>Usage: {@code OfflineReplay [events] [learning rate] [model key=value ...]}; environment
 * {@code OPT=SGD|ADAGRAD|ADAM}; {@code DIAG=1} trains 15 epochs on the first 20 minibatches and
 * prints the training AUC (can the model fit at all?); {@code LABEL_POS=1} replaces the click label
 * by "position &lt; 2" (do the features reach the model?).
 */
public final class OfflineReplay {

  public static void main(String[] args) {
    long events = args.length > 0 ? Long.parseLong(args[0]) : 30_000;
    double lr = args.length > 1 ? Double.parseDouble(args[1]) : 0.001;
    Map<String, String> model = new HashMap<>();
    for (int i = 2; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      model.put(kv[0], kv[1]);
    }
    ModelConfig cfg = ModelConfig.fromProperties(model);
    Map<String, String> world =
        new HashMap<>(Map.of("events", "" + events, "users", "300", "items", "3000", "seed", "7"));
    for (String kv : System.getenv().getOrDefault("WORLD", "").split(","))
      if (kv.contains("="))
        world.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    WorldConfig wc = WorldConfig.of(world);
    FeatureLayout layout = new FeatureLayout(cfg);
    EventMapping mapping = new EventMapping(layout.eventProfileNames(), layout.eventItemNames());
    List<Event> all = new ArrayList<>();
    World.Stream s = new World(wc).events(t -> {});
    while (s.hasNext()) {
      UserEvent u = s.next();
      all.add(mapping.toEvent(u));
    }
    all.sort(Event::compareProcessingOrder);
    LabelConfig lc =
        new LabelConfig(
            30 * 60_000L,
            26 * 3_600_000L,
            24 * 3_600_000L,
            52 * 3_600_000L,
            32,
            128,
            new float[] {5, 10, 20, 40, 80, 160, 320, 640, 1280});
    ModelLearner learner =
        new ModelLearner(
            cfg, OptimizerConfig.defaults(OptimizerConfig.Kind.ADAM).withLearningRate(lr));
    LabelJoiner joiner = new LabelJoiner(lc, mapping.profileSize(), learner);
    Map<Long, UserState> users = new HashMap<>();
    List<Sample> batch = new ArrayList<>();
    List<double[]> scored = new ArrayList<>(); // label, score
    List<List<Sample>> kept = new ArrayList<>();
    List<double[]> conv = new ArrayList<>(); // conversion label, score
    Set<String> seen = new HashSet<>();
    LabelJoiner.Output out =
        new LabelJoiner.Output() {
          @Override
          public void sample(Sample x) {
            if (System.getenv("LABEL_POS") != null && x.click() >= 0)
              x =
                  new Sample(
                      x.context(),
                      x.impressionEventId(),
                      x.item(),
                      x.position(),
                      x.row(),
                      (byte) (x.position() < 2 ? 1 : 0),
                      x.conversion(),
                      x.order(),
                      x.priceLevel(),
                      x.labelTimeMs());
            batch.add(x);
          }

          @Override
          public void count(LabelJoiner.Counter c) {}
        };
    long t0 = System.nanoTime();
    for (Event e : all) {
      UserState st = users.computeIfAbsent(e.userId(), k -> new UserState(128));
      if (joiner.isDuplicate(st, e)) continue;
      joiner.onTime(st, e.timeMs() - 1, out);
      joiner.onEvent(st, e, out);
      if (batch.size() >= 256 && System.getenv("DIAG") != null) {
        kept.add(new ArrayList<>(batch));
        batch.clear();
        if (kept.size() == 20) {
          for (int epoch = 0; epoch < 15; epoch++) {
            List<double[]> fit = new ArrayList<>();
            for (List<Sample> b : kept) {
              float[][] p = learner.scoreThenTrain(b);
              for (int i = 0; i < b.size(); i++)
                if (b.get(i).click() >= 0) fit.add(new double[] {b.get(i).click(), p[i][0]});
            }
            double[] sc = new double[fit.size()];
            float[] y = new float[fit.size()];
            for (int i = 0; i < sc.length; i++) {
              sc[i] = fit.get(i)[1];
              y[i] = (float) fit.get(i)[0];
            }
            System.out.printf("epoch %d: train auc %.4f%n", epoch, Auc.of(sc, y));
          }
          return;
        }
        continue;
      }
      if (batch.size() >= 256) {
        float[][] p = learner.scoreThenTrain(batch);
        for (int i = 0; i < batch.size(); i++) {
          if (batch.get(i).conversion() >= 0)
            conv.add(new double[] {batch.get(i).conversion(), p[i][1]});
          if (batch.get(i).click() >= 0)
            scored.add(new double[] {batch.get(i).click(), p[i][0], -batch.get(i).position()});
        }
        batch.clear();
      }
    }
    int n = scored.size();
    for (int part = 0; part < 4; part++) {
      int a = part * n / 4, b = (part + 1) * n / 4;
      double[] sc = new double[b - a];
      float[] y = new float[b - a];
      for (int i = a; i < b; i++) {
        sc[i - a] = scored.get(i)[1];
        y[i - a] = (float) scored.get(i)[0];
      }
      double[] pos = new double[b - a];
      for (int i = a; i < b; i++) pos[i - a] = scored.get(i)[2];
      System.out.printf(
          "quarter %d: %d click rows, auc %.4f (position alone %.4f)%n",
          part, b - a, Auc.of(sc, y), Auc.of(pos, y));
    }
    double[] cs = new double[conv.size() - conv.size() / 2];
    float[] cy = new float[cs.length];
    for (int i = conv.size() / 2; i < conv.size(); i++) {
      cs[i - conv.size() / 2] = conv.get(i)[1];
      cy[i - conv.size() / 2] = (float) conv.get(i)[0];
    }
    System.out.printf("conversion rows %d, last-half auc %.4f%n", conv.size(), Auc.of(cs, cy));
    System.out.printf("%.1f s%n", (System.nanoTime() - t0) / 1e9);
  }
}
