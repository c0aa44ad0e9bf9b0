// matquant-cpu-to-llvm tiles the interleaved layout by rows for every
// index width with float activations; with the W{r}A8 kernels
// (activation-bits=8) 8-bit indices stay untiled, which those kernels read
// faster (docs/CPU-results.md, session 19).
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16" --mlir-print-ir-after=mq-select-cpu-layout -o /dev/null 2>&1 | FileCheck %s --check-prefix=FLOAT
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 activation-bits=8" --mlir-print-ir-after=mq-select-cpu-layout -o /dev/null 2>&1 | FileCheck %s --check-prefix=A8

// FLOAT: mq.pack {{.*}} bits = 8, group = 128, layout = #mq.layout<interleaved, 8, block = 128, rows = 8>>
// FLOAT: mq.pack {{.*}} bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
// A8: mq.pack {{.*}} bits = 8, group = 128, layout = #mq.layout<interleaved, 8, block = 128>>
// A8: mq.pack {{.*}} bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
func.func @two(%x: tensor<256xf32>,
               %a: !mq.weight<16x256xf32, storage = 8, bits = 8, group = 128>,
               %b: !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128>,
               %s: tensor<16x2xf32>) -> (tensor<16xf32>, tensor<16xf32>)
    attributes {llvm.emit_c_interface} {
  %ya = mq.matvec %x, %a, %s, %s : tensor<256xf32>,
      !mq.weight<16x256xf32, storage = 8, bits = 8, group = 128>,
      tensor<16x2xf32>, tensor<16x2xf32> -> tensor<16xf32>
  %yb = mq.matvec %x, %b, %s, %s : tensor<256xf32>,
      !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128>,
      tensor<16x2xf32>, tensor<16x2xf32> -> tensor<16xf32>
  return %ya, %yb : tensor<16xf32>, tensor<16xf32>
}
