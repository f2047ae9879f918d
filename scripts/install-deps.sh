#!/usr/bin/env bash
# Installs the Debian packages betahedge builds, tests and reports with. Idempotent: installs
# only what is missing. Uses sudo when not root. The CUDA toolkit (nvcc) is optional and not
# installed here; with it at /usr/local/cuda the CUDA backend is built too.
set -euo pipefail

packages=(
  build-essential cmake git
  libeigen3-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  clang libclang-rt-14-dev
  python3 python3-venv python3-numpy python3-scipy python3-matplotlib chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
