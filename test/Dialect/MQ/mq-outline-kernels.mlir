// RUN: matquant-opt %s --mq-outline-kernels | FileCheck %s

// Ops that differ only in operands, layer name and dialect-prefixed
// metadata (mq-quantize-weights' mq.weight_sq_norm and mq.slice_errors)
// share one private kernel; another width, another op or another width
// operand get their own. The calls keep the layer names and the metadata.

!w4 = !mq.weight<8x12xf32, storage = 8, bits = 4>
!w2 = !mq.weight<8x12xf32, storage = 8, bits = 2>
!w8 = !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>

// CHECK-LABEL: func.func @f(
// CHECK-SAME: %[[X:[^:]*]]: tensor<12xf32>, %[[A:[^:]*]]: !mq.weight<8x12xf32, storage = 8, bits = 4>, %[[B:[^:]*]]: !mq.weight<8x12xf32, storage = 8, bits = 4>, %[[C:[^:]*]]: !mq.weight<8x12xf32, storage = 8, bits = 2>
// CHECK: %[[Y0:.*]] = call @[[K4:mq_kernel[_0-9]*]](%[[X]], %[[A]], %[[S:[^,]*]], %[[M:[^)]*]]) {mq.layer = "l0"}
// CHECK: %[[Y1:.*]] = call @[[K4]](%[[X]], %[[B]], %[[S]], %[[M]]) {mq.layer = "l1", mq.weight_sq_norm = 2.500000e+00 : f64}
// CHECK: %[[Y2:.*]] = call @[[K2:mq_kernel[_0-9]*]](%[[X]], %[[C]], %[[S]], %[[M]]) {mq.layer = "l2"}
// CHECK: %[[Y3:.*]] = call @[[KB:mq_kernel[_0-9]*]](%{{.*}}, %[[A]], %[[S]], %[[M]]) : (tensor<3x12xf32>
// CHECK: %[[Y4:.*]] = call @[[KD:mq_kernel[_0-9]*]](%[[X]], %{{.*}}, %[[S]], %[[M]], %{{.*}}) {mq.layer = "l3"}
// CHECK: %[[Y5:.*]] = call @[[K4]](%[[X]], %[[B]], %[[S]], %[[M]]) :
// CHECK: return %[[Y0]], %[[Y1]], %[[Y2]], %[[Y3]], %[[Y4]], %[[Y5]]

// CHECK: func.func private @[[K4]](%[[KX:.*]]: tensor<12xf32>, %[[KW:.*]]: !mq.weight<8x12xf32, storage = 8, bits = 4>, %[[KS:.*]]: tensor<8x1xf32>, %[[KM:.*]]: tensor<8x1xf32>) -> tensor<8xf32>
// CHECK-NEXT: %[[R:.*]] = mq.matvec %[[KX]], %[[KW]], %[[KS]], %[[KM]] : tensor<12xf32>
// CHECK-NEXT: return %[[R]]
// CHECK: func.func private @[[K2]]({{.*}}bits = 2>
// CHECK-NEXT: mq.matvec
// CHECK: func.func private @[[KB]]({{.*}}) -> tensor<3x8xf32>
// CHECK-NEXT: mq.matmul
// CHECK: func.func private @[[KD]]({{.*}}, %{{.*}}: i32) -> tensor<8xf32>
// CHECK-NEXT: mq.matvec_dynamic
// CHECK-NOT: func.func private

func.func @f(%x: tensor<12xf32>, %a: !w4, %b: !w4, %c: !w2, %q8: !w8,
             %s: tensor<8x1xf32>, %m: tensor<8x1xf32>, %xb: tensor<3x12xf32>,
             %r: i32)
    -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf32>,
        tensor<8xf32>, tensor<8xf32>) {
  %y0 = mq.matvec %x, %a, %s, %m {layer = "l0"} : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %y1 = mq.matvec %x, %b, %s, %m {layer = "l1", mq.weight_sq_norm = 2.5 : f64} : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %y2 = mq.matvec %x, %c, %s, %m {layer = "l2"} : tensor<12xf32>, !w2, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  %y3 = mq.matmul %xb, %a, %s, %m : tensor<3x12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<3x8xf32>
  %y4 = mq.matvec_dynamic %x, %q8, %s, %m, width %r {layer = "l3"} : tensor<12xf32>, !w8, tensor<8x1xf32>, tensor<8x1xf32>, i32 -> tensor<8xf32>
  %y5 = mq.matvec %x, %b, %s, %m : tensor<12xf32>, !w4, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<3x8xf32>, tensor<8xf32>, tensor<8xf32>
}
