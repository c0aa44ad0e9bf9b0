// RUN: matquant-opt %s --mq-apply-schedule -split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-apply-schedule='schedule="#mq.schedule<default = 3, layers = {l0 = 8}>"' -split-input-file | FileCheck %s --check-prefix=OPT

!w8 = !mq.weight<8x12xf32, storage = 8, bits = 8>
!w4 = !mq.weight<8x12xf32, storage = 8, bits = 4>

// Each named layer gets a slice of the stored model at its width; a layer
// already fed a slice is re-sliced from the stored model, not from the slice.
// Two 8x12 weights with 8 (scale, offset) pairs each:
// (96 * 2 + 96 * 4 + 2 * 8 * 64) / 192 = 8.333...
// CHECK: module attributes {mq.effective_bits = 8.33333{{[0-9]*}} : f64
// CHECK-LABEL: func.func @f
// CHECK-SAME: (%[[W:.*]]: tensor<8x12xf32>, %[[X:.*]]: tensor<12xf32>)
// CHECK: %[[Q:.*]], %[[S:.*]], %[[M:.*]] = mq.quantize %[[W]]
// CHECK: %[[Q2:.*]] = mq.slice %[[Q]] : !mq.weight<8x12xf32, storage = 8, bits = 8> to !mq.weight<8x12xf32, storage = 8, bits = 2>
// CHECK: mq.matvec %[[X]], %[[Q2]], %[[S]], %[[M]] {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 2>
// CHECK: %[[Q4:.*]] = mq.slice %[[Q]] : !mq.weight<8x12xf32, storage = 8, bits = 8> to !mq.weight<8x12xf32, storage = 8, bits = 4>
// CHECK-NOT: mq.slice
// CHECK: mq.matvec %[[X]], %[[Q4]], %[[S]], %[[M]] {layer = "l1"}
// CHECK: mq.matvec %[[X]], %[[Q4]], %[[S]], %[[M]] : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 4>
// (96 * 8 + 96 * 3 + 2 * 8 * 64) / 192 = 10.833...
// OPT: module attributes {mq.effective_bits = 10.8333{{[0-9]*}} : f64
// OPT: %[[Q:.*]], %{{.*}}, %{{.*}} = mq.quantize
// OPT: mq.matvec %{{.*}}, %[[Q]], %{{.*}} {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 8>
// OPT: mq.slice %{{.*}} to !mq.weight<8x12xf32, storage = 8, bits = 3>
// OPT: {layer = "l1"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 3>
module attributes {mq.schedule = #mq.schedule<default = 4, layers = {l0 = 2}>} {
  func.func @f(%w: tensor<8x12xf32>, %x: tensor<12xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
    %q, %s, %m = mq.quantize %w : tensor<8x12xf32> -> !w8, tensor<8x1xf32>, tensor<8x1xf32>
    %y0 = mq.matvec %x, %q, %s, %m {layer = "l0"} : tensor<12xf32>, !w8, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    %q4 = mq.slice %q : !w8 to !w4
    %y1 = mq.matvec %x, %q4, %s, %m {layer = "l1"} : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    // Unnamed: left alone.
    %y2 = mq.matvec %x, %q4, %s, %m : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    return %y0, %y1, %y2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  }
}

// -----

// A prefix-exact model is sliced in its own mode; the slice of a slice is
// again taken from the stored model.
// CHECK-LABEL: func.func @prefix
// CHECK: %[[Q:.*]], %[[S:.*]], %[[M:.*]] = mq.quantize
// CHECK: %[[Q2:.*]] = mq.slice %[[Q]] : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
// CHECK: mq.matvec %{{.*}}, %[[Q2]], %[[S]], %[[M]] {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
// CHECK: %[[Q4:.*]] = mq.slice %[[Q]] : {{.*}} to !mq.weight<8x12xf32, storage = 8, bits = 4, mode = prefix_exact>
// CHECK: mq.matvec %{{.*}}, %[[Q4]], %[[S]], %[[M]] {layer = "l1"}
module attributes {mq.schedule = #mq.schedule<default = 4, layers = {l0 = 2}>} {
  func.func @prefix(%w: tensor<8x12xf32>, %x: tensor<12xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
    %q, %s, %m = mq.quantize %w : tensor<8x12xf32> -> !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32>
    %y0 = mq.matvec %x, %q, %s, %m {layer = "l0"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    %q6 = mq.slice %q : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<8x12xf32, storage = 8, bits = 6, mode = prefix_exact>
    %y1 = mq.matvec %x, %q6, %s, %m {layer = "l1"} : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 6, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    return %y0, %y1 : tensor<8xf32>, tensor<8xf32>
  }
}
