#!/usr/bin/env bash
# Installs dependencies, builds (CUDA kernels compiled when nvcc is present) and runs the whole
# test suite. GPU tests skip cleanly on a machine without a usable device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
