#!/usr/bin/env bash
# Bytes per user of the learner's keyed state (issue #6, target <= 4 KB) for the default model
# configuration and the demo's label windows: replays a synthetic world through the job's label
# joiner, prints the encoded UserState size per user at ten points of the stream, then writes the
# final states into a real RocksDB with Flink's key layout and prints SST bytes per user.
#
#   scripts/state-size.sh                 # the default world, 300,000 events
#   scripts/state-size.sh 100000 users=1000
set -euo pipefail
cd "$(dirname "$0")/.."
# one reactor build: the class path then names the modules' target/classes, not ~/.m2
mvn -B -q -pl flink-job -am -DskipTests test-compile dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=test
java -Xmx4g -cp "flink-job/target/test-classes:flink-job/target/classes:$(cat flink-job/target/classpath.txt)" \
  io.perceive.job.offline.StateSizeReport "$@"
