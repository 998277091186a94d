package io.perceive.job.learner;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.metrics.SimpleCounter;

/**
 * A metric counter that also feeds a Flink accumulator of the same name, so the job's final counts
 * come back with its execution result (the demo's report) while the metric serves dashboards. Note:
 * accumulators restart with a failed-over attempt; exact counts under failure come from the
 * exactly-once outputs instead.
 */
public final class CountingAccumulator extends SimpleCounter {

  private final LongCounter accumulator = new LongCounter();

  public CountingAccumulator(RuntimeContext ctx, String name) {
    ctx.addAccumulator(name, accumulator);
  }

  @Override
  public void inc() {
    super.inc();
    accumulator.add(1L);
  }

  @Override
  public void inc(long n) {
    super.inc(n);
    accumulator.add(n);
  }
}
