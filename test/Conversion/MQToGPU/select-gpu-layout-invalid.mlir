// RUN: matquant-opt %s --mq-select-gpu-layout --split-input-file -verify-diagnostics

func.func @small_group(%x: tensor<64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 3, group = 8>,
                       %s: tensor<4x8xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{no GPU kernel layout fits group size 8 at 3 index bits}}
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 3, group = 8>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @axis1(%x: tensor<64xf32>, %w: !mq.weight<64x4xf32, storage = 8, bits = 4, axis = 1>,
                 %s: tensor<1x4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{GPU kernels need the weight's channel axis 0, got 1}}
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<64x4xf32, storage = 8, bits = 4, axis = 1>, tensor<1x4xf32>, tensor<1x4xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
