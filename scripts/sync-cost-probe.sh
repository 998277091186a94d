#!/usr/bin/env bash
# Runs SyncCostProbe (flink-job test sources) on the default model for each rows-touched figure:
#   scripts/sync-cost-probe.sh [TREE] -- 200 2000 20000
# TREE (default: this checkout) is a source tree to measure, e.g. an older commit unpacked with
# `git archive <commit> | tar -x -C /tmp/base`; run two trees alternately to compare builds in the
# same minutes (docs/streaming-learner.md "Cost of one sync"). Compiles with test-compile only.
set -euo pipefail
TREE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then TREE="$(cd "$1" && pwd)"; shift; fi
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || set -- 200 2000 20000
CP_FILE="$TREE/flink-job/target/sync-cost-probe.cp"
(cd "$TREE" && OMP_NUM_THREADS=1 mvn -B -q -pl flink-job -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$CP_FILE" -Dmdep.includeScope=test >&2)
FLAGS="$(sed -n 's:.*<perceive.jvm.flags>\(.*\)</perceive.jvm.flags>.*:\1:p' "$TREE/pom.xml" | head -1)"
for touched in "$@"; do
  echo "=== $TREE touched=$touched $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  OMP_NUM_THREADS=1 java $FLAGS -cp "$TREE/flink-job/target/test-classes:$TREE/flink-job/target/classes:$(cat "$CP_FILE")" \
    io.perceive.job.sync.SyncCostProbe probe.touched="$touched" probe.rounds="${ROUNDS:-21}" 2>&1 | grep -v WARN
done
