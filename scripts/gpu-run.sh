#!/usr/bin/env bash
# Runs on the GPU machine, from the repository root, after
# scripts/gpu-kernels.sh built build/gpu/ here (carry build/gpu):
# the kernel execution tests, then the benchmark. Logs and JSON go to
# ${OUT:-/tmp/matquant-gpu}.
set -uo pipefail
OUT=${OUT:-/tmp/matquant-gpu}
mkdir -p "$OUT"
cd build/gpu
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv | tee "$OUT/device.txt"
./matquant-gpu-test --ptx ${TESTS:-testA.ptx,testB.ptx,testC.ptx,testD.ptx,testE.ptx,testF.ptx,testG.ptx,testH.ptx,testI.ptx,testJ.ptx,testK.ptx,testL.ptx} > "$OUT/test.log" 2>&1
echo "matquant-gpu-test exit $?" | tee -a "$OUT/test.log"
grep -E "^(FAIL|device)|kernels passed" "$OUT/test.log"
CUBLAS=${CUBLAS:-$(ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null | head -1)}
[ -n "$CUBLAS" ] || CUBLAS=$(find / -xdev -name 'libcublas.so.*' 2>/dev/null | head -1)
echo "cuBLAS: $CUBLAS"
./matquant-gpu-bench --ptx ${BENCH_PTX:-$(ls bench_*.ptx | paste -sd, -)} --tune \
  --cublas "$CUBLAS" --json "$OUT/gpu-bench.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/bench.log"
# SASS of the batch-1 int4 and int2 kernels (4 rows per warp), for the
# hot-loop analysis in docs/GPU-results.md.
if command -v cuobjdump > /dev/null; then
  ptxas -arch=sm_90 bench_b1.ptx -o "$OUT/bench_b1.cubin" 2>/dev/null
  for k in mq_gemv_c8_r4_cl_g128_f16_b1_rw4_wpb4_u2 mq_gemv_c8_r2_cl_g128_f16_b1_rw4_wpb4_u2; do
    cuobjdump -sass -fun "$k" "$OUT/bench_b1.cubin" > "$OUT/$k.sass"
  done
  rm -f "$OUT/bench_b1.cubin"
  ptxas -arch=sm_90 bench_mma_w8_u2.ptx -o "$OUT/bench_mma.cubin" 2>/dev/null
  k=mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb8_u2_ps
  cuobjdump -sass -fun "$k" "$OUT/bench_mma.cubin" > "$OUT/$k.sass"
  rm -f "$OUT/bench_mma.cubin"
fi
