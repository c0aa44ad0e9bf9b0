// RUN: matquant-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(matquant-parallelize-generics{threads=2 min-points=1024}))" | FileCheck %s
// RUN: matquant-opt %s --split-input-file --pass-pipeline="builtin.module(func.func(matquant-parallelize-generics{threads=1 min-points=1024}))" | FileCheck %s --check-prefix=ONE

// Attention's scores (4 heads x 64 positions x a dot of 16): 4096
// iterations, split over 2 threads along the heads, each thread computing
// its 2 heads' rows of the result with the same body.
// CHECK: #[[$TWO:.*]] = affine_map<(d0) -> (d0 * 2)>
// CHECK-LABEL: func @scores
// CHECK: scf.forall (%[[T:.*]]) in (2) shared_outs(%[[O:.*]] = %{{.*}}) -> (tensor<4x64xf32>)
// CHECK: affine.apply #[[$TWO]](%[[T]])
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [2, 16]
// CHECK: linalg.generic {{.*}} ins({{.*}} : tensor<2x16xf32>, tensor<64x2x16xf32>) outs({{.*}} : tensor<2x64xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.parallel_insert_slice {{.*}} into %[[O]][%{{.*}}, 0] [2, 64]
// ONE-LABEL: func @scores
// ONE-NOT: scf.forall
func.func @scores(%q: tensor<4x16xf32>, %k: tensor<64x4x16xf32>,
                  %init: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %s = linalg.generic {
      indexing_maps = [affine_map<(h, p, d) -> (h, d)>,
                       affine_map<(h, p, d) -> (p, h, d)>,
                       affine_map<(h, p, d) -> (h, p)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x16xf32>, tensor<64x4x16xf32>)
      outs(%init : tensor<4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x64xf32>
  return %s : tensor<4x64xf32>
}

// -----

// The first loop is a reduction and the next parallel one has a single
// iteration: the split is the first parallel loop with at least 2.
// CHECK-LABEL: func @skips
// ONE-LABEL: func @skips
// CHECK: scf.forall (%{{.*}}) in (2)
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<1x32xf32>)
func.func @skips(%x: tensor<64x1x64xf32>, %init: tensor<1x64xf32>) -> tensor<1x64xf32> {
  %s = linalg.generic {
      indexing_maps = [affine_map<(r, a, b) -> (r, a, b)>,
                       affine_map<(r, a, b) -> (a, b)>],
      iterator_types = ["reduction", "parallel", "parallel"]}
      ins(%x : tensor<64x1x64xf32>) outs(%init : tensor<1x64xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %t = arith.addf %acc, %v : f32
    linalg.yield %t : f32
  } -> tensor<1x64xf32>
  return %s : tensor<1x64xf32>
}

// -----

// A loop that the threads do not divide: tiles of 3 and 2 rows.
// CHECK-LABEL: func @ragged
// CHECK: scf.forall (%[[T:.*]]) in (2)
// CHECK: %[[N:.*]] = affine.min #{{.*}}(%[[T]])
// CHECK: tensor.extract_slice %{{.*}}[%{{.*}}, 0] [%[[N]], 4096] [1, 1] : tensor<5x4096xf32> to tensor<?x4096xf32>
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<?x4096xf32>)
func.func @ragged(%x: tensor<5x4096xf32>) -> tensor<5x4096xf32> {
  %e = tensor.empty() : tensor<5x4096xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<5x4096xf32>) outs(%e : tensor<5x4096xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<5x4096xf32>
  return %y : tensor<5x4096xf32>
}

// -----

// Left sequential: fewer iterations than min-points, and an op inside an
// scf.forall already (a kernel's own loop).
// CHECK-LABEL: func @small
// CHECK-NOT: scf.forall
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<512xf32>)
// CHECK-LABEL: func @nested
// CHECK: scf.forall
// CHECK-NOT: scf.forall
// CHECK: linalg.generic {{.*}} outs({{.*}} : tensor<2048xf32>)
func.func @small(%x: tensor<512xf32>) -> tensor<512xf32> {
  %e = tensor.empty() : tensor<512xf32>
  %y = linalg.generic {
      indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
      iterator_types = ["parallel"]}
      ins(%x : tensor<512xf32>) outs(%e : tensor<512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<512xf32>
  return %y : tensor<512xf32>
}
func.func @nested(%x: tensor<2048xf32>, %out: tensor<2x2048xf32>) -> tensor<2x2048xf32> {
  %r = scf.forall (%i) in (2) shared_outs(%o = %out) -> (tensor<2x2048xf32>) {
    %e = tensor.empty() : tensor<2048xf32>
    %y = linalg.generic {
        indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
        iterator_types = ["parallel"]}
        ins(%x : tensor<2048xf32>) outs(%e : tensor<2048xf32>) {
    ^bb0(%a: f32, %b: f32):
      %t = arith.mulf %a, %a : f32
      linalg.yield %t : f32
    } -> tensor<2048xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %y into %o[%i, 0] [1, 2048] [1, 1] : tensor<2048xf32> into tensor<2x2048xf32>
    }
  }
  return %r : tensor<2x2048xf32>
}

// -----

// Scores over the filled positions of a KV cache (a dynamic count): the
// static loops alone have 4 x 16 = 64 iterations, at least min-points / 64
// (16), so the op is split over the heads whatever the count, the dynamic
// extent carried into each tile.
// CHECK-LABEL: func @dynamic_scores
// CHECK-NOT: scf.if
// CHECK: scf.forall (%{{.*}}) in (2) shared_outs({{.*}}) -> (tensor<4x?xf32>)
// CHECK: linalg.generic {{.*}} ins({{.*}} : tensor<2x16xf32>, tensor<?x2x16xf32>) outs({{.*}} : tensor<2x?xf32>)
// ONE-LABEL: func @dynamic_scores
// ONE-NOT: scf.forall
func.func @dynamic_scores(%q: tensor<4x16xf32>, %k: tensor<?x4x16xf32>,
                          %init: tensor<4x?xf32>) -> tensor<4x?xf32> {
  %s = linalg.generic {
      indexing_maps = [affine_map<(h, p, d) -> (h, d)>,
                       affine_map<(h, p, d) -> (p, h, d)>,
                       affine_map<(h, p, d) -> (h, p)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<4x16xf32>, tensor<?x4x16xf32>)
      outs(%init : tensor<4x?xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %t = arith.addf %acc, %p : f32
    linalg.yield %t : f32
  } -> tensor<4x?xf32>
  return %s : tensor<4x?xf32>
}

// -----

// A dynamic op large enough (32 static iterations), whose only parallel
// loop is the dynamic one, stays as it is: the split loop must be static.
// CHECK-LABEL: func @dynamic_split_loop
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
func.func @dynamic_split_loop(%x: tensor<?x32xf32>, %init: tensor<?xf32>)
    -> tensor<?xf32> {
  %s = linalg.generic {
      indexing_maps = [affine_map<(i, k) -> (i, k)>,
                       affine_map<(i, k) -> (i)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<?x32xf32>) outs(%init : tensor<?xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %acc, %a : f32
    linalg.yield %t : f32
  } -> tensor<?xf32>
  return %s : tensor<?xf32>
}

// -----

// The softmax's maxima over the filled positions: static loops of 2 x 4 = 8
// iterations, under min-points / 64, stay sequential.
// CHECK-LABEL: func @dynamic_small
// CHECK-NOT: scf.forall
// CHECK: linalg.generic
func.func @dynamic_small(%s: tensor<2x4x?xf32>, %init: tensor<2x4xf32>)
    -> tensor<2x4xf32> {
  %m = linalg.generic {
      indexing_maps = [affine_map<(h, g, t) -> (h, g, t)>,
                       affine_map<(h, g, t) -> (h, g)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<2x4x?xf32>) outs(%init : tensor<2x4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.maximumf %acc, %a : f32
    linalg.yield %t : f32
  } -> tensor<2x4xf32>
  return %m : tensor<2x4xf32>
}
