#!/usr/bin/env bash
# The MMoE paper experiment (Ma et al., KDD 2018, §3.2): shared-bottom vs OMoE vs MMoE on synthetic
# two-task regression at task correlations 1.0, 0.9, 0.5; prints the table of mean final test loss
# and writes docs/mmoe-experiment.md (+ docs/mmoe-experiment.png when gnuplot is installed).
#
#   scripts/mmoe-experiment.sh                         # defaults: 4 seeds, 2000 Adam steps (~15 min on a busy 2-core box)
#   scripts/mmoe-experiment.sh --seeds=2 --steps=500 --out=/tmp/mmoe.md   # quick look
#
# Options: --seeds --steps --batch --lr --train --test --correlations=1.0,0.9,0.5 --scale --sines --out
#
# Each (correlation, seed) pair trains in its own JVM. Why: with STACK.md's fast JavaCPP setting
# nopointergc=true, the small native structures ND4J allocates for every array are never freed —
# even with each step inside a reused workspace a JVM grows by ~350 MB per model trained (a
# single-JVM run reached 20 GB and was OOM-killed) — while JavaCPP's pointer GC made a step 2-4x
# slower. A JVM per pair bounds the growth to about 1 GB and its exit frees it.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 # before the JVM starts: one OpenMP thread (STACK.md)
seeds=4
correlations=1.0,0.9,0.5
out=docs/mmoe-experiment.md
pass=()
for a in "$@"; do
  case "$a" in
    --seeds=*) seeds="${a#--seeds=}" ;;
    --correlations=*) correlations="${a#--correlations=}" ;;
    --out=*) out="${a#--out=}" ;;
    *) pass+=("$a") ;;
  esac
done
mvn -B -q -pl model,bench -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
run() {
  java -Xmx768m -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0 \
    -Dorg.bytedeco.javacpp.nopointergc=true \
    -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
    io.perceive.bench.mmoe.MmoeExperiment "$@" 2> >(grep -v DeallocatorService >&2)
}
results=$(mktemp)
trap 'rm -f "$results"' EXIT
start=$(date +%s)
IFS=, read -ra corr_list <<< "$correlations"
for c in "${corr_list[@]}"; do
  for ((s = 0; s < seeds; s++)); do
    run "${pass[@]}" --correlations="$c" --seeds=1 --seed-from="$s" --results="$results" --out= \
      | grep '^p='
  done
done
run "${pass[@]}" --correlations="$correlations" --seeds="$seeds" --out="$out" \
  --report-from="$results" --seconds=$(($(date +%s) - start))
