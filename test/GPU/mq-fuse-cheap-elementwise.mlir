// RUN: matquant-opt %s --mq-fuse-cheap-elementwise --split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-fuse-cheap-elementwise=max-ops=2 --split-input-file | FileCheck %s --check-prefix=SMALL

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// Attention's scaled, masked scores read by the softmax's max (a
// reduction) and its exponentials: recomputed in both, and gone.
// CHECK-LABEL: func.func @softmax
// CHECK-NOT: arith.select
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.divf
// CHECK: arith.select
// CHECK: arith.maximumf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// CHECK: arith.divf
// CHECK: arith.select
// CHECK: math.exp
// CHECK-NOT: linalg.generic
// With max-ops=2 the 4-operation body stays a producer of its own.
// SMALL-LABEL: func.func @softmax
// SMALL: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]
// SMALL: arith.select
// SMALL: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// SMALL-NOT: arith.select
func.func @softmax(%s: tensor<4x16xf32>, %c: f32, %pos: index) -> (tensor<4xf32>, tensor<4x16xf32>) {
  %ninf = arith.constant -1.0e30 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %masked = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%s : tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %j = linalg.index 1 : index
    %d = arith.divf %in, %c : f32
    %ok = arith.cmpi ule, %j, %pos : index
    %v = arith.select %ok, %d, %ninf : f32
    linalg.yield %v : f32
  } -> tensor<4x16xf32>
  %e1 = tensor.empty() : tensor<4xf32>
  %f = linalg.fill ins(%ninf : f32) outs(%e1 : tensor<4xf32>) -> tensor<4xf32>
  %max = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]} ins(%masked : tensor<4x16xf32>) outs(%f : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %out : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  %exp = linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]} ins(%masked, %max : tensor<4x16xf32>, tensor<4xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%in: f32, %m: f32, %out: f32):
    %d = arith.subf %in, %m : f32
    %x = math.exp %d : f32
    linalg.yield %x : f32
  } -> tensor<4x16xf32>
  return %max, %exp : tensor<4xf32>, tensor<4x16xf32>
}

// -----

#id1 = affine_map<(d0) -> (d0)>

// Not recomputed: a producer that is also returned (needed in memory), and
// one whose input is itself elementwise (a residual stream would be
// recomputed from its start in every layer).
// CHECK-LABEL: func.func @kept
// CHECK-COUNT-5: linalg.generic
// CHECK-NOT: linalg.generic
func.func @kept(%a: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<8xf32>
  %h = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]} ins(%a, %b : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %h2 = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]} ins(%h, %b : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %u = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%h2 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.mulf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %v = linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]} ins(%h2 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %o: f32):
    %s = arith.negf %x : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  %w = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]} ins(%u, %v : tensor<8xf32>, tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %h, %w, %h2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
