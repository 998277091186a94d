package io.perceive.cli.demo;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The options of {@code perceive demo}, parsed and validated. */
public final class DemoOptions {

  public enum Source {
    WORLD,
    MOVIELENS,
    KAFKA
  }

  Long events; // null = the world's own default (or all of MovieLens)
  Long seed;
  Path world;
  String arch = "mmoe";
  Double klWeight;
  boolean missingValueLayer = true;
  Source source = Source.WORLD;
  Path out = Path.of("OUT");
  int parallelism = 1;
  String bootstrap;
  String topic = "events";
  int uiPort = 8081;
  int batchSize = 256;
  boolean quiet;
  final Map<String, String> worldOverrides = new LinkedHashMap<>();
  final Map<String, String> jobOverrides = new LinkedHashMap<>();

  static final String USAGE =
      String.join(
          "\n",
          "usage: perceive demo [options]",
          "  Starts an embedded Kafka broker on 127.0.0.1, streams a synthetic world (or MovieLens)",
          "  into it, runs the learner on a local Flink cluster (web UI on localhost) and writes",
          "  OUT/report.json, OUT/report.html and the final snapshot under OUT/snapshots/.",
          "",
          "  --events N                 events to generate (world default 100000; movielens: all)",
          "  --seed S                   world seed (default 42)",
          "  --world FILE               world properties file (keys in README); options override it",
          "  --arch A                   shared-bottom | omoe | mmoe (default mmoe)",
          "  --kl-weight W              weight of the symmetric KL bound (0 = off)",
          "  --no-missing-value-layer   missing features become 0 instead of a learned value",
          "  --source S                 world | movielens | kafka (default world)",
          "  --bootstrap HOST:PORT      with --source kafka: the existing cluster to read",
          "  --topic T                  with --source kafka: the events topic (default events)",
          "  --out DIR                  output directory (default OUT)",
          "  --parallelism P            learner parallelism (default 1)",
          "  --batch-size B             minibatch size (default 256)",
          "  --ui-port PORT             Flink web UI / REST port (default 8081; 0 = any free port)",
          "  --world-KEY VALUE          one world key, e.g. --world-users 500",
          "  --set KEY=VALUE            one job setting (a perceive.* key), e.g. --set perceive.model.lstm.hidden=64",
          "  --quiet                    no progress bar");

  static DemoOptions parse(List<String> args) {
    DemoOptions o = new DemoOptions();
    List<String> a = new ArrayList<>(args);
    for (int i = 0; i < a.size(); i++) {
      String k = a.get(i);
      switch (k) {
        case "--events" -> o.events = positiveLong(k, value(a, ++i, k));
        case "--seed" -> o.seed = Long.parseLong(value(a, ++i, k));
        case "--world" -> o.world = Path.of(value(a, ++i, k));
        case "--arch" -> {
          o.arch = value(a, ++i, k);
          if (!List.of("shared-bottom", "omoe", "mmoe").contains(o.arch))
            throw new IllegalArgumentException(
                "--arch must be shared-bottom, omoe or mmoe, got " + o.arch);
        }
        case "--kl-weight" -> {
          o.klWeight = Double.parseDouble(value(a, ++i, k));
          if (!(o.klWeight >= 0)) throw new IllegalArgumentException("--kl-weight must be >= 0");
        }
        case "--no-missing-value-layer" -> o.missingValueLayer = false;
        case "--source" -> {
          String s = value(a, ++i, k);
          try {
            o.source = Source.valueOf(s.toUpperCase(java.util.Locale.ROOT));
          } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                "--source must be world, movielens or kafka, got " + s);
          }
        }
        case "--bootstrap" -> o.bootstrap = value(a, ++i, k);
        case "--topic" -> o.topic = value(a, ++i, k);
        case "--out" -> o.out = Path.of(value(a, ++i, k));
        case "--parallelism" -> o.parallelism = (int) positiveLong(k, value(a, ++i, k));
        case "--batch-size" -> o.batchSize = (int) positiveLong(k, value(a, ++i, k));
        case "--ui-port" -> o.uiPort = Integer.parseInt(value(a, ++i, k));
        case "--quiet" -> o.quiet = true;
        case "--set" -> {
          String kv = value(a, ++i, k);
          int eq = kv.indexOf('=');
          if (eq <= 0) throw new IllegalArgumentException("--set takes KEY=VALUE, got " + kv);
          o.jobOverrides.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        default -> {
          if (k.startsWith("--world-"))
            o.worldOverrides.put(k.substring(8).replace('-', '_'), value(a, ++i, k));
          else throw new IllegalArgumentException("unknown option " + k + "\n" + USAGE);
        }
      }
    }
    if (o.source == Source.KAFKA && o.bootstrap == null)
      throw new IllegalArgumentException("--source kafka needs --bootstrap HOST:PORT");
    return o;
  }

  private static String value(List<String> a, int i, String key) {
    if (i >= a.size()) throw new IllegalArgumentException(key + " needs a value");
    return a.get(i);
  }

  private static long positiveLong(String key, String v) {
    long n;
    try {
      n = Long.parseLong(v.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " needs a whole number, got " + v);
    }
    if (n < 1) throw new IllegalArgumentException(key + " must be >= 1, got " + n);
    return n;
  }
}
