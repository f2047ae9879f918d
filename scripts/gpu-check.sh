#!/usr/bin/env bash
# GPU node check, run from a bundle (scripts/bundle.sh) on a node with the NVIDIA driver, Python 3
# (numpy, CuPy, matplotlib) and no network, build tools or -dev packages:
#   gpu-check.sh DIST_DIR OUT_DIR
# Steps, in order of priority: betahedge info; the CUDA parity tests (bin/cuda_parity_test);
# `bench --backend cuda` at SPEC 8's case (10^7 paths x 30 steps x 8 assets, 2 regimes, dynamic
# hedge with margin); the CuPy peer (benchmarks/numpy_reference.py) on the same case; the ratio
# grid (`optimize` on the demo book at 10^6 paths, beside `stress` on the same scenarios: the
# optimiser's cost over plain simulation); the demo book's backtest at 10^5 paths a date, CUDA
# then CPU (10^4 without CUDA); the demo `run` at 10^6 paths; bench at 10^8 paths;
# the demo `run` at 10^7 paths.
# Writes OUT_DIR/results.txt (each step's command, wall time, exit code and key output lines),
# OUT_DIR/nvidia-smi.txt (`nvidia-smi -q`), OUT_DIR/logs/<step>.log (full output) and the
# commands' output directories under OUT_DIR/outputs/. Every step has a hard timeout and the
# whole check stops starting steps when its budget (GPU_CHECK_BUDGET_S, default 450 s) is spent,
# so it ends within 8 minutes; a failing step does not stop the others.
# Without a usable CUDA device (a rehearsal) the CUDA steps are marked skipped and the CPU
# backend runs the rest at reduced size.
# Exit status: 1 when a parity test failed or could not run (or nvidia-smi lists a GPU that
# betahedge cannot use), 2 on bad usage, else 0 (failed steps are named in the summary).
set -uo pipefail

if [[ $# -ne 2 || ! -x "$1/bin/betahedge" ]]; then
  echo "usage: gpu-check.sh DIST_DIR OUT_DIR   (DIST_DIR holds bin/betahedge)" >&2
  exit 2
fi
start_s=$(date +%s.%N)
dist=$(cd "$1" && pwd)
mkdir -p "$2/logs" "$2/outputs" || exit 2
out=$(cd "$2" && pwd)
results="$out/results.txt"
bin="$dist/bin"
share="$dist/share/betahedge"
# One interpreter for the NumPy/CuPy peer and the report renderer: $GPU_CHECK_PYTHON, else the
# first of python3 on PATH and /usr/bin/python3 that imports numpy and matplotlib.
python=${GPU_CHECK_PYTHON:-}
if [[ -z "$python" ]]; then
  for candidate in "$(command -v python3)" /usr/bin/python3; do
    if [[ -x "$candidate" ]] && timeout -k 5 60 "$candidate" -c "import numpy, matplotlib" 2>/dev/null; then
      python=$candidate
      break
    fi
  done
fi
python=${python:-python3}
export BETAHEDGE_PYTHON="${BETAHEDGE_PYTHON:-$python}"

budget_s=${GPU_CHECK_BUDGET_S:-450}
steps_ok=0
steps_failed=()
steps_skipped=0
parity="not run"

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
say() { printf '%s\n' "$*" | tee -a "$results"; }

# skip NAME REASON: records a step that was not run.
skip() {
  say "== $1 =="
  say "status: skipped ($2)"
  say ""
  steps_skipped=$((steps_skipped + 1))
}

# step NAME LIMIT_S KEY_REGEX COMMAND...: runs COMMAND under `timeout` (LIMIT_S, cut to what is
# left of the budget), logs its output and records the command, wall time, exit code and the
# output lines matching KEY_REGEX (the last 15 lines when none match). Returns the exit code.
step() {
  local name=$1 limit=$2 key=$3
  shift 3
  local left
  left=$(awk -v s="$start_s" -v b="$budget_s" -v now="$(date +%s.%N)" 'BEGIN { printf "%d", s + b - now }')
  if ((left < 15)); then
    skip "$name" "time budget of ${budget_s} s spent"
    return 125
  fi
  ((limit > left)) && limit=$left
  local log="$out/logs/$name.log" t0 rc wall
  say "== $name =="
  say "command: $*"
  t0=$(date +%s.%N)
  timeout -k 10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  wall=$(elapsed "$t0")
  local status=ok
  if ((rc == 124 || rc == 137)); then
    status="TIMED OUT after ${limit} s"
  elif ((rc != 0)); then
    status=FAILED
  fi
  say "wall: ${wall} s  exit: $rc  status: $status  (limit ${limit} s; log: logs/$name.log)"
  { grep -E "$key" "$log" || tail -n 15 "$log"; } | head -n 25 | sed 's/^/  /' | tee -a "$results"
  if [[ $status == ok ]]; then steps_ok=$((steps_ok + 1)); else steps_failed+=("$name"); fi
  return $rc
}

# summary_figures DIR: the run block of DIR/summary.json, appended to the current step.
summary_figures() {
  [[ -f "$1/summary.json" ]] || return 0
  timeout -k 5 30 "$python" - "$1/summary.json" <<'PY' 2>&1 | sed 's/^/  /' | tee -a "$results"
import json, sys
s = json.load(open(sys.argv[1]))
r = s["run"]
print("summary.json run: " + "  ".join(f"{k}={r.get(k)}" for k in
      ("backend", "device", "paths", "steps", "elapsed_s", "path_steps_per_s")))
print(f"scenarios: {len(s['scenarios'])}  warnings: {len(s.get('warnings', []))}")
PY
}

: >"$results"
say "betahedge GPU node check"
say "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  host: $(hostname)  cpu: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)"
say "bundle: $dist"
say "python: $python ($(timeout -k 5 60 "$python" -c '
import importlib, sys
versions = [sys.version.split()[0]]
for name in ("numpy", "cupy", "matplotlib"):
    try:
        versions.append(name + " " + importlib.import_module(name).__version__)
    except Exception as e:
        versions.append(name + " missing (" + type(e).__name__ + ")")
print(", ".join(versions))' 2>&1 | tail -n 1))"
say "budget: ${budget_s} s"
say ""

if command -v nvidia-smi >/dev/null; then
  timeout -k 5 60 nvidia-smi -q >"$out/nvidia-smi.txt" 2>&1
  gpu_seen=0
  gpus=$(timeout -k 5 30 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1) &&
    [[ -n "$gpus" ]] && gpu_seen=1
  say "nvidia-smi: ${gpus//$'\n'/; } (the bundle's static CUDA runtime needs the driver of its CUDA major version or later)"
else
  echo "nvidia-smi: not found on PATH" >"$out/nvidia-smi.txt"
  say "nvidia-smi: not found on PATH"
  gpu_seen=0
fi
say ""

step ldd 30 "=>|not found" ldd "$bin/betahedge"
step info 30 "." "$bin/betahedge" info
cuda_line=$(sed -n 's/^cuda devices: //p' "$out/logs/info.log")
if [[ -n "$cuda_line" && "$cuda_line" != none* ]]; then
  cuda=1
  say "CUDA: available ($cuda_line)"
else
  cuda=0
  say "CUDA: UNAVAILABLE (${cuda_line:-betahedge info gave no device line}): CUDA steps skipped, CPU steps at reduced size"
fi
say ""

if [[ -x "$bin/cuda_parity_test" ]]; then
  # Without a device every parity test reports GTEST_SKIP; the binary still has to load and pass.
  if step cuda_parity 150 "^\[==========\]|^\[  PASSED  \]|^\[  FAILED  \]|^\[  SKIPPED \] [0-9]+ tests?|FAILED TEST" \
      "$bin/cuda_parity_test"; then
    parity=passed
    ((cuda)) || parity="skipped by the tests (no usable device)"
  else
    parity=FAILED
  fi
else
  skip cuda_parity "bin/cuda_parity_test not in the bundle (built without CUDA)"
  parity="not in the bundle"
  ((cuda)) && parity="FAILED (not in the bundle)"
fi
# A node whose GPU betahedge cannot use (a driver older than the CUDA runtime, say) fails the check.
if ((!cuda && gpu_seen)); then
  parity="FAILED (nvidia-smi lists a GPU, betahedge cannot use it: ${cuda_line:-no device line})"
fi

bench_key="^backend:|^paths:|^best of|^error"
if ((cuda)); then
  backend=cuda
  step bench_spec8_1e7 60 "$bench_key" \
    "$bin/betahedge" bench --backend cuda --paths 10000000 --assets 8 --regimes 2 --horizon-days 30 --repeats 5
else
  backend=cpu
  skip bench_spec8_1e7 "CUDA unavailable"
  step bench_cpu_1e5 60 "$bench_key" \
    "$bin/betahedge" bench --backend cpu --paths 100000 --assets 8 --regimes 2 --horizon-days 30 --repeats 3
fi

# The vectorised NumPy code of the same simulation, on CuPy when the script can (--xp).
peer="$share/numpy_reference.py"
peer_help=$(timeout -k 5 60 "$python" "$peer" --help 2>/dev/null)
if [[ "$peer_help" == *--xp* ]]; then
  if ((cuda)); then
    step cupy_peer_1e7 150 "path_steps_per_s|Error|error" \
      "$python" "$peer" --xp cupy --paths 10000000 --assets 8 --days 30 --repeats 3
  else
    skip cupy_peer_1e7 "CUDA unavailable"
    step numpy_peer_1e5 60 "path_steps_per_s|Error|error" \
      "$python" "$peer" --xp numpy --paths 100000 --assets 8 --days 30 --repeats 1
  fi
else
  say "note: numpy_reference.py has no --xp option: the CuPy peer cannot run; NumPy at 10^5 paths instead"
  step numpy_peer_1e5 60 "path_steps_per_s|Error|error" \
    "$python" "$peer" --paths 100000 --assets 8 --days 30 --repeats 1
fi

run_key="backend|optimising|bands:|done|error|warning"
# The ratio grid: `optimize` simulates every scenario of the book at each hedge ratio of the grid;
# `stress` simulates the same scenarios once. Their elapsed_s ratio is the optimiser's cost.
demo="$share/configs/demo"
if ((cuda)); then paths=1000000 label=1e6; else paths=10000 label=10000; fi
for command in stress optimize; do
  step "${command}_demo_$label" 120 "$run_key" \
    "$bin/betahedge" "$command" --config "$demo/book.yaml" --prices "$share/data/demo_prices.csv" \
    --paths "$paths" --backend "$backend" \
    --out "$out/outputs/${command}-$label" && summary_figures "$out/outputs/${command}-$label"
  say ""
done

# The walk forward (issue 14): one launch per date; the CPU backend on the same dates beside it.
backtest_key="^backtest: [0-9]+ test dates|exceptions in|wrote|error"
if ((cuda)); then bt_paths=100000; else bt_paths=10000; fi
for bt_backend in cuda cpu; do
  if [[ $bt_backend == cuda ]] && ((!cuda)); then skip backtest_demo_cuda "CUDA unavailable"; continue; fi
  step "backtest_demo_$bt_backend" 90 "$backtest_key" \
    "$bin/betahedge" backtest --config "$demo/book.yaml" --prices "$share/data/demo_prices.csv" \
    --window-days 365 --paths "$bt_paths" --backend "$bt_backend" --no-report \
    --out "$out/outputs/backtest-$bt_backend"
  say ""
done

if ((cuda)); then
  step run_demo_1e6 150 "$run_key" \
    "$bin/betahedge" run --config "$demo/run.yaml" --paths 1000000 --backend cuda \
    --out "$out/outputs/run-1e6" && summary_figures "$out/outputs/run-1e6"
  say ""
  step bench_1e8 120 "$bench_key" \
    "$bin/betahedge" bench --backend cuda --paths 100000000 --assets 8 --regimes 2 --horizon-days 30 --repeats 2
  step run_demo_1e7 240 "$run_key" \
    "$bin/betahedge" run --config "$demo/run.yaml" --paths 10000000 --backend cuda \
    --out "$out/outputs/run-1e7" && summary_figures "$out/outputs/run-1e7"
  say ""
else
  step run_demo_10000 120 "$run_key" \
    "$bin/betahedge" run --config "$demo/run.yaml" --paths 10000 --backend cpu \
    --out "$out/outputs/run-10000" && summary_figures "$out/outputs/run-10000"
  say ""
  for name in run_demo_1e6 bench_1e8 run_demo_1e7; do skip "$name" "CUDA unavailable"; done
fi

say "== summary =="
if ((cuda)); then say "CUDA: available ($cuda_line)"; else say "CUDA: UNAVAILABLE (${cuda_line:-unknown})"; fi
say "parity tests: $parity"
if [[ -f "$out/logs/bench_spec8_1e7.log" ]]; then
  say "SPEC 8 case (target < 0.1 s): $(grep '^best of' "$out/logs/bench_spec8_1e7.log")"
fi
if ((cuda)) && [[ -f "$out/logs/cupy_peer_1e7.log" && -f "$out/logs/bench_spec8_1e7.log" ]]; then
  engine=$(sed -n 's/^best of [0-9]*: \([0-9.e+-]*\) s.*/\1/p' "$out/logs/bench_spec8_1e7.log")
  cupy=$(sed -n 's/.*best of [0-9]* \([0-9.e+-]*\) s.*/\1/p' "$out/logs/cupy_peer_1e7.log")
  [[ -n "$engine" && -n "$cupy" ]] &&
    say "engine vs CuPy peer (SPEC 8 asks >= 10x): $(awk -v e="$engine" -v c="$cupy" 'BEGIN { printf "%.1fx (%s s vs %s s)", c / e, e, c }')"
fi
if [[ -f "$out/outputs/stress-$label/summary.json" && -f "$out/outputs/optimize-$label/summary.json" ]]; then
  say "ratio grid (SPEC 8 asks <= 3x simulation): $(timeout -k 5 30 "$python" - "$out/outputs" "$label" "$paths" <<'PY' 2>&1
import json, sys
seconds = {c: json.load(open(f"{sys.argv[1]}/{c}-{sys.argv[2]}/summary.json"))["run"]["elapsed_s"]
           for c in ("stress", "optimize")}
print(f"optimize {seconds['optimize']:.3f} s vs stress {seconds['stress']:.3f} s on the same "
      f"{sys.argv[3]} paths and scenarios: {seconds['optimize'] / seconds['stress']:.1f}x")
PY
)"
fi
say "steps: $steps_ok ok, ${#steps_failed[@]} failed${steps_failed:+ (${steps_failed[*]})}, $steps_skipped skipped"
say "total wall: $(elapsed "$start_s") s"
[[ $parity == FAILED* ]] && exit 1
exit 0
