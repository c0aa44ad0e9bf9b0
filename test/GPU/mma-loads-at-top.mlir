// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=mma --canonicalize --convert-mq-to-gpu="rows-per-warp=16 warps-per-block=8" | FileCheck %s --check-prefix=TOP
// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=mma --canonicalize --convert-mq-to-gpu="rows-per-warp=16 warps-per-block=8 dependent-launch=true" | FileCheck %s --check-prefix=DL

// The batch-1 tensor-core kernels below 8 index bits without dependent
// launch (GPU.md, "Loads at the top"): the main loop carries only the two
// accumulators and the next super-tile's weight words (8 i32 at 4 bits,
// unroll 2), loads the group's scales and offsets itself, and starts the
// weights' mma chain on ones * (0 * the sum of the scales), which ties the
// activation-sum and scale loads to the first mma so that ptxas issues
// them with the weights. With dependent launch (the decode step's GEMVs,
// where the prologue's loads precede the wait) the loop still carries the
// scales (4 f32), and there is no such product.

// TOP-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb8_u2_ps(
// TOP: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, i32, i32, i32, i32, i32, i32, i32, i32)  : i32 {
// TOP: vector.load %arg1[{{.*}}] {alignment = 8 : i64} : memref<?xf32>, vector<2xf32>
// TOP: vector.load %arg2[{{.*}}] {alignment = 8 : i64} : memref<?xf32>, vector<2xf32>
// TOP: %[[SUMS:.*]] = nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// TOP: %[[Z:.*]] = arith.mulf %{{.*}}, %{{.*}} : f32
// TOP-NEXT: %[[ZV:.*]] = vector.broadcast %[[Z]] : f32 to vector<2x2xf32>
// TOP-NEXT: %[[START:.*]] = arith.mulf %[[SUMS]], %[[ZV]] : vector<2x2xf32>
// TOP: nvgpu.mma.sync({{.*}}, {{.*}}, %[[START]]) {mmaShape = [16, 8, 16]}
// TOP: scf.yield {{.*}} : f32, f32, i32, i32, i32, i32, i32, i32, i32, i32

// DL-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb8_u2_ps_dl(
// DL: nvvm.griddepcontrol wait
// DL: scf.for {{.*}} iter_args({{.*}}) -> (f32, f32, i32, i32, i32, i32, i32, i32, i32, i32, f32, f32, f32, f32)  : i32 {
// DL-NOT: vector.broadcast {{.*}} : f32 to vector<2x2xf32>
// DL: gpu.return

func.func @matvec(%x: tensor<256xf16>, %s: tensor<32x2xf32>, %m: tensor<32x2xf32>) -> tensor<32xf16> {
  %c = mq.constant dense<7> : tensor<32x256xi8> : !mq.weight<32x256xf32, storage = 8, bits = 8, group = 128>
  %q = mq.slice %c : !mq.weight<32x256xf32, storage = 8, bits = 8, group = 128> to !mq.weight<32x256xf32, storage = 8, bits = 4, group = 128>
  %y = mq.matvec %x, %q, %s, %m : tensor<256xf16>, !mq.weight<32x256xf32, storage = 8, bits = 4, group = 128>, tensor<32x2xf32>, tensor<32x2xf32> -> tensor<32xf16>
  return %y : tensor<32xf16>
}
