// RUN: matquant-opt %s --mq-select-gpu-layout=kernel=mma --split-input-file -verify-diagnostics
// RUN: not matquant-opt %s --mq-select-gpu-layout=kernel=tensor --split-input-file 2>&1 | FileCheck %s --check-prefix=OPT

// OPT: error: mq-select-gpu-layout: kernel must be auto, simt or mma, got 'tensor'

func.func @mma_f32(%x: tensor<2x64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 4>,
                   %s: tensor<4x1xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{tensor-core (mma) kernels need f16 activations}}
  %y = mq.matmul %x, %w, %s, %s : tensor<2x64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// 2-bit lane words need tiles of at least 32 columns.
func.func @mma_group(%x: tensor<2x64xf16>, %w: !mq.weight<4x64xf16, storage = 8, bits = 2, group = 16>,
                     %s: tensor<4x4xf32>) -> tensor<2x4xf16> {
  // expected-error @+1 {{no mma layout column tile fits group size 16 at 2 index bits}}
  %y = mq.matmul %x, %w, %s, %s : tensor<2x64xf16>, !mq.weight<4x64xf16, storage = 8, bits = 2, group = 16>, tensor<4x4xf32>, tensor<4x4xf32> -> tensor<2x4xf16>
  return %y : tensor<2x4xf16>
}
