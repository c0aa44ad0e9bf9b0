#!/usr/bin/env bash
# Builds the GPU kernel libraries (PTX for sm_90) that the GPU tests and the
# GPU benchmark load, next to the two GPU-side programs, in build/gpu/:
# everything the GPU machine needs (it has the CUDA driver, no MLIR).
#   scripts/gpu-kernels.sh [build-dir]
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/bin
OUT=$BUILD/gpu
mkdir -p "$OUT"
C="$BIN/matquant-gpu-compile"
# Tests: every width and mode per channel and per group (f16, batch 1);
# f32 and bf16 activations, groups of 64, batch tiles 1 and 3; small groups
# and batch tiles 4 and 8 with 1 and 2 rows per warp.

"$C" --widths 1,2,3,4,5,6,7,8,1ep,2ep,3ep,4ep,5ep,6ep,7ep,1pe,2pe,3pe,4pe,8pe \
  --groups 0,128 \
  --acts f16 --batches 1 --rows-per-warp 2 \
  -o "$OUT/testA.ptx"
"$C" --widths 8,5,3,2ep,3pe --groups 0,64 --acts f32,bf16 --batches 1,3 \
  --rows-per-warp 1 --unroll 1 -o "$OUT/testB.ptx"
"$C" --widths 4,2 --groups 32 --acts f16 --batches 4,8 --rows-per-warp 1,2 \
  -o "$OUT/testC.ptx"
# Benchmark: the widths of the issue at group 128, fp16 activations, batch
# tile 1 (larger batches loop over the batch inside the kernel, the weights
# coming from L1 / L2 after the first row) and 2, 4 for int8 / int4;
# 1, 2, 4, 8 rows per warp: the runtime picks by N and SM count,
# matquant-gpu-bench --tune times them all. 3-bit indices (int3, extra-precision int2) carry 6 words per
# block: they keep one block in flight so that 4 rows per warp do not spill.
"$C" --widths 8,4,2 --groups 128 --batches 1 --rows-per-warp 1,2,4,8 \
  --unroll 2 -o "$OUT/bench_b1.ptx"
"$C" --widths 3,2ep --groups 128 --batches 1 --rows-per-warp 1,2,4 \
  --unroll 1 -o "$OUT/bench_b1w3.ptx"
# Batch tiles 2 and 4 (decode once for 2 or 4 batch rows): faster than tile
# 1 at batch 4 and 16 for int8 and int4 (not for int2, measured).
"$C" --widths 8,4 --groups 128 --batches 2 --rows-per-warp 2,4 \
  --unroll 1 -o "$OUT/bench_t2.ptx"
"$C" --widths 8,4 --groups 128 --batches 4 --rows-per-warp 1,2,4 \
  --unroll 1 -o "$OUT/bench_t4.ptx"
# Tensor-core (mma.sync) kernels, f16 activations, batch tiles 1 (the
# matvecs' kernels), 8 and 16.
# Tests: every width and mode per channel and per group of 128; groups of
# 64 and 32, 32 rows per warp, 2 warps, batch tile 16.
"$C" --mma --widths 1,2,3,4,5,6,7,8,1ep,2ep,3ep,4ep,7ep,1pe,2pe,3pe,4pe,8pe \
  --groups 0,128 --acts f16 --batches 1,8 --rows-per-warp 16 \
  --warps-per-block 4 --unroll 2 -o "$OUT/testD.ptx"
"$C" --mma --widths 8,4,2,3ep,2pe --groups 0,64,32 --acts f16 --batches 1,8,16 \
  --rows-per-warp 16,32 --warps-per-block 2 --unroll 1 -o "$OUT/testE.ptx"
# f16 / bf16 activations with f32 results (_y32: the decode step's GEMVs,
# mq-narrow-activations), SIMT and tensor-core kernels.
"$C" --widths 8,4,3,2ep,2pe --groups 0,128 --acts f16,bf16 --batches 1,3 \
  --rows-per-warp 1,4 --out-f32 -o "$OUT/testH.ptx"
"$C" --mma --widths 8,4,3,2,2ep --groups 0,128 --acts f16 --batches 1,8 \
  --rows-per-warp 16 --warps-per-block 4 --unroll 2 --out-f32 \
  -o "$OUT/testI.ptx"
# The scale order the default does not take (packed below 8 index bits):
# [N, groups] scales for narrow indices, packed ones for 8-bit indices.
"$C" --mma --scale-order plain --widths 4,2,3ep,1pe --groups 0,128,64 --acts f16 \
  --batches 1,8,16 --rows-per-warp 16,32 --warps-per-block 4 --unroll 2 \
  -o "$OUT/testJ.ptx"
"$C" --mma --scale-order packed --widths 8,8pe,7ep --groups 0,128,64 --acts f16 \
  --batches 1,8,16 --rows-per-warp 16,32 --warps-per-block 4 --unroll 2 \
  -o "$OUT/testK.ptx"
# L2 prefetch before the dependent-launch wait (--early-prefetch; here at
# the start): every width and mode per channel and per group of 128,
# batch tiles 1 and 8, one and two row tiles.
"$C" --mma --widths 8,4,3,2,2ep,4pe --groups 0,128 --acts f16 --batches 1,8 \
  --rows-per-warp 16,32 --warps-per-block 4 --unroll 2 --index-bitwidth 64 \
  --early-prefetch 3 -o "$OUT/testL.ptx"
# Benchmark: 16 or 32 rows per block, 4, 8 or 16 warps splitting K, 2, 4
# or 8 column tiles per iteration (bytes in flight per lane).
for wpb in 4 8 16; do
  for u in 2 4 8; do
    "$C" --mma --widths 8,4,3,2,2ep --groups 128 --acts f16 --batches 1,8,16 \
      --rows-per-warp 16,32 --warps-per-block $wpb --unroll $u \
      -o "$OUT/bench_mma_w${wpb}_u$u.ptx"
  done
done
# Width chosen at run time: tensor-core kernels on the stored int8 model's
# bit planes, each width reading only its planes (r, or r + 1 to round).
"$C" --planes --widths 1,2,3,4,5,6,7,8,1ep,2ep,3ep,4ep,7ep,1pe,2pe,3pe,4pe,7pe,8pe \
  --groups 0,128 --acts f16 --batches 1,8 --rows-per-warp 16 \
  --warps-per-block 4 --unroll 2 -o "$OUT/testF.ptx"
"$C" --planes --widths 8,4,2,3ep,2pe,3,5,7 --groups 64 --acts f16 --batches 1,16 \
  --rows-per-warp 32 --warps-per-block 2 --unroll 1 -o "$OUT/testG.ptx"
# Benchmark: plane kernels next to the static MMA kernels of the same
# widths (prefix-exact and the paper's rounding); one column tile per
# iteration (unroll 1) as well: the plane kernels' fastest at batch 1.
for wpb in 4 8 16; do
  for u in 1 2; do
    "$C" --mma --widths 2pe,3pe,4pe,8pe --groups 128 --acts f16 --batches 1,8 \
      --rows-per-warp 16,32 --warps-per-block $wpb --unroll $u \
      -o "$OUT/bench_dyn_s${wpb}_u$u.ptx"
    "$C" --planes --widths 2pe,3pe,4pe,8pe,2,3,4,8,2ep --groups 128 \
      --acts f16 --batches 1,8 --rows-per-warp 16,32 --warps-per-block $wpb \
      --unroll $u -o "$OUT/bench_dyn_p${wpb}_u$u.ptx"
  done
  "$C" --mma --widths 8,4,3,2,2ep --groups 128 --acts f16 --batches 1,8 \
    --rows-per-warp 16,32 --warps-per-block $wpb --unroll 1 \
    -o "$OUT/bench_mma_w${wpb}_u1.ptx"
done
cp "$BIN/matquant-gpu-test" "$BIN/matquant-gpu-bench" "$OUT/"
ls -la "$OUT"
