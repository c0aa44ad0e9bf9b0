// RUN: matquant-opt %s --split-input-file --matquant-reassociate-reductions | FileCheck %s

// The accumulation of a reduction (attention's scores: a dot over the head
// dimension) may be reassociated; the product that feeds it is left alone.
// CHECK-LABEL: func @scores
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc> : f32
func.func @scores(%q: tensor<4x64xf32>, %k: tensor<32x4x64xf32>,
                  %init: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %s = linalg.generic {
      indexing_maps = [affine_map<(h, p, d) -> (h, d)>,
                       affine_map<(h, p, d) -> (p, h, d)>,
                       affine_map<(h, p, d) -> (h, p)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x64xf32>, tensor<32x4x64xf32>)
      outs(%init : tensor<4x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x32xf32>
  return %s : tensor<4x32xf32>
}

// -----

// A softmax's running maximum, with flags already set: reassoc is added.
// CHECK-LABEL: func @row_max
// CHECK: arith.maximumf %{{.*}}, %{{.*}} fastmath<reassoc,nnan> : f32
func.func @row_max(%x: tensor<4x32xf32>, %init: tensor<4xf32>) -> tensor<4xf32> {
  %m = linalg.generic {
      indexing_maps = [affine_map<(h, p) -> (h, p)>, affine_map<(h, p) -> (h)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.maximumf %a, %acc fastmath<nnan> : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %m : tensor<4xf32>
}

// -----

// Left alone: an elementwise op (no reduction loop), a reduction whose
// accumulation is a product (not one of the combinations the pass knows),
// and an add that does not take the accumulator.
// CHECK-LABEL: func @untouched
// CHECK-NOT: fastmath
// CHECK: return
func.func @untouched(%x: tensor<4x32xf32>, %y: tensor<4x32xf32>,
                     %init: tensor<4xf32>) -> (tensor<4x32xf32>, tensor<4xf32>, tensor<4xf32>) {
  %e = linalg.generic {
      indexing_maps = [affine_map<(h, p) -> (h, p)>, affine_map<(h, p) -> (h, p)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x32xf32>) outs(%y : tensor<4x32xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.addf %a, %o : f32
    linalg.yield %t : f32
  } -> tensor<4x32xf32>
  %p = linalg.generic {
      indexing_maps = [affine_map<(h, p) -> (h, p)>, affine_map<(h, p) -> (h)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.mulf %acc, %a : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  %last = linalg.generic {
      indexing_maps = [affine_map<(h, p) -> (h, p)>, affine_map<(h, p) -> (h)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<4x32xf32>) outs(%init : tensor<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  return %e, %p, %last : tensor<4x32xf32>, tensor<4xf32>, tensor<4xf32>
}
