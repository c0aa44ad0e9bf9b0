// RUN: matquant-opt %s --mq-select-cpu-layout -split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-select-cpu-layout --canonicalize -split-input-file | FileCheck %s --check-prefix=FOLD

// A logical weight is packed into interleaved blocks of the largest of
// 128..8 that divides its group (here 48 -> 16), its rows tiled by the
// largest power of two up to 8 that divides them (4).
// CHECK-LABEL: func.func @logical
// CHECK: %[[P:.*]] = mq.pack %{{.*}} : !mq.weight<4x96xf32, storage = 8, bits = 3, group = 48> to !mq.weight<4x96xf32, storage = 8, bits = 3, group = 48, layout = #mq.layout<interleaved, 3, block = 16, rows = 4>>
// CHECK: mq.matvec %{{.*}}, %[[P]]
func.func @logical(%x: tensor<96xf32>, %q: !mq.weight<4x96xf32, storage = 8, bits = 3, group = 48>, %s: tensor<4x2xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %q, %s, %s : tensor<96xf32>, !mq.weight<4x96xf32, storage = 8, bits = 3, group = 48>, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Another layout is unpacked first; 1-bit indices go to bit planes.
// CHECK-LABEL: func.func @dense_to_planes
// CHECK: %[[U:.*]] = mq.unpack %{{.*}} : {{.*}}layout = #mq.layout<dense, 1>> to !mq.weight<4x32xf32, storage = 8, bits = 1>
// CHECK: mq.pack %[[U]] : {{.*}} to !mq.weight<4x32xf32, storage = 8, bits = 1, layout = #mq.layout<planes, 1>>
func.func @dense_to_planes(%x: tensor<32xf32>, %q: !mq.weight<4x32xf32, storage = 8, bits = 1, layout = #mq.layout<dense, 1>>, %s: tensor<4x1xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %q, %s, %s : tensor<32xf32>, !mq.weight<4x32xf32, storage = 8, bits = 1, layout = #mq.layout<dense, 1>>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Axis 1 weights and groups no block divides are left for the reference.
// CHECK-LABEL: func.func @left_alone
// CHECK-NOT: mq.pack
// CHECK: return
func.func @left_alone(%x: tensor<3x6xf32>, %q: !mq.weight<6x4xf32, storage = 8, bits = 4, axis = 1>, %s: tensor<1x4xf32>, %x2: tensor<12xf32>, %q2: !mq.weight<2x12xf32, storage = 8, bits = 4, group = 6>, %s2: tensor<2x2xf32>) -> (tensor<3x4xf32>, tensor<2xf32>) {
  %y = mq.matmul %x, %q, %s, %s : tensor<3x6xf32>, !mq.weight<6x4xf32, storage = 8, bits = 4, axis = 1>, tensor<1x4xf32>, tensor<1x4xf32> -> tensor<3x4xf32>
  %y2 = mq.matvec %x2, %q2, %s2, %s2 : tensor<12xf32>, !mq.weight<2x12xf32, storage = 8, bits = 4, group = 6>, tensor<2x2xf32>, tensor<2x2xf32> -> tensor<2xf32>
  return %y, %y2 : tensor<3x4xf32>, tensor<2xf32>
}

// -----

// On a constant weight the repacking folds at compile time: 4-bit indices
// 0..15 in one block of 16 put element e in byte e % 8 at bit 4 * (e / 8),
// so byte i is i | (i + 8) << 4 = 128 + 17 i (printed as signed i8).
// FOLD-LABEL: func.func @constant
// FOLD: mq.constant dense<{{\[}}[-128, -111, -94, -77, -60, -43, -26, -9]]> : tensor<1x8xi8> : !mq.weight<1x16xf32, storage = 8, bits = 4, group = 16, layout = #mq.layout<interleaved, 4, block = 16>>
// FOLD-NOT: mq.pack
func.func @constant(%x: tensor<16xf32>, %s: tensor<1x1xf32>) -> tensor<1xf32> {
  %q = mq.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]> : tensor<1x16xi8> : !mq.weight<1x16xf32, storage = 8, bits = 4, group = 16>
  %y = mq.matvec %x, %q, %s, %s : tensor<16xf32>, !mq.weight<1x16xf32, storage = 8, bits = 4, group = 16>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1xf32>
  return %y : tensor<1xf32>
}

// -----

// The stored model of a dynamic-width op goes to c bit planes; with groups
// that are not whole 16-lane chunks it stays for the reference lowering.
// CHECK-LABEL: func.func @dynamic
// FOLD-LABEL: func.func @dynamic
// CHECK: %[[P:.*]] = mq.pack %{{.*}} : !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32, mode = prefix_exact> to !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32, mode = prefix_exact, layout = #mq.layout<planes, 8>>
// CHECK: mq.matvec_dynamic %{{.*}}, %[[P]], %{{.*}}, %{{.*}}, width
// CHECK-NOT: mq.pack
// CHECK: mq.matvec_dynamic %{{.*}}, %{{.*}} : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8, group = 8>,
func.func @dynamic(%x: tensor<64xf32>, %q: !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32, mode = prefix_exact>, %s: tensor<4x2xf32>,
                   %q8: !mq.weight<4x64xf32, storage = 8, bits = 8, group = 8>, %s8: tensor<4x8xf32>, %r: i32) -> (tensor<4xf32>, tensor<4xf32>) {
  %y = mq.matvec_dynamic %x, %q, %s, %s, width %r : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32, mode = prefix_exact>, tensor<4x2xf32>, tensor<4x2xf32>, i32 -> tensor<4xf32>
  %z = mq.matvec_dynamic %x, %q8, %s8, %s8, width %r : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8, group = 8>, tensor<4x8xf32>, tensor<4x8xf32>, i32 -> tensor<4xf32>
  return %y, %z : tensor<4xf32>, tensor<4xf32>
}

// -----

// A constant stored model is repacked into planes at compile time.
// FOLD-LABEL: func.func @dynamic_constant
// FOLD: %[[C:.*]] = mq.constant dense<{{.*}}> : tensor<8x1x2xi8> : !mq.weight<1x16xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>
// FOLD-NOT: mq.pack
// FOLD: mq.matvec_dynamic %{{.*}}, %[[C]]
func.func @dynamic_constant(%x: tensor<16xf32>, %s: tensor<1x1xf32>, %r: i32) -> tensor<1xf32> {
  %q = mq.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255]]> : tensor<1x16xi8> : !mq.weight<1x16xf32, storage = 8, bits = 8, mode = prefix_exact>
  %y = mq.matvec_dynamic %x, %q, %s, %s, width %r : tensor<16xf32>, !mq.weight<1x16xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<1x1xf32>, tensor<1x1xf32>, i32 -> tensor<1xf32>
  return %y : tensor<1xf32>
}
