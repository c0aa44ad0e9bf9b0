// mq-quantize-weights with calibration activations: every rewritten op
// records the rows it was calibrated on; a weight shared by two layers is
// calibrated once on the rows of both; unselected layers need no
// activations. The values themselves are checked against the numerics
// library in test/Quantize/quantize-weights-calibrated.test.
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t.acts --layer a:40x4 --layer b:24x4 --layer c:16x4
// RUN: matquant-opt %s --mq-quantize-weights="calibration=%t.acts" | FileCheck %s
// RUN: matquant-opt %s --mq-quantize-weights="calibration=%t.acts layers=^c$" | FileCheck %s --check-prefix=ONLYC
// Without the file the same ops are quantized data-free (no row count).
// RUN: matquant-opt %s --mq-quantize-weights | FileCheck %s --check-prefix=FREE

// CHECK-LABEL: func.func @f
// CHECK: mq.matvec {{.*}} {layer = "a", mq.calibration_rows = 64 : i64
// CHECK: mq.matvec {{.*}} {layer = "b", mq.calibration_rows = 64 : i64
// CHECK: mq.matvec {{.*}} {layer = "c", mq.calibration_rows = 16 : i64
// CHECK-NOT: linalg.matvec
// ONLYC: linalg.matvec {mq.layer = "a"}
// ONLYC: linalg.matvec {mq.layer = "b"}
// ONLYC: mq.matvec {{.*}} {layer = "c", mq.calibration_rows = 16 : i64
// FREE-NOT: mq.calibration_rows
// FREE: mq.matvec
func.func @f(%x: tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>, tensor<3xf32>) {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 0.25, -2.0]]> : tensor<2x4xf32>
  %V = arith.constant dense<[[-1.0, 0.1, 0.5, 1.0], [2.0, 0.7, 2.0, 2.0], [0.3, -0.2, 0.1, 0.9]]> : tensor<3x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %a = linalg.matvec {mq.layer = "a"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  %b = linalg.matvec {mq.layer = "b"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  %e3 = tensor.empty() : tensor<3xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<3xf32>) -> tensor<3xf32>
  %c = linalg.matvec {mq.layer = "c"} ins(%V, %x : tensor<3x4xf32>, tensor<4xf32>) outs(%z3 : tensor<3xf32>) -> tensor<3xf32>
  return %a, %b, %c : tensor<2xf32>, tensor<2xf32>, tensor<3xf32>
}
