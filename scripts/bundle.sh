#!/usr/bin/env bash
# Builds betahedge (Release; the CUDA backend when nvcc is found, with the CUDA runtime linked
# statically) into build-bundle/ and installs a relocatable bundle:
#   dist/betahedge-<version>-linux-x86_64/
#     bin/                 betahedge, cuda_parity_test (CUDA builds), the benchmark programs
#     lib/                 the shared libraries a base Debian/Ubuntu system lacks (yaml-cpp, ...)
#     share/betahedge/     report.py (betahedge/report.py), numpy_reference.py, gpu-check.sh, configs/, data/
# Binaries are stripped and carry RUNPATH $ORIGIN/../lib, so the tree runs from any folder with
# no LD_LIBRARY_PATH. The script then checks that `ldd` finds every library in the bundle or
# among the base system's (glibc, libstdc++, libgcc_s, libgomp). Prints the bundle's path.
# Usage: scripts/bundle.sh [extra cmake args]   (BETAHEDGE_CUDA=ON|OFF to force; default AUTO)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-bundle
# Without MPI: the bundle is for a GPU node without our -dev packages, and an MPI program must use
# the node's own MPI, the one its mpirun belongs to (docs/deploy.md: build there for mpirun).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBETAHEDGE_CUDA="${BETAHEDGE_CUDA:-AUTO}" -DBETAHEDGE_MPI=OFF \
  -DBUILD_TESTING=ON -DBETAHEDGE_BENCHMARKS=ON "$@" >/dev/null

# Only what the bundle installs, not the whole test suite.
targets=(betahedge)
for source in benchmarks/bench_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
if [[ "$(cmake --build "$build" --target help)" == *" cuda_parity_test"* ]]; then
  targets+=(cuda_parity_test)
else
  echo "bundle: no CUDA compiler found: CPU-only bundle (no cuda_parity_test)" >&2
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
dist="dist/betahedge-${version}-linux-x86_64"
rm -rf "$dist"
cmake --install "$build" --prefix "$dist" --strip >/dev/null

# Every library ldd resolves must be inside the bundle or one of the base system's.
base='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|libdl|librt|libstdc\+\+|libgcc_s|libgomp)\.so'
root=$(realpath "$dist")
status=0
for binary in "$dist"/bin/*; do
  while read -r name _ path _; do
    [[ "$name" =~ $base || "$name" == /* ]] && continue
    case "$(realpath -e "$path" 2>/dev/null)" in
      "$root"/lib/*) ;;
      *) echo "bundle: $binary needs $name from $path (not bundled)" >&2; status=1 ;;
    esac
  done < <(env -u LD_LIBRARY_PATH ldd "$binary" | sed 's/^\s*//')
done
[[ $status == 0 ]] || exit 1
# The newest glibc and libstdc++ symbol versions the bundle asks of the system it runs on.
needs=$(objdump -T "$dist"/bin/* "$dist"/lib/*.so.* 2>/dev/null | grep -o 'GLIBC_[0-9.]*\|GLIBCXX_[0-9.]*' | sort -Vu |
  awk -F_ '{ newest[$1] = $0 } END { print newest["GLIBC"] ", " newest["GLIBCXX"] }')
echo "bundle: $dist ($(du -sh "$dist" | cut -f1); needs $needs)"
