package io.perceive.job.offline;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.EventKind;
import io.perceive.job.domain.LabelConfig;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.PendingImpression;
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
import io.perceive.schemas.TruthRecord;
import io.perceive.schemas.UserEvent;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * A single-loop replay of a world through the label joiner and the model learner, without Flink or
 * Kafka: a quick way to study learning (docs/streaming-learner.md, "Learning quality"). Label
 * deadlines close as a watermark 2 minutes behind the newest event passes them (checked every 500
 * events), and everything pending is flushed at the end, as in a bounded job run.
 *
 * <p>Every impression is also scored when it happens (batched: pending impressions are scored in
 * one forward before the next training step), so each task's AUC is printed twice: with the score
 * taken when the label matured ("label-time", what the job's minibatch returns) and with the score
 * taken at impression time, next to the oracle AUC of the world's true probabilities over exactly
 * the same rows (the last half of each task's rows).
 *
 * <p>Usage: {@code OfflineReplay [events] [learning rate] [model key=value ...]}; environment
 * {@code WORLD=k=v,...} overrides world keys (defaults: 300 users, 3,000 items, seed 7), {@code
 * OPT=SGD|ADAGRAD|ADAM} (default ADAM), {@code BATCH} (default 256), {@code LABEL_POS=1} replaces
 * the click label by "position &lt; 2" (do the features reach the model?).
 */
public final class OfflineReplay {

  /** One trained row: labels, label-time score, impression-time score, truth. */
  private record Row(
      Sample sample, float[] atLabel, float[] atImpression, double[] truth, long step) {}

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
    Map<String, double[]> truth = new HashMap<>();
    World.Stream s =
        new World(wc)
            .events(
                (TruthRecord t) ->
                    truth.put(
                        t.getImpressionEventId(),
                        new double[] {t.getPClick(), t.getPConversion(), t.getPOrder()}));
    while (s.hasNext()) {
      UserEvent u = s.next();
      all.add(mapping.toEvent(u));
    }
    all.sort(Event::compareProcessingOrder);
    LabelConfig lc =
        new LabelConfig(
            30 * 60_000L,
            24 * 3_600_000L,
            24 * 3_600_000L,
            52 * 3_600_000L,
            cfg.get(ModelConfig.ATTENTION_WINDOW),
            cfg.get(ModelConfig.LSTM_HIDDEN),
            new float[] {5, 10, 20, 40, 80, 160, 320, 640, 1280});
    OptimizerConfig.Kind kind =
        OptimizerConfig.Kind.valueOf(System.getenv().getOrDefault("OPT", "ADAM"));
    int batchSize = Integer.parseInt(System.getenv().getOrDefault("BATCH", "256"));
    ModelLearner learner =
        new ModelLearner(cfg, OptimizerConfig.defaults(kind).withLearningRate(lr));
    LabelJoiner joiner = new LabelJoiner(lc, mapping.profileSize(), learner);
    Map<Long, UserState> users = new HashMap<>();
    List<Sample> batch = new ArrayList<>();
    List<Sample> unscored = new ArrayList<>();
    Map<String, float[]> impressionScores = new HashMap<>();
    List<Row> rows = new ArrayList<>();
    boolean labelPosition = System.getenv("LABEL_POS") != null;
    LabelJoiner.Output out =
        new LabelJoiner.Output() {
          @Override
          public void sample(Sample x) {
            if (labelPosition && x.click() >= 0)
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
                      x.labelTimeMs(),
                      x.impressionScore());
            batch.add(x);
          }

          @Override
          public void count(LabelJoiner.Counter c) {}
        };
    Runnable step =
        () -> {
          scoreImpressions(learner, unscored, impressionScores);
          while (!batch.isEmpty()) {
            int n = Math.min(batchSize, batch.size());
            List<Sample> mb = new ArrayList<>(batch.subList(0, n));
            batch.subList(0, n).clear();
            float[][] p = learner.scoreThenTrain(mb);
            for (int i = 0; i < n; i++) {
              Sample x = mb.get(i);
              float[] atImpression =
                  x.row() == Sample.Row.CLICK
                      ? impressionScores.remove(x.impressionEventId())
                      : impressionScores.get(x.impressionEventId() + "#conversion");
              if (x.row() == Sample.Row.CLICK && x.click() == 1)
                impressionScores.put(x.impressionEventId() + "#conversion", atImpression);
              if (x.row() == Sample.Row.CONVERSION)
                impressionScores.remove(x.impressionEventId() + "#conversion");
              rows.add(
                  new Row(
                      x, p[i], atImpression, truth.get(x.impressionEventId()), learner.steps()));
            }
          }
        };
    long t0 = System.nanoTime();
    long watermarkEvery = 500;
    long seen = 0;
    long newest = Long.MIN_VALUE;
    for (Event e : all) {
      UserState st = users.computeIfAbsent(e.userId(), k -> new UserState(lc.hiddenSize()));
      if (joiner.isDuplicate(st, e)) continue;
      joiner.onTime(st, e.timeMs() - 1, out);
      joiner.onEvent(st, e, out);
      newest = Math.max(newest, e.timeMs());
      if (e.kind() == EventKind.IMPRESSION) {
        List<PendingImpression> pending = st.pendingImpressions();
        PendingImpression p = pending.get(pending.size() - 1);
        unscored.add(Sample.toScore(st.requests().get(p.requestId()), p));
      }
      if (++seen % watermarkEvery == 0) {
        long watermark = newest - 120_000L;
        for (Iterator<UserState> it = users.values().iterator(); it.hasNext(); )
          if (joiner.onTime(it.next(), watermark, out)) it.remove();
      }
      if (batch.size() >= batchSize || unscored.size() >= batchSize) step.run();
    }
    for (UserState st : users.values()) joiner.flush(st, out);
    step.run();
    double seconds = (System.nanoTime() - t0) / 1e9;

    System.out.printf(
        "world %s; model %s; %s lr %s; %d rows, %d steps, %.1f s%n",
        world, model, kind, lr, rows.size(), learner.steps(), seconds);
    report("click", rows, r -> r.sample().click(), 0);
    report("conversion", rows, r -> r.sample().conversion(), 1);
    report("order", rows, r -> r.sample().order(), 2);
    List<Row> clicks = rows.stream().filter(r -> r.sample().click() >= 0).toList();
    for (int part = 0; part < 4; part++) {
      List<Row> q = clicks.subList(part * clicks.size() / 4, (part + 1) * clicks.size() / 4);
      System.out.printf(
          "click quarter %d: %d rows, label-time auc %.4f, impression-time %.4f, position alone"
              + " %.4f, oracle %.4f%n",
          part,
          q.size(),
          auc(q, r -> r.atLabel()[0], r -> r.sample().click()),
          auc(q, r -> r.atImpression()[0], r -> r.sample().click()),
          auc(q, r -> -r.sample().position(), r -> r.sample().click()),
          auc(q, r -> r.truth()[0], r -> r.sample().click()));
    }
  }

  private static void scoreImpressions(
      ModelLearner learner, List<Sample> unscored, Map<String, float[]> scores) {
    if (unscored.isEmpty()) return;
    float[][] p = learner.score(unscored);
    for (int i = 0; i < p.length; i++) scores.put(unscored.get(i).impressionEventId(), p[i]);
    unscored.clear();
  }

  private static void report(String task, List<Row> rows, ToDoubleFunction<Row> label, int k) {
    List<Row> labelled = rows.stream().filter(r -> label.applyAsDouble(r) >= 0).toList();
    List<Row> last = labelled.subList(labelled.size() / 2, labelled.size());
    System.out.printf(
        "%-10s last half %6d rows (%5.1f%% positive): label-time auc %.4f, impression-time %.4f,"
            + " oracle %.4f%n",
        task,
        last.size(),
        100 * last.stream().mapToDouble(label).average().orElse(Double.NaN),
        auc(last, r -> r.atLabel()[k], label),
        auc(last, r -> r.atImpression() == null ? 0 : r.atImpression()[k], label),
        auc(last, r -> r.truth() == null ? 0 : r.truth()[k], label));
  }

  private static double auc(
      List<Row> rows, ToDoubleFunction<Row> score, ToDoubleFunction<Row> label) {
    double[] sc = new double[rows.size()];
    float[] y = new float[rows.size()];
    for (int i = 0; i < sc.length; i++) {
      sc[i] = score.applyAsDouble(rows.get(i));
      y[i] = (float) label.applyAsDouble(rows.get(i));
    }
    return Auc.of(sc, y);
  }
}
