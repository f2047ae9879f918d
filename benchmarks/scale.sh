#!/usr/bin/env bash
# Issue 11's measurements in one run on one machine (run it idle: figures from different runs
# are not comparable):
#   1. the optimiser's cost as a ratio: `optimize` of one scenario (the demo book without its
#      stresses) against `simulate` of the same book and paths, best of 3 each;
#   2. the demo `run` against `simulate` of its base scenario, at the demo's 10^6 paths;
#   3. peak memory (`/usr/bin/time -v`): `simulate --paths 100000000` and
#      `optimize --paths 20000000` of the one-scenario book (skip with SKIP_MEMORY=1).
#
# usage: benchmarks/scale.sh [BETAHEDGE_BINARY] [RATIO_PATHS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/host/cli/betahedge}")
paths=${2:-400000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
# The demo book, its stresses dropped: one scenario.
sed '/^stress:/,$d; s|^model: model.json|model: '"$PWD"'/configs/demo/model.json|' configs/demo/book.yaml >"$work/one_scenario.yaml"

best_of_3() {  # seconds of the fastest of three runs of "$@" --out <fresh dir>
  local best=""
  for i in 1 2 3; do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" --out "$work/out-$i" --force --quiet
    t1=$(date +%s.%N)
    best=$(awk -v a="$best" -v b="$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }')" 'BEGIN { print (a == "" || b < a) ? b : a }')
  done
  echo "$best"
}

sim=$(best_of_3 "$bin" simulate --config "$work/one_scenario.yaml" --paths "$paths")
opt=$(best_of_3 "$bin" optimize --config "$work/one_scenario.yaml" --paths "$paths")
echo "one scenario, $paths paths: simulate $sim s, optimize $opt s: optimize = $(awk -v a="$opt" -v b="$sim" 'BEGIN { printf "%.2fx", a / b }') simulate (target <= 3x)"

demo_sim=$(best_of_3 "$bin" simulate --config configs/demo/book.yaml)
t0=$(date +%s.%N)
"$bin" run --config configs/demo/run.yaml --out "$work/demo-run" --force --quiet
t1=$(date +%s.%N)
demo_run=$(awk -v x="$t0" -v y="$t1" 'BEGIN { print y - x }')
echo "demo, 10^6 paths: simulate (base) $demo_sim s, run $demo_run s: run = $(awk -v a="$demo_run" -v b="$demo_sim" 'BEGIN { printf "%.1fx", a / b }') simulate (target <= 15x)"

if [[ "${SKIP_MEMORY:-0}" != 1 ]]; then
  for job in "simulate 100000000" "optimize 20000000"; do
    read -r command n <<<"$job"
    /usr/bin/time -v "$bin" "$command" --config "$work/one_scenario.yaml" --paths "$n" --out "$work/mem" --force \
      --quiet 2>"$work/time.txt"
    echo "$command --paths $n: peak RSS $(awk '/Maximum resident set size/ { printf "%.0f MB", $6 / 1024 }' "$work/time.txt"), wall $(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$work/time.txt")"
  done
fi
