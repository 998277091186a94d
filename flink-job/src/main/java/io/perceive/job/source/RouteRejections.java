package io.perceive.job.source;

import io.perceive.job.domain.Event;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/** Sends valid events on and rejected records (already encoded dead letters) to a side output. */
public final class RouteRejections extends ProcessFunction<Incoming, Event> {

  private static final long serialVersionUID = 1L;

  public static final OutputTag<byte[]> DEAD_LETTERS =
      new OutputTag<>("dead-letters", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);

  private transient Counter invalid;

  @Override
  public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
    invalid =
        getRuntimeContext()
            .getMetricGroup()
            .counter(
                "invalid",
                new io.perceive.job.learner.CountingAccumulator(getRuntimeContext(), "invalid"));
  }

  @Override
  public void processElement(Incoming in, Context ctx, Collector<Event> out) {
    if (in.isValid()) out.collect(in.event());
    else {
      invalid.inc();
      ctx.output(DEAD_LETTERS, in.deadLetter());
    }
  }
}
