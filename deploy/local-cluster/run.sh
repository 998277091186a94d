#!/usr/bin/env bash
# The failure drill on a real multi-process Flink cluster on this machine (deploy/README.md
# "Local cluster drill"): embedded Kafka broker in its own JVM, one JobManager and two
# TaskManagers as separate JVMs started from the Flink jars Maven resolved, the job jar submitted
# through the REST API, the synthetic world streamed in; SIGKILL of a TaskManager mid-stream,
# recovery from the last checkpoint, stop-with-savepoint, resubmission at another parallelism,
# and the exactly-once predictions checked against every impression the world produced.
#
#   deploy/local-cluster/run.sh [--events 30000] [--rate 400] [--parallelism-before 2]
#                               [--parallelism-after 3] [--timeout-seconds 900] [--work DIR]
#                               [--broker-down-seconds 0]   (keep the broker down that long)
#                               [--soak-seconds 0]   (instead of the faults: hold --rate that long,
#                                                    sampling backlog and resident memory)
#
# Prints a timeline and the figures; exit 0 when every check passed. All processes it starts are
# stopped at the end (also on Ctrl-C). Ports are picked free on 127.0.0.1; nothing else is touched.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
echo "building the job jar and the drill (mvn -pl deploy -am package -Pjob-jar) ..." >&2
mvn -B -q -Dstyle.color=never -pl deploy -am package -DskipTests -Pjob-jar \
  dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test.classpath >&2
CP="deploy/target/test-classes:deploy/target/classes:$(cat deploy/target/test.classpath)"
WORK="$ROOT/OUT/cluster-drill"
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
export OMP_NUM_THREADS=1
exec java -Xmx768m -cp "$CP" io.perceive.deploy.cluster.ClusterDrill \
  --repo "$ROOT" --work "$WORK" "${ARGS[@]}"
