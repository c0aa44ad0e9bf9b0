// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=4 row-tile=4 exponent-decode=false" -split-input-file | FileCheck %s
// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=4 row-tile=4" -split-input-file | FileCheck %s --check-prefix=EXP

// int4, group 128, interleaved blocks of 128: per block one 64-byte load per
// row, 8 vectors of 16 lanes (2 slots x 4 chunks), each masked or shifted,
// converted once and fma'd; the group scale by one fma per row.
// CHECK-LABEL: func.func @int4_matvec
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} : !mq.weight<{{.*}}> to tensor<64x128xi8>
// CHECK: scf.forall (%[[T:.*]]) in (16) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<64x1xf32>)
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK: scf.for
// CHECK-COUNT-4: vector.transfer_read %[[W]][%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<64x128xi8>, vector<64xi8>
// CHECK: vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
// CHECK: arith.andi %{{.*}}, %{{.*}} : vector<16xi8>
// CHECK: arith.uitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// CHECK: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: arith.shrui %{{.*}}, %{{.*}} : vector<16xi8>
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<64x2xf32>
// CHECK: vector.broadcast
// CHECK: vector.reduction <add>
// CHECK: tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, 0] [4, 1] [1, 1]
// CHECK-NOT: mq.matvec
// With exponent decoding (the default), 16 bytes are widened to i32 once and
// both of their 4-bit fields go under the exponent of 1.0 (bits 19..22):
// shift, mask, or 0x3F800000, bitcast: f = 1 + k / 16, no uitofp.
// EXP-LABEL: func.func @int4_matvec
// EXP: %[[B:.*]] = vector.extract_strided_slice %{{.*}} {offsets = [0], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
// EXP: %[[Z:.*]] = arith.extui %[[B]] : vector<16xi8> to vector<16xi32>
// EXP: %[[SH19:.*]] = arith.constant dense<19> : vector<16xi32>
// EXP: %[[L:.*]] = arith.shli %[[Z]], %[[SH19]] : vector<16xi32>
// EXP: %[[MASK:.*]] = arith.constant dense<7864320> : vector<16xi32>
// EXP: %[[K:.*]] = arith.andi %[[L]], %[[MASK]] : vector<16xi32>
// EXP: %[[ONE:.*]] = arith.constant dense<1065353216> : vector<16xi32>
// EXP: %[[F:.*]] = arith.ori %[[K]], %[[ONE]] : vector<16xi32>
// EXP: %[[W:.*]] = vector.bitcast %[[F]] : vector<16xi32> to vector<16xf32>
// EXP: vector.fma %[[W]], %{{.*}}, %{{.*}} : vector<16xf32>
// EXP: %[[SH15:.*]] = arith.constant dense<15> : vector<16xi32>
// EXP: arith.shli %[[Z]], %[[SH15]] : vector<16xi32>
// EXP-NOT: arith.uitofp
// EXP: vector.reduction <add>
!w4 = !mq.weight<64x256xf32, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128>>
func.func @int4_matvec(%x: tensor<256xf32>, %w: !w4, %s: tensor<64x2xf32>, %m: tensor<64x2xf32>) -> tensor<64xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w4, tensor<64x2xf32>, tensor<64x2xf32> -> tensor<64xf32>
  return %y : tensor<64xf32>
}

// -----

// int3 = a 2-bit and a 1-bit piece, combined in registers before one
// conversion: both loads, shifts / masks, an ori, then a single uitofp.
// CHECK-LABEL: func.func @int3_pieces
// CHECK: vector.transfer_read {{.*}} : tensor<6x48xi8>, vector<32xi8>
// CHECK: vector.transfer_read {{.*}} : tensor<6x48xi8>, vector<16xi8>
// CHECK: arith.ori %{{.*}}, %{{.*}} : vector<16xi8>
// CHECK-NEXT: arith.uitofp
// EXP-LABEL: func.func @int3_pieces
// EXP: arith.extui %{{.*}} : vector<16xi8> to vector<16xi32>
// EXP: arith.extui %{{.*}} : vector<16xi8> to vector<16xi32>
// EXP: arith.ori %{{.*}}, %{{.*}} : vector<16xi32>
// EXP: arith.ori %{{.*}}, %{{.*}} : vector<16xi32>
// EXP-NEXT: vector.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// EXP-NOT: arith.uitofp
!w3 = !mq.weight<6x128xf32, storage = 8, bits = 3, layout = #mq.layout<interleaved, 3, block = 128>>
func.func @int3_pieces(%x: tensor<128xf32>, %w: !w3, %s: tensor<6x1xf32>, %m: tensor<6x1xf32>) -> tensor<6xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<128xf32>, !w3, tensor<6x1xf32>, tensor<6x1xf32> -> tensor<6xf32>
  return %y : tensor<6xf32>
}

// -----

// 1-bit planes: the plane bytes are the lane mask of a masked add.
// CHECK-LABEL: func.func @int1_planes
// CHECK: vector.transfer_read {{.*}} : tensor<1x4x4xi8>, vector<2xi8>
// CHECK: vector.bitcast %{{.*}} : vector<2xi8> to vector<16xi1>
// CHECK: arith.select %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi1>, vector<16xf32>
!w1 = !mq.weight<4x30xf32, storage = 8, bits = 1, layout = #mq.layout<planes, 1>>
func.func @int1_planes(%x: tensor<30xf32>, %w: !w1, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<30xf32>, !w1, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Prefix-exact int4 of int8: the kernel reads 4-bit indices (no extra bit)
// and scales each group by alpha; the offset terms, computed 16 groups at a
// time after the group loop, use the mid-point offset m' = m + alpha * 2^3
// (numerics::sliceOffset) in place of m; the constant 2^4 of the effective
// scale alpha * 2^4 multiplies each row's lanes once (one fma with the
// offset terms), and one reduction in a tree (reassoc) sums them.
// CHECK-LABEL: func.func @prefix_exact_matvec
// CHECK-SAME: (%{{.*}}: tensor<64xf32>, %{{.*}}: !mq.weight<{{.*}}>, %[[S:.*]]: tensor<8x2xf32>, %[[M:.*]]: tensor<8x2xf32>)
// CHECK: builtin.unrealized_conversion_cast %{{.*}} : !mq.weight<{{.*}}> to tensor<8x32xi8>
// CHECK: %[[A:.*]] = tensor.extract %[[S]][%{{.*}}, %{{.*}}] : tensor<8x2xf32>
// CHECK: %[[AB:.*]] = vector.broadcast %[[A]] : f32 to vector<16xf32>
// CHECK: vector.fma %[[AB]], %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[OFF:.*]] = vector.transfer_read %[[M]][%{{.*}}, %{{.*}}], %{{.*}} : tensor<8x2xf32>, vector<16xf32>
// CHECK: %[[C8:.*]] = arith.constant dense<8.000000e+00> : vector<16xf32>
// CHECK: %[[AV:.*]] = vector.transfer_read %[[S]][%{{.*}}, %{{.*}}], %{{.*}} : tensor<8x2xf32>, vector<16xf32>
// CHECK: %[[MP:.*]] = vector.fma %[[AV]], %[[C8]], %[[OFF]] : vector<16xf32>
// CHECK: vector.fma %[[MP]], %{{.*}}, %{{.*}} : vector<16xf32>
// CHECK: %[[C16:.*]] = arith.constant dense<1.600000e+01> : vector<16xf32>
// CHECK: %[[ROW:.*]] = vector.fma %{{.*}}, %[[C16]], %{{.*}} : vector<16xf32>
// CHECK: vector.reduction <add>, %[[ROW]] fastmath<reassoc> : vector<16xf32> into f32
// With exponent decoding each group sums x * (1 + k / 16): the offsets become
// m + alpha * (2^3 - 2^4 * 2^4) = m - 248 alpha and the row's lanes take
// 2^4 * 2^4 = 256.
// EXP-LABEL: func.func @prefix_exact_matvec
// EXP: %[[OFF:.*]] = vector.transfer_read %[[M:.*]][%{{.*}}, %{{.*}}], %{{.*}} : tensor<8x2xf32>, vector<16xf32>
// EXP: %[[CB:.*]] = arith.constant dense<-2.480000e+02> : vector<16xf32>
// EXP: %[[AV:.*]] = vector.transfer_read %{{.*}} : tensor<8x2xf32>, vector<16xf32>
// EXP: vector.fma %[[AV]], %[[CB]], %[[OFF]] : vector<16xf32>
// EXP: %[[C256:.*]] = arith.constant dense<2.560000e+02> : vector<16xf32>
// EXP: %[[ROW:.*]] = vector.fma %{{.*}}, %[[C256]], %{{.*}} : vector<16xf32>
// EXP: vector.reduction <add>, %[[ROW]] fastmath<reassoc> : vector<16xf32> into f32
!wpe = !mq.weight<8x64xf32, storage = 8, bits = 4, group = 32, mode = prefix_exact, layout = #mq.layout<interleaved, 4, block = 32>>
func.func @prefix_exact_matvec(%x: tensor<64xf32>, %w: !wpe, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<8xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<64xf32>, !wpe, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The float baseline: linalg.matvec on an [N, K] weight, same loop shape,
// in-bounds loads then a masked tail for K = 40 (not a multiple of 16).
// CHECK-LABEL: func.func @float_matvec
// CHECK: scf.forall
// CHECK: vector.transfer_read {{.*}} {in_bounds = [true]} : tensor<8x40xf32>, vector<16xf32>
// The tail read has no in_bounds attribute (it may run past K, masked).
// CHECK: vector.transfer_read {{[^{]*}} : tensor<8x40xf32>, vector<16xf32>
// Each row's lanes are summed in a tree, not in order.
// CHECK: vector.reduction <add>, %{{.*}} fastmath<reassoc> : vector<16xf32> into f32
// CHECK-NOT: linalg.matvec
func.func @float_matvec(%w: tensor<8x40xf32>, %x: tensor<40xf32>, %y0: tensor<8xf32>) -> tensor<8xf32> {
  %y = linalg.matvec ins(%w, %x : tensor<8x40xf32>, tensor<40xf32>) outs(%y0 : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Weights in other layouts are left for convert-mq-to-linalg.
// CHECK-LABEL: func.func @dense_left_alone
// CHECK: mq.matvec
!wd = !mq.weight<4x16xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
func.func @dense_left_alone(%x: tensor<16xf32>, %w: !wd, %s: tensor<4x1xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %w, %s, %s : tensor<16xf32>, !wd, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
