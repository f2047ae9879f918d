#!/usr/bin/env bash
# Configures and builds betahedge into build/ (CUDA when nvcc is found; set BETAHEDGE_CUDA=ON|OFF
# to force). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cuda="${BETAHEDGE_CUDA:-AUTO}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBETAHEDGE_CUDA="$cuda" "$@" >/dev/null
cmake --build build -j"$(nproc)"
