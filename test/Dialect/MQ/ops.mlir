// RUN: matquant-opt %s | matquant-opt | FileCheck %s
// RUN: matquant-opt %s --mlir-print-op-generic | matquant-opt | FileCheck %s

!w8 = !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2], group = 6>
!w4 = !mq.weight<8x12xf32, storage = 8, bits = 4, widths = [8, 4, 2], group = 6>
!w2 = !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2], group = 6>
!p2 = !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2], group = 6, layout = #mq.layout<dense, 2>>
!pl = !mq.weight<8x12xf32, storage = 8, bits = 4, widths = [8, 4, 2], group = 6, layout = #mq.layout<planes, 4>>

// CHECK-LABEL: func.func @pipeline
// CHECK-SAME: (%[[W:.*]]: tensor<8x12xf32>, %[[X:.*]]: tensor<12xf32>, %[[XB:.*]]: tensor<3x12xf16>)
func.func @pipeline(%w: tensor<8x12xf32>, %x: tensor<12xf32>, %xb: tensor<3x12xf16>)
    -> (tensor<8xf32>, tensor<3x8xf16>, tensor<8x12xf32>) {
  // CHECK: %[[Q:.*]], %[[S:.*]], %[[M:.*]] = mq.quantize %[[W]] clip(0.899999976, 0.949999988) : tensor<8x12xf32> -> !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2], group = 6>, tensor<8x2xf32>, tensor<8x2xf32>
  %q, %s, %m = mq.quantize %w clip(0.9, 0.95) : tensor<8x12xf32> -> !w8, tensor<8x2xf32>, tensor<8x2xf32>
  // CHECK: %[[Q2:.*]] = mq.slice %[[Q]] : !mq.weight<{{.*}}bits = 8{{.*}}> to !mq.weight<{{.*}}bits = 2{{.*}}>
  %q2 = mq.slice %q : !w8 to !w2
  // CHECK: %[[P:.*]] = mq.pack %[[Q2]] : {{.*}} to !mq.weight<{{.*}}layout = #mq.layout<dense, 2>>
  %p = mq.pack %q2 : !w2 to !p2
  // CHECK: mq.matvec %[[X]], %[[P]], %[[S]], %[[M]] {layer = "layers.0.w1"}
  %y = mq.matvec %x, %p, %s, %m {layer = "layers.0.w1"} : tensor<12xf32>, !p2, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8xf32>
  // CHECK: %[[Q4:.*]] = mq.slice %[[Q]]
  %q4 = mq.slice %q : !w8 to !w4
  // CHECK: %[[PL:.*]] = mq.pack %[[Q4]] : {{.*}} to !mq.weight<{{.*}}layout = #mq.layout<planes, 4>>
  %pl = mq.pack %q4 : !w4 to !pl
  // CHECK: mq.matmul %[[XB]], %[[PL]], %[[S]], %[[M]] : tensor<3x12xf16>
  %z = mq.matmul %xb, %pl, %s, %m : tensor<3x12xf16>, !pl, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<3x8xf16>
  // CHECK: %[[U:.*]] = mq.unpack %[[PL]]
  %u = mq.unpack %pl : !pl to !w4
  // CHECK: mq.dequantize %[[U]], %[[S]], %[[M]]
  %d = mq.dequantize %u, %s, %m : !w4, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8x12xf32>
  return %y, %z, %d : tensor<8xf32>, tensor<3x8xf16>, tensor<8x12xf32>
}

// CHECK-LABEL: func.func @types
// CHECK-SAME: !mq.weight<4x6xbf16, storage = 4, bits = 3, axis = 1, group = 2, mode = extra_precision, layout = #mq.layout<dense, 4>>
// CHECK-SAME: !mq.weight<4x6xf16, storage = 1, bits = 1>
func.func @types(%a: !mq.weight<4x6xbf16, storage = 4, bits = 3, axis = 1, group = 2, mode = extra_precision, layout = #mq.layout<dense, 4>>,
                 %b: !mq.weight<4x6xf16, storage = 1, bits = 1>) {
  return
}

// CHECK-LABEL: func.func @interleaved
// CHECK-SAME: !mq.weight<4x96xf32, storage = 8, bits = 2, group = 48, mode = extra_precision, layout = #mq.layout<interleaved, 3, block = 16>>
func.func @interleaved(%a: !mq.weight<4x96xf32, storage = 8, bits = 2, group = 48, mode = extra_precision, layout = #mq.layout<interleaved, 3, block = 16>>) {
  return
}

// Rows tiled in the interleaved layout; rows = 1 is the default and is not
// printed.
// CHECK-LABEL: func.func @interleaved_rows
// CHECK-SAME: layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
// CHECK-SAME: layout = #mq.layout<interleaved, 4, block = 128>>
func.func @interleaved_rows(%a: !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>, %b: !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128, rows = 1>>) {
  return
}

// A prefix-exact r-bit index needs r bits in every layout.
// CHECK-LABEL: func.func @prefix_exact
// CHECK-SAME: !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 2>>
// CHECK-SAME: !mq.weight<4x16xf32, storage = 8, bits = 3, group = 8, mode = prefix_exact, layout = #mq.layout<interleaved, 3, block = 8>>
// CHECK-SAME: !mq.weight<6x4xf16, storage = 6, bits = 5, axis = 1, mode = prefix_exact, layout = #mq.layout<dense, 5>>
// CHECK: mq.slice %{{.*}} : !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact>
// CHECK: mq.matvec %{{.*}} : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 2>>
func.func @prefix_exact(%a: !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 2>>,
                        %b: !mq.weight<4x16xf32, storage = 8, bits = 3, group = 8, mode = prefix_exact, layout = #mq.layout<interleaved, 3, block = 8>>,
                        %c: !mq.weight<6x4xf16, storage = 6, bits = 5, axis = 1, mode = prefix_exact, layout = #mq.layout<dense, 5>>,
                        %q: !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact>,
                        %x: tensor<16xf32>, %s: tensor<4x1xf32>) -> tensor<4xf32> {
  %q2 = mq.slice %q : !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact>
  %p = mq.pack %q2 : !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact> to !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 2>>
  %y = mq.matvec %x, %p, %s, %s : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 2, mode = prefix_exact, layout = #mq.layout<planes, 2>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// CHECK-LABEL: func.func @constant
// CHECK: mq.constant dense<{{\[}}[0, 3, 1], [2, 2, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
func.func @constant() -> !mq.weight<2x3xf32, storage = 8, bits = 2> {
  %c = mq.constant dense<[[0, 3, 1], [2, 2, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
  return %c : !mq.weight<2x3xf32, storage = 8, bits = 2>
}

// CHECK-LABEL: func.func @schedule
// CHECK-SAME: mq.schedule = #mq.schedule<default = 4, layers = {layers.0.w1 = 2 : i64, layers.1.w1 = 8 : i64}>
func.func @schedule() attributes {mq.schedule = #mq.schedule<default = 4, layers = {"layers.0.w1" = 2, "layers.1.w1" = 8}>} {
  return
}

// The stored model at a width chosen at run time (i32 or index).
// CHECK-LABEL: func.func @dynamic_width
// CHECK: mq.matvec_dynamic %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, width %{{.*}} {layer = "l0"} : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
// CHECK: mq.matmul_dynamic %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, width %{{.*}} : tensor<3x16xf16>, !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>, tensor<4x1xf32>, tensor<4x1xf32>, index -> tensor<3x4xf16>
func.func @dynamic_width(%x: tensor<16xf32>, %xb: tensor<3x16xf16>,
                         %w: !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>,
                         %s: tensor<4x1xf32>, %r: i32, %ri: index) -> (tensor<4xf32>, tensor<3x4xf16>) {
  %y = mq.matvec_dynamic %x, %w, %s, %s, width %r {layer = "l0"} : tensor<16xf32>, !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
  %z = mq.matmul_dynamic %xb, %w, %s, %s, width %ri : tensor<3x16xf16>, !mq.weight<4x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>, tensor<4x1xf32>, tensor<4x1xf32>, index -> tensor<3x4xf16>
  return %y, %z : tensor<4xf32>, tensor<3x4xf16>
}
