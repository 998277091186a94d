package io.perceive.job.sync;

import io.perceive.model.delta.ChunkAssembler;
import io.perceive.model.snapshot.MalformedDataException;
import io.perceive.schemas.ModelUpdateChunk;
import io.perceive.schemas.RecordFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordEmitter;
import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A FLIP-27 source for the one-partition {@code model-updates} topic that <b>finishes</b> when it
 * reads the END update the parameter server writes after a bounded run's final version — so a
 * bounded job whose learners consume their own published model still ends. (Connector 5.0.0-2.2's
 * KafkaSource cannot do this: its builder offers no end-of-stream record evaluator and it ignores
 * {@code DeserializationSchema#isEndOfStream}.)
 *
 * <p>It reassembles the chunks ({@code ChunkAssembler}) in the fetcher thread and emits whole
 * encoded {@link ModelUpdate}s of this run only; the checkpointed offset is always just past a
 * complete update, so a restore never starts in the middle of one. A fresh run starts at the offset
 * of {@code startTimestampMs} (a little before the job was built), which the parameter server's
 * first FULL follows. Corrupt chunks are logged, counted and skipped.
 */
public final class ModelUpdateSource
    implements Source<byte[], UpdateSplit, Boolean>, ResultTypeQueryable<byte[]> {

  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ModelUpdateSource.class);

  private final String bootstrap;
  private final String topic;
  private final String runId;
  private final long startTimestampMs;

  public ModelUpdateSource(String bootstrap, String topic, String runId, long startTimestampMs) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.runId = runId;
    this.startTimestampMs = startTimestampMs;
  }

  @Override
  public Boundedness getBoundedness() {
    return Boundedness.CONTINUOUS_UNBOUNDED; // it ends only when the END update arrives
  }

  @Override
  public TypeInformation<byte[]> getProducedType() {
    return PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO;
  }

  @Override
  public SourceReader<byte[], UpdateSplit> createReader(SourceReaderContext ctx) {
    return new Reader(() -> new Fetcher(bootstrap, runId), ctx.getConfiguration(), ctx);
  }

  @Override
  public SplitEnumerator<UpdateSplit, Boolean> createEnumerator(
      SplitEnumeratorContext<UpdateSplit> ctx) {
    return new Enumerator(ctx, new UpdateSplit(topic, 0, -1, startTimestampMs, -1), false);
  }

  @Override
  public SplitEnumerator<UpdateSplit, Boolean> restoreEnumerator(
      SplitEnumeratorContext<UpdateSplit> ctx, Boolean assigned) {
    return new Enumerator(ctx, new UpdateSplit(topic, 0, -1, startTimestampMs, -1), assigned);
  }

  @Override
  public SimpleVersionedSerializer<UpdateSplit> getSplitSerializer() {
    return new UpdateSplit.Serializer();
  }

  @Override
  public SimpleVersionedSerializer<Boolean> getEnumeratorCheckpointSerializer() {
    return new UpdateSplit.AssignedSerializer();
  }

  /** A complete update of this run and the offset just past its last chunk. */
  record Message(byte[] bytes, long nextOffset, ModelUpdate.Kind kind, long incarnation) {}

  /** Progress of the split: next offset, newest incarnation seen. */
  static final class SplitState {
    final UpdateSplit split;
    long nextOffset;
    long incarnation;

    SplitState(UpdateSplit s) {
      split = s;
      nextOffset = s.startOffset();
      incarnation = s.incarnationFloor();
    }
  }

  /** Hands the one split to reader 0 and tells every reader there will be no more. */
  static final class Enumerator implements SplitEnumerator<UpdateSplit, Boolean> {
    private final SplitEnumeratorContext<UpdateSplit> ctx;
    private final UpdateSplit initial;
    private boolean assigned;
    private final List<UpdateSplit> returned = new ArrayList<>();

    Enumerator(SplitEnumeratorContext<UpdateSplit> ctx, UpdateSplit initial, boolean assigned) {
      this.ctx = ctx;
      this.initial = initial;
      this.assigned = assigned;
    }

    @Override
    public void start() {}

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {}

    @Override
    public void addSplitsBack(List<UpdateSplit> splits, int subtaskId) {
      returned.addAll(splits);
    }

    @Override
    public void addReader(int subtaskId) {
      if (subtaskId == 0) {
        if (!assigned) {
          ctx.assignSplit(initial, 0);
          assigned = true;
        }
        for (UpdateSplit s : returned) ctx.assignSplit(s, 0);
        returned.clear();
      }
      ctx.signalNoMoreSplits(subtaskId);
    }

    @Override
    public Boolean snapshotState(long checkpointId) {
      return assigned;
    }

    @Override
    public void close() {}
  }

  /** Emits updates and advances the split's checkpointed position past each. */
  static final class Emitter implements RecordEmitter<Message, byte[], SplitState> {
    @Override
    public void emitRecord(Message m, SourceOutput<byte[]> out, SplitState state) {
      out.collect(m.bytes());
      state.nextOffset = m.nextOffset();
      if (m.kind() == ModelUpdate.Kind.FULL)
        state.incarnation = Math.max(state.incarnation, m.incarnation());
    }
  }

  static final class Reader
      extends SingleThreadMultiplexSourceReaderBase<Message, byte[], UpdateSplit, SplitState> {
    Reader(
        java.util.function.Supplier<SplitReader<Message, UpdateSplit>> fetchers,
        Configuration conf,
        SourceReaderContext ctx) {
      super(fetchers, new Emitter(), conf, ctx);
    }

    @Override
    protected void onSplitFinished(Map<String, SplitState> finished) {}

    @Override
    protected SplitState initializedState(UpdateSplit split) {
      return new SplitState(split);
    }

    @Override
    protected UpdateSplit toSplitType(String splitId, SplitState s) {
      return new UpdateSplit(
          s.split.topic(),
          s.split.partition(),
          s.nextOffset,
          s.split.startTimestampMs(),
          s.incarnation);
    }
  }

  /** Polls the partition, reassembles chunks, and finishes the split at this run's END. */
  static final class Fetcher implements SplitReader<Message, UpdateSplit> {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String runId;
    private UpdateSplit split;
    private TopicPartition tp;
    private ChunkAssembler assembler = new ChunkAssembler();
    private long incarnation = -1;
    private boolean ended;
    private long corrupt;

    Fetcher(String bootstrap, String runId) {
      this.consumer = new KafkaConsumer<>(ModelTopics.consumerProperties(bootstrap));
      this.runId = runId;
    }

    @Override
    public RecordsWithSplitIds<Message> fetch() {
      RecordsBySplits.Builder<Message> b = new RecordsBySplits.Builder<>();
      if (split == null) return b.build();
      if (ended) {
        b.addFinishedSplit(split.splitId());
        return b.build();
      }
      Iterable<ConsumerRecord<byte[], byte[]>> records;
      try {
        records = consumer.poll(Duration.ofMillis(200));
      } catch (WakeupException e) {
        return b.build();
      }
      for (ConsumerRecord<byte[], byte[]> r : records) {
        Optional<byte[]> whole = accept(r);
        if (whole.isEmpty()) continue;
        ModelUpdate m;
        try {
          m = ModelUpdate.decode(whole.get());
        } catch (MalformedDataException e) {
          corrupt++;
          LOG.warn(
              "model-updates offset {}: skipped an unreadable update: {}",
              r.offset(),
              e.getMessage());
          continue;
        }
        if (!m.runId().equals(runId) || m.incarnation() <= split.incarnationFloor()) continue;
        if (m.kind() == ModelUpdate.Kind.FULL) incarnation = Math.max(incarnation, m.incarnation());
        b.add(split.splitId(), new Message(whole.get(), r.offset() + 1, m.kind(), m.incarnation()));
        if (m.kind() == ModelUpdate.Kind.END && m.incarnation() == incarnation) {
          ended = true;
          b.addFinishedSplit(split.splitId());
          LOG.info("model-updates: END of run {} at version {}", runId, m.version());
          break;
        }
      }
      return b.build();
    }

    private Optional<byte[]> accept(ConsumerRecord<byte[], byte[]> r) {
      try {
        ModelUpdateChunk c = ModelTopics.CHUNKS.decode(r.value());
        byte[] chunk = new byte[c.getPayload().remaining()];
        c.getPayload().duplicate().get(chunk);
        return assembler.accept(chunk);
      } catch (RecordFormatException | MalformedDataException e) {
        corrupt++;
        LOG.warn(
            "model-updates offset {}: skipped an unreadable record ({} so far): {}",
            r.offset(),
            corrupt,
            e.getMessage());
        if (e instanceof MalformedDataException) assembler = new ChunkAssembler();
        return Optional.empty();
      }
    }

    @Override
    public void handleSplitsChanges(SplitsChange<UpdateSplit> change) {
      if (!(change instanceof SplitsAddition<UpdateSplit> add)) return;
      for (UpdateSplit s : add.splits()) {
        split = s;
        tp = new TopicPartition(s.topic(), s.partition());
        consumer.assign(List.of(tp));
        long start = s.startOffset();
        if (start < 0) {
          Map<TopicPartition, OffsetAndTimestamp> at =
              consumer.offsetsForTimes(Map.of(tp, Math.max(0, s.startTimestampMs())));
          OffsetAndTimestamp o = at.get(tp);
          start = o != null ? o.offset() : consumer.endOffsets(List.of(tp)).get(tp);
        }
        consumer.seek(tp, start);
        LOG.info("model-updates: reading {} from offset {} (run {})", tp, start, runId);
      }
    }

    @Override
    public void wakeUp() {
      consumer.wakeup();
    }

    @Override
    public void close() {
      consumer.close(Duration.ofSeconds(5));
    }
  }
}
