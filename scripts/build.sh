#!/usr/bin/env bash
# Configures and builds betahedge into build/ (CUDA when nvcc is found, MPI when an MPI is found;
# set BETAHEDGE_CUDA=ON|OFF or BETAHEDGE_MPI=ON|OFF to force). Usage: scripts/build.sh [extra cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBETAHEDGE_CUDA="${BETAHEDGE_CUDA:-AUTO}" \
  -DBETAHEDGE_MPI="${BETAHEDGE_MPI:-AUTO}" "$@" >/dev/null
cmake --build build -j"$(nproc)"
