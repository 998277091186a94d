#!/usr/bin/env bash
# Click AUC of the demo at parallelism 1 and 2 (and 2 with extra settings) over several world
# seeds, run alternately in the same minutes: the measurement behind issue #5's "P=2 within 0.01 of
# P=1". One run's AUC moves by ~0.02 with the timing of partial minibatches (flush timer,
# checkpoints), so the figure is the mean over seeds with its spread.
# Usage: scripts/parallel-gap.sh [events=100000] [seeds="1 2 3"] [extra P=2 settings, e.g.
#        "perceive.sync.max-minibatches=2"]; writes OUT dirs under ${GAP_OUT:-/tmp/perceive-gap}.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-100000}
seeds=${2:-"1 2 3"}
extra=${3:-}
root=${GAP_OUT:-/tmp/perceive-gap}
mkdir -p "$root"
auc() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('%.4f' % r['tasks']['click']['auc'])" "$1/report.json"; }
printf '| seed | P=1 click AUC | P=2 click AUC | P=2 %s click AUC | load |\n| --- | --- | --- | --- | --- |\n' "${extra:-(no extra)}"
for s in $seeds; do
  ./perceive demo --quiet --events "$events" --seed "$s" --parallelism 1 --ui-port 0 --out "$root/s$s-p1" > "$root/s$s-p1.log" 2>&1
  ./perceive demo --quiet --events "$events" --seed "$s" --parallelism 2 --ui-port 0 --out "$root/s$s-p2" > "$root/s$s-p2.log" 2>&1
  x="-"
  if [ -n "$extra" ]; then
    sets=(); for kv in ${extra//,/ }; do sets+=(--set "$kv"); done
    ./perceive demo --quiet --events "$events" --seed "$s" --parallelism 2 --ui-port 0 "${sets[@]}" --out "$root/s$s-p2x" > "$root/s$s-p2x.log" 2>&1
    x=$(auc "$root/s$s-p2x")
  fi
  printf '| %s | %s | %s | %s | %s |\n' "$s" "$(auc "$root/s$s-p1")" "$(auc "$root/s$s-p2")" "$x" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
