#!/usr/bin/env bash
# Fuzzes the input loaders (SPEC 4) with libFuzzer, AddressSanitizer and UBSan: builds
# tests/fuzz with clang in build-fuzz/, then runs each target for SECONDS (default 30) on a
# scratch copy of its seed corpus (tests/fuzz/corpus/<target>/; the repository is never
# written). A target's contract: for any bytes the loader returns or throws InputError.
# Exits non-zero on any finding (another exception escaping, a crash, a sanitizer report, a
# leak, a hang past 10 s, memory past 2 GB), printing the reproducer's path and the report.
# Reproduce one with: build-fuzz/tests/fuzz/fuzz_<target> <reproducer>
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
case "$seconds" in '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET]" >&2; exit 2 ;; esac
build_dir=build-fuzz

# target  dictionary (tests/fuzz/dict/<name>.dict)  longest input in bytes
targets=(
  "prices_csv csv  4096"
  "model_json json 4096"
  "book_yaml  yaml 4096"
  "run_yaml   yaml 4096"
)

cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER="${BETAHEDGE_FUZZ_CXX:-clang++}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBETAHEDGE_FUZZ=ON -DBETAHEDGE_CUDA=OFF \
  -DBUILD_TESTING=OFF -DBETAHEDGE_BENCHMARKS=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)"

scratch="$(mktemp -d "${TMPDIR:-/tmp}/betahedge-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
# Reproducers and logs outlive the run: they go to the (git-ignored) build directory.
findings_dir="$build_dir/fuzz-findings"
logs_dir="$build_dir/fuzz-logs"
rm -rf "$findings_dir" "$logs_dir"
mkdir -p "$logs_dir"

failed=()
for entry in "${targets[@]}"; do
  read -r target dict max_len <<<"$entry"
  corpus="$scratch/corpus/$target"
  artifacts="$findings_dir/$target"
  log="$logs_dir/$target.log"
  mkdir -p "$corpus" "$artifacts"
  cp tests/fuzz/corpus/"$target"/* "$corpus"/

  rc=0
  UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
    "$build_dir/tests/fuzz/fuzz_$target" "$corpus" \
      -dict="tests/fuzz/dict/$dict.dict" -max_len="$max_len" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?

  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  reproducers=("$artifacts"/*)
  [ -e "${reproducers[0]}" ] || reproducers=()
  if [ "$rc" -eq 0 ] && [ ${#reproducers[@]} -eq 0 ]; then
    printf 'fuzz: %-11s ok    %10s runs  %6s runs/s  %3s s  corpus %s inputs\n' \
      "$target" "${runs:-?}" "${rate:-?}" "$seconds" "$(find "$corpus" -type f | wc -l)"
    continue
  fi

  failed+=("$target")
  printf 'fuzz: %-11s FAIL  %10s runs  %6s runs/s  (libFuzzer exit %s)\n' "$target" "${runs:-?}" "${rate:-?}" "$rc"
  for r in "${reproducers[@]}"; do echo "fuzz:   reproducer $r"; done
  # The report starts at the first sanitizer, exception, signal, timeout or memory line.
  start="$(grep -n -m 1 -E '^==[0-9]+==|runtime error:|terminate called|uncaught exception|deadly signal|postcondition failed|ALARM|out-of-memory|malloc\(' "$log" | cut -d: -f1 || true)"
  echo "fuzz:   report ($log):"
  if [ -n "$start" ]; then
    tail -n +"$start" "$log" | head -n 40 | sed 's/^/    /'
  else
    tail -n 40 "$log" | sed 's/^/    /'
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (reproducers under $findings_dir/)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s each with no finding"
