package io.perceive.cli.demo;

import io.perceive.job.JobOptions;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;

/** Lets tests outside the demo package check that an argument list parses as demo options. */
public final class DemoOptionsAccess {
  private DemoOptionsAccess() {}

  public static void parse(List<String> args) {
    DemoOptions.parse(args);
  }

  /** The model settings ({@code perceive.model.*}, prefix removed) the demo gives the job. */
  public static Map<String, String> modelSettings(List<String> args) {
    Configuration c =
        new Demo(DemoOptions.parse(args), System.out)
            .jobConfiguration("127.0.0.1:9092", Path.of("OUT", "test"));
    Map<String, String> m = new HashMap<>();
    c.toMap()
        .forEach(
            (k, v) -> {
              if (k.startsWith(JobOptions.MODEL_PREFIX))
                m.put(k.substring(JobOptions.MODEL_PREFIX.length()), v);
            });
    return m;
  }
}
