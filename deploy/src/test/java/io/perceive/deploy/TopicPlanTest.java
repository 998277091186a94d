package io.perceive.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** Bad topic plans are refused with the offending key named. */
class TopicPlanTest {

  static Properties props(String... kv) {
    Properties p = new Properties();
    for (int i = 0; i < kv.length; i += 2) p.setProperty(kv[i], kv[i + 1]);
    return p;
  }

  @Test
  void parsesPartitionsReplicationAndConfigs() {
    TopicPlan plan =
        TopicPlan.parse(
            props(
                "topics", "a, b",
                "a.partitions", "4",
                "a.replication-factor", "3",
                "a.config.cleanup.policy", "compact",
                "b.partitions", "1",
                "b.replication-factor", "1"));
    assertThat(plan.topic("a").partitions()).isEqualTo(4);
    assertThat(plan.topic("a").configs()).containsEntry("cleanup.policy", "compact");
    assertThat(plan.topic("b").configs()).isEmpty();
  }

  @Test
  void refusesMissingOrMalformedValuesAndStrayKeys() {
    assertThatThrownBy(() -> TopicPlan.parse(props("a.partitions", "1")))
        .hasMessageContaining("'topics'");
    assertThatThrownBy(() -> TopicPlan.parse(props("topics", "a", "a.replication-factor", "1")))
        .hasMessageContaining("'a.partitions' is missing");
    assertThatThrownBy(
            () ->
                TopicPlan.parse(
                    props("topics", "a", "a.partitions", "four", "a.replication-factor", "1")))
        .hasMessageContaining("'a.partitions' must be an integer");
    assertThatThrownBy(
            () ->
                TopicPlan.parse(
                    props("topics", "a", "a.partitions", "0", "a.replication-factor", "1")))
        .hasMessageContaining("a.partitions must be >= 1");
    assertThatThrownBy(
            () ->
                TopicPlan.parse(
                    props(
                        "topics", "a",
                        "a.partitions", "1",
                        "a.replication-factor", "1",
                        "ab.partitions", "2")))
        .hasMessageContaining("'ab.partitions' belongs to no topic");
    assertThatThrownBy(
            () ->
                TopicPlan.parse(
                    props("topics", "a b", "a b.partitions", "1", "a b.replication-factor", "1")))
        .hasMessageContaining("invalid topic name");
  }
}
