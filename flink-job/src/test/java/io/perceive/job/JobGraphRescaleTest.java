package io.perceive.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.OperatorIDPair;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.JobVertex;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

/**
 * The job graph keeps what a savepoint needs to restore at another parallelism. Flink refuses a
 * restore when an operator's max parallelism in the savepoint differs from the max parallelism its
 * job vertex has <i>explicitly</i> in the new program; a chained operator takes its vertex's (the
 * chain head's) max parallelism. So every operator must sit under the same explicit max parallelism
 * (or none) whatever the parallelism. The ParameterServer (max parallelism 1) broke this: at
 * parallelism 1 it was chained behind the learner (vertex max parallelism 128), at 2 it was a
 * vertex of its own (1), and a savepoint taken at 1 could not be restored at 2 (RescaleITCase found
 * it).
 */
class JobGraphRescaleTest {

  static Map<String, Integer> maxParallelismPerOperator(int parallelism) {
    Configuration c = new Configuration();
    c.set(JobOptions.BOOTSTRAP, "127.0.0.1:1"); // building the graph connects to nothing
    c.set(JobOptions.PREDICTIONS_DIR, "file:///tmp/perceive-graph-test/predictions");
    c.set(JobOptions.SNAPSHOT_DIR, "/tmp/perceive-graph-test/snapshots");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(c);
    env.setParallelism(parallelism);
    PerceiveJob.build(env, c);
    JobGraph g = env.getStreamGraph().getJobGraph();
    Map<String, Integer> m = new HashMap<>();
    for (JobVertex v : g.getVertices())
      for (OperatorIDPair op : v.getOperatorIDs())
        m.put(op.getGeneratedOperatorID().toHexString(), v.getMaxParallelism());
    return m;
  }

  @Test
  void everyOperatorKeepsItsExplicitMaxParallelismAcrossParallelisms() {
    Map<String, Integer> one = maxParallelismPerOperator(1);
    Map<String, Integer> two = maxParallelismPerOperator(2);
    assertThat(two.keySet()).as("the same operators (uids)").isEqualTo(one.keySet());
    one.forEach(
        (op, max) -> {
          int other = two.get(op);
          // -1 = not set: Flink then takes the savepoint's value
          if (max != -1 || other != -1)
            assertThat(other).as("max parallelism of operator %s at 2 vs 1", op).isEqualTo(max);
        });
  }

  @Test
  void theParameterServerIsAlwaysAVertexOfMaxParallelismOne() {
    for (int p : new int[] {1, 2, 4}) {
      Configuration c = new Configuration();
      c.set(JobOptions.BOOTSTRAP, "127.0.0.1:1");
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(c);
      env.setParallelism(p);
      PerceiveJob.build(env, c);
      JobVertex server = null;
      for (JobVertex v : env.getStreamGraph().getJobGraph().getVertices())
        if (v.getName().contains(PerceiveJob.PARAMETER_SERVER_NAME)) server = v;
      assertThat(server).as("vertex of the server at parallelism %d", p).isNotNull();
      assertThat(server.getName()).doesNotContain(PerceiveJob.LEARNER_NAME);
      assertThat(server.getParallelism()).isEqualTo(1);
      assertThat(server.getMaxParallelism()).isEqualTo(1);
    }
  }
}
