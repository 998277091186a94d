package io.perceive.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.junit.jupiter.api.Test;

/** {@code perceive.source.kafka.<property>}: passed to the events source, checked up front. */
class SourceKafkaPropertiesTest {

  @Test
  void consumerPropertiesArePassedAndTheJobsOwnAreRefused() throws Exception {
    Configuration c =
        PerceiveRun.parse(
            List.of(
                "-Dperceive.kafka.bootstrap=127.0.0.1:9092",
                "-Dperceive.source.kafka.default.api.timeout.ms=20000",
                "-Dperceive.source.kafka.max.poll.records=200"));
    assertThat(PerceiveJob.sourceKafkaProperties(c))
        .isEqualTo(Map.of("default.api.timeout.ms", "20000", "max.poll.records", "200"));

    Configuration own = new Configuration();
    own.setString("perceive.source.kafka.group.id", "other");
    assertThatThrownBy(() -> PerceiveJob.sourceKafkaProperties(own))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("perceive.kafka.group-id");
  }
}
