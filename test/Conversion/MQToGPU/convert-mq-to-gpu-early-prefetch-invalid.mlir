// RUN: matquant-opt %s --convert-mq-to-gpu="stages=2 early-prefetch=2" -verify-diagnostics

// The L2 prefetch before the wait asks for super-tiles the registers will
// load; a shared-memory ring already has them in flight: the two do not
// combine, and the pass names the kernel's problem on the op.
func.func @stages_and_early_prefetch(%x: tensor<256xf16>, %w: !mq.weight<16x256xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>,
                                     %s: tensor<16x1xf32>) -> tensor<16xf16> {
  // expected-error @+1 {{cannot generate a GPU kernel: L2 prefetch before the wait (_epf) is for tensor-core (mma) kernels of packed weights in registers (not planes, not stages)}}
  %y = mq.matvec %x, %w, %s, %s : tensor<256xf16>, !mq.weight<16x256xf16, storage = 8, bits = 4, layout = #mq.layout<mma, 4, block = 64>>, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf16>
  return %y : tensor<16xf16>
}
