#!/usr/bin/env bash
# SPEC 8's CPU comparison in one run on one machine: the CPU backend (`betahedge bench`, best of
# 3) against the same simulation in vectorised NumPy (benchmarks/numpy_reference.py, best of 3),
# then the backend's thread scaling, its unhedged speed and each instruction-set variant.
# Run it on an otherwise idle machine; figures from different runs are not comparable.
#
# usage: benchmarks/cpu_vs_numpy.sh [BETAHEDGE_BINARY] [PATHS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/host/cli/betahedge}
paths=${2:-1000000}
python=/usr/bin/python3

seconds() { sed -n 's/^best of [0-9]*: \([0-9.]*\) s.*/\1/p'; }
echo "machine: $(nproc) x $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "case: $paths paths x 30 daily steps x 8 assets, 2 regimes, dynamic perpetual hedge with margin"

numpy_line=$("$python" benchmarks/numpy_reference.py --paths "$paths" --assets 8 --repeats 3)
numpy=$(sed -n 's/.*best of 3 \([0-9.]*\) s.*/\1/p' <<<"$numpy_line")
echo "numpy:            $numpy_line"
cpu_line=$("$bin" bench --backend cpu --paths "$paths" --assets 8 --repeats 3)
cpu=$(seconds <<<"$cpu_line")
echo "cpu, all threads: $(tail -n 1 <<<"$cpu_line")  [$(sed -n 's/^backend: //p' <<<"$cpu_line")]"
echo "ratio:            $(awk -v a="$numpy" -v b="$cpu" 'BEGIN { printf "%.2fx NumPy (SPEC 8 asks for 5x)", a / b }')"

one=$("$bin" bench --backend cpu --paths "$paths" --assets 8 --repeats 3 --threads 1 | seconds)
echo "cpu, 1 thread:    $one s; all threads scale $(awk -v a="$one" -v b="$cpu" 'BEGIN { printf "%.2fx", a / b }')"
echo "cpu, unhedged:    $("$bin" bench --backend cpu --paths "$paths" --assets 8 --repeats 3 --unhedged | tail -n 1)"
for isa in x86-64 avx2 avx512; do
  if line=$(BETAHEDGE_CPU_ISA=$isa "$bin" bench --backend cpu --paths "$paths" --assets 8 --repeats 3 2>&1); then
    echo "cpu, $isa: $(tail -n 1 <<<"$line")"
  else
    echo "cpu, $isa: not run ($(tail -n 1 <<<"$line"))"
  fi
done
