// RUN: matquant-opt %s --matquant-gpu-to-ptx | FileCheck %s
// RUN: matquant-opt %s --matquant-gpu-to-ptx="chip=sm_80 rows-per-warp=1" | FileCheck %s --check-prefix=SM80

// The named pipeline: repack the constant weight for the GPU at compile
// time (folded), generate the kernel, lower it to PTX in a gpu.binary.
// CHECK: mq.constant {{.*}} layout = #mq.layout<interleaved, 2, block = 64>
// CHECK: mq.matvec {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r2_cl_g0_f32_b1_rw2_wpb4_u2}
// CHECK: gpu.binary @matquant_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_90">
// CHECK-SAME: .target sm_90
// CHECK-SAME: .visible .entry mq_gemv_c8_r2_cl_g0_f32_b1_rw2_wpb4_u2(
// CHECK-SAME: ld.global.v4.b32

// SM80: .target sm_80
// SM80-SAME: mq_gemv_c8_r2_cl_g0_f32_b1_rw1_wpb4_u2

func.func @f(%x: tensor<128xf32>, %s: tensor<16x1xf32>) -> tensor<16xf32> {
  %c = mq.constant dense<77> : tensor<16x128xi8> : !mq.weight<16x128xf32, storage = 8, bits = 8>
  %q = mq.slice %c : !mq.weight<16x128xf32, storage = 8, bits = 8> to !mq.weight<16x128xf32, storage = 8, bits = 2>
  %y = mq.matvec %x, %q, %s, %s : tensor<128xf32>, !mq.weight<16x128xf32, storage = 8, bits = 2>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}
