// mq.pack_scales: element (t, grp, g, h) of the result is the value of row
// 16 t + 8 h + g and group grp, 0 past the last row. The input holds
// 10 row + grp + 1; the expected values were listed from that definition
// by a few lines of Python. The same input goes through a call (the
// linalg lowering: tensor.pad, tensor.expand_shape, linalg.transpose) and
// as a constant (the folder, numerics::packMmaScales); 17 rows: a ragged
// second row tile.
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --canonicalize --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD
// FOLD-LABEL: func.func @folded
// FOLD-NEXT: arith.constant dense<{{.*}}> : tensor<2x2x8x2xf32>
// FOLD-NOT: mq.pack_scales
// FOLD-LABEL: func.func @main
// CHECK: ( 1, 81, 11, 91, 21, 101, 31, 111, 41, 121, 51, 131, 61, 141, 71, 151, 2, 82, 12, 92, 22, 102, 32, 112, 42, 122, 52, 132, 62, 142, 72, 152, 161, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 162, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 )
// CHECK-NEXT: ( 1, 81, 11, 91, 21, 101, 31, 111, 41, 121, 51, 131, 61, 141, 71, 151, 2, 82, 12, 92, 22, 102, 32, 112, 42, 122, 52, 132, 62, 142, 72, 152, 161, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 162, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 )
func.func @pack(%s: tensor<17x2xf32>) -> tensor<2x2x8x2xf32> {
  %p = mq.pack_scales %s : tensor<17x2xf32> -> tensor<2x2x8x2xf32>
  return %p : tensor<2x2x8x2xf32>
}
func.func @folded() -> tensor<2x2x8x2xf32> {
  %s = arith.constant dense<[[1.0, 2.0], [11.0, 12.0], [21.0, 22.0], [31.0, 32.0], [41.0, 42.0], [51.0, 52.0], [61.0, 62.0], [71.0, 72.0], [81.0, 82.0], [91.0, 92.0], [101.0, 102.0], [111.0, 112.0], [121.0, 122.0], [131.0, 132.0], [141.0, 142.0], [151.0, 152.0], [161.0, 162.0]]> : tensor<17x2xf32>
  %p = mq.pack_scales %s : tensor<17x2xf32> -> tensor<2x2x8x2xf32>
  return %p : tensor<2x2x8x2xf32>
}
func.func @show(%p: tensor<2x2x8x2xf32>) {
  %flat = tensor.collapse_shape %p [[0, 1, 2, 3]] : tensor<2x2x8x2xf32> into tensor<64xf32>
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0.0 : f32
  %v = vector.transfer_read %flat[%c0], %pad : tensor<64xf32>, vector<64xf32>
  vector.print %v : vector<64xf32>
  return
}
func.func @main() {
  %s = arith.constant dense<[[1.0, 2.0], [11.0, 12.0], [21.0, 22.0], [31.0, 32.0], [41.0, 42.0], [51.0, 52.0], [61.0, 62.0], [71.0, 72.0], [81.0, 82.0], [91.0, 92.0], [101.0, 102.0], [111.0, 112.0], [121.0, 122.0], [131.0, 132.0], [141.0, 142.0], [151.0, 152.0], [161.0, 162.0]]> : tensor<17x2xf32>
  %p = call @pack(%s) : (tensor<17x2xf32>) -> tensor<2x2x8x2xf32>
  call @show(%p) : (tensor<2x2x8x2xf32>) -> ()
  %f = call @folded() : () -> tensor<2x2x8x2xf32>
  call @show(%f) : (tensor<2x2x8x2xf32>) -> ()
  return
}
