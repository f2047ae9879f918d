#!/usr/bin/env bash
# The Python package's tests: `pip install .` into a fresh virtual environment (build/venv-python),
# then pytest (python/tests). The CLI the tests compare against is build/host/cli/betahedge
# (scripts/build.sh), when built. BETAHEDGE_PYTHON_CUDA=OFF builds the extension without the CUDA
# backend (the C++ suite compiles the kernels already; CI saves their second compile).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/venv-python
rm -rf "$venv"
/usr/bin/python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# scikit-build-core reuses build/python/<tag> between installs; ccache, when present, the objects.
command -v ccache >/dev/null && export CMAKE_CXX_COMPILER_LAUNCHER=ccache
cuda=()
[ -n "${BETAHEDGE_PYTHON_CUDA:-}" ] && cuda=(-C "cmake.define.BETAHEDGE_CUDA=${BETAHEDGE_PYTHON_CUDA}")
"$venv/bin/pip" install -q "${cuda[@]}" ".[test]"
[ -x build/host/cli/betahedge ] && export BETAHEDGE_CLI="$PWD/build/host/cli/betahedge"
# From outside the source tree, so that `import betahedge` is the installed package.
root=$PWD
cd build && "$root/$venv/bin/python" -m pytest -q "$root/python/tests"
