// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu=launch=true -verify-diagnostics
// RUN: matquant-opt %s --mq-select-gpu-layout --canonicalize --convert-mq-to-gpu | FileCheck %s

// convert-mq-to-gpu{launch=true} passes a batch of activation rows ldx = k
// elements apart, and the kernel needs every row 16-byte aligned: a batch
// with k not a multiple of 8 is an error of the launch (the kernel itself
// is fine: without launch=true the same op gets its kernel, second RUN
// line). At batch 1 a ragged k is fine (see mq-to-gpu-launch.mlir).

// CHECK: mq.matmul {{.*}} {mq.gpu_kernel = @matquant_kernels::@mq_gemv_c8_r8_cl_g0_f32_b3_rw1_wpb4_u2}

func.func @ragged_batch(%x: tensor<3x100xf32>, %s: tensor<20x1xf32>, %m: tensor<20x1xf32>) -> tensor<3x20xf32> {
  %c = mq.constant dense<7> : tensor<20x100xi8> : !mq.weight<20x100xf32, storage = 8, bits = 8>
  // expected-error @+1 {{'mq.matmul' op launch: a batch of rows needs k (100) to be a multiple of 8}}
  %y = mq.matmul %x, %c, %s, %m : tensor<3x100xf32>, !mq.weight<20x100xf32, storage = 8, bits = 8>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<3x20xf32>
  return %y : tensor<3x20xf32>
}
