// RUN: matquant-opt %s --mq-capture-layer-inputs -split-input-file -verify-diagnostics | FileCheck %s
// RUN: matquant-opt %s --mq-capture-layer-inputs="function=other" -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=OTHER

// Named linalg.matvec and mq.matvec inputs, in IR order, into one tensor;
// an unnamed matvec and a matvec whose input is computed inside a loop are
// not captured.
// CHECK-LABEL: func.func @decode_step
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<2x4xf32>, %[[Q:.*]]: !mq.weight<3x2xf32, storage = 8, bits = 8>, %[[S:.*]]: tensor<3x1xf32>)
// CHECK-SAME: -> (tensor<3xf32>, tensor<6xf32>)
// CHECK-SAME: attributes {mq.captured_layers = [{layer = "layers.0.w1", offset = 0 : i64, size = 4 : i64}, {layer = "layers.0.w2", offset = 4 : i64, size = 2 : i64}]}
// CHECK: %[[Y:.*]] = linalg.matvec {mq.layer = "layers.0.w1"}
// CHECK: %[[Z:.*]] = mq.matvec %[[Y]], %[[Q]]
// CHECK: %[[E:.*]] = tensor.empty() : tensor<6xf32>
// CHECK: %[[C0:.*]] = tensor.insert_slice %[[X]] into %[[E]][0] [4] [1] : tensor<4xf32> into tensor<6xf32>
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[Y]] into %[[C0]][4] [2] [1] : tensor<2xf32> into tensor<6xf32>
// CHECK: return %[[Z]], %[[C1]] : tensor<3xf32>, tensor<6xf32>
// OTHER-LABEL: func.func @decode_step
// OTHER-SAME: -> tensor<3xf32> {
func.func @decode_step(%x: tensor<4xf32>, %W: tensor<2x4xf32>, %q: !mq.weight<3x2xf32, storage = 8, bits = 8>, %s: tensor<3x1xf32>) -> tensor<3xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %y = linalg.matvec {mq.layer = "layers.0.w1"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  %u = linalg.matvec ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %l = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %z) -> (tensor<2xf32>) {
    %xi = arith.addf %x, %x : tensor<4xf32>
    %b = linalg.matvec {mq.layer = "layers.0.loop"} ins(%W, %xi : tensor<2x4xf32>, tensor<4xf32>) outs(%acc : tensor<2xf32>) -> tensor<2xf32>
    scf.yield %b : tensor<2xf32>
  }
  %sum = arith.addf %l, %u : tensor<2xf32>
  %zz = mq.matvec %y, %q, %s, %s {layer = "layers.0.w2"} : tensor<2xf32>, !mq.weight<3x2xf32, storage = 8, bits = 8>, tensor<3x1xf32>, tensor<3x1xf32> -> tensor<3xf32>
  return %zz : tensor<3xf32>
}

// -----

// Other functions are left alone.
// CHECK-LABEL: func.func @other
// CHECK-SAME: -> tensor<2xf32> {
// OTHER-LABEL: func.func @other
// OTHER-SAME: -> (tensor<2xf32>, tensor<4xf32>) attributes {mq.captured_layers = [{layer = "l", offset = 0 : i64, size = 4 : i64}]}
func.func @other(%x: tensor<4xf32>, %W: tensor<2x4xf32>, %z: tensor<2xf32>) -> tensor<2xf32> {
  %y = linalg.matvec {mq.layer = "l"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// No layer at all: an empty capture.
// CHECK-LABEL: func.func @decode_step
// CHECK-SAME: -> (f32, tensor<0xf32>) attributes {mq.captured_layers = []}
func.func @decode_step(%a: f32) -> f32 {
  return %a : f32
}

