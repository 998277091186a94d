package io.perceive.schemas;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Representative instances of every record type, with nulls and NaN-free values. */
final class SampleRecords {
  static final long T0 = Instant.parse("2024-03-01T12:00:00Z").toEpochMilli();

  private SampleRecords() {}

  static UserEvent impression() {
    Map<String, Double> features = new LinkedHashMap<>();
    features.put("discount", 0.15);
    features.put("log_popularity", null);
    Map<String, Double> profile = new LinkedHashMap<>();
    profile.put("age_bucket", 3.0);
    profile.put("power_level", null);
    return UserEvent.newBuilder()
        .setEventId("e-1")
        .setUserId(42L)
        .setType(EventType.IMPRESSION)
        .setEventTimeMs(T0)
        .setRequestId(7L)
        .setPosition(2)
        .setScene(Scenes.SEARCH)
        .setItem(
            Item.newBuilder()
                .setItemId(1001L)
                .setShopId(5L)
                .setBrandId(null)
                .setCategoryId(12L)
                .setPrice(19.99)
                .setFeatures(features)
                .build())
        .setProfile(profile)
        .build();
  }

  static UserEvent order() {
    UserEvent order = UserEvent.newBuilder(impression()).build();
    order.setEventId("e-4");
    order.setType(EventType.ORDER);
    order.setEventTimeMs(T0 + 3_600_000L);
    order.setOrderAmount(39.98);
    order.setQuantity(2);
    order.setProfile(null);
    order.getItem().setPrice(null);
    return order;
  }

  static DeadLetter deadLetter() {
    return DeadLetters.of(
        "42".getBytes(),
        new byte[] {1, 2, 3},
        "events",
        3,
        12345L,
        RejectionReason.INVALID_PRICE,
        "item.price must be finite and >= 0, got NaN",
        T0,
        T0 + 5);
  }

  static SnapshotManifest manifest() {
    return SnapshotManifest.newBuilder()
        .setModelVersion(17L)
        .setSnapshotFormatVersion(1)
        .setLocation("file:///tmp/snapshots/v17")
        .setFiles(List.of("params.bin", "embeddings.bin"))
        .setChecksum("sha256:00ff")
        .setSizeBytes(1234567L)
        .setCreatedAtMs(T0)
        .setWatermarkMs(T0 - 1000)
        .setOffsets(Map.of("events-0", 10L, "events-1", 12L))
        .setMetrics(Map.of("auc_click", 0.71))
        .setModelConfig(null)
        .build();
  }

  static ModelUpdateChunk updateChunk() {
    return ModelUpdateChunk.newBuilder()
        .setModelVersion(18L)
        .setBaseVersion(17L)
        .setKind(UpdateKind.DELTA)
        .setChunkIndex(0)
        .setChunkCount(3)
        .setPayloadFormatVersion(1)
        .setPayload(ByteBuffer.wrap(new byte[] {9, 8, 7, 6}))
        .setCreatedAtMs(T0)
        .setWatermarkMs(null)
        .build();
  }

  static UserServingState userState() {
    List<Float> hidden = new ArrayList<>();
    List<Float> cell = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      hidden.add(i * 0.25f);
      cell.add(-i * 0.5f);
    }
    Behaviour behaviour =
        Behaviour.newBuilder()
            .setItemId(1001L)
            .setShopId(5L)
            .setBrandId(null)
            .setCategoryId(12L)
            .setType(EventType.CLICK)
            .setScene(Scenes.RECOMMEND)
            .setEventTimeMs(T0)
            .build();
    return UserServingState.newBuilder()
        .setUserId(42L)
        .setModelVersion(17L)
        .setUpdatedAtEventTimeMs(T0)
        .setHidden(hidden)
        .setCell(cell)
        .setWindow(List.of(behaviour))
        .setProfile(null)
        .setUserVector(List.of(1.5f, -2.0f))
        .build();
  }

  static TruthRecord truth() {
    return TruthRecord.newBuilder()
        .setImpressionEventId("e-1")
        .setUserId(42L)
        .setRequestId(7L)
        .setItemId(1001L)
        .setEventTimeMs(T0)
        .setPClick(0.12)
        .setPConversion(0.05)
        .setPOrder(0.006)
        .setClicked(true)
        .setOrdered(false)
        .build();
  }
}
