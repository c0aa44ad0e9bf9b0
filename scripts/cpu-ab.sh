#!/bin/bash
# Side-by-side CPU kernel timings on a noisy machine: runs matquant-bench
# once per configuration, ROUNDS times in alternation, and prints per
# configuration and kernel the minimum and the median time (us). The
# minimum is the least disturbed run; compare configurations by it.
#
#   scripts/cpu-ab.sh ROUNDS "LABEL:BINARY:ARGS" ...
#   scripts/cpu-ab.sh 3 "new:build/bin/matquant-bench:--shapes=4096x14336 --batches=1 --widths=4,2" \
#                       "old:build/bin/matquant-bench:--shapes=4096x14336 --batches=1 --widths=4,2 --row-tile=4 --accumulators=4 --exponent-decode=false"
set -e
rounds=$1
shift
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    label=${spec%%:*}
    rest=${spec#*:}
    bin=${rest%%:*}
    args=${rest#*:}
    # shellcheck disable=SC2086
    "$bin" --thread-counts=2 --membw-mib=64 --min-seconds=0.3 $args |
      awk -v l="$label" '$1 ~ /x/ {print l, $1, $2, $3, $4, $6}' >> "$out"
  done
done
python3 - "$out" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, shape, batch, width, group, t = line.split()
    times[(shape, batch, width, group, label)].append(float(t))
print("shape batch width group config: min / median us (runs)")
for key in sorted(times):
    v = times[key]
    print(*key, "%.0f / %.0f (%d)" % (min(v), statistics.median(v), len(v)))
PY
