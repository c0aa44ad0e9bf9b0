// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=simt --convert-mq-to-gpu | FileCheck %s
// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=simt --convert-mq-to-gpu="rows-per-warp=4 unroll=3 kernel-module=k" | FileCheck %s --check-prefix=OPT

// One kernel per spec, shared by ops with the same spec; the op records it.
// CHECK: module attributes {gpu.container_module}
// CHECK: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2}
// CHECK: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2}
// CHECK: mq.matmul {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r3_ep_g0_f32_b3_rw1_wpb4_u2}
// CHECK: gpu.module @matquant_kernels
// CHECK: gpu.func @mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2(%{{.*}}: memref<?xi8>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf16>, %{{.*}}: memref<?xf16>, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index, %{{.*}}: index) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// Lanes and warps from the thread id; the main loop's 16-byte weight loads.
// CHECK: gpu.thread_id x
// CHECK: scf.for
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<?xi8>, vector<16xi8>
// CHECK: vector.bitcast %{{.*}} : vector<16xi8> to vector<4xi32>
// Decoding: the 4 indices of a word into its bytes (SWAR), then one byte
// permutation per element makes the float 2^23 + k; subtracting
// 2^23 + 8 leaves k - 8 exactly.
// CHECK: arith.andi %{{.*}}, %c252645135_i32 : i32
// CHECK: vector.bitcast %{{.*}} : vector<1xi32> to vector<4xi8>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 4, 4, 7] : vector<4xi8>, vector<4xi8>
// CHECK: vector.bitcast %{{.*}} : vector<4xi8> to vector<1xf32>
// CHECK: arith.subf %{{.*}}, %cst{{.*}} : f32
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [3, 4, 4, 7] : vector<4xi8>, vector<4xi8>
// CHECK: vector.load %{{.*}} {alignment = 8 : i64} : memref<?xf16>, vector<4xf16>
// CHECK: arith.extf %{{.*}} : vector<4xf16> to vector<4xf32>
// The ragged last block masks its activations.
// CHECK: vector.maskedload
// Butterfly reduction, then lane 0 stores.
// CHECK: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: memref.store %{{.*}} : memref<?xf16>
// CHECK: gpu.return
// Extra precision at 3 bits is a 4-bit index.
// CHECK: gpu.func @mq_gemv_c8_r3_ep_g0_f32_b3_rw1_wpb4_u2
// CHECK-NOT: gpu.func @mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2

// OPT: mq.gpu_kernel = @k::@mq_gemv_c8_r4_cl_g128_f16_b1_rw4_wpb4_u3
// OPT: gpu.module @k

func.func @decode(%x: tensor<256xf16>, %w: !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128>,
                  %s: tensor<64x2xf32>, %m: tensor<64x2xf32>) -> (tensor<64xf16>, tensor<64xf16>) {
  %a = mq.matvec %x, %w, %s, %m : tensor<256xf16>, !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128>, tensor<64x2xf32>, tensor<64x2xf32> -> tensor<64xf16>
  %b = mq.matvec %x, %w, %s, %m : tensor<256xf16>, !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128>, tensor<64x2xf32>, tensor<64x2xf32> -> tensor<64xf16>
  return %a, %b : tensor<64xf16>, tensor<64xf16>
}

func.func @batch3(%x: tensor<3x100xf32>, %w: !mq.weight<16x100xf32, storage = 8, bits = 3, mode = extra_precision>,
                  %s: tensor<16x1xf32>) -> tensor<3x16xf32> {
  %y = mq.matmul %x, %w, %s, %s : tensor<3x100xf32>, !mq.weight<16x100xf32, storage = 8, bits = 3, mode = extra_precision>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}
