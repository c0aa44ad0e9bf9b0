// A group size that does not divide a weight's reduction length is an error
// on that op.
// RUN: matquant-opt %s --mq-quantize-weights="group=3" -split-input-file -verify-diagnostics

func.func @f(%x: tensor<4xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  // expected-error @+1 {{'linalg.matvec' op cannot quantize the 2x4 weight of layer 'layers.3.feed_forward.w2': group size 3 does not divide the reduction dimension 4}}
  %y = linalg.matvec {mq.layer = "layers.3.feed_forward.w2"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// The reduction axis of a default-map matmul weight [K, N] is K = 4 rows.
func.func @g(%X: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %B = arith.constant dense<1.0> : tensor<4x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  // expected-error @+1 {{cannot quantize the 4x3 weight of layer 'linear.0': group size 3 does not divide the reduction dimension 4}}
  %y = linalg.matmul ins(%X, %B : tensor<2x4xf32>, tensor<4x3xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
