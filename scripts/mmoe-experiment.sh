#!/usr/bin/env bash
# The MMoE paper experiment (Ma et al., KDD 2018, §3.2): shared-bottom vs OMoE vs MMoE on synthetic
# two-task regression at task correlations 1.0, 0.9, 0.5; prints the table of mean final test loss
# and writes docs/mmoe-experiment.md (+ docs/mmoe-experiment.png when gnuplot is installed).
#
#   scripts/mmoe-experiment.sh                         # defaults: 4 seeds, 2000 Adam steps (~10-12 min, one core)
#   scripts/mmoe-experiment.sh --seeds=2 --steps=500 --out=/tmp/mmoe.md   # quick look
#
# Options: --seeds --steps --batch --lr --train --test --correlations=1.0,0.9,0.5 --scale --sines --out
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 # before the JVM starts: one OpenMP thread (STACK.md)
mvn -B -q -pl model,bench -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile=target/classpath.txt -Dmdep.includeScope=runtime
# nopointergc=true (STACK.md's fast setting) means no off-heap array is ever freed: the training
# loop therefore runs each step inside a reused ND4J workspace (before it did, a full run grew to
# 20 GB resident and was OOM-killed).
exec java -Xmx1g -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0 \
  -Dorg.bytedeco.javacpp.nopointergc=true \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
  io.perceive.bench.mmoe.MmoeExperiment "$@"
