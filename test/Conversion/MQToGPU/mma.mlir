// RUN: matquant-opt %s --mq-select-gpu-layout --split-input-file | FileCheck %s --check-prefix=LAYOUT
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --split-input-file | FileCheck %s --check-prefix=FOLD
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu --split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=simt --split-input-file | FileCheck %s --check-prefix=SIMT
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu --split-input-file | FileCheck %s --check-prefix=Y32
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu --split-input-file | FileCheck %s --check-prefix=SINGLE
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu --split-input-file | FileCheck %s --check-prefix=PRMT
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu=matvec-batch-tile=8 --split-input-file | FileCheck %s --check-prefix=TILE8
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu=stages=3 --split-input-file | FileCheck %s --check-prefix=STAGES
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu --split-input-file | FileCheck %s --check-prefix=SCALES
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu=scale-order=plain --split-input-file | FileCheck %s --check-prefix=PLAINSCALES

// An f16 matmul (batch 4) goes to the tensor-core layout: tiles of 16 rows
// by 64 columns at 4 bits (one 16-byte load per lane per tile), and so
// does an f16 matvec below 8 bits (here with f32 results); the int8 f16
// matvec and the f32 matmul keep the interleaved layout (auto: the faster
// kind of each, measured).
// LAYOUT-LABEL: func.func @auto
// LAYOUT: mq.pack {{.*}} to !mq.weight<20x256xf16, storage = 8, bits = 4, group = 128, layout = #mq.layout<mma, 4, block = 64>>
// LAYOUT: mq.pack {{.*}} layout = #mq.layout<interleaved, 8, block = 16>>
// LAYOUT: mq.pack {{.*}} layout = #mq.layout<interleaved, 4, block = 32>>
// LAYOUT: mq.pack {{.*}} layout = #mq.layout<mma, 4, block = 64>>
// SIMT-LABEL: func.func @auto
// SIMT-NOT: #mq.layout<mma
// The repacking folds on constants: 2 row tiles of 4 column tiles of
// 512 bytes; 200 sliced to 4 bits is 13 (0xD), 0xDD = -35, and the padding
// rows 20..31 hold index 0.
// FOLD-LABEL: func.func @auto
// FOLD: mq.constant dense<{{.*}}> : tensor<2x2048xi8> : !mq.weight<20x256xf16, storage = 8, bits = 4, group = 128, layout = #mq.layout<mma, 4, block = 64>>
// CHECK-LABEL: func.func @auto
// CHECK: mq.matmul {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_ps}
// CHECK: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r8_cl_g128_f16_b1_rw2_wpb4_u2}
// CHECK: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u2_ps_y32}
// Below 8 index bits the scales and offsets come packed by row tile
// (mq.pack_scales): per group, one 8-byte load of each gives the lane's
// rows g and g + 8, in the prologue, the main loop and the loop over the
// remaining groups; with scale-order=plain, four 4-byte loads of the
// [N, groups] tensors.
// SCALES-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_ps(
// SCALES-NOT: memref.load %{{.*}} : memref<?xf32>
// SCALES-COUNT-2: vector.load %arg1[%{{.*}}] {alignment = 8 : i64} : memref<?xf32>, vector<2xf32>
// SCALES-NOT: memref.load %{{.*}} : memref<?xf32>
// SCALES: gpu.return
// PLAINSCALES-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2(
// PLAINSCALES-NOT: vector<2xf32>
// PLAINSCALES-COUNT-2: memref.load %arg2[%{{.*}}] : memref<?xf32>
// PLAINSCALES-NOT: vector<2xf32>
// PLAINSCALES: gpu.return
// f16 activations in, the f32 accumulators stored without rounding.
// Y32-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u2_ps_y32(%{{.*}}: memref<?xi8>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf16>, %{{.*}}: memref<?xf32>, %{{.*}}: index
// Y32-NOT: arith.truncf
// Y32: memref.store %{{.*}} : memref<?xf32>
// Y32-NOT: arith.truncf
// Y32: gpu.return
// CHECK: gpu.func @mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_ps(%{{.*}}: memref<?xi8>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf16>, %{{.*}}: memref<?xf16>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) workgroup(%{{.*}} : memref<512xf32, #gpu.address_space<workgroup>>) kernel
// 0x64006400 (the f16 pair 1024, 1024) computed from k (k >> 31 is 0) so
// that ptxas keeps it in a register and fuses mask and OR into one LOP3.
// CHECK: %[[MAGIC:.*]] = arith.ori %c1677747200_i32{{[_0-9]*}}, %{{.*}} : i32
// One 16-byte load per lane per tile, two 4-bit indices per register
// (bits 0 and 16) or'ed into the f16 pair 1024 + k, 1024 + 8 subtracted;
// the fields at bits 4 and 20 in place: 1024 + 16 k, times 1/16, minus 72.
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?xi8>, vector<16xi8>
// CHECK: arith.andi %{{.*}}, %c983055_i32{{[_0-9]*}} : i32
// CHECK: arith.ori %{{.*}}, %[[MAGIC]] : i32
// CHECK: vector.bitcast %{{.*}} : vector<1xi32> to vector<2xf16>
// CHECK: arith.subf %{{.*}}, %cst{{.*}} : vector<2xf16>
// CHECK: arith.andi %{{.*}}, %c15728880_i32{{[_0-9]*}} : i32
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : vector<2xf16>
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<contract> : vector<2xf16>
// The next two fields of the word after one shift by 8.
// CHECK: arith.shrui %{{.*}}, %c8_i32{{[_0-9]*}} : i32
// CHECK: nvgpu.mma.sync(%{{.*}}, %{{.*}}, %{{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xf16>, vector<2x2xf16>, vector<2x2xf32>) -> vector<2x2xf32>
// The warps' partial sums meet in shared memory.
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %{{.*}} : memref<512xf32, #gpu.address_space<workgroup>>
// The matvec's kernel has batch tile 1: per group of 128 (two tiles of 4
// k-steps) 8 mma of the weights and one all-ones mma whose 8 B columns
// hold 8 runs of 16 activations (a 4-element load per lane), instead of
// an all-ones mma per k-step; the quads add up their lanes at the end.
// SINGLE-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u2_ps_y32(
// SINGLE: scf.for
// SINGLE: scf.for
// SINGLE: vector.load %{{.*}} {alignment = 8 : i64} : memref<?xf16>, vector<4xf16>
// SINGLE-COUNT-9: nvgpu.mma.sync
// SINGLE-NOT: nvgpu.mma.sync
// SINGLE: scf.yield
// SINGLE: gpu.shuffle  xor
// SINGLE: gpu.shuffle  xor
// SINGLE: gpu.barrier
// SINGLE: memref.store %{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>
// SINGLE: gpu.return
// matvec-batch-tile=8: the matvec takes the batch-8 kernel (an all-ones
// mma per k-step: two per k-step in all).
// TILE8: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_ps_y32}
// TILE8-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_ps_y32(
// TILE8: scf.for
// TILE8: scf.for
// TILE8-COUNT-16: nvgpu.mma.sync
// TILE8-NOT: nvgpu.mma.sync
// TILE8: scf.yield
// stages=3: each warp's weights stream through 3 super-tiles of shared
// memory, 16-byte cp.async per lane (L1 bypassed), one group per super-tile,
// a wait until 2 are pending, then 16-byte loads from shared memory.
// STAGES: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u2_st3_ps_y32}
// STAGES-LABEL: gpu.func @mq_mma_c8_r4_cl_g128_f16_b1_rw16_wpb4_u2_st3_ps_y32(
// STAGES-SAME: memref<12288xi8, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}
// STAGES: nvgpu.device_async_copy {{.*}} {bypassL1}
// STAGES: nvgpu.device_async_create_group
// STAGES: scf.for
// STAGES: nvgpu.device_async_copy
// STAGES: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// STAGES: vector.load %{{.*}} : memref<12288xi8, #gpu.address_space<workgroup>>, vector<16xi8>
// STAGES: scf.yield
// STAGES: nvgpu.device_async_wait %{{.*}} {numGroups = 0 : i32}
func.func @auto(%x4: tensor<4x256xf16>, %x1: tensor<256xf16>, %x32: tensor<4x256xf32>,
                %s: tensor<20x2xf32>, %m: tensor<20x2xf32>) -> (tensor<4x20xf16>, tensor<20xf16>, tensor<4x20xf32>, tensor<20xf32>) {
  %c = mq.constant dense<200> : tensor<20x256xi8> : !mq.weight<20x256xf16, storage = 8, bits = 8, group = 128>
  %q = mq.slice %c : !mq.weight<20x256xf16, storage = 8, bits = 8, group = 128> to !mq.weight<20x256xf16, storage = 8, bits = 4, group = 128>
  %a = mq.matmul %x4, %q, %s, %m : tensor<4x256xf16>, !mq.weight<20x256xf16, storage = 8, bits = 4, group = 128>, tensor<20x2xf32>, tensor<20x2xf32> -> tensor<4x20xf16>
  %b = mq.matvec %x1, %c, %s, %m : tensor<256xf16>, !mq.weight<20x256xf16, storage = 8, bits = 8, group = 128>, tensor<20x2xf32>, tensor<20x2xf32> -> tensor<20xf16>
  %c32 = mq.constant dense<200> : tensor<20x256xi8> : !mq.weight<20x256xf32, storage = 8, bits = 8, group = 128>
  %q32 = mq.slice %c32 : !mq.weight<20x256xf32, storage = 8, bits = 8, group = 128> to !mq.weight<20x256xf32, storage = 8, bits = 4, group = 128>
  %d = mq.matmul %x32, %q32, %s, %m : tensor<4x256xf32>, !mq.weight<20x256xf32, storage = 8, bits = 4, group = 128>, tensor<20x2xf32>, tensor<20x2xf32> -> tensor<4x20xf32>
  %e = mq.matvec %x1, %q, %s, %m : tensor<256xf16>, !mq.weight<20x256xf16, storage = 8, bits = 4, group = 128>, tensor<20x2xf32>, tensor<20x2xf32> -> tensor<20xf32>
  return %a, %b, %d, %e : tensor<4x20xf16>, tensor<20xf16>, tensor<4x20xf32>, tensor<20xf32>
}

// -----

// Tiles per width (16 / smallest piece k-steps, halved to divide the
// group): int8 32, int2 128, int3 (pieces 2 + 1) 256, halved to 128 by
// groups of 128; batch 12 takes the batch tile 16; int8 at groups of 128
// unrolls 4 tiles (a whole group).
// LAYOUT-LABEL: func.func @widths
// LAYOUT: #mq.layout<mma, 8, block = 32>
// LAYOUT: #mq.layout<mma, 2, block = 128>
// LAYOUT: #mq.layout<mma, 3, block = 256>
// LAYOUT: #mq.layout<mma, 3, block = 128>
// 8-bit indices: one byte permute per register (bytes j and 2 + j of the
// word under the 0x64 bytes of 0x64006400: selectors 0x7250, 0x7351).
// PRMT-LABEL: gpu.func @mq_mma_c8_r8_cl_g128_f16_b16_rw16_wpb4_u4(
// PRMT-DAG: nvvm.prmt <default> %c29264_i32{{[_0-9]*}}, %{{.*}}, %{{.*}} : i32
// PRMT-DAG: nvvm.prmt <default> %c29521_i32{{[_0-9]*}}, %{{.*}}, %{{.*}} : i32
// PRMT-NOT: arith.shrui
// PRMT: gpu.return
// CHECK-LABEL: func.func @widths
// CHECK: @mq_mma_c8_r8_cl_g128_f16_b16_rw16_wpb4_u4
// CHECK: @mq_mma_c8_r2_cl_g0_f16_b16_rw16_wpb4_u2_ps
// CHECK: @mq_mma_c8_r2_ep_g0_f16_b16_rw16_wpb4_u2_ps
// CHECK: @mq_mma_c8_r3_cl_g128_f16_b16_rw16_wpb4_u2_ps
func.func @widths(%x: tensor<12x256xf16>, %w8: !mq.weight<16x256xf16, storage = 8, bits = 8, group = 128>,
                  %w2: !mq.weight<16x256xf16, storage = 8, bits = 2>,
                  %w2ep: !mq.weight<16x256xf16, storage = 8, bits = 2, mode = extra_precision>,
                  %w3g: !mq.weight<16x256xf16, storage = 8, bits = 3, group = 128>,
                  %s: tensor<16x1xf32>, %sg: tensor<16x2xf32>) -> (tensor<12x16xf16>, tensor<12x16xf16>, tensor<12x16xf16>, tensor<12x16xf16>) {
  %a = mq.matmul %x, %w8, %sg, %sg : tensor<12x256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 8, group = 128>, tensor<16x2xf32>, tensor<16x2xf32> -> tensor<12x16xf16>
  %b = mq.matmul %x, %w2, %s, %s : tensor<12x256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 2>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<12x16xf16>
  %c = mq.matmul %x, %w2ep, %s, %s : tensor<12x256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 2, mode = extra_precision>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<12x16xf16>
  %d = mq.matmul %x, %w3g, %sg, %sg : tensor<12x256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 3, group = 128>, tensor<16x2xf32>, tensor<16x2xf32> -> tensor<12x16xf16>
  return %a, %b, %c, %d : tensor<12x16xf16>, tensor<12x16xf16>, tensor<12x16xf16>, tensor<12x16xf16>
}
