package io.perceive.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.perceive.job.JobOptions;
import io.perceive.job.PerceiveRun;
import io.perceive.schemas.Topics;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.FallbackKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The deploy/ files against the code they configure: every manifest parses; the FlinkDeployment
 * names the job jar's real main class, the settings the design requires (RocksDB, incremental
 * checkpoints and HA on object storage, ND4J parent-first), only Flink options that exist in Flink
 * 2.2.1 and only perceive.* keys the job accepts (parsed by PerceiveRun itself); the settings file
 * documents every JobOptions key; the topic plan matches the topics the code names; the serving
 * snapshot sync really pins a version.
 */
class DeployFilesTest {

  static final Path DEPLOY = locateDeploy();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static Path locateDeploy() {
    Path p = Path.of("").toAbsolutePath();
    // surefire runs in the module directory (deploy/); an IDE may run from the repository root
    if (Files.isDirectory(p.resolve("k8s"))) return p;
    return p.resolve("deploy");
  }

  static List<JsonNode> documents(Path file) throws IOException {
    List<JsonNode> docs = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(file.toFile())) {
      Iterator<JsonNode> it = YAML.readValues(parser, JsonNode.class);
      while (it.hasNext()) {
        JsonNode n = it.next();
        if (n != null && !n.isMissingNode() && !n.isNull()) docs.add(n);
      }
    }
    return docs;
  }

  static JsonNode flinkDeployment() throws IOException {
    List<JsonNode> docs = documents(DEPLOY.resolve("k8s/flink-deployment.yaml"));
    assertThat(docs).hasSize(1);
    return docs.get(0);
  }

  @Test
  void everyManifestParsesAndNamesItsKind() throws IOException {
    List<Path> files;
    try (Stream<Path> s = Files.list(DEPLOY.resolve("k8s"))) {
      files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(files)
        .extracting(p -> p.getFileName().toString())
        .contains("flink-deployment.yaml", "serving.yaml", "alerts.yaml", "kustomization.yaml");
    for (Path f : files) {
      for (JsonNode d : documents(f)) {
        assertThat(d.path("apiVersion").asText()).as(f + " apiVersion").isNotEmpty();
        assertThat(d.path("kind").asText()).as(f + " kind").isNotEmpty();
      }
    }
    // kustomization lists every other manifest
    JsonNode k = documents(DEPLOY.resolve("k8s/kustomization.yaml")).get(0);
    Set<String> listed = new HashSet<>();
    k.path("resources").forEach(r -> listed.add(r.asText()));
    for (Path f : files)
      if (!f.getFileName().toString().equals("kustomization.yaml"))
        assertThat(listed).as("kustomization resources").contains(f.getFileName().toString());
  }

  @Test
  void flinkDeploymentRunsTheRealMainClassInApplicationModeWithDurableState() throws Exception {
    JsonNode fd = flinkDeployment();
    assertThat(fd.path("kind").asText()).isEqualTo("FlinkDeployment");
    JsonNode job = fd.path("spec").path("job");
    String entry = job.path("entryClass").asText();
    assertThat(entry).isEqualTo(PerceiveRun.class.getName());
    Method main = Class.forName(entry).getMethod("main", String[].class);
    assertThat(Modifier.isStatic(main.getModifiers())).isTrue();
    assertThat(job.path("jarURI").asText()).startsWith("local:///").endsWith(".jar");
    assertThat(job.path("upgradeMode").asText()).isEqualTo("savepoint");

    Map<String, String> c = flinkConfiguration(fd);
    assertThat(c)
        .containsEntry("state.backend.type", "rocksdb")
        .containsEntry("execution.checkpointing.incremental", "true")
        .containsEntry("high-availability.type", "kubernetes")
        .containsEntry("execution.checkpointing.snapshot-compression", "true");
    assertThat(c.get("execution.checkpointing.dir")).startsWith("s3://");
    assertThat(c.get("execution.checkpointing.savepoint-dir")).startsWith("s3://");
    assertThat(c.get("high-availability.storageDir")).startsWith("s3://");
    assertThat(c.get("classloader.parent-first-patterns.additional"))
        .contains("org.nd4j.")
        .contains("org.bytedeco.");
    assertThat(c.get("env.java.opts.taskmanager")).contains("org.bytedeco.javacpp.cachedir=");
    assertThat(c).doesNotContainKey("state.backend.incremental"); // deprecated (STACK.md)
  }

  static Map<String, String> flinkConfiguration(JsonNode fd) {
    Map<String, String> c = new LinkedHashMap<>();
    fd.path("spec")
        .path("flinkConfiguration")
        .fields()
        .forEachRemaining(e -> c.put(e.getKey(), e.getValue().asText()));
    return c;
  }

  /** Keys of Flink options that exist in 2.2.1 (current and deprecated/fallback names). */
  static Set<String> knownFlinkKeys() throws Exception {
    Set<String> keys = new HashSet<>();
    for (String cls :
        List.of(
            "org.apache.flink.configuration.CheckpointingOptions",
            "org.apache.flink.configuration.ExecutionOptions",
            "org.apache.flink.configuration.StateBackendOptions",
            "org.apache.flink.configuration.HighAvailabilityOptions",
            "org.apache.flink.configuration.RestartStrategyOptions",
            "org.apache.flink.configuration.HeartbeatManagerOptions",
            "org.apache.flink.configuration.CoreOptions",
            "org.apache.flink.configuration.TaskManagerOptions",
            "org.apache.flink.configuration.JobManagerOptions",
            "org.apache.flink.configuration.ResourceManagerOptions",
            "org.apache.flink.configuration.MetricOptions",
            "org.apache.flink.configuration.PipelineOptions",
            "org.apache.flink.configuration.RpcOptions",
            "org.apache.flink.state.rocksdb.RocksDBConfigurableOptions",
            "org.apache.flink.state.rocksdb.RocksDBOptions")) {
      for (Field f : Class.forName(cls).getFields()) {
        if (!Modifier.isStatic(f.getModifiers())
            || !ConfigOption.class.isAssignableFrom(f.getType())) continue;
        ConfigOption<?> o = (ConfigOption<?>) f.get(null);
        keys.add(o.key());
        for (FallbackKey k : o.fallbackKeys()) keys.add(k.getKey());
      }
    }
    return keys;
  }

  @Test
  void flinkConfigurationUsesOnlyOptionsFlinkKnows() throws Exception {
    Set<String> known = knownFlinkKeys();
    List<String> unknown = new ArrayList<>();
    for (String k : flinkConfiguration(flinkDeployment()).keySet()) {
      // per-reporter, per-container-env and java-opts keys are patterns, not fixed options
      if (k.startsWith("metrics.reporter.")
          || k.startsWith("containerized.taskmanager.env.")
          || k.startsWith("containerized.master.env.")) continue;
      if (!known.contains(k)) unknown.add(k);
    }
    assertThat(unknown).as("keys no Flink 2.2.1 option has").isEmpty();
    // the reporter the configuration names is really there
    Class.forName(flinkConfiguration(flinkDeployment()).get("metrics.reporter.prom.factory.class"));
  }

  @Test
  void prometheusFileAndFlinkDeploymentAgree() throws Exception {
    Map<String, String> prom = PerceiveRunFiles.read(DEPLOY.resolve("conf/prometheus.yaml"));
    Map<String, String> c = flinkConfiguration(flinkDeployment());
    assertThat(prom).isNotEmpty();
    prom.forEach((k, v) -> assertThat(c).as(k).containsEntry(k, v));
  }

  @Test
  void jobArgumentsParseWithTheJobsOwnParser() throws Exception {
    JsonNode fd = flinkDeployment();
    List<String> args = new ArrayList<>();
    fd.path("spec").path("job").path("args").forEach(a -> args.add(a.asText()));
    // the --config path in the pod is the ConfigMap of deploy/conf/perceive-job.yaml
    int at = args.indexOf("--config");
    assertThat(at).isNotNegative();
    assertThat(Path.of(args.get(at + 1)).getFileName().toString()).isEqualTo("perceive-job.yaml");
    JsonNode k = documents(DEPLOY.resolve("k8s/kustomization.yaml")).get(0);
    assertThat(k.toString()).contains("perceive-job.yaml=../conf/perceive-job.yaml");
    args.set(at + 1, DEPLOY.resolve("conf/perceive-job.yaml").toString());

    Configuration conf = PerceiveRunFiles.parse(args);
    assertThat(conf.get(JobOptions.SNAPSHOT_DIR)).isEqualTo("/snapshots");
    assertThat(conf.get(JobOptions.BOUNDED)).isFalse();
    // the snapshot dir is where the FlinkDeployment mounts the snapshot volume
    assertThat(fd.toString()).contains("\"mountPath\":\"/snapshots\"");
  }

  @Test
  void settingsFileDocumentsEveryJobOption() throws IOException {
    String text =
        Files.readString(DEPLOY.resolve("conf/perceive-job.yaml"), StandardCharsets.UTF_8);
    for (ConfigOption<?> o : JobOptions.ALL)
      assertThat(text)
          .as("deploy/conf/perceive-job.yaml mentions " + o.key())
          .containsPattern("(?m)^(# )?" + java.util.regex.Pattern.quote(o.key()) + "[ :]");
  }

  @Test
  void jobParserRefusesAKeyTheJobDoesNotHave(@TempDir Path dir) throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "perceive.kafka.bootstrapp: x:9092\n");
    assertThatThrownBy(() -> PerceiveRunFiles.parse(List.of("--config", f.toString())))
        .hasMessageContaining("unknown setting 'perceive.kafka.bootstrapp'");
  }

  @Test
  void topicPlanMatchesTheTopicsTheCodeNames() throws IOException {
    TopicPlan plan = TopicPlan.load(DEPLOY.resolve("kafka/topics.properties"));
    assertThat(plan.topics())
        .extracting(TopicPlan.Topic::name)
        .containsExactlyInAnyOrderElementsOf(Topics.ALL.stream().map(Topics.Spec::name).toList());
    assertThat(plan.topic(Topics.MODEL_UPDATES).partitions()).isEqualTo(1);
    assertThat(plan.topic(Topics.MODEL_MANIFESTS).configs())
        .containsEntry("cleanup.policy", "compact");
    assertThat(plan.topic(Topics.USER_STATE).configs()).containsEntry("cleanup.policy", "compact");
    assertThat(plan.topic(Topics.EVENTS).configs()).containsEntry("cleanup.policy", "delete");
    assertThat(plan.topic(Topics.USER_STATE).partitions())
        .isEqualTo(plan.topic(Topics.EVENTS).partitions());
    // the runbook's "replay a day" needs at least a day of retention
    assertThat(Long.parseLong(plan.topic(Topics.EVENTS).configs().get("retention.ms")))
        .isGreaterThanOrEqualTo(86_400_000L);
    // a single broker gets rf 1 and a satisfiable min ISR
    TopicPlan local = plan.withReplicationFactor((short) 1);
    assertThat(local.topic(Topics.EVENTS).configs()).containsEntry("min.insync.replicas", "1");
  }

  @Test
  void servingSnapshotSyncCopiesOnlyPinnedVersions(@TempDir Path dir) throws Exception {
    String script = null;
    for (JsonNode d : documents(DEPLOY.resolve("k8s/serving.yaml")))
      if (d.path("kind").asText().equals("ConfigMap") && d.path("data").has("sync-snapshots.sh"))
        script = d.path("data").path("sync-snapshots.sh").asText();
    assertThat(script).isNotNull();
    Path s = dir.resolve("sync.sh");
    Path src = Files.createDirectories(dir.resolve("snapshots"));
    Path dst = Files.createDirectories(dir.resolve("serving"));
    Files.writeString(
        s,
        script.replace("/serving-snapshots", dst.toString()).replace("/snapshots", src.toString()));
    for (int v = 1; v <= 3; v++) {
      String base = String.format("model-v%012d", v);
      Files.writeString(src.resolve(base + ".snap"), "snap" + v);
      Files.writeString(src.resolve(base + ".manifest.json"), "{}");
    }
    Files.writeString(src.resolve("latest.manifest.json"), "{}");

    assertThat(runSync(s, "2")).isZero();
    assertThat(names(dst))
        .containsExactlyInAnyOrder(
            "model-v000000000001.snap", "model-v000000000001.manifest.json",
            "model-v000000000002.snap", "model-v000000000002.manifest.json");
    assertThat(runSync(s, "")).isZero();
    assertThat(names(dst)).hasSize(6).doesNotContain("latest.manifest.json");
    assertThat(runSync(s, "1")).isZero(); // a later pin removes newer copies
    assertThat(names(dst))
        .containsExactlyInAnyOrder("model-v000000000001.snap", "model-v000000000001.manifest.json");
  }

  private static int runSync(Path script, String maxVersion) throws Exception {
    ProcessBuilder pb = new ProcessBuilder("sh", script.toString(), "once");
    pb.environment().put("MAX_VERSION", maxVersion);
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    int rc = p.waitFor();
    if (rc != 0) System.err.println(out);
    return rc;
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
    }
  }
}
