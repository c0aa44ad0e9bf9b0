// The calibrated quantizer refuses a non-finite weight (the data-free one
// skips NaN elements): an error on the layer's op, no rewrite.
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t.acts --layer l0:8x4
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t.acts" 2>&1 | FileCheck %s
// CHECK: mq-quantize-weights-calibration-nan-weight.mlir:[[# @LINE + 10]]:8: error: 'linalg.matvec' op calibrated quantization of layer 'l0' failed: weight element 1 is not finite
// CHECK-NOT: mq.matvec
// RUN: matquant-opt %s --mq-quantize-weights | FileCheck %s --check-prefix=FREE
// FREE: mq.matvec

func.func @f(%x: tensor<4xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<[[-1.0, 0x7FC00000, 0.5, 1.0], [2.0, 2.0, 0.25, -2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %a = linalg.matvec {mq.layer = "l0"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %a : tensor<2xf32>
}
