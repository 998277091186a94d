package io.perceive.cli.faults;

import io.perceive.job.PerceiveJob;
import io.perceive.job.domain.UserState;
import io.perceive.job.domain.UserStateCodec;
import io.perceive.model.core.EmbeddingTable;
import io.perceive.model.core.HostView;
import io.perceive.model.core.ParameterSet;
import io.perceive.model.optim.OptimizerState;
import io.perceive.model.snapshot.Snapshot;
import io.perceive.model.snapshot.SnapshotFile;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a savepoint of the Perceive job holds, read with Flink's State Processor API and decoded
 * with the job's own codecs: every user's keyed state (uid {@code user-learner}, value state {@code
 * user}), the learner replicas and their sync state (union operator state of the same operator),
 * and the parameter server's state (uid {@code parameter-server}).
 *
 * <p>The keyed state is read with the job's own state descriptor (name and byte-array serializer),
 * so the reader sees exactly the bytes the operator wrote; the savepoint is in the canonical
 * format, which any state backend can read, so the reader uses the heap backend.
 */
record SavepointContents(
    Map<Long, byte[]> users, List<Replica> replicas, Map<Integer, byte[]> syncs, Server server) {

  /** A learner replica in union state: its owner subtask and the decoded snapshot. */
  record Replica(
      int owner, long modelVersion, String parameters, long optimizerSteps, String optimizer) {}

  /** The parameter server's checkpointed state, decoded. */
  record Server(long version, Map<Integer, Long> coverage, String parameters) {}

  /** Reads the savepoint at {@code path}. */
  static SavepointContents read(String path) throws Exception {
    Configuration readerConf = new Configuration();
    // a learner replica is one record of a few MB (embedding tables and optimizer moments)
    readerConf.setString("collect-sink.batch-size.max", "64mb");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(readerConf);
    env.setParallelism(1);
    SavepointReader sp = SavepointReader.read(env, path, new HashMapStateBackend());
    TypeInformation<Tuple3<String, Long, byte[]>> type =
        Types.TUPLE(
            Types.STRING, Types.LONG, PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
    OperatorIdentifier learner = OperatorIdentifier.forUid(PerceiveJob.LEARNER_UID);
    DataStream<Tuple3<String, Long, byte[]>> all =
        sp.readKeyedState(learner, new UserStates(), Types.LONG, type)
            .union(
                sp.readUnionState(
                        learner,
                        "learner-replica",
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                    .map(b -> Tuple3.of("replica", 0L, b))
                    .returns(type),
                sp.readUnionState(
                        learner,
                        "replica-sync",
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                    .map(b -> Tuple3.of("sync", 0L, b))
                    .returns(type),
                sp.readListState(
                        OperatorIdentifier.forUid(PerceiveJob.PARAMETER_SERVER_UID),
                        "parameter-server",
                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO)
                    .map(b -> Tuple3.of("server", 0L, b))
                    .returns(type));
    Map<Long, byte[]> users = new TreeMap<>();
    List<byte[]> replicas = new ArrayList<>();
    Map<Integer, byte[]> syncs = new TreeMap<>();
    List<byte[]> servers = new ArrayList<>();
    try (CloseableIterator<Tuple3<String, Long, byte[]>> it = all.executeAndCollect()) {
      while (it.hasNext()) {
        Tuple3<String, Long, byte[]> t = it.next();
        switch (t.f0) {
          case "user" -> {
            if (users.put(t.f1, t.f2) != null)
              throw new IllegalStateException("user " + t.f1 + " twice in the savepoint");
          }
          case "replica" -> replicas.add(t.f2);
          case "sync" -> syncs.put(owner(t.f2), Arrays.copyOfRange(t.f2, 4, t.f2.length));
          case "server" -> servers.add(t.f2);
          default -> throw new IllegalStateException(t.f0);
        }
      }
    }
    if (servers.size() != 1)
      throw new IllegalStateException("parameter-server entries: " + servers.size());
    List<Replica> decoded = new ArrayList<>();
    for (byte[] r : replicas) decoded.add(replica(r));
    decoded.sort((a, b) -> Integer.compare(a.owner(), b.owner()));
    return new SavepointContents(users, decoded, syncs, server(servers.get(0)));
  }

  /** Every user's state, decoded with the job's versioned codec. */
  Map<Long, UserState> decodedUsers() throws IOException {
    Map<Long, UserState> m = new TreeMap<>();
    for (var e : users.entrySet()) m.put(e.getKey(), UserStateCodec.decode(e.getValue()));
    return m;
  }

  /** The published version a learner's sync state is based on (its rebase point). */
  static long syncPublishedVersion(byte[] sync) throws IOException {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(sync));
    in.skipNBytes(8 + 4 + 8 + 8); // magic, format version, seq, incarnation
    return in.readLong();
  }

  /** Reads the one keyed value state of the learner, as the operator registers it. */
  static final class UserStates
      extends KeyedStateReaderFunction<Long, Tuple3<String, Long, byte[]>> {
    private static final long serialVersionUID = 1L;
    private transient ValueState<byte[]> user;

    @Override
    public void open(OpenContext context) {
      user =
          getRuntimeContext()
              .getState(
                  new ValueStateDescriptor<>(
                      "user", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
    }

    @Override
    public void readKey(Long key, Context ctx, Collector<Tuple3<String, Long, byte[]>> out)
        throws Exception {
      byte[] b = user.value();
      if (b != null) out.collect(Tuple3.of("user", key, b));
    }
  }

  private static int owner(byte[] b) {
    return ByteBuffer.wrap(b, 0, 4).getInt();
  }

  private static Replica replica(byte[] entry) throws Exception {
    Snapshot s =
        SnapshotFile.fromBytes(
            Arrays.copyOfRange(entry, 4, entry.length), "learner replica in a savepoint");
    OptimizerState o =
        s.optimizerState()
            .orElseThrow(() -> new IllegalStateException("a replica without optimizer state"));
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update(ByteBuffer.allocate(8).putLong(o.steps()).array());
    for (var a : new TreeMap<>(o.arrays()).entrySet()) {
      d.update(a.getKey().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      d.update(HostView.of((INDArray) a.getValue()).bytes());
    }
    for (var c : new TreeMap<>(o.counters()).entrySet())
      for (long v : c.getValue()) d.update(ByteBuffer.allocate(8).putLong(v).array());
    return new Replica(
        owner(entry),
        s.modelVersion(),
        checksum(s.parameters()),
        o.steps(),
        HexFormat.of().formatHex(d.digest()));
  }

  /**
   * Parses the parameter server's checkpoint form ({@code ParameterServer#save}) far enough for the
   * test: model version, coverage and the global parameters. Parsed here rather than through {@code
   * ParameterServer.restore}, which needs a freshly initialised model to restore into.
   */
  private static Server server(byte[] b) throws Exception {
    DataInputStream in = new DataInputStream(new ByteArrayInputStream(b));
    byte[] magic = in.readNBytes(8);
    if (!new String(magic, java.nio.charset.StandardCharsets.US_ASCII).equals("PRCVPSRV"))
      throw new IllegalStateException("not a parameter-server state");
    int format = in.readInt();
    if (format != 1) throw new IllegalStateException("parameter-server state format " + format);
    long version = in.readLong();
    in.readInt(); // learners
    in.readLong(); // watermark
    Map<Integer, Long> coverage = new TreeMap<>();
    for (int i = 0, n = in.readInt(); i < n; i++) coverage.put(in.readInt(), in.readLong());
    for (int i = 0, n = in.readInt(); i < n; i++) { // gathered, not yet merged deltas
      in.readInt();
      in.readLong();
      in.skipNBytes(in.readInt());
    }
    for (int i = 0, n = in.readInt(); i < n; i++) in.readInt(); // finished learners
    Snapshot global =
        SnapshotFile.fromBytes(in.readNBytes(in.readInt()), "parameter server in a savepoint");
    return new Server(version, coverage, checksum(global.parameters()));
  }

  /** SHA-256 of every parameter value (dense buffer, then each table's weights). */
  static String checksum(ParameterSet p) throws Exception {
    MessageDigest d = MessageDigest.getInstance("SHA-256");
    d.update(HostView.of(p.flat()).bytes());
    for (EmbeddingTable t : p.tables().values()) d.update(HostView.of(t.weights()).bytes());
    return HexFormat.of().formatHex(d.digest());
  }
}
