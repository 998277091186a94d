package io.perceive.job.source;

import io.perceive.schemas.DeadLetters;
import io.perceive.schemas.DecodeResult;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventValidator;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes and validates every record of the events topic. Nothing throws out of it: a record that
 * fails becomes a dead letter with its original bytes, topic/partition/offset and reason, so one
 * bad producer can never stop the learner, and nothing valid is dropped.
 */
public final class EventDeserializer implements KafkaRecordDeserializationSchema<Incoming> {

  private static final long serialVersionUID = 1L;

  private final long minEventTimeMs;
  private final long maxEventTimeMs;
  private final EventMapping mapping;
  private transient EventCodec codec;

  public EventDeserializer(long minEventTimeMs, long maxEventTimeMs, EventMapping mapping) {
    this.minEventTimeMs = minEventTimeMs;
    this.maxEventTimeMs = maxEventTimeMs;
    this.mapping = mapping;
  }

  private EventCodec codec() {
    if (codec == null) codec = new EventCodec(new EventValidator(minEventTimeMs, maxEventTimeMs));
    return codec;
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<Incoming> out) {
    DecodeResult r = codec().decode(record.value());
    if (r.isValid()) {
      out.collect(Incoming.valid(mapping.toEvent(r.event())));
    } else {
      out.collect(
          Incoming.rejected(
              DeadLetters.encode(
                  DeadLetters.of(
                      record.key(),
                      r.rejection(),
                      record.topic(),
                      record.partition(),
                      record.offset(),
                      System.currentTimeMillis()))));
    }
  }

  @Override
  public TypeInformation<Incoming> getProducedType() {
    return TypeInformation.of(Incoming.class);
  }
}
