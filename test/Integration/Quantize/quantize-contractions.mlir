// Execution check of the batch_matmul / generic rewrites of
// mq-quantize-weights: each contraction is paired with the linalg.matvec /
// linalg.matmul of the same constant weight (quantized the same way), run
// through the reference lowering, and the number of elements whose results
// differ is printed (bit-exact equality expected: the same mq op on the same
// rows); then 1 if min-max int8 is within 0.05 of the float product
// everywhere (its error bound here is about 0.03), so the rewritten ops
// compute the real products.
//
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --mq-quantize-weights=method=minmax --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// CHECK: 0
// CHECK-NEXT: 0
// CHECK-NEXT: 0
// CHECK-NEXT: 1
// CHECK-NOT: {{.}}

module {
  func.func private @printI64(i64)
  func.func private @printNewline()

  func.func @differ(%a: tensor<6x2xf32>, %b: tensor<6x2xf32>) {
    %z0 = arith.constant dense<0> : tensor<i64>
    %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%a, %b : tensor<6x2xf32>, tensor<6x2xf32>) outs(%z0 : tensor<i64>) {
    ^bb0(%p: f32, %q: f32, %acc: i64):
      %ne = arith.cmpf une, %p, %q : f32
      %one = arith.extui %ne : i1 to i64
      %s = arith.addi %acc, %one : i64
      linalg.yield %s : i64
    } -> tensor<i64>
    %c = tensor.extract %n[] : tensor<i64>
    func.call @printI64(%c) : (i64) -> ()
    func.call @printNewline() : () -> ()
    return
  }

  // 1 if every |a - b| < 0.05 (and not NaN), else 0.
  func.func @close(%a: tensor<6x2xf32>, %b: tensor<6x2xf32>) {
    %t = arith.constant dense<1> : tensor<i64>
    %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> ()>], iterator_types = ["reduction", "reduction"]} ins(%a, %b : tensor<6x2xf32>, tensor<6x2xf32>) outs(%t : tensor<i64>) {
    ^bb0(%p: f32, %q: f32, %acc: i64):
      %d = arith.subf %p, %q : f32
      %ad = math.absf %d : f32
      %tol = arith.constant 0.05 : f32
      %ok = arith.cmpf olt, %ad, %tol : f32
      %one = arith.extui %ok : i1 to i64
      %s = arith.andi %acc, %one : i64
      linalg.yield %s : i64
    } -> tensor<i64>
    %c = tensor.extract %n[] : tensor<i64>
    func.call @printI64(%c) : (i64) -> ()
    func.call @printNewline() : () -> ()
    return
  }

  func.func @main() {
    %x = arith.constant dense<[[[0.5, -1.0, 0.25, 2.0], [1.5, 0.0, -0.75, 1.0], [-2.0, 0.5, 0.5, -0.25]], [[0.125, 1.0, -1.5, 0.75], [1.0, 1.0, 1.0, 1.0], [-0.5, -0.25, 2.0, 0.0]]]> : tensor<2x3x4xf32>
    %xf = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
    %Wkn = arith.constant dense<[[-1.0, 0.3], [0.5, 1.0], [2.0, 0.7], [0.25, -2.0]]> : tensor<4x2xf32>
    %Wkn2 = arith.constant dense<[[-1.0, 0.3], [0.5, 1.0], [2.0, 0.7], [0.25, -2.0]]> : tensor<4x2xf32>
    %Wnk = arith.constant dense<[[-1.0, 0.5, 2.0, 0.25], [0.3, 1.0, 0.7, -2.0]]> : tensor<2x4xf32>
    %Wnk2 = arith.constant dense<[[-1.0, 0.5, 2.0, 0.25], [0.3, 1.0, 0.7, -2.0]]> : tensor<2x4xf32>
    %zero = arith.constant 0.0 : f32
    %e3 = tensor.empty() : tensor<2x3x2xf32>
    %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
    %e2 = tensor.empty() : tensor<6x2xf32>
    %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<6x2xf32>) -> tensor<6x2xf32>

    // batch_matmul with a broadcast [K, N] weight against linalg.matmul.
    %bm = linalg.batch_matmul indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (k, n)>, affine_map<(b, m, n, k) -> (b, m, n)>] ins(%x, %Wkn : tensor<2x3x4xf32>, tensor<4x2xf32>) outs(%z3 : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
    %bmf = tensor.collapse_shape %bm [[0, 1], [2]] : tensor<2x3x2xf32> into tensor<6x2xf32>
    %mm = linalg.matmul ins(%xf, %Wkn2 : tensor<6x4xf32>, tensor<4x2xf32>) outs(%z2 : tensor<6x2xf32>) -> tensor<6x2xf32>
    func.call @differ(%bmf, %mm) : (tensor<6x2xf32>, tensor<6x2xf32>) -> ()

    // A generic with two row loops and an (n, k) weight against the
    // transposed-B linalg.matmul.
    %g = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %Wnk : tensor<2x3x4xf32>, tensor<2x4xf32>) outs(%z3 : tensor<2x3x2xf32>) {
    ^bb0(%a: f32, %w: f32, %acc: f32):
      %p = arith.mulf %a, %w : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    } -> tensor<2x3x2xf32>
    %gf = tensor.collapse_shape %g [[0, 1], [2]] : tensor<2x3x2xf32> into tensor<6x2xf32>
    %mt = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%xf, %Wnk2 : tensor<6x4xf32>, tensor<2x4xf32>) outs(%z2 : tensor<6x2xf32>) -> tensor<6x2xf32>
    func.call @differ(%gf, %mt) : (tensor<6x2xf32>, tensor<6x2xf32>) -> ()

    // Both quantized forms agree with each other.
    func.call @differ(%mm, %mt) : (tensor<6x2xf32>, tensor<6x2xf32>) -> ()

    // And with the float product (computed with a non-constant weight, which
    // the pass leaves alone).
    %Wf = bufferization.alloc_tensor() copy(%Wkn2) : tensor<4x2xf32>
    %ref = linalg.matmul ins(%xf, %Wf : tensor<6x4xf32>, tensor<4x2xf32>) outs(%z2 : tensor<6x2xf32>) -> tensor<6x2xf32>
    func.call @close(%mm, %ref) : (tensor<6x2xf32>, tensor<6x2xf32>) -> ()
    return
  }
}
