// RUN: matquant-opt %s --convert-mq-to-gpu --split-input-file -verify-diagnostics
// RUN: not matquant-opt %s --convert-mq-to-gpu=warps-per-block=33 --split-input-file 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not matquant-opt %s --convert-mq-to-gpu=matvec-batch-tile=4 --split-input-file 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not matquant-opt %s --convert-mq-to-gpu=stages=1 --split-input-file 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not matquant-opt %s --convert-mq-to-gpu=scale-order=rows --split-input-file 2>&1 | FileCheck %s --check-prefix=OPTS
// RUN: not matquant-opt %s --convert-mq-to-gpu=early-prefetch=17 --split-input-file 2>&1 | FileCheck %s --check-prefix=OPTS

// OPTS: error: convert-mq-to-gpu: warps-per-block must be in 0..32, unroll in 1..16, rows-per-warp in 0..16, prefetch and early-prefetch in 0..16, matvec-batch-tile 0, 1 or 8, stages 0 or 2..8, scale-order auto, packed or plain

func.func @not_packed(%x: tensor<64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 4>,
                      %s: tensor<4x1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{weight is not in the GPU kernel layout (run mq-select-gpu-layout): expected channel axis 0 and #mq.layout<interleaved, 4, block = 32>}}
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @cpu_block(%x: tensor<64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>,
                     %s: tensor<4x1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{weight is not in the GPU kernel layout}}
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 64>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// The GPU kernels read rows one after the other: a CPU row tile is refused.
func.func @cpu_rows(%x: tensor<64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32, rows = 2>>,
                    %s: tensor<4x1xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{weight is not in the GPU kernel layout (run mq-select-gpu-layout): expected channel axis 0 and #mq.layout<interleaved, 4, block = 32>}}
  %y = mq.matvec %x, %w, %s, %s : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32, rows = 2>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @big_batch(%x: tensor<65x64xf32>, %w: !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32>>,
                     %s: tensor<4x1xf32>) -> tensor<65x4xf32> {
  // expected-error @+1 {{cannot generate a GPU kernel: batch tile must be in 1..64}}
  %y = mq.matmul %x, %w, %s, %s : tensor<65x64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4, layout = #mq.layout<interleaved, 4, block = 32>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<65x4xf32>
  return %y : tensor<65x4xf32>
}

// -----

func.func @mma_tile(%x: tensor<2x256xf16>, %w: !mq.weight<16x256xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 32>>,
                    %s: tensor<16x1xf32>) -> tensor<2x16xf16> {
  // expected-error @+1 {{weight is not in the tensor-core kernel layout: expected channel axis 0 and #mq.layout<mma, 4, block = 64>}}
  %y = mq.matmul %x, %w, %s, %s : tensor<2x256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 32>>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<2x16xf16>
  return %y : tensor<2x16xf16>
}

// -----

func.func @mma_f32(%x: tensor<2x256xf32>, %w: !mq.weight<16x256xf32, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>,
                   %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{cannot generate a GPU kernel: MMA kernels take f16 activations}}
  %y = mq.matmul %x, %w, %s, %s : tensor<2x256xf32>, !mq.weight<16x256xf32, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}
