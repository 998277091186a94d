package io.perceive.serving;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.BehaviourRecord;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.InputBuilder;
import io.perceive.model.input.UserInput;
import io.perceive.model.layers.MissingValueLayer.Feature;
import io.perceive.model.optim.Optimizer;
import io.perceive.model.optim.OptimizerConfig;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import io.perceive.schemas.RecordCodec;
import io.perceive.schemas.SnapshotManifest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Test fixtures: a small model configuration, trained parameters, random users and candidates, and
 * a publisher that writes the learner's snapshot directory layout (as the job's SnapshotStore does:
 * versioned .snap + manifest, then latest.manifest.json by atomic rename).
 */
final class Fixtures {
  private Fixtures() {}

  static final RecordCodec<SnapshotManifest> MANIFESTS = RecordCodec.of(SnapshotManifest.class);

  static ModelConfig smallConfig() {
    return ModelConfig.builder()
        .set(ModelConfig.ITEM_ROWS, 500)
        .set(ModelConfig.ITEM_DIM, 8)
        .set(ModelConfig.SHOP_ROWS, 50)
        .set(ModelConfig.BRAND_ROWS, 50)
        .set(ModelConfig.CATEGORY_ROWS, 20)
        .set(ModelConfig.USER_ROWS, 200)
        .set(ModelConfig.USER_DIM, 8)
        .set(ModelConfig.LSTM_HIDDEN, 16)
        .set(ModelConfig.ATTENTION_WINDOW, 8)
        .set(ModelConfig.BPTT_STEPS, 8)
        .set(ModelConfig.USER_VECTOR, 16)
        .set(ModelConfig.EXPERTS, 3)
        .set(ModelConfig.EXPERT_HIDDEN, 16)
        .set(ModelConfig.BOTTOM_HIDDEN, 16)
        .set(ModelConfig.TOWER_HIDDEN, 8)
        .set(
            ModelConfig.PROFILE_FEATURES,
            List.of(Feature.raw("age"), Feature.log1p("activity_clicks")))
        .set(ModelConfig.ITEM_FEATURES, List.of(Feature.log1p("price")))
        .build();
  }

  static UserInput randomUser(Random r, long now, int hidden) {
    List<BehaviourRecord> w = new ArrayList<>();
    int n = r.nextInt(12);
    for (int i = 0; i < n; i++)
      w.add(
          new BehaviourRecord(
              r.nextInt(1000),
              r.nextInt(80),
              r.nextDouble() < 0.8 ? r.nextInt(80) : -1,
              r.nextInt(30),
              1 + r.nextInt(3),
              r.nextInt(14),
              now - (long) (r.nextDouble() * 86_400_000L)));
    float[] h = new float[hidden], c = new float[hidden];
    for (int i = 0; i < hidden; i++) {
      h[i] = (float) (r.nextGaussian() * 0.3);
      c[i] = (float) (r.nextGaussian() * 0.3);
    }
    Map<String, Double> profile = new HashMap<>();
    if (r.nextBoolean()) profile.put("age", 20.0 + r.nextInt(40));
    profile.put("activity_clicks", (double) r.nextInt(50));
    return new UserInput(r.nextInt(300), h, c, w, profile, r.nextInt(9) - 1, now);
  }

  static List<CandidateInput> randomCandidates(Random r, int n) {
    List<CandidateInput> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++)
      out.add(
          new CandidateInput(
              r.nextInt(1000),
              r.nextInt(80),
              r.nextInt(80),
              r.nextInt(30),
              r.nextDouble() < 0.9 ? Map.of("price", r.nextDouble() * 200) : Map.of()));
    return out;
  }

  /** Parameters after a few Adam steps on random labelled batches (not the initial ones). */
  static ParameterSet trained(ModelConfig cfg, int steps, long seed) {
    MultiTaskModel model = new MultiTaskModel(cfg);
    ParameterSet p = model.initialise(DataType.FLOAT);
    Optimizer opt = OptimizerConfig.adam(0.01).create();
    opt.initialise(p);
    InputBuilder inputs = new InputBuilder(cfg);
    Random r = new Random(seed);
    for (int s = 0; s < steps; s++) {
      List<UserInput> users = new ArrayList<>();
      for (int g = 0; g < 4; g++)
        users.add(randomUser(r, 1_700_000_000_000L, cfg.sequenceConfig().hidden()));
      int n = 16;
      int[] group = new int[n];
      float[] click = new float[n], conv = new float[n], order = new float[n];
      int[] price = new int[n];
      for (int i = 0; i < n; i++) {
        group[i] = i % 4;
        click[i] = r.nextDouble() < 0.3 ? 1 : 0;
        conv[i] = click[i] == 1 ? (r.nextBoolean() ? 1 : 0) : Float.NaN;
        order[i] = click[i] == 1 && conv[i] == 1 ? 1 : 0;
        price[i] = r.nextInt(cfg.get(ModelConfig.PRICE_LEVELS));
      }
      TrainingBatch b =
          new TrainingBatch(
              inputs.users(users),
              group,
              inputs.candidates(randomCandidates(r, n)),
              new TrainingBatch.Labels(click, conv, order, price));
      opt.step(p, model.forwardBackward(p, b).gradients());
    }
    return p;
  }

  /** Writes the learner's directory layout for one version; returns the snapshot file. */
  static Path publish(Path dir, ModelConfig cfg, ParameterSet p, long version) throws IOException {
    Files.createDirectories(dir);
    Snapshot s =
        new Snapshot(version, System.currentTimeMillis(), cfg.toProperties(), p, Optional.empty());
    String name = String.format("model-v%012d.snap", version);
    Path file = dir.resolve(name);
    SnapshotFile.write(file, s);
    SnapshotManifest m =
        manifest(dir, cfg, version, name, SnapshotWatcher.sha256(file), Files.size(file));
    byte[] json = MANIFESTS.toJson(m).getBytes(StandardCharsets.UTF_8);
    writeAtomically(dir.resolve(String.format("model-v%012d.manifest.json", version)), json);
    writeAtomically(dir.resolve(SnapshotWatcher.LATEST), json);
    return file;
  }

  static SnapshotManifest manifest(
      Path dir, ModelConfig cfg, long version, String file, String sha, long size) {
    StringBuilder text = new StringBuilder();
    cfg.toProperties().forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
    return SnapshotManifest.newBuilder()
        .setModelVersion(version)
        .setSnapshotFormatVersion(SnapshotFile.CURRENT_VERSION)
        .setLocation(dir.toUri().toString())
        .setFiles(List.of(file))
        .setChecksum("sha256:" + sha)
        .setSizeBytes(size)
        .setCreatedAtMs(System.currentTimeMillis())
        .setWatermarkMs(0)
        .setOffsets(Map.of())
        .setMetrics(Map.of())
        .setModelConfig(text.toString())
        .build();
  }

  static void writeAtomically(Path target, byte[] bytes) throws IOException {
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp");
    Files.write(tmp, bytes);
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}
