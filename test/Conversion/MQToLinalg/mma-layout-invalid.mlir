// RUN: matquant-opt %s --convert-mq-to-linalg -verify-diagnostics

// The tensor-core layout is read by the GPU kernels only: repacking a
// non-constant weight into it has no reference lowering (on constants the
// repacking folds at compile time).
func.func @pack(%w: !mq.weight<16x64xf16, storage = 8, bits = 4>) -> !mq.weight<16x64xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>> {
  // expected-error @+1 {{the mma layout (GPU tensor-core kernels) has no reference lowering; pack constants at compile time or choose another layout}}
  %p = mq.pack %w : !mq.weight<16x64xf16, storage = 8, bits = 4> to !mq.weight<16x64xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>
  return %p : !mq.weight<16x64xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>
}
