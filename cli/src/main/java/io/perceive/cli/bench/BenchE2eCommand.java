package io.perceive.cli.bench;

import io.perceive.cli.Args;
import io.perceive.cli.Command;
import io.perceive.cli.UsageException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code perceive bench-e2e}: runs {@link E2eBenchmark} (throughput against the no-learning floor
 * at each parallelism, the minibatch phase profile, freshness on a live stream), prints the figures
 * and writes them with two plots to {@code docs/}.
 */
public final class BenchE2eCommand implements Command {

  @Override
  public String summary() {
    return "end-to-end benchmark: events/s vs a no-learning floor, phase profile, freshness → docs";
  }

  @Override
  public String usage() {
    return String.join(
        "\n",
        "perceive bench-e2e [options]",
        "  --events N            events of the synthetic world for the throughput runs (default 10000)",
        "  --rounds R            rounds of (floor, learner) per parallelism, alternating (default 3)",
        "  --parallelism LIST    parallelisms, comma-separated (default 1,2)",
        "  --live-seconds S      length of the live freshness run; 0 = skip it (default 60)",
        "  --live-rate R         events/s of the live run; 0 = half the learner's median at the",
        "                        live parallelism (default 0)",
        "  --live-parallelism P  learner parallelism of the live run (default 1)",
        "  --world KEY=VALUE     world setting (repeatable), e.g. --world users=3000",
        "  --job KEY=VALUE       job setting (repeatable), e.g. --job perceive.learner.batch-size=128",
        "  --out DIR             where the report goes (default docs)",
        "  --name NAME           report file name without .md (default benchmarks-e2e)",
        "  --work DIR            scratch directory for checkpoints (default OUT/bench-e2e)");
  }

  @Override
  public boolean parsesOwnArguments() {
    return true;
  }

  @Override
  public int run(Args args, PrintStream out, PrintStream err) throws Exception {
    E2eBenchmark.Options o;
    Path dir = Path.of("docs");
    String name = "benchmarks-e2e";
    long events = 10_000;
    int rounds = 3, liveSeconds = 60, liveParallelism = 1;
    double liveRate = 0;
    List<Integer> ps = List.of(1, 2);
    Map<String, String> world = new LinkedHashMap<>(), job = new LinkedHashMap<>();
    Path work = Path.of("OUT", "bench-e2e");
    List<String> a = args.raw();
    try {
      for (int i = 0; i < a.size(); i++) {
        String k = a.get(i);
        switch (k) {
          case "--events" -> events = Long.parseLong(value(a, ++i, k));
          case "--rounds" -> rounds = Integer.parseInt(value(a, ++i, k));
          case "--parallelism" -> {
            List<Integer> l = new ArrayList<>();
            for (String p : value(a, ++i, k).split(",")) l.add(Integer.parseInt(p.trim()));
            ps = l;
          }
          case "--live-seconds" -> liveSeconds = Integer.parseInt(value(a, ++i, k));
          case "--live-rate" -> liveRate = Double.parseDouble(value(a, ++i, k));
          case "--live-parallelism" -> liveParallelism = Integer.parseInt(value(a, ++i, k));
          case "--world" -> put(world, value(a, ++i, k), k);
          case "--job" -> put(job, value(a, ++i, k), k);
          case "--out" -> dir = Path.of(value(a, ++i, k));
          case "--name" -> name = value(a, ++i, k);
          case "--work" -> work = Path.of(value(a, ++i, k));
          default -> throw new UsageException("unknown option " + k);
        }
      }
      o =
          new E2eBenchmark.Options(
              events, rounds, ps, liveSeconds, liveRate, liveParallelism, world, job, work);
    } catch (NumberFormatException e) {
      throw new UsageException("not a number: " + e.getMessage());
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    // Flink's and Kafka's start-up warnings (one batch per job) would bury the figures
    org.apache.logging.log4j.core.config.Configurator.setRootLevel(
        org.apache.logging.log4j.Level.ERROR);
    long t0 = System.nanoTime();
    E2eBenchmark.Result r = new E2eBenchmark(o, out).run();
    String command = ("./perceive bench-e2e " + String.join(" ", a)).trim();
    E2eReport report = new E2eReport(r, command);
    out.println();
    out.print(report.summary());
    for (Path p : report.write(dir, name)) out.println("written " + p);
    out.printf(
        Locale.ROOT,
        "done in %.1f min; load average now %s%n",
        (System.nanoTime() - t0) / 60e9,
        E2eBenchmark.loadAverage());
    return 0;
  }

  private static void put(Map<String, String> m, String kv, String option) throws UsageException {
    int eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageException(option + " expects KEY=VALUE, got '" + kv + "'");
    m.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
  }

  private static String value(List<String> a, int i, String key) throws UsageException {
    if (i >= a.size()) throw new UsageException(key + " needs a value");
    return a.get(i);
  }
}
