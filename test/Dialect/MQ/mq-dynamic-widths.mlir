// RUN: matquant-opt %s --mq-dynamic-widths -split-input-file -verify-diagnostics | FileCheck %s

// Named ops become dynamic-width ops on the stored model (traced back
// through mq.slice), their width loaded from one public table with one entry
// per layer name (first appearance order), initialised to the current
// widths; unnamed ops are left alone.
// CHECK: module attributes {mq.dynamic_layers = ["l0", "l1"]}
// CHECK: memref.global "public" @mq_widths : memref<2xi32> = dense<[2, 8]>
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[W:.*]]: tensor<8x12xf32>, %[[X:.*]]: tensor<12xf32>, %[[XB:.*]]: tensor<3x12xf32>)
// CHECK: %[[Q:.*]], %[[S:.*]], %[[M:.*]] = mq.quantize %[[W]]
// CHECK: %[[T0:.*]] = memref.get_global @mq_widths : memref<2xi32>
// CHECK: %[[I0:.*]] = arith.constant 0 : index
// CHECK: %[[R0:.*]] = memref.load %[[T0]][%[[I0]]] : memref<2xi32>
// CHECK: mq.matvec_dynamic %[[X]], %[[Q]], %[[S]], %[[M]], width %[[R0]] {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32>, i32 -> tensor<8xf32>
// CHECK: %[[T1:.*]] = memref.get_global @mq_widths : memref<2xi32>
// CHECK: %[[I1:.*]] = arith.constant 1 : index
// CHECK: %[[R1:.*]] = memref.load %[[T1]][%[[I1]]] : memref<2xi32>
// CHECK: mq.matmul_dynamic %[[XB]], %[[Q]], %[[S]], %[[M]], width %[[R1]] {layer = "l1"}
// CHECK: mq.matvec_dynamic %[[X]], %[[Q]], %[[S]], %[[M]], width %{{.*}} {layer = "l0"}
// CHECK: mq.matvec %[[X]], %{{.*}}, %[[S]], %[[M]] : tensor<12xf32>
!w8 = !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>
!w2 = !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
!w4 = !mq.weight<8x12xf32, storage = 8, bits = 4, mode = prefix_exact>
func.func @f(%w: tensor<8x12xf32>, %x: tensor<12xf32>, %xb: tensor<3x12xf32>) -> (tensor<8xf32>, tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %q, %s, %m = mq.quantize %w : tensor<8x12xf32> -> !w8, tensor<8x1xf32>, tensor<8x1xf32>
  %q4 = mq.slice %q : !w8 to !w4
  %q2 = mq.slice %q4 : !w4 to !w2
  %y0 = mq.matvec %x, %q2, %s, %m {layer = "l0"} : tensor<12xf32>, !w2, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %y1 = mq.matmul %xb, %q, %s, %m {layer = "l1"} : tensor<3x12xf32>, !w8, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<3x8xf32>
  %y2 = mq.matvec %x, %q2, %s, %m {layer = "l0"} : tensor<12xf32>, !w2, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %y3 = mq.matvec %x, %q4, %s, %m : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  return %y0, %y1, %y2, %y3 : tensor<8xf32>, tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// A weight that is a slice of nothing stored (a function argument at 4 of
// 8 bits) has no stored model to read other widths from.
func.func @no_stored(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 4>, %s: tensor<8x1xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{mq-dynamic-widths: the weight of layer 'l0' does not come from a stored model (it traces back to a 4-bit value of a 8-bit model)}}
  %y = mq.matvec %x, %q, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 4>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// One table entry per layer: two widths under one name cannot be kept.
func.func @two_widths(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 8>, %s: tensor<8x1xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %q2 = mq.slice %q : !mq.weight<8x12xf32, storage = 8, bits = 8> to !mq.weight<8x12xf32, storage = 8, bits = 2>
  %y = mq.matvec %x, %q, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 8>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  // expected-error @+1 {{mq-dynamic-widths: layer 'l0' has ops at 8 and 2 bits; one table entry cannot hold both}}
  %z = mq.matvec %x, %q2, %s, %s {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 2>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  return %y, %z : tensor<8xf32>, tensor<8xf32>
}

// -----

// expected-error @+1 {{mq-dynamic-widths: the module already has a symbol named 'mq_widths'}}
module {
  func.func private @mq_widths()
}
