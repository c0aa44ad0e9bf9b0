#!/bin/bash
# Profiles a command that JIT-compiles with matquant (matquant-run,
# matquant-bench, ...) with `perf`, with the names of the JIT-compiled
# functions: MLIR's ExecutionEngine registers LLVM's perf listener, which
# writes a jitdump of every compiled function under $JITDUMPDIR; `perf
# inject --jit` turns it into symbols. Works with software sampling
# (cpu-clock), so also in VMs without hardware counters.
#
#   scripts/perf-jit.sh OUTDIR COMMAND [ARGS...]
#   perf report -i OUTDIR/perf.jit.data --sort dso,sym
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUTDIR COMMAND [ARGS...]" >&2
  exit 2
fi
out=$1
shift
command -v perf > /dev/null || { echo "$0: perf is not installed (Debian: linux-perf)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
# -k 1: the monotonic clock, which the jitdump records use.
JITDUMPDIR=$out perf record -k 1 -e cpu-clock -F 2000 -g -o "$out/perf.data" -- "$@"
perf inject --jit -i "$out/perf.data" -o "$out/perf.jit.data"
perf report -i "$out/perf.jit.data" --no-children --sort dso,sym --stdio 2> /dev/null |
  grep -v '^#' | grep -v '^$' | head -40
