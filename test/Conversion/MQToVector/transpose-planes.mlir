// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=2 row-tile=1 plane-transpose=1" -split-input-file | FileCheck %s
// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=2 row-tile=1 plane-transpose=1 exponent-decode=false" -split-input-file | FileCheck %s --check-prefix=CVT

// Transposed planes (plane-transpose=1, groups of 128): the kernel of width
// r reads 16 bytes of each plane it needs per row and 128 elements, and
// prefetches each 2048 bytes ahead; per 64 elements one byte permute puts
// the planes' bytes j in word j (prefix exact, case 3: planes 0, 1, 2 in
// rows 1, 2, 3, bit 7 free; the other rows read anything, the mask drops
// them), and mq.transpose_bits gives one byte per element. Chunk c of 16
// elements takes byte c of each i32 lane, moved so that bit 6 lands on bit
// 22 (c = 0: << 16), keeps the 3 planes' bits 20 - 22 (7340032) under
// 1.0f (0x3F800000 = 1065353216); the activations are
// read transposed per 64-element block. The group factor is 2^8 and the
// offsets give back 2^8 alpha (mid-point 2^4 - 2^8 = -240).
// CHECK-LABEL: func.func @transpose_prefix
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to tensor<8x4x32xi8>
// CHECK: case 3 {
// CHECK: linalg.transpose ins(%{{.*}} : tensor<1x4x16x4xf32>) outs(%{{.*}} : tensor<1x4x4x16xf32>) permutation = [0, 1, 3, 2]
// CHECK: %[[XT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0], [1, 2, 3]] : tensor<1x4x4x16xf32> into tensor<1x256xf32>
// CHECK: %[[WB:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: vector.transfer_read %[[W]][%c0{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x32xi8>, vector<16xi8>
// CHECK: vector.transfer_read %[[W]][%c1{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x32xi8>, vector<16xi8>
// CHECK: vector.transfer_read %[[W]][%c2{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x32xi8>, vector<16xi8>
// CHECK-NOT: vector.transfer_read %[[W]]
// CHECK: memref.prefetch %[[WB]]
// CHECK: %[[A:.*]] = vector.shuffle %{{.*}}, %{{.*}} [0, 0, 16, 32, 0, 0, 0, 0, 0, 1, 17, 33,
// CHECK-NEXT: %[[T:.*]] = mq.transpose_bits %[[A]] : vector<64xi8>
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 8, 24, 40, 0, 0, 0, 0, 0, 9, 25, 41,
// CHECK-NEXT: mq.transpose_bits
// CHECK: %[[L:.*]] = vector.bitcast %[[T]] : vector<64xi8> to vector<16xi32>
// CHECK: %[[S:.*]] = arith.shli %[[L]], %{{.*}} : vector<16xi32>
// CHECK-NEXT: %[[MASK:.*]] = arith.constant dense<7340032> : vector<16xi32>
// CHECK-NEXT: %[[M:.*]] = arith.andi %[[S]], %[[MASK]] : vector<16xi32>
// CHECK: %[[F:.*]] = arith.ori %[[M]], %{{.*}} : vector<16xi32>
// CHECK-NEXT: %[[FF:.*]] = vector.bitcast %[[F]] : vector<16xi32> to vector<16xf32>
// CHECK: %[[X:.*]] = vector.transfer_read %[[XT]]
// CHECK-NEXT: vector.fma %[[FF]], %[[X]], %{{.*}} : vector<16xf32>
// CHECK: arith.constant dense<-2.400000e+02> : vector<16xf32>
// CHECK: arith.constant dense<2.560000e+02> : vector<16xf32>
// Four planes (case 4) share one transposed vector: half 0's planes in rows
// 0 - 3 (the high nibbles), half 1's in rows 4 - 7; one byte permute and
// one mq.transpose_bits per 128 elements. Chunk 0 moves the high nibble's
// top bit 7 to bit 22 (<< 15) and keeps bits 19 - 22 (7864320).
// CHECK: case 4 {
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 32, 48, 8, 24, 40, 56, 1, 17, 33, 49, 9, 25, 41, 57,
// CHECK-NEXT: %[[T4:.*]] = mq.transpose_bits
// CHECK-NOT: mq.transpose_bits
// CHECK: %[[L4:.*]] = vector.bitcast %[[T4]] : vector<64xi8> to vector<16xi32>
// CHECK-NEXT: %[[S4:.*]] = arith.constant dense<15> : vector<16xi32>
// CHECK-NEXT: arith.shli %[[L4]], %[[S4]] : vector<16xi32>
// CHECK-NEXT: arith.constant dense<7864320> : vector<16xi32>
// CHECK: case 5 {
// Without exponent decoding the planes start at bit 7 and each byte is
// converted: chunk 0 masks the low byte, chunk 3 shifts it down by 24; the
// factor is 1 and the offsets take the mid-point 2^4 alpha.
// CVT-LABEL: func.func @transpose_prefix
// CVT: case 3 {
// CVT: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 32, 64, 64, 64, 64, 64, 1, 17, 33,
// CVT: mq.transpose_bits
// CVT: %[[B:.*]] = arith.constant dense<255> : vector<16xi32>
// CVT-NEXT: %[[K:.*]] = arith.andi %{{.*}}, %[[B]] : vector<16xi32>
// CVT-NEXT: arith.sitofp %[[K]] : vector<16xi32> to vector<16xf32>
// CVT: %[[C24:.*]] = arith.constant dense<24> : vector<16xi32>
// CVT-NEXT: %[[K3:.*]] = arith.shrui %{{.*}}, %[[C24]] : vector<16xi32>
// CVT-NEXT: arith.sitofp %[[K3]] : vector<16xi32> to vector<16xf32>
// CVT: arith.constant dense<1.600000e+01> : vector<16xf32>
// CVT: case 4 {
!wpe = !mq.weight<4x256xf32, storage = 8, bits = 8, mode = prefix_exact, group = 128, layout = #mq.layout<planes, 8>>
func.func @transpose_prefix(%x: tensor<256xf32>, %w: !wpe, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<256xf32>, !wpe, tensor<4x2xf32>, tensor<4x2xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Clamped, width 2: planes 0, 1 and the rounding bit 2 from bit 7 down (no
// free bit: the saturating add of 2^5 carries into it), then the top 2 bits
// kept (0xC0 = -64): k = 4 saturates to 3.
// CHECK-LABEL: func.func @transpose_clamped
// CHECK: case 2 {
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [0, 16, 32, 64, 64, 64, 64, 64, 1, 17, 33,
// CHECK-NEXT: %[[T:.*]] = mq.transpose_bits %{{.*}} : vector<64xi8>
// CHECK-NEXT: %[[H:.*]] = arith.constant dense<32> : vector<64xi8>
// CHECK-NEXT: %[[R:.*]] = llvm.intr.uadd.sat(%[[T]], %[[H]]) : (vector<64xi8>, vector<64xi8>) -> vector<64xi8>
// CHECK-NEXT: %[[K:.*]] = arith.constant dense<-64> : vector<64xi8>
// CHECK-NEXT: arith.andi %[[R]], %[[K]] : vector<64xi8>
// CHECK: case 3 {
!wc = !mq.weight<4x256xf32, storage = 8, bits = 8, mode = clamped, group = 128, layout = #mq.layout<planes, 8>>
func.func @transpose_clamped(%x: tensor<256xf32>, %w: !wc, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<256xf32>, !wc, tensor<4x2xf32>, tensor<4x2xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Extra precision, width 2: plane 0 at bit 5 (bit 6 takes the carry k = 4,
// bit 7 is free), a plain add of 2^3 and the top bits kept (0xF0 = -16).
// CHECK-LABEL: func.func @transpose_extra
// CHECK: case 2 {
// CHECK: vector.shuffle %{{.*}}, %{{.*}} [64, 64, 0, 16, 32, 64, 64, 64, 64, 64, 1, 17, 33,
// CHECK-NEXT: %[[T:.*]] = mq.transpose_bits %{{.*}} : vector<64xi8>
// CHECK-NEXT: %[[H:.*]] = arith.constant dense<8> : vector<64xi8>
// CHECK-NEXT: %[[R:.*]] = arith.addi %[[T]], %[[H]] : vector<64xi8>
// CHECK-NEXT: %[[K:.*]] = arith.constant dense<-16> : vector<64xi8>
// CHECK-NEXT: arith.andi %[[R]], %[[K]] : vector<64xi8>
// CHECK: case 3 {
!we = !mq.weight<4x256xf32, storage = 8, bits = 8, mode = extra_precision, group = 128, layout = #mq.layout<planes, 8>>
func.func @transpose_extra(%x: tensor<256xf32>, %w: !we, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<256xf32>, !we, tensor<4x2xf32>, tensor<4x2xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Groups of 64 are not whole 128-element blocks: the byte lanes.
// CHECK-LABEL: func.func @transpose_groups_of_64
// CHECK-NOT: mq.transpose_bits
// CHECK: arith.extui %{{.*}} : vector<64xi1> to vector<64xi8>
// CHECK-NOT: mq.transpose_bits
// CHECK: return
!w64 = !mq.weight<4x256xf32, storage = 8, bits = 8, mode = clamped, group = 64, layout = #mq.layout<planes, 8>>
func.func @transpose_groups_of_64(%x: tensor<256xf32>, %w: !w64, %s: tensor<4x4xf32>, %m: tensor<4x4xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<256xf32>, !w64, tensor<4x4xf32>, tensor<4x4xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}
