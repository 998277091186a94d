package io.perceive.job.sync;

import io.perceive.model.ModelConfig;
import io.perceive.model.MultiTaskModel;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.delta.ParameterDelta;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/** Prints what one sync costs on a model (a measurement, not a test): {@code main [k=v ...]}. */
public final class SyncCostProbe {
  public static void main(String[] args) throws Exception {
    Map<String, String> props = new java.util.HashMap<>();
    for (String a : args)
      props.put(a.substring(0, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
    ModelConfig cfg = ModelConfig.fromProperties(props);
    ParameterSet p = new MultiTaskModel(cfg).initialise(DataType.FLOAT);
    System.out.printf(
        "dense %d, table values %d%n",
        p.denseLength(),
        p.tables().values().stream().mapToLong(t -> (long) t.rows() * t.dim()).sum());
    ParameterSet q = p.copy();
    q.flat().addi(1e-3);
    for (int rep = 0; rep < 3; rep++) {
      long t0 = System.nanoTime();
      ParameterSet c = p.copy();
      long t1 = System.nanoTime();
      ParameterDelta d = ParameterDelta.diff(p, q, 0, ParameterDelta.DenseMode.DIFFERENCE);
      long t2 = System.nanoTime();
      byte[] b = d.encode();
      long t3 = System.nanoTime();
      ParameterDelta.decode(b).applyTo(c);
      long t4 = System.nanoTime();
      System.out.printf(
          "copy %.1f ms, diff %.1f ms, encode %.1f ms (%d bytes), decode+apply %.1f ms%n",
          (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, b.length, (t4 - t3) / 1e6);
    }
  }
}
