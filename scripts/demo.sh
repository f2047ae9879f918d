#!/usr/bin/env bash
# Installs dependencies, builds, and runs the main job on the shipped demo inputs
# (CUDA when a device is usable, else the CPU backend). Output: out/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/host/cli/betahedge simulate --config configs/demo/book.yaml --out out/demo "$@"
echo "summary: out/demo/summary.json"
