// RUN: matquant-opt %s --split-input-file --mq-fuse-elementwise-once | FileCheck %s
// RUN: matquant-opt %s --split-input-file --linalg-fuse-elementwise-ops | FileCheck %s --check-prefix=UPSTREAM

// mq-fuse-elementwise-once fuses an elementwise producer into its single
// consumer only where the consumer's map for it uses every parallel loop
// of the consumer: no producer value is computed twice. UPSTREAM shows
// what linalg-fuse-elementwise-ops does with the same input.

#q = affine_map<(h, p, d) -> (h, d)>
#k = affine_map<(h, p, d) -> (p, h, d)>
#s = affine_map<(h, p, d) -> (h, p)>
#id = affine_map<(h, d) -> (h, d)>

// (a) Attention's scores: q (scaled here) is read through (h, d), which
// does not use the position loop p: fused, the scaling would run once per
// position. It stays a producer of its own.
// CHECK-LABEL: func.func @scores
// CHECK: %[[Q:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} ins(%[[Q]], %{{.*}} : tensor<2x8xf32>, tensor<5x2x8xf32>)
// CHECK-NOT: arith.constant 1.250000e-01
// UPSTREAM-LABEL: func.func @scores
// UPSTREAM-NOT: iterator_types = ["parallel", "parallel"]}
// UPSTREAM: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// UPSTREAM: arith.mulf
// UPSTREAM: arith.mulf
func.func @scores(%q: tensor<2x8xf32>, %k: tensor<5x2x8xf32>) -> tensor<2x5xf32> {
  %e = tensor.empty() : tensor<2x8xf32>
  %scale = arith.constant 0.125 : f32
  %qs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %scale : f32
    linalg.yield %m : f32
  } -> tensor<2x8xf32>
  %z = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x5xf32>
  %init = linalg.fill ins(%z : f32) outs(%e2 : tensor<2x5xf32>) -> tensor<2x5xf32>
  %r = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%qs, %k : tensor<2x8xf32>, tensor<5x2x8xf32>) outs(%init : tensor<2x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<2x5xf32>
  return %r : tensor<2x5xf32>
}

// -----

#id = affine_map<(h, d) -> (h, d)>
#row = affine_map<(h, d) -> (h)>

// (b) The same producer read through a map that uses every parallel loop
// (a row sum reads each element once): fused, as upstream.
// CHECK-LABEL: func.func @rowsum
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction"]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: linalg.generic
func.func @rowsum(%q: tensor<2x8xf32>) -> tensor<2xf32> {
  %e = tensor.empty() : tensor<2x8xf32>
  %scale = arith.constant 0.125 : f32
  %qs = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%q : tensor<2x8xf32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %m = arith.mulf %x, %scale : f32
    linalg.yield %m : f32
  } -> tensor<2x8xf32>
  %z = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2xf32>
  %init = linalg.fill ins(%z : f32) outs(%e2 : tensor<2xf32>) -> tensor<2xf32>
  %r = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%qs : tensor<2x8xf32>) outs(%init : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  return %r : tensor<2xf32>
}
