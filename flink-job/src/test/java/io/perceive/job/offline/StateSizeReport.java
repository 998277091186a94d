package io.perceive.job.offline;

import io.perceive.job.domain.Event;
import io.perceive.job.domain.LabelConfig;
import io.perceive.job.domain.LabelJoiner;
import io.perceive.job.domain.Sample;
import io.perceive.job.domain.UserState;
import io.perceive.job.domain.UserStateCodec;
import io.perceive.job.learner.FeatureLayout;
import io.perceive.job.source.EventMapping;
import io.perceive.model.ModelConfig;
import io.perceive.sandbox.world.World;
import io.perceive.sandbox.world.WorldConfig;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushOptions;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

/**
 * Measures the bytes per user of the learner's keyed state for the default configuration (issue #6
 * target: at most 4 KB): replays a synthetic world through the label joiner exactly as the job
 * applies events, and at ten points of the stream encodes every live user's state with {@link
 * UserStateCodec}. At the end the states are written into a real RocksDB with Flink's key layout
 * (key group, user id, namespace) and the SST bytes per user are read back, with and without
 * Snappy.
 *
 * <p>The LSTM state is left at its initial value (a no-op advancer): its encoded size is fixed (2 ×
 * hidden floats) whatever the values are, and the driver then needs no model.
 *
 * <p>Usage (docs/streaming-learner.md): {@code scripts/state-size.sh [events] [world key=value
 * ...]}.
 */
public final class StateSizeReport {

  public static void main(String[] args) throws Exception {
    Map<String, String> world = new HashMap<>();
    world.put("events", args.length > 0 ? args[0] : "300000");
    for (int i = 1; i < args.length; i++) {
      String[] kv = args[i].split("=", 2);
      world.put(kv[0], kv[1]);
    }
    WorldConfig wc = WorldConfig.of(world);
    ModelConfig cfg = ModelConfig.defaults();
    FeatureLayout layout = new FeatureLayout(cfg);
    EventMapping mapping = new EventMapping(layout.eventProfileNames(), layout.eventItemNames());
    int hidden = cfg.sequenceConfig().hidden();
    // the demo's label settings (click window 30 min, attribution 26 h, idle 52 h)
    LabelConfig lc =
        new LabelConfig(
            30 * 60_000L,
            26 * 3_600_000L,
            24 * 3_600_000L,
            52 * 3_600_000L,
            cfg.sequenceConfig().attentionWindow(),
            hidden,
            new float[] {5, 10, 20, 40, 80, 160, 320, 640, 1280});
    List<Event> all = new ArrayList<>();
    World.Stream s = new World(wc).events(t -> {});
    while (s.hasNext()) all.add(mapping.toEvent(s.next()));
    all.sort(Event::compareProcessingOrder);
    System.out.printf(
        Locale.ROOT,
        "world: %,d events, %,d users, %,d items; hidden %d, window %d%n",
        all.size(),
        wc.users,
        wc.items,
        hidden,
        lc.windowSize());

    LabelJoiner joiner = new LabelJoiner(lc, mapping.profileSize(), (h, c, leaving, now) -> {});
    LabelJoiner.Output out =
        new LabelJoiner.Output() {
          @Override
          public void sample(Sample x) {}

          @Override
          public void count(LabelJoiner.Counter c) {}
        };
    Map<Long, UserState> users = new HashMap<>();
    System.out.println(
        "progress | users | mean B/user | p50 | p99 | max   (encoded UserState, codec v"
            + UserStateCodec.CURRENT_VERSION
            + ")");
    int next = all.size() / 10;
    for (int i = 0; i < all.size(); i++) {
      Event e = all.get(i);
      UserState st = users.computeIfAbsent(e.userId(), k -> new UserState(hidden));
      if (!joiner.isDuplicate(st, e)) {
        joiner.onTime(st, e.timeMs() - 1, out);
        joiner.onEvent(st, e, out);
      }
      if (i + 1 == next || i + 1 == all.size()) {
        report((i + 1) * 100 / all.size(), users);
        next += all.size() / 10;
      }
    }
    rocks(users);
    // what the bytes are made of
    long req = 0, reqWin = 0, pi = 0, pc = 0, win = 0;
    for (UserState u : users.values()) {
      req += u.requests().size();
      for (var r : u.requests().values()) reqWin += r.window().size();
      pi += u.pendingImpressions().size();
      pc += u.pendingClicks().size();
      win += u.window().size();
    }
    int n = users.size();
    System.out.printf(
        Locale.ROOT,
        "per user: frozen request contexts %.1f (their window rows %.1f), pending impressions %.1f, pending clicks %.1f, window %.1f%n",
        (double) req / n,
        (double) reqWin / n,
        (double) pi / n,
        (double) pc / n,
        (double) win / n);
  }

  private static void report(int percent, Map<Long, UserState> users) {
    int[] sizes = users.values().stream().mapToInt(u -> UserStateCodec.encode(u).length).toArray();
    Arrays.sort(sizes);
    double mean = Arrays.stream(sizes).average().orElse(0);
    System.out.printf(
        Locale.ROOT,
        "%7d%% | %,5d | %,11.0f | %,5d | %,5d | %,6d%n",
        percent,
        sizes.length,
        mean,
        sizes[sizes.length / 2],
        sizes[Math.min(sizes.length - 1, (int) (sizes.length * 0.99))],
        sizes[sizes.length - 1]);
  }

  /** Writes the states with Flink's keyed-state key layout and reads the SST bytes per user. */
  private static void rocks(Map<Long, UserState> users) throws Exception {
    RocksDB.loadLibrary();
    for (CompressionType compression :
        List.of(CompressionType.NO_COMPRESSION, CompressionType.SNAPPY_COMPRESSION)) {
      Path dir = Files.createTempDirectory("perceive-state-size");
      try (Options o = new Options().setCreateIfMissing(true).setCompressionType(compression);
          RocksDB db = RocksDB.open(o, dir.toString());
          FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
        long raw = 0;
        for (Map.Entry<Long, UserState> u : users.entrySet()) {
          // key group (2 bytes at max parallelism > 128), user id, VoidNamespace (1 byte)
          byte[] key =
              ByteBuffer.allocate(11)
                  .putShort((short) (Long.hashCode(u.getKey()) & 0x7fff))
                  .putLong(u.getKey())
                  .put((byte) 0)
                  .array();
          byte[] value = UserStateCodec.encode(u.getValue());
          raw += key.length + value.length;
          db.put(key, value);
        }
        db.flush(flush);
        db.compactRange();
        long sst = Long.parseLong(db.getProperty("rocksdb.total-sst-files-size"));
        System.out.printf(
            Locale.ROOT,
            "RocksDB %-18s: %,d users, %,d B keys+values, %,d B in SST files = %,.0f B/user%n",
            compression,
            users.size(),
            raw,
            sst,
            (double) sst / users.size());
      } finally {
        try (var w = Files.walk(dir)) {
          w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
    }
  }
}
