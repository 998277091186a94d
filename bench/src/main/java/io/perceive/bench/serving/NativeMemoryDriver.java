package io.perceive.bench.serving;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.TrainingBatch;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.input.CandidateInput;
import io.perceive.model.input.UserInput;
import io.perceive.serving.Scorer;
import io.perceive.serving.ServingModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Native memory per serving request: runs {@code requests} requests through {@link Scorer#score}
 * (or one part of it) after a warm-up and prints JavaCPP's counters before and after — {@code
 * Pointer.totalBytes()}/{@code totalCount()} (native memory JavaCPP allocated and has not freed)
 * and {@code Pointer.physicalBytes()} (the resident set of the process). Run with the launcher's
 * flags ({@code -Dorg.bytedeco.javacpp.nopointergc=true}), where nothing but an explicit close
 * frees native memory. Arguments: {@code [requests=5000] [candidates=100,1000]
 * [part=request|encode|score]}. Commands in docs/model-performance.md.
 */
public final class NativeMemoryDriver {

  private NativeMemoryDriver() {}

  public static void main(String[] args) throws Exception {
    int requests = args.length > 0 ? Integer.parseInt(args[0]) : 5_000;
    String[] sizes = (args.length > 1 ? args[1] : "100,1000").split(",");
    String part = args.length > 2 ? args[2] : "request";
    int warmUp = Math.min(200, Math.max(5, requests / 5));
    System.out.printf(
        "# native memory per request (%s), %d requests after %d warm-up, nopointergc=%s,"
            + " load average %s%n",
        part,
        requests,
        warmUp,
        System.getProperty("org.bytedeco.javacpp.nopointergc", "false"),
        Files.readString(Path.of("/proc/loadavg")).trim());
    ModelConfig cfg = ModelConfig.defaults();
    ParameterSet p = new MultiTaskModel(cfg).initialise(DataType.FLOAT);
    ServingModel m = ServingModel.of(1, 0, cfg, p);
    Random r = new Random(3);
    long now = 1_700_000_000_000L;
    System.out.println(
        "candidates | JavaCPP bytes/request | JavaCPP pointers/request | resident KB/request |"
            + " JavaCPP MB before -> after | resident MB before -> after | ms/request");
    for (String s : sizes) {
      int n = Integer.parseInt(s.trim());
      List<CandidateInput> cands = ServingBenchmark.candidates(r, n);
      UserInput u = ServingBenchmark.user(r, cfg, now);
      Runnable request =
          switch (part) {
            case "request" -> () -> Scorer.score(m, u, cands, 1);
            case "encode" -> {
              TrainingBatch.Users users = m.inputs().users(List.of(u));
              yield () -> m.model().encodeUser(p, users);
            }
            case "score" -> {
              TrainingBatch.Users users = m.inputs().users(List.of(u));
              TrainingBatch.Candidates c = m.inputs().candidates(cands);
              MultiTaskModel.UserRepresentation rep = m.model().encodeUser(p, users);
              yield () -> m.model().score(p, rep, c);
            }
            default ->
                throw new IllegalArgumentException(
                    "part must be request, encode or score: " + part);
          };
      for (int i = 0; i < warmUp; i++) request.run();
      System.gc();
      long bytes0 = Pointer.totalBytes(), count0 = Pointer.totalCount();
      long phys0 = Pointer.physicalBytes();
      long t0 = System.nanoTime();
      for (int i = 0; i < requests; i++) request.run();
      double ms = (System.nanoTime() - t0) / 1e6 / requests;
      System.gc();
      long bytes1 = Pointer.totalBytes(), count1 = Pointer.totalCount();
      long phys1 = Pointer.physicalBytes();
      System.out.printf(
          "%10d | %21.1f | %24.2f | %19.1f | %8.1f -> %8.1f | %8.1f -> %8.1f | %.2f%n",
          n,
          (double) (bytes1 - bytes0) / requests,
          (double) (count1 - count0) / requests,
          (phys1 - phys0) / 1024.0 / requests,
          bytes0 / 1e6,
          bytes1 / 1e6,
          phys0 / 1e6,
          phys1 / 1e6,
          ms);
    }
  }
}
