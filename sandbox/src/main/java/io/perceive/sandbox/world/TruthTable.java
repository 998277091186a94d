package io.perceive.sandbox.world;

import io.perceive.schemas.TruthRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** The world's true probabilities, keyed by impression event id, for evaluation (oracle AUC). */
public final class TruthTable {
  private final Map<String, TruthRecord> byImpression = new HashMap<>();

  TruthTable() {}

  /** Loads a file written by {@link TruthFile#create}. */
  public static TruthTable load(Path path) throws IOException {
    return TruthFile.read(path);
  }

  void put(TruthRecord record) {
    byImpression.put(record.getImpressionEventId(), record);
  }

  /** The truth of one impression, if the world generated it. */
  public Optional<TruthRecord> get(String impressionEventId) {
    return Optional.ofNullable(byImpression.get(impressionEventId));
  }

  public int size() {
    return byImpression.size();
  }

  /** All records, in no particular order. */
  public Collection<TruthRecord> records() {
    return Collections.unmodifiableCollection(byImpression.values());
  }
}
