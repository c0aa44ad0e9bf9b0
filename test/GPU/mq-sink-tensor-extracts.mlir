// RUN: matquant-opt %s --split-input-file --mq-sink-tensor-extracts | FileCheck %s
// RUN: matquant-opt %s --split-input-file --mq-sink-tensor-extracts --canonicalize | FileCheck %s --check-prefix=CANON

// mq-sink-tensor-extracts: a scalar that a linalg op's body captures and
// that is computed (in the op's block, by region-free scalar ops) from a
// tensor.extract gets a private copy of that computation at the start of
// the body, and the body uses the copy. The originals are left for
// canonicalize to remove once dead (second RUN line). A captured scalar
// computed from function arguments alone stays outside the body: it is
// host arithmetic on scalars and becomes a kernel argument. This keeps the
// GPU host code from reading device memory (RMSNorm's 1 / sqrt(mean + eps)).

#id1 = affine_map<(d0) -> (d0)>
#none = affine_map<(d0) -> ()>
func.func @rmsnorm(%x: tensor<64xf32>, %w: tensor<64xf32>, %acc: tensor<f32>, %out: tensor<64xf32>, %eps: f32, %n: f32) -> tensor<64xf32> {
  %sum = linalg.generic {indexing_maps = [#id1, #none], iterator_types = ["reduction"]}
      ins(%x : tensor<64xf32>) outs(%acc : tensor<f32>) {
  ^bb0(%a: f32, %s: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %sq, %s : f32
    linalg.yield %r : f32
  } -> tensor<f32>
  %total = tensor.extract %sum[] : tensor<f32>
  %mean = arith.divf %total, %n : f32
  %me = arith.addf %mean, %eps : f32
  %rms = math.sqrt %me : f32
  %scale = arith.mulf %eps, %n : f32
  %y = linalg.generic {indexing_maps = [#id1, #id1, #id1], iterator_types = ["parallel"]}
      ins(%x, %w : tensor<64xf32>, tensor<64xf32>) outs(%out : tensor<64xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.mulf %a, %b : f32
    %u = arith.divf %t, %rms : f32
    %v = arith.mulf %u, %scale : f32
    linalg.yield %v : f32
  } -> tensor<64xf32>
  return %y : tensor<64xf32>
}

// CHECK-LABEL: func.func @rmsnorm(
// CHECK-SAME: %[[X:[^:]*]]: tensor<64xf32>, %[[W:[^:]*]]: tensor<64xf32>, %[[ACC:[^:]*]]: tensor<f32>, %[[OUT:[^:]*]]: tensor<64xf32>, %[[EPS:[^:]*]]: f32, %[[N:[^:]*]]: f32)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} outs(%[[ACC]] : tensor<f32>)
// CHECK: } -> tensor<f32>
// The originals, still there (now unused):
// CHECK-NEXT: %[[T0:.*]] = tensor.extract %[[SUM]][] : tensor<f32>
// CHECK-NEXT: %[[M0:.*]] = arith.divf %[[T0]], %[[N]] : f32
// CHECK-NEXT: %[[E0:.*]] = arith.addf %[[M0]], %[[EPS]] : f32
// CHECK-NEXT: %[[R0:.*]] = math.sqrt %[[E0]] : f32
// CHECK-NEXT: %[[SCALE:.*]] = arith.mulf %[[EPS]], %[[N]] : f32
// CHECK-NEXT: %[[Y:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] : tensor<64xf32>, tensor<64xf32>) outs(%[[OUT]] : tensor<64xf32>) {
// CHECK-NEXT: ^bb0(%[[A:.*]]: f32, %[[B:.*]]: f32, %{{.*}}: f32):
// The copy, at the start of the body, reading the element there:
// CHECK-NEXT: %[[T1:.*]] = tensor.extract %[[SUM]][] : tensor<f32>
// CHECK-NEXT: %[[M1:.*]] = arith.divf %[[T1]], %[[N]] : f32
// CHECK-NEXT: %[[E1:.*]] = arith.addf %[[M1]], %[[EPS]] : f32
// CHECK-NEXT: %[[R1:.*]] = math.sqrt %[[E1]] : f32
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT: %[[Q:.*]] = arith.divf %[[P]], %[[R1]] : f32
// The scalar of function arguments is still captured from outside:
// CHECK-NEXT: %[[V:.*]] = arith.mulf %[[Q]], %[[SCALE]] : f32
// CHECK-NEXT: linalg.yield %[[V]] : f32
// CHECK: return %[[Y]]

// CANON-LABEL: func.func @rmsnorm(
// CANON-SAME: %[[EPS:[^:]*]]: f32, %[[N:[^:]*]]: f32)
// CANON: %[[SUM:.*]] = linalg.generic
// CANON: } -> tensor<f32>
// CANON-NEXT: %[[SCALE:.*]] = arith.mulf %[[EPS]], %[[N]] : f32
// CANON-NEXT: linalg.generic
// CANON-NEXT: ^bb0
// CANON-NEXT: tensor.extract %[[SUM]][] : tensor<f32>
// CANON-NEXT: arith.divf
// CANON-NEXT: arith.addf
// CANON-NEXT: math.sqrt
// CANON: arith.mulf %{{.*}}, %[[SCALE]] : f32
// CANON-NOT: tensor.extract
// CANON: return

// -----

// Two ops capture the same value: each gets its own copy. The element is
// read at a position that is a function argument (the decode step's
// position), which the copy keeps using; the constant in the computation
// is copied along.

#id1 = affine_map<(d0) -> (d0)>
func.func @two_users(%t: tensor<16xf32>, %pos: index, %a: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.extract %t[%pos] : tensor<16xf32>
  %half = arith.constant 0.5 : f32
  %h = arith.mulf %e, %half : f32
  %ya = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : tensor<8xf32>) {
  ^bb0(%o: f32):
    %r = arith.addf %o, %h : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %yb = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%b : tensor<8xf32>) {
  ^bb0(%o: f32):
    %r = arith.subf %o, %h : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %ya, %yb : tensor<8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @two_users(
// CHECK-SAME: %[[T:[^:]*]]: tensor<16xf32>, %[[POS:[^:]*]]: index
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[O:.*]]: f32):
// CHECK-NEXT: %[[E:.*]] = tensor.extract %[[T]][%[[POS]]] : tensor<16xf32>
// CHECK-NEXT: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[H:.*]] = arith.mulf %[[E]], %[[HALF]] : f32
// CHECK-NEXT: arith.addf %[[O]], %[[H]] : f32
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[O:.*]]: f32):
// CHECK-NEXT: %[[E:.*]] = tensor.extract %[[T]][%[[POS]]] : tensor<16xf32>
// CHECK-NEXT: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[H:.*]] = arith.mulf %[[E]], %[[HALF]] : f32
// CHECK-NEXT: arith.subf %[[O]], %[[H]] : f32

// CANON-LABEL: func.func @two_users(
// CANON-NOT: tensor.extract
// CANON: linalg.generic
// CANON: tensor.extract
// CANON: linalg.generic
// CANON: tensor.extract
// CANON-NOT: tensor.extract

// -----

// Left alone: a captured scalar of function arguments only, a captured
// extract defined in another block (outside the loop that holds the op),
// and an extract that the host uses itself (returned): the op gets its
// copy but the original stays alive.

#id1 = affine_map<(d0) -> (d0)>
func.func @left_alone(%t: tensor<4xf32>, %a: tensor<8xf32>, %s: f32, %n: index) -> (tensor<8xf32>, f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %e = tensor.extract %t[%c1] : tensor<4xf32>
  %s2 = arith.mulf %s, %s : f32
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %a) -> (tensor<8xf32>) {
    %y = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%acc : tensor<8xf32>) {
    ^bb0(%o: f32):
      %p = arith.addf %o, %e : f32
      %q = arith.mulf %p, %s2 : f32
      linalg.yield %q : f32
    } -> tensor<8xf32>
    scf.yield %y : tensor<8xf32>
  }
  %z = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%r : tensor<8xf32>) {
  ^bb0(%o: f32):
    %p = arith.addf %o, %e : f32
    linalg.yield %p : f32
  } -> tensor<8xf32>
  return %z, %e : tensor<8xf32>, f32
}

// CHECK-LABEL: func.func @left_alone(
// CHECK: %[[E:.*]] = tensor.extract %{{.*}}[%{{.*}}] : tensor<4xf32>
// CHECK-NEXT: %[[S2:.*]] = arith.mulf
// CHECK: scf.for
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[O:.*]]: f32):
// CHECK-NEXT: %[[P:.*]] = arith.addf %[[O]], %[[E]] : f32
// CHECK-NEXT: arith.mulf %[[P]], %[[S2]] : f32
// CHECK: scf.yield
// CHECK: linalg.generic
// CHECK-NEXT: ^bb0(%[[O:.*]]: f32):
// CHECK-NEXT: %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT: %[[E2:.*]] = tensor.extract %{{.*}}[%[[C1]]] : tensor<4xf32>
// CHECK-NEXT: arith.addf %[[O]], %[[E2]] : f32
// CHECK: return %{{.*}}, %[[E]] : tensor<8xf32>, f32

// CANON-LABEL: func.func @left_alone(
// CANON: tensor.extract
// CANON: scf.for
// CANON-NOT: tensor.extract
// CANON: scf.yield
// CANON: linalg.generic
// CANON-NEXT: ^bb0
// CANON-NEXT: tensor.extract
// CANON: return
