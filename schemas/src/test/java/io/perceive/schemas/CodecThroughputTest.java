package io.perceive.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Prints encode/decode cost per event (a figure, not an assertion on speed). */
class CodecThroughputTest {

  @Test
  void printsCodecCostPerEvent() {
    EventCodec codec = new EventCodec();
    UserEvent event = SampleRecords.impression();
    byte[] bytes = codec.encode(event);
    String json = codec.toJson(event);
    int n = 200_000;
    long valid = 0;
    for (int warm = 0; warm < 2; warm++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        bytes = codec.encode(event);
      }
      long t1 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        valid += codec.decode(bytes).isValid() ? 1 : 0;
      }
      long t2 = System.nanoTime();
      for (int i = 0; i < n / 10; i++) {
        valid += codec.decodeJson(json).isValid() ? 1 : 0;
      }
      long t3 = System.nanoTime();
      if (warm == 1) {
        System.out.printf(
            "codec per event (%d bytes Avro, %d bytes JSON): encode %.2f us, decode+validate %.2f us,"
                + " JSON decode+validate %.2f us%n",
            bytes.length,
            json.length(),
            (t1 - t0) / 1e3 / n,
            (t2 - t1) / 1e3 / n,
            (t3 - t2) / 1e3 / (n / 10));
      }
    }
    assertThat(valid).isEqualTo(2L * (n + n / 10));
  }
}
