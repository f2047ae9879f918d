#!/usr/bin/env bash
# Installs dependencies, builds, and runs the overnight job on the shipped demo inputs:
# calibrate from data/demo_prices.csv, simulate the demo book's base scenario and stresses,
# optimise the hedge ratio, sweep the beta bands, write the tables and report.html.
# CUDA when a device is usable, else the CPU backend. Output: out/demo/. Extra arguments go to
# `betahedge run` (e.g. --paths 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/host/cli/betahedge run --config configs/demo/run.yaml --out out/demo "$@"
echo "report: out/demo/report.html  summary: out/demo/summary.json"
