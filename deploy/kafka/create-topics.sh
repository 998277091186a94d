#!/usr/bin/env bash
# Creates Perceive's topics (deploy/kafka/topics.properties) on any Kafka cluster, idempotently,
# with the standard Kafka admin client (io.perceive.deploy.CreateTopics in the job jar).
#   deploy/kafka/create-topics.sh --bootstrap kafka:9092 [--replication-factor 1] [--dry-run]
#                                 [--command-config admin.properties]   (SASL/TLS settings)
# JOB_JAR defaults to the jar `mvn -pl deploy -am package -Pjob-jar -DskipTests` builds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
JOB_JAR="${JOB_JAR:-$(ls "$ROOT"/deploy/target/perceive-deploy-*-job.jar 2>/dev/null | head -1)}"
if [ -z "$JOB_JAR" ] || [ ! -f "$JOB_JAR" ]; then
  echo "create-topics: no job jar; build it: mvn -B -pl deploy -am package -Pjob-jar -DskipTests" >&2
  exit 2
fi
# The job jar has no logging binding (the cluster provides one): slf4j falls back to no-op.
exec java -cp "$JOB_JAR" io.perceive.deploy.CreateTopics --plan "$ROOT/deploy/kafka/topics.properties" "$@"
