#!/usr/bin/env bash
# GPU decode speed at the shape of TinyLlama-1.1B or Llama-3-8B: builds the
# decode step here (matquant-run --gpu-out, synthetic weights), for a GPU
# machine to run with matquant-gpu-run --random-arena (the weights do not
# travel: the runner fills the arena's regions with deterministic random
# values of their types, which gives the speed, not the quality).
#
#   examples/gpu_decode_speed.sh llama-3-8b gpuout-8b
#   # on the GPU machine:
#   for m in float32 int8 int4 int2; do
#     build/bin/matquant-gpu-run gpuout-8b/$m --random-arena 1 --steps 16
#   done
#   python3 examples/torch_decode_peer.py --preset llama-3-8b
#
# Each width is its own process, quantized directly at that width
# (min-max, group 128): the bytes and the kernels are those of the r-bit
# slice of an int8 model, but this machine's memory (24 GB) cannot hold, for
# 8B parameters, the int8 codes, their slice and the packed copy at once.
# The floats are written to a file and mapped (--synthetic-backing).
set -euo pipefail
preset=${1:-llama-3-8b}
out=${2:-gpuout-${preset}}
root=$(cd "$(dirname "$0")/.." && pwd)
run=${MATQUANT_RUN:-$root/build/bin/matquant-run}
backing=${TMPDIR:-/tmp}/matquant-$preset-$$.f32
mkdir -p "$out"
# f16 activations for the GEMVs (tensor-core kernels below 8 bits), as the
# numbers of docs/EndToEnd.md; ACTIVATIONS=f32 for the f32 path.
common=(synthetic:$preset --max-seq-len 256 --gpu-out=$out --gpu-arena=false
        --synthetic-backing=$backing --gpu-activations=${ACTIVATIONS:-f16})
"$run" "${common[@]}"
for r in 8 4 2; do
  "$run" "${common[@]}" --skip-float32 \
    "--variant=int$r=mq-quantize-weights{method=minmax bits=$r widths=$r lambdas=1 group=128}"
done
rm -f "$out"/*.o
