#!/bin/sh
# Decode speed at the shape of TinyLlama-1.1B (dim 2048, hidden 5632, 22
# layers, 32 heads, 4 KV heads, vocab 32000; deterministic random weights,
# `synthetic:tinyllama-1.1b`), 2 threads, float32 and every linear layer
# (classifier included) at int8, int4 and int2 (min-max, group 128), with
# float activations and then with the opt-in W{r}A8 kernels. Each model is
# reported next to its weight-streaming limit: bytes read per token over the
# read bandwidth measured in the same run. About 15 minutes on the 2-core
# machine; needs about 14 GB of memory.
#
#   examples/tinyllama_speed.sh [OUT_DIR]    # default build/speed
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/build/speed}
mkdir -p "$out"
run="$here/build/bin/matquant-run"
variant() {
  echo "--variant=int$1=mq-quantize-weights{method=minmax group=128},mq-apply-schedule{policy=uniform=$1}"
}
common="synthetic:tinyllama-1.1b --max-seq-len 64 --speed --steps 32 --run-threads=2 --membw-mib=1024 --quiet"
echo "== float activations"
$run $common "$(variant 8)" "$(variant 4)" "$(variant 2)" \
  --json "$out/tinyllama-speed.json" | tee "$out/tinyllama-speed.txt"
echo "== W{r}A8 (int8 activations per block)"
$run $common --skip-float32 --activation-bits=8 "$(variant 8)" "$(variant 4)" "$(variant 2)" \
  --json "$out/tinyllama-speed-a8.json" | tee "$out/tinyllama-speed-a8.txt"
