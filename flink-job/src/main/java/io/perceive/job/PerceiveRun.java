package io.perceive.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * {@code perceive run}: the main class of the job jar. Runs the learner against an existing Kafka
 * cluster — on a Flink cluster when submitted with {@code flink run}, in a local cluster otherwise.
 *
 * <pre>
 * perceive run [--config FILE] [--KEY VALUE ...] [-D KEY=VALUE ...]
 * </pre>
 *
 * FILE holds {@code key: value} (or {@code key=value}) lines of perceive.* and Flink settings;
 * command-line settings override the file.
 */
public final class PerceiveRun {

  private PerceiveRun() {}

  public static void main(String[] args) throws Exception {
    Configuration conf;
    try {
      conf = parse(List.of(args));
    } catch (IllegalArgumentException e) {
      System.err.println("perceive run: " + e.getMessage());
      System.err.println(usage());
      System.exit(2);
      return;
    }
    if (conf == null) {
      System.out.println(usage());
      return;
    }
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
    PerceiveJob.build(env, conf);
    env.execute(conf.getString("pipeline.name", "perceive-learner"));
  }

  /** The configuration the arguments describe, or null when help was asked for. */
  static Configuration parse(List<String> args) throws IOException {
    Map<String, String> settings = new LinkedHashMap<>();
    List<String> rest = new ArrayList<>(args);
    for (int i = 0; i < rest.size(); i++) {
      String a = rest.get(i);
      if (a.equals("--help") || a.equals("-h")) return null;
      if (a.equals("--config")) {
        if (i + 1 >= rest.size()) throw new IllegalArgumentException("--config needs a file");
        settings.putAll(readFile(Path.of(rest.get(++i))));
      }
    }
    for (int i = 0; i < rest.size(); i++) {
      String a = rest.get(i);
      if (a.equals("--config")) {
        i++;
      } else if (a.equals("-D")) {
        if (i + 1 >= rest.size()) throw new IllegalArgumentException("-D needs KEY=VALUE");
        put(settings, rest.get(++i));
      } else if (a.startsWith("-D")) {
        put(settings, a.substring(2));
      } else if (a.startsWith("--")) {
        if (i + 1 >= rest.size()) throw new IllegalArgumentException(a + " needs a value");
        settings.put(a.substring(2), rest.get(++i));
      } else throw new IllegalArgumentException("unexpected argument '" + a + "'");
    }
    for (String k : settings.keySet())
      if (k.startsWith("perceive.")
          && !k.startsWith(JobOptions.MODEL_PREFIX)
          && !k.startsWith(JobOptions.OPTIMIZER_PREFIX)
          && !k.startsWith(JobOptions.SOURCE_KAFKA_PREFIX)
          && JobOptions.ALL.stream().map(ConfigOption::key).noneMatch(k::equals))
        throw new IllegalArgumentException("unknown setting '" + k + "'");
    Configuration conf = Configuration.fromMap(settings);
    PerceiveJob.learnerFactory(conf); // validates model and optimizer settings up front
    return conf;
  }

  private static void put(Map<String, String> m, String kv) {
    int eq = kv.indexOf('=');
    if (eq <= 0) throw new IllegalArgumentException("expected KEY=VALUE, got '" + kv + "'");
    m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
  }

  static Map<String, String> readFile(Path file) throws IOException {
    Map<String, String> m = new LinkedHashMap<>();
    int n = 0;
    for (String line : Files.readAllLines(file)) {
      n++;
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) continue;
      int colon = l.indexOf(':');
      int eq = l.indexOf('=');
      int at = colon < 0 ? eq : (eq < 0 ? colon : Math.min(colon, eq));
      if (at <= 0) throw new IllegalArgumentException(file + ":" + n + ": expected 'key: value'");
      m.put(l.substring(0, at).trim(), unquote(l.substring(at + 1).trim()));
    }
    return m;
  }

  private static String unquote(String v) {
    if (v.length() >= 2
        && (v.startsWith("\"") && v.endsWith("\"") || v.startsWith("'") && v.endsWith("'")))
      return v.substring(1, v.length() - 1);
    return v;
  }

  public static String usage() {
    StringBuilder sb =
        new StringBuilder(
            "usage: perceive run [--config FILE] [--KEY VALUE ...] [-D KEY=VALUE ...]\n\nsettings:\n");
    for (ConfigOption<?> o : JobOptions.ALL)
      sb.append(
          String.format(
              "  %-40s %s%n", o.key(), o.hasDefaultValue() ? o.defaultValue() : "(unset)"));
    sb.append("  perceive.model.<key>                     model hyperparameters (see README)\n");
    sb.append("  perceive.optimizer.<key>                 optimizer settings (see README)\n");
    return sb.toString();
  }
}
