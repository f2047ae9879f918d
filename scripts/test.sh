#!/usr/bin/env bash
# Installs dependencies, builds (CUDA kernels compiled when nvcc is present) and runs the whole
# test suite: the C++ suite (ctest), then the Python package's (scripts/test-python.sh: pip install
# . into a fresh virtual environment, pytest). GPU tests skip cleanly on a machine without a
# usable device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
scripts/test-python.sh
