package io.perceive.deploy.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A standalone Flink session cluster as separate JVM processes on 127.0.0.1 — one JobManager
 * ({@code StandaloneSessionClusterEntrypoint}) and any number of TaskManagers ({@code
 * TaskManagerRunner}) — started from the Flink jars Maven resolved, the way Flink's own {@code
 * jobmanager.sh}/{@code taskmanager.sh} start them: the memory JVM options and dynamic settings
 * come from Flink's {@code BashJavaUtils} for the same {@code config.yaml}.
 */
public final class LocalFlinkCluster implements AutoCloseable {

  /** JVM module options Flink's distribution sets in env.java.opts.all for Java 17. */
  static final List<String> MODULE_OPTS =
      List.of(
          "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
          "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
          "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
          "--add-opens=java.base/java.lang=ALL-UNNAMED",
          "--add-opens=java.base/java.net=ALL-UNNAMED",
          "--add-opens=java.base/java.io=ALL-UNNAMED",
          "--add-opens=java.base/java.nio=ALL-UNNAMED",
          "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
          "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
          "--add-opens=java.base/java.text=ALL-UNNAMED",
          "--add-opens=java.base/java.time=ALL-UNNAMED",
          "--add-opens=java.base/java.util=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
          "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  /**
   * ND4J in a TaskManager: pointer GC on with a ceiling (docs/streaming-learner.md: without it the
   * off-heap memory of dropped arrays is never freed) and one fixed native cache directory, so a
   * resubmitted job does not unpack the natives again (STACK.md).
   */
  static List<String> nd4jOpts(Path cacheDir) {
    return List.of(
        "-Dorg.bytedeco.javacpp.nopointergc=false",
        "-Dorg.bytedeco.javacpp.maxBytes=1g",
        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0",
        "-Dorg.bytedeco.javacpp.cachedir=" + cacheDir);
  }

  private final Path home;
  private final String classPath;
  private final Path log4jConfig;
  private final int rpcPort;
  private final int restPort;
  private final Map<String, String> settings;
  private Process jobManager;
  private final Map<String, Process> taskManagers = new LinkedHashMap<>();
  private int taskManagerCount;

  /**
   * @param home working directory: conf/, log/, checkpoints/, savepoints/, tmp/
   * @param classPath the cluster's lib/: Flink runtime jars plus ND4J (parent-first)
   * @param log4jConfig log configuration of every process (logs go to ${sys:log.file})
   * @param extra settings added to (and overriding) the defaults of {@link #defaults}
   */
  public LocalFlinkCluster(
      Path home, String classPath, Path log4jConfig, Map<String, String> extra) {
    this.home = home.toAbsolutePath();
    this.classPath = classPath;
    this.log4jConfig = log4jConfig.toAbsolutePath();
    int[] ports = freePorts(2);
    this.rpcPort = ports[0];
    this.restPort = ports[1];
    this.settings = defaults();
    this.settings.putAll(extra);
  }

  /** The cluster settings: RocksDB, incremental checkpoints, fast failure detection, loopback. */
  Map<String, String> defaults() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("jobmanager.rpc.address", "127.0.0.1");
    c.put("jobmanager.rpc.port", String.valueOf(rpcPort));
    c.put("jobmanager.bind-host", "127.0.0.1");
    c.put("taskmanager.bind-host", "127.0.0.1");
    c.put("taskmanager.host", "127.0.0.1");
    c.put("rest.address", "127.0.0.1");
    c.put("rest.bind-address", "127.0.0.1");
    c.put("rest.port", String.valueOf(restPort));
    c.put("jobmanager.memory.process.size", "1024m");
    // 4 GB (1.9 GB heap): a restore hands every learner subtask the union of all replicas (model,
    // optimizer and sync state, ~34 MB snapshots each with the wide part) and a checkpoint writes
    // them again; at 2.5 GB (1.2 GB heap) TaskManagers ran out of heap while restoring at P=3.
    c.put("taskmanager.memory.process.size", "4096m");
    c.put("taskmanager.memory.managed.fraction", "0.25");
    c.put("taskmanager.numberOfTaskSlots", "2");
    c.put("parallelism.default", "2");
    // Spread slots over the TaskManagers, so a small job does not sit on one of them (a killed
    // idle TaskManager proves nothing).
    c.put("taskmanager.load-balance.mode", "SLOTS");
    c.put("state.backend.type", "rocksdb");
    c.put("execution.checkpointing.incremental", "true");
    c.put("execution.checkpointing.interval", "10 s");
    // The learner's replica (~84 MB per subtask) is union operator state; uncompressed, Flink
    // restored it one byte per read() call (> 3.5 min, docs/deploy.md). Compressed streams are
    // buffered by the decompressor.
    c.put("execution.checkpointing.snapshot-compression", "true");
    c.put("execution.checkpointing.dir", home.resolve("checkpoints").toUri().toString());
    c.put("execution.checkpointing.savepoint-dir", home.resolve("savepoints").toUri().toString());
    c.put("execution.checkpointing.num-retained", "2");
    c.put("restart-strategy.type", "fixed-delay");
    c.put("restart-strategy.fixed-delay.attempts", "20");
    c.put("restart-strategy.fixed-delay.delay", "2 s");
    // A killed TaskManager is noticed through lost connections at once, through heartbeats at
    // the latest after this long (default 50 s).
    c.put("heartbeat.interval", "2000");
    c.put("heartbeat.timeout", "20000");
    // On a 2-core machine shared with other builds (load 20 measured) the RPC system took > 10 s
    // (the default) to start; generous start-up and ask timeouts instead of spurious failures.
    c.put("pekko.startup-timeout", "120 s");
    c.put("pekko.ask.timeout", "60 s");
    c.put("classloader.parent-first-patterns.additional", "org.nd4j.;org.bytedeco.");
    c.put("io.tmp.dirs", home.resolve("tmp").toString());
    c.put("web.upload.dir", home.resolve("upload").toString());
    c.put("blob.storage.directory", home.resolve("blobs").toString());
    c.put("metrics.fetcher.update-interval", "2000");
    return c;
  }

  public String restUrl() {
    return "http://127.0.0.1:" + restPort;
  }

  public Path home() {
    return home;
  }

  public Map<String, String> settings() {
    return settings;
  }

  /** Writes conf/config.yaml and starts the JobManager process. */
  public void startJobManager() throws IOException {
    Path conf = home.resolve("conf");
    Files.createDirectories(conf);
    for (String d : List.of("log", "tmp", "upload", "blobs", "checkpoints", "savepoints"))
      Files.createDirectories(home.resolve(d));
    StringBuilder yaml = new StringBuilder("# written by LocalFlinkCluster\n");
    settings.forEach((k, v) -> yaml.append(k).append(": ").append(yamlValue(v)).append('\n'));
    Files.writeString(conf.resolve("config.yaml"), yaml.toString(), StandardCharsets.UTF_8);
    jobManager =
        start(
            "jobmanager",
            "GET_JM_RESOURCE_PARAMS",
            "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint",
            List.of(),
            List.of());
  }

  /** Starts one more TaskManager process; returns its name (tm-1, tm-2, ...). */
  public String startTaskManager() throws IOException {
    String name = "tm-" + (++taskManagerCount);
    Path cache = home.resolve("javacpp-cache");
    Files.createDirectories(cache);
    Process p =
        start(
            name,
            "GET_TM_RESOURCE_PARAMS",
            "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
            nd4jOpts(cache),
            List.of("-D", "taskmanager.resource-id=" + name));
    taskManagers.put(name, p);
    return name;
  }

  /** SIGKILL (no shutdown hooks, no clean disconnect) for a TaskManager; returns its pid. */
  public long killTaskManager(String name) throws InterruptedException {
    Process p = taskManagers.remove(name);
    if (p == null) throw new IllegalArgumentException("no running TaskManager " + name);
    long pid = p.pid();
    p.destroyForcibly(); // SIGKILL on Unix
    p.waitFor(30, TimeUnit.SECONDS);
    return pid;
  }

  public List<String> taskManagerNames() {
    return new ArrayList<>(taskManagers.keySet());
  }

  public Map<String, Long> pids() {
    Map<String, Long> m = new LinkedHashMap<>();
    if (jobManager != null) m.put("jobmanager", jobManager.pid());
    taskManagers.forEach((k, v) -> m.put(k, v.pid()));
    return m;
  }

  private Process start(
      String name,
      String resourceCommand,
      String mainClass,
      List<String> opts,
      List<String> dynamicProperties)
      throws IOException {
    Path conf = home.resolve("conf");
    List<String> resources = resourceParams(resourceCommand, conf);
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBin());
    cmd.addAll(Arrays.asList(resources.get(0).trim().split("\\s+")));
    cmd.addAll(MODULE_OPTS);
    cmd.addAll(opts);
    cmd.add("-Dlog.file=" + home.resolve("log").resolve(name + ".log"));
    cmd.add("-Dlog4j.configurationFile=" + log4jConfig.toUri());
    cmd.add("-cp");
    cmd.add(classPath);
    cmd.add(mainClass);
    cmd.add("--configDir");
    cmd.add(conf.toString());
    if (resources.size() > 1)
      for (String tok : resources.get(1).trim().split("\\s+")) if (!tok.isEmpty()) cmd.add(tok);
    cmd.addAll(dynamicProperties);
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.redirectErrorStream(true);
    pb.redirectOutput(home.resolve("log").resolve(name + ".out").toFile());
    return pb.start();
  }

  /** Runs Flink's BashJavaUtils, which computes JVM memory options exactly as the scripts do. */
  private List<String> resourceParams(String command, Path conf) throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(
            javaBin(),
            "-cp",
            classPath,
            "org.apache.flink.runtime.util.bash.BashJavaUtils",
            command,
            "--configDir",
            conf.toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      p.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    List<String> results = new ArrayList<>();
    for (String line : out.split("\n"))
      if (line.startsWith("BASH_JAVA_UTILS_EXEC_RESULT:"))
        results.add(line.substring("BASH_JAVA_UTILS_EXEC_RESULT:".length()));
    if (results.isEmpty())
      throw new IOException("BashJavaUtils " + command + " gave no result:\n" + out);
    return results;
  }

  private static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String yamlValue(String v) {
    // Flink's YAML parser: quote values that YAML would otherwise read as something else.
    if (v.contains(": ") || v.contains("#") || v.startsWith("{") || v.startsWith("["))
      return "'" + v.replace("'", "''") + "'";
    return v;
  }

  /** Stops every process (SIGTERM, then SIGKILL after 20 s). */
  @Override
  public void close() {
    List<Process> all = new ArrayList<>(taskManagers.values());
    if (jobManager != null) all.add(jobManager);
    for (Process p : all) p.destroy();
    for (Process p : all) {
      try {
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
          p.destroyForcibly();
          p.waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    taskManagers.clear();
    jobManager = null;
  }

  static int[] freePorts(int n) {
    int[] ports = new int[n];
    List<ServerSocket> open = new ArrayList<>();
    try {
      for (int i = 0; i < n; i++) {
        ServerSocket s = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        open.add(s);
        ports[i] = s.getLocalPort();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : open)
        try {
          s.close();
        } catch (IOException ignored) {
          // closing a probe socket
        }
    }
    return ports;
  }
}
