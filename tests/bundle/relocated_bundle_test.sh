#!/usr/bin/env bash
# The installed tree is relocatable: `cmake --install` into a folder that is then moved, it runs
# the shipped demo on the CPU backend with no LD_LIBRARY_PATH, renders report.html with its own
# share/betahedge/report.py (not the source tree's python/betahedge/report.py), and ldd resolves every library of
# bin/ inside lib/ or among the base system's (glibc, libstdc++, libgcc_s, libgomp; in an MPI
# build, the system's libmpi and what it loads).
# Usage: relocated_bundle_test.sh CMAKE BUILD_DIR WORK_DIR PYTHON3
set -euo pipefail
cmake=$1 build=$2 work=$3 python=$4
fail() { echo "FAIL: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")
"$cmake" --install "$build" --prefix "$work/installed" --strip >/dev/null
mv "$work/installed" "$work/moved"
bundle="$work/moved"

base='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|libdl|librt|libstdc\+\+|libgcc_s|libgomp)\.so'
for binary in "$bundle"/bin/*; do
  # An MPI build uses the machine's MPI: libmpi and every library it loads come from the system.
  mpi=$(env -u LD_LIBRARY_PATH ldd "$binary" | awk '$1 ~ /^libmpi\.so/ { print $3 }')
  system_mpi=" "
  [[ -z "$mpi" ]] || system_mpi=" $(basename "$mpi") $(ldd "$mpi" | awk '{ print $1 }' | tr '\n' ' ')"
  while read -r name _ path _; do
    [[ "$name" =~ $base || "$name" == /* || "$system_mpi" == *" $name "* ]] && continue
    case "$(realpath -e "$path" 2>/dev/null)" in
      "$bundle"/lib/*) ;;
      *) fail "$binary needs $name from $path, outside the bundle" ;;
    esac
  done < <(env -u LD_LIBRARY_PATH ldd "$binary" | sed 's/^\s*//')
done

# An interpreter wrapper that records which renderer script betahedge hands it.
cat >"$work/python" <<WRAPPER
#!/bin/sh
printf '%s\n' "\$1" >"$work/renderer"
exec "$python" "\$@"
WRAPPER
chmod +x "$work/python"
cd "$work"
env -u LD_LIBRARY_PATH -u BETAHEDGE_REPORT_SCRIPT BETAHEDGE_PYTHON="$work/python" \
  "$bundle/bin/betahedge" run --quiet --config "$bundle/share/betahedge/configs/demo/run.yaml" \
  --out "$work/demo" --paths 5000 --backend cpu
for file in summary.json report.html; do
  [[ -s "$work/demo/$file" ]] || fail "the relocated demo run wrote no $file"
done
[[ "$(cat "$work/renderer")" == "$bundle/share/betahedge/report.py" ]] ||
  fail "report rendered with $(cat "$work/renderer"), not the bundle's share/betahedge/report.py"
echo "relocated bundle: ldd clean, demo run and report from $bundle"
