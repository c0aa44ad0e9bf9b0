// RUN: matquant-opt %s --split-input-file --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu="launch=true rows-per-warp=2" | FileCheck %s
// RUN: matquant-opt %s --split-input-file --pass-pipeline='builtin.module(mq-select-gpu-layout,canonicalize,convert-mq-to-gpu{launch=true rows-per-warp=2 warps-per-block=2})' | FileCheck %s --check-prefix=WPB2
// RUN: matquant-opt %s --split-input-file --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu | FileCheck %s --check-prefix=NOLAUNCH
// RUN: matquant-opt %s --split-input-file --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu=launch=true | FileCheck %s --check-prefix=AUTO
// RUN: matquant-opt %s --split-input-file --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu="launch=true warps-per-block=0" | FileCheck %s --check-prefix=WPB0
// RUN: matquant-opt %s --split-input-file --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu="launch=true scale-order=plain" | FileCheck %s --check-prefix=PLAIN

// convert-mq-to-gpu{launch=true}, for host code lowered by MLIR
// (matquant-decode-to-gpu): besides generating the kernel, each weight-only
// op on tensors becomes
//   - bufferization.to_buffer (read-only, identity layout) of the weight's
//     storage (through an unrealized cast of the mq.constant), the scales,
//     the offsets and the activations, each collapsed to 1-D and cast to
//     memref<?xT> (the kernel ABI of GpuKernelSpec.h);
//   - a memref.alloc of the result, collapsed and cast the same way;
//   - a gpu.launch_func of the kernel: grid ceil(n / rows per block),
//     32 * warps-per-block threads, then n, k, nb and ldx as index;
//   - bufferization.to_tensor (restrict, writable) of the result buffer,
//     which replaces the op's result.
// At batch 1, ldx is k rounded up to a multiple of 8 (k = 100: 104); a
// batch keeps ldx = k. Without launch=true the op stays, with the kernel
// recorded on it (third RUN line).
// The first two RUN lines fix rows-per-warp = 2. Without it (the fourth), a
// launched matvec gets the most rows per warp (4, then 2) that still gives
// at least 2 x 132 blocks (two per multiprocessor of an H100 / H200), else
// 1; a batch keeps one row per warp.

// A 4-bit matvec (sliced from an 8-bit constant, repacked at compile time
// by canonicalize) with a ragged k = 100: 20 rows, 2 rows per warp, 4 warps
// per block: 3 blocks of 128 threads (with 2 warps per block: 5 blocks of
// 64; by default 1 row per warp, 5 blocks).

func.func @matvec(%x: tensor<100xf32>, %s: tensor<20x1xf32>, %m: tensor<20x1xf32>) -> tensor<20xf32> {
  %c = mq.constant dense<7> : tensor<20x100xi8> : !mq.weight<20x100xf32, storage = 8, bits = 8>
  %q = mq.slice %c : !mq.weight<20x100xf32, storage = 8, bits = 8> to !mq.weight<20x100xf32, storage = 8, bits = 4>
  %y = mq.matvec %x, %q, %s, %m : tensor<100xf32>, !mq.weight<20x100xf32, storage = 8, bits = 4>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<20xf32>
  return %y : tensor<20xf32>
}

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @matvec(
// CHECK-SAME: %[[X:[^:]*]]: tensor<100xf32>, %[[S:[^:]*]]: tensor<20x1xf32>, %[[M:[^:]*]]: tensor<20x1xf32>) -> tensor<20xf32>
// CHECK-NOT: mq.matvec
// CHECK: %[[W:.*]] = mq.constant {{.*}} : tensor<20x64xi8> : !mq.weight<20x100xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32>>
// CHECK-NEXT: %[[WT:.*]] = builtin.unrealized_conversion_cast %[[W]] : !mq.weight<{{.*}}> to tensor<20x64xi8>
// CHECK-NEXT: %[[WB:.*]] = bufferization.to_buffer %[[WT]] read_only : tensor<20x64xi8> to memref<20x64xi8>
// CHECK-NEXT: %[[WC:.*]] = memref.collapse_shape %[[WB]] {{\[\[}}0, 1]] : memref<20x64xi8> into memref<1280xi8>
// CHECK-NEXT: %[[WF:.*]] = memref.cast %[[WC]] : memref<1280xi8> to memref<?xi8>
// CHECK-NEXT: %[[SB:.*]] = bufferization.to_buffer %[[S]] read_only : tensor<20x1xf32> to memref<20x1xf32>
// CHECK-NEXT: %[[SC:.*]] = memref.collapse_shape %[[SB]] {{\[\[}}0, 1]] : memref<20x1xf32> into memref<20xf32>
// CHECK-NEXT: %[[SF:.*]] = memref.cast %[[SC]] : memref<20xf32> to memref<?xf32>
// CHECK-NEXT: %[[MB:.*]] = bufferization.to_buffer %[[M]] read_only : tensor<20x1xf32> to memref<20x1xf32>
// CHECK-NEXT: %[[MC:.*]] = memref.collapse_shape %[[MB]] {{\[\[}}0, 1]] : memref<20x1xf32> into memref<20xf32>
// CHECK-NEXT: %[[MF:.*]] = memref.cast %[[MC]] : memref<20xf32> to memref<?xf32>
// CHECK-NEXT: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<100xf32> to memref<100xf32>
// CHECK-NEXT: %[[XF:.*]] = memref.cast %[[XB]] : memref<100xf32> to memref<?xf32>
// CHECK-NEXT: %[[Y:.*]] = memref.alloc() : memref<20xf32>
// CHECK-NEXT: %[[YF:.*]] = memref.cast %[[Y]] : memref<20xf32> to memref<?xf32>
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[N:.*]] = arith.constant 20 : index
// CHECK-DAG: %[[K:.*]] = arith.constant 100 : index
// CHECK-DAG: %[[NB:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[LDX:.*]] = arith.constant 104 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 3 : index
// CHECK: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw2_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%[[WF]] : memref<?xi8>, %[[SF]] : memref<?xf32>, %[[MF]] : memref<?xf32>, %[[XF]] : memref<?xf32>, %[[YF]] : memref<?xf32>, %[[N]] : index, %[[K]] : index, %[[NB]] : index, %[[LDX]] : index)
// CHECK-NEXT: %[[R:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<20xf32> to tensor<20xf32>
// CHECK-NEXT: return %[[R]] : tensor<20xf32>
// CHECK: gpu.module @matquant_kernels
// CHECK-NEXT: gpu.func @mq_gemv_c8_r4_cl_g0_f32_b1_rw2_wpb4_u2(%{{.*}}: memref<?xi8>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) kernel attributes {known_block_size = array<i32: 128, 1, 1>}

// WPB2-LABEL: func.func @matvec(
// WPB2-DAG: %[[ONE:.*]] = arith.constant 1 : index
// WPB2-DAG: %[[TPB:.*]] = arith.constant 64 : index
// WPB2-DAG: %[[GRID:.*]] = arith.constant 5 : index
// WPB2: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw2_wpb2_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])

// AUTO-LABEL: func.func @matvec(
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// AUTO-DAG: %[[TPB:.*]] = arith.constant 128 : index
// AUTO-DAG: %[[GRID:.*]] = arith.constant 5 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw1_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])

// NOLAUNCH-LABEL: func.func @matvec(
// NOLAUNCH-NOT: bufferization
// NOLAUNCH-NOT: gpu.launch_func
// NOLAUNCH: %[[Y:.*]] = mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw2_wpb4_u2}
// NOLAUNCH-NEXT: return %[[Y]]

// -----

// A batch of 5 rows (mq.matmul, 8 bits, k = 64): the activations and the
// result collapsed from 5x64 and 5x20, nb = 5, ldx = k = 64; 2 rows per
// warp: 3 blocks (by default 1 row per warp, 5 blocks).

func.func @matmul(%x: tensor<5x64xf32>, %s: tensor<20x1xf32>, %m: tensor<20x1xf32>) -> tensor<5x20xf32> {
  %c = mq.constant dense<7> : tensor<20x64xi8> : !mq.weight<20x64xf32, storage = 8, bits = 8>
  %y = mq.matmul %x, %c, %s, %m : tensor<5x64xf32>, !mq.weight<20x64xf32, storage = 8, bits = 8>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<5x20xf32>
  return %y : tensor<5x20xf32>
}

// CHECK-LABEL: func.func @matmul(
// CHECK-SAME: %[[X:[^:]*]]: tensor<5x64xf32>
// CHECK-NOT: mq.matmul
// CHECK: %[[XB:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<5x64xf32> to memref<5x64xf32>
// CHECK-NEXT: %[[XC:.*]] = memref.collapse_shape %[[XB]] {{\[\[}}0, 1]] : memref<5x64xf32> into memref<320xf32>
// CHECK-NEXT: %[[XF:.*]] = memref.cast %[[XC]] : memref<320xf32> to memref<?xf32>
// CHECK-NEXT: %[[Y:.*]] = memref.alloc() : memref<5x20xf32>
// CHECK-NEXT: %[[YC:.*]] = memref.collapse_shape %[[Y]] {{\[\[}}0, 1]] : memref<5x20xf32> into memref<100xf32>
// CHECK-NEXT: %[[YF:.*]] = memref.cast %[[YC]] : memref<100xf32> to memref<?xf32>
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[N:.*]] = arith.constant 20 : index
// CHECK-DAG: %[[K:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[NB:.*]] = arith.constant 5 : index
// CHECK-DAG: %[[LDX:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 3 : index
// CHECK: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b5_rw2_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%{{.*}} : memref<?xi8>, %{{.*}} : memref<?xf32>, %{{.*}} : memref<?xf32>, %[[XF]] : memref<?xf32>, %[[YF]] : memref<?xf32>, %[[N]] : index, %[[K]] : index, %[[NB]] : index, %[[LDX]] : index)
// CHECK-NEXT: %[[R:.*]] = bufferization.to_tensor %[[Y]] restrict writable : memref<5x20xf32> to tensor<5x20xf32>
// CHECK-NEXT: return %[[R]] : tensor<5x20xf32>

// AUTO-LABEL: func.func @matmul(
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// (The grid, then nb: both 5, created in that order.)
// AUTO-DAG: %[[GRID:.*]] = arith.constant 5 : index
// AUTO-DAG: %[[NB:.*]] = arith.constant 5 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b5_rw1_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]])

// NOLAUNCH-LABEL: func.func @matmul(
// NOLAUNCH-NOT: gpu.launch_func
// NOLAUNCH: mq.matmul {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b5_rw1_wpb4_u2}

// -----

// Two ops with the same spec: one kernel, two launches, each on its own
// buffers.

func.func @two(%x: tensor<100xf32>, %s: tensor<20x1xf32>, %m: tensor<20x1xf32>) -> (tensor<20xf32>, tensor<20xf32>) {
  %c = mq.constant dense<7> : tensor<20x100xi8> : !mq.weight<20x100xf32, storage = 8, bits = 8>
  %d = mq.constant dense<9> : tensor<20x100xi8> : !mq.weight<20x100xf32, storage = 8, bits = 8>
  %y = mq.matvec %x, %c, %s, %m : tensor<100xf32>, !mq.weight<20x100xf32, storage = 8, bits = 8>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<20xf32>
  %z = mq.matvec %x, %d, %s, %m : tensor<100xf32>, !mq.weight<20x100xf32, storage = 8, bits = 8>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<20xf32>
  return %y, %z : tensor<20xf32>, tensor<20xf32>
}

// CHECK-LABEL: func.func @two(
// CHECK: %[[Y:.*]] = memref.alloc() : memref<20xf32>
// CHECK: gpu.launch_func @matquant_kernels::@[[KERNEL:mq_gemv_[a-z0-9_]*]] blocks
// CHECK: %[[RY:.*]] = bufferization.to_tensor %[[Y]] restrict writable
// CHECK: %[[Z:.*]] = memref.alloc() : memref<20xf32>
// CHECK: gpu.launch_func @matquant_kernels::@[[KERNEL]] blocks
// CHECK: %[[RZ:.*]] = bufferization.to_tensor %[[Z]] restrict writable
// CHECK: return %[[RY]], %[[RZ]]
// CHECK: gpu.module @matquant_kernels
// CHECK-COUNT-1: gpu.func
// CHECK-NOT: gpu.func

// -----

// The default rows per warp on large matvecs (k = 64, fourth RUN line):
// 8-bit indices take 2 rows per warp at most (the fastest on every
// benchmark shape): 528 and 264 blocks. 4-bit f32: 4224 rows make 264
// blocks at 4 rows per warp, enough; 2112 rows make 132 blocks at 4 rows
// per warp, 264 at 2. With rows-per-warp=2: 2 for all.

func.func @big(%x: tensor<64xf32>, %s: tensor<4224x1xf32>, %s2: tensor<2112x1xf32>) -> (tensor<4224xf32>, tensor<2112xf32>, tensor<4224xf32>, tensor<2112xf32>) {
  %c = mq.constant dense<7> : tensor<4224x64xi8> : !mq.weight<4224x64xf32, storage = 8, bits = 8>
  %d = mq.constant dense<7> : tensor<2112x64xi8> : !mq.weight<2112x64xf32, storage = 8, bits = 8>
  %y = mq.matvec %x, %c, %s, %s : tensor<64xf32>, !mq.weight<4224x64xf32, storage = 8, bits = 8>, tensor<4224x1xf32>, tensor<4224x1xf32> -> tensor<4224xf32>
  %z = mq.matvec %x, %d, %s2, %s2 : tensor<64xf32>, !mq.weight<2112x64xf32, storage = 8, bits = 8>, tensor<2112x1xf32>, tensor<2112x1xf32> -> tensor<2112xf32>
  %c4 = mq.slice %c : !mq.weight<4224x64xf32, storage = 8, bits = 8> to !mq.weight<4224x64xf32, storage = 8, bits = 4>
  %d4 = mq.slice %d : !mq.weight<2112x64xf32, storage = 8, bits = 8> to !mq.weight<2112x64xf32, storage = 8, bits = 4>
  %y4 = mq.matvec %x, %c4, %s, %s : tensor<64xf32>, !mq.weight<4224x64xf32, storage = 8, bits = 4>, tensor<4224x1xf32>, tensor<4224x1xf32> -> tensor<4224xf32>
  %z4 = mq.matvec %x, %d4, %s2, %s2 : tensor<64xf32>, !mq.weight<2112x64xf32, storage = 8, bits = 4>, tensor<2112x1xf32>, tensor<2112x1xf32> -> tensor<2112xf32>
  return %y, %z, %y4, %z4 : tensor<4224xf32>, tensor<2112xf32>, tensor<4224xf32>, tensor<2112xf32>
}

// AUTO-LABEL: func.func @big(
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// AUTO-DAG: %[[GRID:.*]] = arith.constant 528 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b1_rw2_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]])
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// AUTO-DAG: %[[GRID:.*]] = arith.constant 264 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b1_rw2_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]])
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// AUTO-DAG: %[[GRID:.*]] = arith.constant 264 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw4_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]])
// AUTO-DAG: %[[ONE:.*]] = arith.constant 1 : index
// AUTO-DAG: %[[GRID:.*]] = arith.constant 264 : index
// AUTO: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r4_cl_g0_f32_b1_rw2_wpb4_u2 blocks in (%[[GRID]], %[[ONE]], %[[ONE]])

// CHECK-LABEL: func.func @big(
// CHECK: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b1_rw2_wpb4_u2
// CHECK: gpu.launch_func @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b1_rw2_wpb4_u2

// -----

// Tensor-core kernels (f16 activations below 8 bits, f32 results), 16 rows
// per block: the fewest warps per block (4, 8, 16) that put 3072 warps in
// flight. 4096 rows: 256 blocks, 16 warps; 6144: 384 blocks, 8 warps
// (8 x 384 = 3072); 8192: 512 blocks, 8 warps; 28672: 1792 blocks, 4
// warps (4 x 1792 >= 3072).
func.func @mma_shapes(%x: tensor<128xf16>, %a: tensor<4096x1xf32>, %b: tensor<8192x1xf32>, %c: tensor<28672x1xf32>, %d: tensor<6144x1xf32>) -> (tensor<4096xf32>, tensor<8192xf32>, tensor<28672xf32>, tensor<6144xf32>) {
  %wa = mq.constant dense<7> : tensor<4096x128xi8> : !mq.weight<4096x128xf16, storage = 8, bits = 8>
  %wb = mq.constant dense<7> : tensor<8192x128xi8> : !mq.weight<8192x128xf16, storage = 8, bits = 8>
  %wc = mq.constant dense<7> : tensor<28672x128xi8> : !mq.weight<28672x128xf16, storage = 8, bits = 8>
  %wd = mq.constant dense<7> : tensor<6144x128xi8> : !mq.weight<6144x128xf16, storage = 8, bits = 8>
  %qd = mq.slice %wd : !mq.weight<6144x128xf16, storage = 8, bits = 8> to !mq.weight<6144x128xf16, storage = 8, bits = 4>
  %qa = mq.slice %wa : !mq.weight<4096x128xf16, storage = 8, bits = 8> to !mq.weight<4096x128xf16, storage = 8, bits = 4>
  %qb = mq.slice %wb : !mq.weight<8192x128xf16, storage = 8, bits = 8> to !mq.weight<8192x128xf16, storage = 8, bits = 4>
  %qc = mq.slice %wc : !mq.weight<28672x128xf16, storage = 8, bits = 8> to !mq.weight<28672x128xf16, storage = 8, bits = 4>
  %ya = mq.matvec %x, %qa, %a, %a : tensor<128xf16>, !mq.weight<4096x128xf16, storage = 8, bits = 4>, tensor<4096x1xf32>, tensor<4096x1xf32> -> tensor<4096xf32>
  %yb = mq.matvec %x, %qb, %b, %b : tensor<128xf16>, !mq.weight<8192x128xf16, storage = 8, bits = 4>, tensor<8192x1xf32>, tensor<8192x1xf32> -> tensor<8192xf32>
  %yc = mq.matvec %x, %qc, %c, %c : tensor<128xf16>, !mq.weight<28672x128xf16, storage = 8, bits = 4>, tensor<28672x1xf32>, tensor<28672x1xf32> -> tensor<28672xf32>
  %yd = mq.matvec %x, %qd, %d, %d : tensor<128xf16>, !mq.weight<6144x128xf16, storage = 8, bits = 4>, tensor<6144x1xf32>, tensor<6144x1xf32> -> tensor<6144xf32>
  return %ya, %yb, %yc, %yd : tensor<4096xf32>, tensor<8192xf32>, tensor<28672xf32>, tensor<6144xf32>
}

// (warps-per-block=0; the pass's default is 4 warps for every launch. Every
// launch takes the batch-1 kernel, the 4-warp one of 28672 rows too.)
// WPB0-LABEL: func.func @mma_shapes(
// WPB0: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb16_u2_ps_y32 blocks in (%c256, %{{.*}}, %{{.*}}) threads in (%c512, %{{.*}}, %{{.*}})
// WPB0: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb8_u2_ps_y32 blocks in (%c512{{[_0-9]*}}, %{{.*}}, %{{.*}}) threads in (%c256{{[_0-9]*}}, %{{.*}}, %{{.*}})
// WPB0: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb4_u2_ps_y32 blocks in (%c1792{{[_0-9]*}}, %{{.*}}, %{{.*}}) threads in (%c128{{[_0-9]*}}, %{{.*}}, %{{.*}})
// WPB0: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb8_u2_ps_y32 blocks in (%c384{{[_0-9]*}}, %{{.*}}, %{{.*}}) threads in (%c256{{[_0-9]*}}, %{{.*}}, %{{.*}})
// AUTO-LABEL: func.func @mma_shapes(
// AUTO-COUNT-4: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb4_u2_ps_y32

// -----

// Tensor-core kernels read the scales and offsets packed by row tile
// (mq.pack_scales: [ceil(N / 16), groups, 8, 2]): the launch takes the
// packed tensors, the constant offsets reordered at compile time (the
// folder: 20 rows of 2.0, then 12 padding rows of 0) and the scales of an
// argument by the op itself. packed-scales=false keeps the [N, groups]
// tensors and the kernel without _ps.
func.func @mma_scales(%x: tensor<128xf16>, %s: tensor<20x1xf32>) -> tensor<20xf16> {
  %w = mq.constant dense<7> : tensor<20x128xi8> : !mq.weight<20x128xf16, storage = 8, bits = 8>
  %q = mq.slice %w : !mq.weight<20x128xf16, storage = 8, bits = 8> to !mq.weight<20x128xf16, storage = 8, bits = 4>
  %m = arith.constant dense<2.0> : tensor<20x1xf32>
  %y = mq.matvec %x, %q, %s, %m : tensor<128xf16>, !mq.weight<20x128xf16, storage = 8, bits = 4>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<20xf16>
  return %y : tensor<20xf16>
}

// CHECK-LABEL: func.func @mma_scales(
// CHECK-SAME: %[[X:[^:]*]]: tensor<128xf16>, %[[S:[^:]*]]: tensor<20x1xf32>)
// CHECK: %[[PS:.*]] = mq.pack_scales %[[S]] : tensor<20x1xf32> -> tensor<2x1x8x2xf32>
// CHECK: bufferization.to_buffer %[[PS]] read_only : tensor<2x1x8x2xf32> to memref<2x1x8x2xf32>
// CHECK: memref.collapse_shape {{.*}} : memref<2x1x8x2xf32> into memref<32xf32>
// CHECK: %[[M:.*]] = arith.constant dense<{{\[\[\[\[}}2.000000e+00, 2.000000e+00], {{.*}}]]], {{\[\[\[}}2.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], {{.*}}]]]]> : tensor<2x1x8x2xf32>
// CHECK: bufferization.to_buffer %[[M]] read_only : tensor<2x1x8x2xf32> to memref<2x1x8x2xf32>
// CHECK: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb4_u2_ps blocks
// PLAIN-LABEL: func.func @mma_scales(
// PLAIN-NOT: mq.pack_scales
// PLAIN: bufferization.to_buffer %{{.*}} read_only : tensor<20x1xf32> to memref<20x1xf32>
// PLAIN: bufferization.to_buffer %{{.*}} read_only : tensor<20x1xf32> to memref<20x1xf32>
// PLAIN: gpu.launch_func @matquant_kernels::@mq_mma_c8_r4_cl_g0_f16_b1_rw16_wpb4_u2 blocks
