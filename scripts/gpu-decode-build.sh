#!/usr/bin/env bash
# Builds, here, what scripts/gpu-decode-check.sh runs on the GPU machine:
# the stories260K decode steps (float32; int8, int4, int2 with f16
# activations; float32 and int4 with f32 activations in a32/), the
# synthetic 1k model's int4 step (f32 and f16 activations), and the CPU
# JIT traces and llama-ref logits they are compared with.
#   scripts/gpu-decode-build.sh [S-dir] [K-dir]     (default gpuout-s gpuout-1k)
set -euo pipefail
S=${1:-gpuout-s}
K=${2:-gpuout-1k}
B=${B:-build/bin}
STORIES=${STORIES:-/work/shared/models/stories260K.bin}
mkdir -p "$S" "$K"
q() { echo "mq-quantize-weights{method=minmax},mq-apply-schedule{policy=uniform=$1}"; }
"$B/matquant-import" "$STORIES" --max-seq-len 72 --emit-bytecode -o "$S/s.mlirbc"
"$B/llama-ref" --steps 64 --logits 512 "$STORIES" > "$S/ref.txt"
for r in 8 4 2; do
  "$B/matquant-opt" "$S/s.mlirbc" --mq-quantize-weights="method=minmax" \
    --mq-apply-schedule="policy=uniform=$r" --emit-bytecode -o "$S/int$r.mlirbc"
  "$B/matquant-run" "$S/int$r.mlirbc" --steps 64 --quiet --trace "$S/cpu-int$r.trace" > /dev/null
done
# The GPU runs of int8/4/2 use f16 activations: the CPU JIT of the same
# module with mq-narrow-activations is what they are compared with.
for r in 8 4 2; do
  "$B/matquant-opt" "$S/int$r.mlirbc" --mq-narrow-activations --emit-bytecode -o "$S/int${r}f16.mlirbc"
  "$B/matquant-run" "$S/int${r}f16.mlirbc" --steps 64 --quiet --trace "$S/cpu-int$r-f16.trace" > /dev/null
done
"$B/matquant-run" "$S/s.mlirbc" --gpu-out="$S" --gpu-activations=f16 \
  --variant="int8=$(q 8)" --variant="int4=$(q 4)" --variant="int2=$(q 2)" > /dev/null
"$B/matquant-run" "$S/s.mlirbc" --gpu-out="$S/a32" --variant="int4=$(q 4)" > /dev/null
"$B/matquant-import" --format=synthetic test/GPU/Inputs/synthetic-1k.json --seed 7 \
  --max-seq-len 40 --emit-bytecode -o "$K/s.mlirbc"
"$B/matquant-opt" "$K/s.mlirbc" --mq-quantize-weights="method=minmax group=128" \
  --mq-apply-schedule="policy=uniform=4" --emit-bytecode -o "$K/int4.mlirbc"
"$B/matquant-run" "$K/int4.mlirbc" --steps 32 --quiet --trace "$K/cpu4.trace" > /dev/null
"$B/matquant-opt" "$K/int4.mlirbc" --mq-narrow-activations --emit-bytecode -o "$K/int4f16.mlirbc"
"$B/matquant-run" "$K/int4f16.mlirbc" --steps 32 --quiet --trace "$K/cpu4f16.trace" > /dev/null
"$B/matquant-run" "$K/int4.mlirbc" --gpu-out="$K/out4" --skip-float32 --variant=int4=canonicalize > /dev/null
"$B/matquant-run" "$K/int4.mlirbc" --gpu-out="$K/out4f16" --gpu-activations=f16 \
  --skip-float32 --variant=int4=canonicalize > /dev/null
rm -f "$S"/*.mlirbc "$K"/*.mlirbc "$S"/*.o "$S"/a32/*.o "$K"/out4*/*.o
