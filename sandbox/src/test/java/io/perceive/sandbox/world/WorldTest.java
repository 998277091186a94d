package io.perceive.sandbox.world;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.perceive.schemas.EventCodec;
import io.perceive.schemas.EventType;
import io.perceive.schemas.TruthRecord;
import io.perceive.schemas.UserEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Determinism, realism, truth/label consistency, learnable signals and speed of the synthetic
 * world.
 */
class WorldTest {
  private static final WorldConfig SMALL =
      WorldConfig.of(
          Map.of("events", "60000", "users", "500", "items", "4000", "categories", "20"));

  private record Run(List<UserEvent> events, List<TruthRecord> truth, World.Stream stream) {}

  private static Run run(WorldConfig config) {
    List<UserEvent> events = new ArrayList<>();
    List<TruthRecord> truth = new ArrayList<>();
    World.Stream stream = new World(config).events(truth::add);
    stream.forEachRemaining(events::add);
    return new Run(events, truth, stream);
  }

  @Test
  void sameSeedGivesTheSameEventsAndTruth() {
    Run a = run(SMALL);
    Run b = run(SMALL);
    Run other = run(SMALL.with(Map.of("seed", "43")));

    assertThat(a.events()).hasSize(60_000).isEqualTo(b.events());
    assertThat(a.truth()).isEqualTo(b.truth());
    assertThat(other.events()).isNotEqualTo(a.events());
  }

  @Test
  void everyEventIsValidAndTheStreamLooksLikeARealPipeline() {
    Run run = run(SMALL);
    EventCodec codec = new EventCodec();
    long start = SMALL.startTime.toEpochMilli();
    Set<String> ids = new HashSet<>();
    int duplicates = 0;
    int late = 0;
    long maxTime = Long.MIN_VALUE;
    long maxLateness = 0;
    int missingPrices = 0;
    for (UserEvent event : run.events()) {
      assertThat(codec.decode(codec.encode(event)).isValid()).isTrue();
      assertThat(event.getEventTimeMs()).isGreaterThanOrEqualTo(start);
      if (!ids.add(event.getEventId())) {
        duplicates++;
      }
      if (event.getEventTimeMs() < maxTime) {
        late++;
        maxLateness = Math.max(maxLateness, maxTime - event.getEventTimeMs());
      }
      maxTime = Math.max(maxTime, event.getEventTimeMs());
      if (event.getItem().getPrice() == null) {
        missingPrices++;
      }
    }
    assertThat(duplicates).isEqualTo(run.stream().duplicates()).isBetween(30, 300);
    assertThat(late).isEqualTo(run.stream().late()).isGreaterThan(50);
    assertThat(maxLateness).isLessThanOrEqualTo(SMALL.maxDeliveryDelaySeconds * 1000L);
    assertThat(missingPrices / 60_000.0).isBetween(0.05, 0.2);
    assertThat(run.stream().delivered(EventType.CLICK)).isGreaterThan(3000);
    assertThat(run.stream().delivered(EventType.CART)).isPositive();
    assertThat(run.stream().delivered(EventType.ORDER)).isPositive();
    // one truth record per delivered impression (duplicates excluded)
    long impressions =
        run.events().stream()
            .filter(e -> e.getType() == EventType.IMPRESSION)
            .map(UserEvent::getEventId)
            .distinct()
            .count();
    assertThat(run.truth()).hasSize((int) impressions);
  }

  @Test
  void truthMatchesTheLabelsInTheEvents() {
    Run run = run(SMALL);
    // (request, item) -> delivered follow-ups
    Set<String> clicked = new HashSet<>();
    Set<String> ordered = new HashSet<>();
    for (UserEvent event : run.events()) {
      String key = event.getRequestId() + "/" + event.getItem().getItemId();
      if (event.getType() == EventType.CLICK) {
        clicked.add(key);
      } else if (event.getType() == EventType.ORDER) {
        ordered.add(key);
      }
    }
    int bins = 10;
    double[] sumP = new double[bins];
    double[] sumVar = new double[bins];
    double[] clicks = new double[bins];
    double sumPOrder = 0;
    double orders = 0;
    int mismatches = 0;
    for (TruthRecord truth : run.truth()) {
      String key = truth.getRequestId() + "/" + truth.getItemId();
      boolean click = clicked.contains(key);
      if (click != truth.getClicked()) {
        mismatches++; // only follow-ups cut off by the event budget at the very end
      }
      assertThat(truth.getPOrder())
          .isCloseTo(
              truth.getPClick() * truth.getPConversion(),
              org.assertj.core.data.Offset.offset(1e-12));
      int bin = Math.min(bins - 1, (int) (truth.getPClick() * bins));
      sumP[bin] += truth.getPClick();
      sumVar[bin] += truth.getPClick() * (1 - truth.getPClick());
      clicks[bin] += click ? 1 : 0;
      sumPOrder += truth.getPOrder();
      orders += ordered.contains(key) ? 1 : 0;
    }
    assertThat(mismatches).isLessThan(50);
    for (int b = 0; b < bins; b++) {
      if (sumVar[b] < 25) {
        continue; // too few impressions in this bin for a meaningful check
      }
      // observed clicks within 4.5 standard deviations of the expected count
      assertThat(Math.abs(clicks[b] - sumP[b]))
          .as("bin %d: expected %.1f clicks, saw %.0f", b, sumP[b], clicks[b])
          .isLessThan(4.5 * Math.sqrt(sumVar[b]) + 5);
    }
    assertThat(Math.abs(orders - sumPOrder)).isLessThan(4.5 * Math.sqrt(sumPOrder) + 5);
  }

  @Test
  void recentBehaviourAndInterestsAreLearnableSignals() {
    Run run = run(SMALL);
    double oracle =
        auc(
            run.truth().stream().mapToDouble(TruthRecord::getPClick).toArray(),
            run.truth().stream().mapToInt(t -> t.getClicked() ? 1 : 0).toArray());
    assertThat(oracle).as("oracle click AUC").isBetween(0.70, 0.95);

    // Session intent: an impression in the category of the user's previous click within 30 minutes
    // is clicked far more often than one in another category.
    Map<Long, long[]> lastClick = new HashMap<>(); // user -> {time, category}
    Map<String, TruthRecord> truthById = new HashMap<>();
    run.truth().forEach(t -> truthById.put(t.getImpressionEventId(), t));
    double[] same = new double[2];
    double[] other = new double[2];
    for (UserEvent event : run.events()) {
      long category = event.getItem().getCategoryId();
      if (event.getType() == EventType.CLICK) {
        lastClick.put(event.getUserId(), new long[] {event.getEventTimeMs(), category});
      } else if (event.getType() == EventType.IMPRESSION
          && truthById.containsKey(event.getEventId())) {
        long[] previous = lastClick.get(event.getUserId());
        if (previous != null && event.getEventTimeMs() - previous[0] < 30 * 60_000L) {
          double[] bucket = previous[1] == category ? same : other;
          bucket[0]++;
          bucket[1] += truthById.get(event.getEventId()).getClicked() ? 1 : 0;
        }
      }
    }
    double sameRate = same[1] / same[0];
    double otherRate = other[1] / other[0];
    System.out.printf(
        "oracle click AUC %.3f; click rate after a same-category click %.3f (n=%.0f) vs other %.3f (n=%.0f)%n",
        oracle, sameRate, same[0], otherRate, other[0]);
    assertThat(sameRate).isGreaterThan(1.5 * otherRate);
  }

  @Test
  void interestDriftAndIntentStrengthChangeTheWorld() {
    WorldConfig noIntent = SMALL.with(Map.of("session_intent_strength", "0"));
    Run flat = run(noIntent);
    double oracle =
        auc(
            flat.truth().stream().mapToDouble(TruthRecord::getPClick).toArray(),
            flat.truth().stream().mapToInt(t -> t.getClicked() ? 1 : 0).toArray());
    assertThat(oracle).isGreaterThan(0.6);
    assertThat(flat.events()).isNotEqualTo(run(SMALL).events());
  }

  @Test
  void generates300kEventsQuickly(@TempDir Path dir) throws Exception {
    WorldConfig full = WorldConfig.defaults();
    long started = System.nanoTime();
    long count = 0;
    try (TruthFile.Writer truth = TruthFile.create(dir.resolve("truth.avro"))) {
      World.Stream stream = new World(full).events(truth);
      while (stream.hasNext()) {
        stream.next();
        count++;
      }
      double seconds = (System.nanoTime() - started) / 1e9;
      System.out.printf(
          "world: %d events (%d users, %d items), %d truth records in %.2f s = %.0f events/s;"
              + " impressions %d, clicks %d, carts %d, orders %d, duplicates %d, late %d%n",
          count,
          full.users,
          full.items,
          truth.count(),
          seconds,
          count / seconds,
          stream.delivered(EventType.IMPRESSION),
          stream.delivered(EventType.CLICK),
          stream.delivered(EventType.CART),
          stream.delivered(EventType.ORDER),
          stream.duplicates(),
          stream.late());
    }
    assertThat(count).isEqualTo(300_000);
    TruthTable table = TruthTable.load(dir.resolve("truth.avro"));
    assertThat(table.size()).isGreaterThan(200_000);
  }

  @Test
  void truthFileRoundTripsAndRefusesUnknownVersions(@TempDir Path dir) throws Exception {
    List<TruthRecord> truth = new ArrayList<>();
    new World(SMALL.with(Map.of("events", "2000"))).events(truth::add).forEachRemaining(e -> {});
    Path file = dir.resolve("t.avro");
    try (TruthFile.Writer writer = TruthFile.create(file)) {
      truth.forEach(writer);
    }
    TruthTable table = TruthTable.load(file);
    assertThat(table.size()).isEqualTo(truth.size());
    for (TruthRecord record : truth) {
      assertThat(table.get(record.getImpressionEventId())).contains(record);
    }

    Path future = dir.resolve("future.avro");
    var writer =
        new org.apache.avro.file.DataFileWriter<>(
            new org.apache.avro.specific.SpecificDatumWriter<>(TruthRecord.class));
    writer.setMeta(TruthFile.FORMAT_KEY, 99L);
    writer.create(TruthRecord.getClassSchema(), future.toFile());
    writer.close();
    assertThatThrownBy(() -> TruthTable.load(future)).hasMessageContaining("truth format 99");
  }

  @Test
  void configPrecedenceAndValidation(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("world.properties");
    java.nio.file.Files.writeString(file, "users = 10\nitems=200\nseed=5\n");

    WorldConfig config =
        WorldConfig.load(file, Map.of("seed", "6", "session-intent-strength", "0.2"));

    assertThat(config.users).isEqualTo(10); // file over default
    assertThat(config.items).isEqualTo(200);
    assertThat(config.seed).isEqualTo(6); // command line over file
    assertThat(config.sessionIntentStrength).isEqualTo(0.2);
    assertThat(config.events).isEqualTo(300_000); // default
    assertThatThrownBy(() -> WorldConfig.of(Map.of("session_intent_strength", "1.5")))
        .hasMessageContaining("session_intent_strength");
    assertThatThrownBy(() -> WorldConfig.of(Map.of("userz", "1")))
        .hasMessageContaining("unknown world key");
    assertThatThrownBy(() -> WorldConfig.of(Map.of("users", "many")))
        .hasMessageContaining("integer");
    assertThatThrownBy(() -> WorldConfig.of(Map.of("start_time", "yesterday")))
        .hasMessageContaining("ISO-8601");
    assertThat(WorldConfig.markdownTable()).contains("`click_order_coupling`");
  }

  @Test
  void tinyWorldsWork() {
    Run tiny =
        run(WorldConfig.of(Map.of("events", "500", "users", "1", "items", "3", "categories", "1")));
    assertThat(tiny.events()).hasSize(500);
  }

  /** Rank-based AUC (ties get average ranks). */
  static double auc(double[] scores, int[] labels) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(scores[a], scores[b]));
    double rankSum = 0;
    long positives = 0;
    int i = 0;
    while (i < order.length) {
      int j = i;
      while (j + 1 < order.length && scores[order[j + 1]] == scores[order[i]]) {
        j++;
      }
      double averageRank = (i + j) / 2.0 + 1;
      for (int k = i; k <= j; k++) {
        if (labels[order[k]] == 1) {
          rankSum += averageRank;
          positives++;
        }
      }
      i = j + 1;
    }
    long negatives = scores.length - positives;
    return (rankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
  }
}
