package io.perceive.job.offline;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.LabelConfig;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.job.learner.FeatureLayout;
import io.perceive.job.learner.ModelLearner;
import io.perceive.job.source.EventMapping;
import io.perceive.job.sync.MergeMode;
import io.perceive.job.sync.ModelUpdate;
import io.perceive.job.sync.ParameterServer;
import io.perceive.job.sync.ReplicaSync;
import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.metrics.Auc;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Parallel learners with parameter sync, without Flink or Kafka: the world's samples are routed to
 * P learners by user (as keyBy does), each trains minibatches of 256 on its replica, every {@code
 * syncEvery} of its minibatches sends its delta to a {@link ParameterServer}, which cuts a version
 * when every learner has sent one; every learner then rebases. Prints the click AUC over the last
 * half of the click rows (time order), to compare merge modes with one learner
 * (docs/streaming-learner.md).
 *
 * <p>Usage: {@code OfflineSyncReplay P SUM|AVERAGE [events] [syncEvery]}; environment {@code WORLD}
 * as in {@link OfflineReplay}.
 */
public final class OfflineSyncReplay {

  public static void main(String[] args) throws Exception {
    int p = Integer.parseInt(args[0]);
    MergeMode mode = MergeMode.valueOf(args[1]);
    long events = args.length > 2 ? Long.parseLong(args[2]) : 20_000;
    int syncEvery = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    boolean duplicate = "1".equals(System.getenv("DUPLICATE"));
    int batch = Integer.parseInt(System.getenv().getOrDefault("BATCH", "256"));
    Map<String, String> world =
        new HashMap<>(
            Map.of(
                "events",
                "" + events,
                "users",
                "200",
                "items",
                "1000",
                "seed",
                "7",
                "position_bias",
                "1.2"));
    for (String kv : System.getenv().getOrDefault("WORLD", "").split(","))
      if (kv.contains("="))
        world.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
    ModelConfig cfg = ModelConfig.fromProperties(Map.of());
    FeatureLayout layout = new FeatureLayout(cfg);
    EventMapping mapping = new EventMapping(layout.eventProfileNames(), layout.eventItemNames());
    List<Event> all = new ArrayList<>();
    World.Stream s = new World(WorldConfig.of(world)).events(t -> {});
    while (s.hasNext()) all.add(mapping.toEvent(s.next()));
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
    ModelLearner[] learners = new ModelLearner[p];
    ReplicaSync[] syncs = new ReplicaSync[p];
    ParameterServer ps =
        new ParameterServer(
            cfg.toProperties(), new MultiTaskModel(cfg).initialise(DataType.FLOAT), mode);
    for (int i = 0; i < p; i++) {
      learners[i] =
          new ModelLearner(
              cfg,
              OptimizerConfig.defaults(
                      OptimizerConfig.Kind.valueOf(System.getenv().getOrDefault("OPT", "ADAM")))
                  .withLearningRate(
                      Double.parseDouble(System.getenv().getOrDefault("LR", "0.001"))));
      syncs[i] = new ReplicaSync("offline", i, p, learners[i].parameters());
    }
    ModelUpdate full = ps.full("offline", 1, 1, 0);
    for (int i = 0; i < p; i++) syncs[i].onUpdate(full, learners[i].parameters());
    LabelJoiner joiner = new LabelJoiner(lc, mapping.profileSize(), learners[0]);
    Map<Long, UserState> users = new HashMap<>();
    List<List<Sample>> batches = new ArrayList<>();
    for (int i = 0; i < p; i++) batches.add(new ArrayList<>());
    int[] sinceSync = new int[p];
    List<double[]> scored = new ArrayList<>(); // label time, label, score
    long version = 1;
    LabelJoiner.Output[] outs = new LabelJoiner.Output[1];
    final int fp = p;
    outs[0] =
        new LabelJoiner.Output() {
          @Override
          public void sample(Sample x) {
            if (duplicate) for (List<Sample> b : batches) b.add(x);
            else batches.get((int) Math.floorMod(x.userId(), (long) fp)).add(x);
          }

          @Override
          public void count(LabelJoiner.Counter c) {}
        };
    long t0 = System.nanoTime();
    for (Event e : all) {
      UserState st = users.computeIfAbsent(e.userId(), k -> new UserState(128));
      if (joiner.isDuplicate(st, e)) continue;
      joiner.onTime(st, e.timeMs() - 1, outs[0]);
      joiner.onEvent(st, e, outs[0]);
      for (int i = 0; i < p; i++) {
        List<Sample> b = batches.get(i);
        if (b.size() < batch) continue;
        float[][] pr = learners[i].scoreThenTrain(b);
        for (int j = 0; j < b.size(); j++)
          if ((!duplicate || i == 0) && b.get(j).click() >= 0 && b.get(j).row() == Sample.Row.CLICK)
            scored.add(new double[] {b.get(j).labelTimeMs(), b.get(j).click(), pr[j][0]});
        b.clear();
        if (syncEvery > 0 && ++sinceSync[i] >= syncEvery) {
          sinceSync[i] = 0;
          ps.accept(
              syncs[i].takeDelta(learners[i].parameters(), Map.of(), false, 0, 0).orElseThrow());
          if (ps.everyLearnerContributed()) {
            ModelUpdate u = ps.mergeGathered("offline", 1, ++version, 0).orElseThrow();
            for (int k = 0; k < p; k++) syncs[k].onUpdate(u, learners[k].parameters());
          }
        }
      }
    }
    scored.sort((a, b) -> Double.compare(a[0], b[0]));
    int n = scored.size();
    double[] sc = new double[n - n / 2];
    float[] y = new float[sc.length];
    for (int i = n / 2; i < n; i++) {
      sc[i - n / 2] = scored.get(i)[2];
      y[i - n / 2] = (float) scored.get(i)[1];
    }
    System.out.printf(
        "P=%d %s syncEvery=%d batch=%d: %d click rows, last-half click AUC %.4f, %d versions, %.1f s%n",
        p, mode, syncEvery, batch, n, Auc.of(sc, y), version, (System.nanoTime() - t0) / 1e9);
  }
}
