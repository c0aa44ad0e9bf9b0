// mq-quantize-weights on linalg.batch_matmul and linalg.generic
// contractions with a constant weight: the supported layouts become
// mq.matvec / mq.matmul (several row dimensions collapsed into one and
// expanded after), every other contraction with a constant weight stays in
// float with a warning on the op, and ops that are not multiply-add
// contractions are not touched.
// RUN: matquant-opt %s -split-input-file --mq-quantize-weights -verify-diagnostics | FileCheck %s

#mk = affine_map<(b, m, n, k) -> (b, m, k)>
#kn = affine_map<(b, m, n, k) -> (k, n)>
#bkn = affine_map<(b, m, n, k) -> (b, k, n)>
#mn = affine_map<(b, m, n, k) -> (b, m, n)>
// CHECK-LABEL: func.func @batch_matmul_broadcast
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK: %[[Q:.*]] = mq.constant {{.*}} : !mq.weight<4x2xf32, storage = 8, bits = 8, axis = 1>
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK: %[[Y:.*]] = mq.matmul %[[C]], %[[Q]], {{.*}} {layer = "bm"{{.*}}} : tensor<6x4xf32>, {{.*}} -> tensor<6x2xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 2] : tensor<6x2xf32> into tensor<2x3x2xf32>
// CHECK-NOT: linalg.batch_matmul
// CHECK: return %[[E]]
func.func @batch_matmul_broadcast(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0], [0.5, 1.0], [2.0, 2.0], [0.25, -2.0]]> : tensor<4x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %a = linalg.batch_matmul indexing_maps = [#mk, #kn, #mn] {mq.layer = "bm"} ins(%x, %W : tensor<2x3x4xf32>, tensor<4x2xf32>) outs(%z : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  return %a : tensor<2x3x2xf32>
}

// A batch_matmul with one weight matrix per batch element stays in float.
// CHECK-LABEL: func.func @batch_matmul_per_batch
// CHECK: linalg.batch_matmul
// CHECK-NOT: mq.
func.func @batch_matmul_per_batch(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %W = arith.constant dense<1.0> : tensor<2x4x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  // expected-warning @below {{mq-quantize-weights: this contraction with a constant weight stays in float: the weight has a batch dimension (one matrix per batch element); mq ops take one 2-D weight}}
  %a = linalg.batch_matmul indexing_maps = [#mk, #bkn, #mn] ins(%x, %W : tensor<2x3x4xf32>, tensor<2x4x2xf32>) outs(%z : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  return %a : tensor<2x3x2xf32>
}

// -----

// Matvec form with the weight as the first operand, (n, k): axis 0; the
// mulf and addf operands in the other order, and a non-zero init.
// CHECK-LABEL: func.func @generic_matvec
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<2xf32>)
// CHECK: %[[Q:.*]] = mq.constant {{.*}} : !mq.weight<2x4xf32, storage = 8, bits = 8>
// CHECK: %[[Y:.*]] = mq.matvec %[[X]], %[[Q]], {{.*}} {layer = "gv"{{.*}}} : tensor<4xf32>
// CHECK: %[[S:.*]] = linalg.add ins(%[[I]], %[[Y]] : tensor<2xf32>, tensor<2xf32>)
// CHECK-NOT: linalg.generic
// CHECK: return %[[S]]
func.func @generic_matvec(%x: tensor<4xf32>, %init: tensor<2xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 0.25, -2.0]]> : tensor<2x4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k)>, affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (n)>], iterator_types = ["parallel", "reduction"]} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%init : tensor<2xf32>) attrs = {mq.layer = "gv"} {
  ^bb0(%w: f32, %a: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// Matmul form, loops in another order (k first), weight (k, n): axis 1.
// CHECK-LABEL: func.func @generic_matmul
// CHECK-SAME: (%[[X:.*]]: tensor<3x4xf32>)
// CHECK: %[[Q:.*]] = mq.constant {{.*}} : !mq.weight<4x2xf32, storage = 8, bits = 8, axis = 1>
// CHECK: %[[Y:.*]] = mq.matmul %[[X]], %[[Q]], {{.*}} {layer = "linear.0"{{.*}}} : tensor<3x4xf32>, {{.*}} -> tensor<3x2xf32>
// CHECK: return %[[Y]]
func.func @generic_matmul(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0], [0.5, 1.0], [2.0, 2.0], [0.25, -2.0]]> : tensor<4x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<3x2xf32>) -> tensor<3x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(k, m, n) -> (m, k)>, affine_map<(k, m, n) -> (k, n)>, affine_map<(k, m, n) -> (m, n)>], iterator_types = ["reduction", "parallel", "parallel"]} ins(%x, %W : tensor<3x4xf32>, tensor<4x2xf32>) outs(%z : tensor<3x2xf32>) {
  ^bb0(%a: f32, %w: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// Two row dimensions, weight (n, k): collapsed, axis 0.
// CHECK-LABEL: func.func @generic_rows
// CHECK: %[[Q:.*]] = mq.constant {{.*}} : !mq.weight<2x4xf32, storage = 8, bits = 8>
// CHECK: %[[C:.*]] = tensor.collapse_shape {{.*}} {{\[\[}}0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK: mq.matmul %[[C]], %[[Q]]
// CHECK: tensor.expand_shape
func.func @generic_rows(%x: tensor<2x3x4xf32>) -> tensor<2x3x2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 0.25, -2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3x2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3x2xf32>) -> tensor<2x3x2xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>, affine_map<(b, m, n, k) -> (b, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%x, %W : tensor<2x3x4xf32>, tensor<2x4xf32>) outs(%z : tensor<2x3x2xf32>) {
  ^bb0(%a: f32, %w: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x2xf32>
  return %y : tensor<2x3x2xf32>
}

// -----

// Layouts that stay in float, each with its reason.
func.func @activation_transposed(%x: tensor<4x3xf32>, %z: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %W = arith.constant dense<1.0> : tensor<4x2xf32>
  // expected-warning @below {{stays in float: the reduction dimension is not the activation's last}}
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %W : tensor<4x3xf32>, tensor<4x2xf32>) outs(%z : tensor<3x2xf32>) {
  ^bb0(%a: f32, %w: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

func.func @result_transposed(%x: tensor<3x4xf32>, %z: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %W = arith.constant dense<1.0> : tensor<4x2xf32>
  // expected-warning @below {{stays in float: the result is not laid out as the activation's rows followed by the output channels}}
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (n, m)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %W : tensor<3x4xf32>, tensor<4x2xf32>) outs(%z : tensor<2x3xf32>) {
  ^bb0(%a: f32, %w: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

func.func @two_reductions(%x: tensor<2x3xf32>, %z: tensor<4xf32>) -> tensor<4xf32> {
  %W = arith.constant dense<1.0> : tensor<2x3x4xf32>
  // expected-warning @below {{stays in float: it has 2 reduction and 1 output-channel loops; mq ops take one of each}}
  %y = linalg.generic {indexing_maps = [affine_map<(n, k1, k2) -> (k1, k2)>, affine_map<(n, k1, k2) -> (k1, k2, n)>, affine_map<(n, k1, k2) -> (n)>], iterator_types = ["parallel", "reduction", "reduction"]} ins(%x, %W : tensor<2x3xf32>, tensor<2x3x4xf32>) outs(%z : tensor<4xf32>) {
  ^bb0(%a: f32, %w: f32, %acc: f32):
    %p = arith.mulf %a, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}

func.func @not_a_projection(%x: tensor<4xf32>, %z: tensor<2xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<1.0> : tensor<2x8xf32>
  // expected-warning @below {{stays in float: an indexing map is not a projected permutation}}
  %y = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k * 2)>, affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (n)>], iterator_types = ["parallel", "reduction"]} ins(%W, %x : tensor<2x8xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) {
  ^bb0(%w: f32, %a: f32, %acc: f32):
    %p = arith.mulf %w, %a : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// Not contractions: an elementwise op with a constant operand, a reduction
// of a product that is not accumulated into the output, and a contraction
// whose weight is not constant. No rewrite and no warning.
// CHECK-LABEL: func.func @not_contractions
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: mq.
func.func @not_contractions(%x: tensor<2x4xf32>, %v: tensor<4xf32>, %z: tensor<2xf32>, %w2: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2xf32>, tensor<2xf32>) {
  %W = arith.constant dense<1.0> : tensor<2x4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} ins(%x, %W : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %s = arith.addf %p, %q : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k)>, affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (n)>], iterator_types = ["parallel", "reduction"]} ins(%W, %v : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) {
  ^bb0(%w: f32, %a2: f32, %acc: f32):
    %p = arith.mulf %w, %a2 : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %c = linalg.generic {indexing_maps = [affine_map<(n, k) -> (n, k)>, affine_map<(n, k) -> (k)>, affine_map<(n, k) -> (n)>], iterator_types = ["parallel", "reduction"]} ins(%w2, %v : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) {
  ^bb0(%w: f32, %a2: f32, %acc: f32):
    %p = arith.mulf %w, %a2 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %a, %b, %c : tensor<2x4xf32>, tensor<2xf32>, tensor<2xf32>
}
