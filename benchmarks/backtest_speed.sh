#!/usr/bin/env bash
# Issue 14's speed target in one run on one machine (run it idle): the walk forward over 1,000
# test dates of BTC, ETH and SOL (the real closes in ../shared/data, 2022-04-10 .. 2025-01-04),
# 10^5 paths a date, refit every 20 dates on a 730-day window (target: under 5 minutes on 2
# cores), for two books:
#   static: the docs' example book (60/40 ETH/SOL, 1.0x BTC perpetual, fixed collateral): one pass a date;
#   demo:   the demo book on the same history (dynamic, collateral auto): two passes a date.
# Beside each, its peer in the same run: `simulate` of the same book over the same number of
# path-steps in one job (1,000 x 10^5 = 10^8 paths of one day), what the passes would cost with no
# per-date work (fits, filters, tables, tails, replays) at all.
#
# usage: benchmarks/backtest_speed.sh [BETAHEDGE_BINARY] [PATHS_PER_DATE]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-build/host/cli/betahedge}")
paths=${2:-100000}
prices=$(realpath ../shared/data/crypto_daily_close_yahoo_2014_2025.csv)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
cat >"$work/static.yaml" <<BOOK
model: $PWD/configs/demo/model.json
portfolio:
  notional: 1.0e6
  weights: {ETH: 0.6, SOL: 0.4}
hedge: {instrument: perpetual, benchmark: BTC, mode: static, ratio: 1.0, fee_bps: 2, slippage_bps: 5,
        funding_rate_8h: [0.0001, -0.0003]}
margin: {collateral: 300000, initial_rate: 0.10, maintenance_rate: 0.05, on_call: liquidate}
risk: {levels: [0.95, 0.99]}
BOOK
# The demo book, its replays dropped (they replay the demo's own prices).
sed '/^stress:/,$d; s|^model: model.json|model: '"$PWD"'/configs/demo/model.json|' configs/demo/book.yaml >"$work/demo.yaml"

seconds() {  # wall seconds of "$@"
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v x="$t0" -v y="$t1" 'BEGIN { printf "%.2f", y - x }'
}

for book in static demo; do
  bt=$(seconds "$bin" backtest --prices "$prices" --config "$work/$book.yaml" --to 2025-01-04 --paths "$paths" \
       --out "$work/bt-$book" --force --quiet --no-report)
  dates=$(python3 -c "import json; print(json.load(open('$work/bt-$book/backtest.json'))['test_dates'])")
  sim=$(seconds "$bin" simulate --config "$work/$book.yaml" --paths $((dates * paths)) --horizon-days 1 \
        --out "$work/sim-$book" --force --quiet)
  echo "$book book: backtest of $dates dates x $paths paths: $bt s (target < 300 s); simulate of $((dates * paths)) one-day paths: $sim s"
done
