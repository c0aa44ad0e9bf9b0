// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=4 row-tile=1 exponent-decode=false plane-transpose=0" -split-input-file | FileCheck %s
// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 accumulators=4 row-tile=1 plane-transpose=0" -split-input-file | FileCheck %s --check-prefix=EXP

// mq.matvec_dynamic on the stored model in 8 bit planes: the width is
// clamped into [1, 8] and one kernel per width is selected by an
// scf.index_switch. With whole 64-element blocks the kernel of width r
// rebuilds the r-bit indices of 64 elements in i8 lanes from 8 bytes of
// each plane it needs. Prefix exact: planes 0..r-1 only (case 2: planes 0
// and 1, k = (b0 << 1) | b1), then convert and fma per 16 lanes; the group
// epilogue scales by alpha * 2^6 and adds the mid-point offset
// m + alpha * 2^5.
// CHECK-LABEL: func.func @dynamic_prefix
// CHECK-SAME: %[[R:[a-zA-Z0-9_]+]]: i32
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to tensor<8x4x16xi8>
// CHECK: %[[RI:.*]] = arith.index_cast %[[R]] : i32 to index
// CHECK: %[[LO:.*]] = arith.maxsi %[[RI]], %{{.*}} : index
// CHECK: %[[HI:.*]] = arith.minsi %[[LO]], %{{.*}} : index
// CHECK: scf.index_switch %[[HI]] -> tensor<4x1xf32>
// CHECK: case 1 {
// CHECK: case 2 {
// CHECK: %[[P0:.*]] = vector.transfer_read %[[W]][%c0{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x16xi8>, vector<8xi8>
// CHECK-NEXT: %[[M0:.*]] = vector.bitcast %[[P0]] : vector<8xi8> to vector<64xi1>
// CHECK-NEXT: %[[B0:.*]] = arith.extui %[[M0]] : vector<64xi1> to vector<64xi8>
// CHECK: %[[S0:.*]] = arith.shli %[[B0]], %{{.*}} : vector<64xi8>
// CHECK: %[[P1:.*]] = vector.transfer_read %[[W]][%c1{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x16xi8>, vector<8xi8>
// CHECK-NEXT: %[[M1:.*]] = vector.bitcast %[[P1]] : vector<8xi8> to vector<64xi1>
// CHECK-NEXT: %[[B1:.*]] = arith.extui %[[M1]] : vector<64xi1> to vector<64xi8>
// CHECK-NEXT: %[[K:.*]] = arith.ori %[[S0]], %[[B1]] : vector<64xi8>
// CHECK-NEXT: %[[K0:.*]] = vector.extract_strided_slice %[[K]] {offsets = [0], sizes = [16], strides = [1]} : vector<64xi8> to vector<16xi8>
// CHECK-NEXT: arith.uitofp %[[K0]] : vector<16xi8> to vector<16xf32>
// CHECK-NOT: vector.transfer_read %[[W]]
// CHECK: arith.constant dense<3.200000e+01> : vector<16xf32>
// CHECK: arith.constant dense<6.400000e+01> : vector<16xf32>
// CHECK: case 3 {
// CHECK: case 7 {
// CHECK: default {
// Exponent decoding (the default, 16 lanes, prefix-exact widths up to 3):
// per 16 elements each plane p
// is a 16-bit mask that sets bit 22 - p of 1.0f (0x3F800000 =
// 1065353216), so f = 1 + k * 2^-r with no byte lanes and no conversion;
// the group's factor takes 2^r more (2^6 * 2^2 = 256) and the offset
// factor gives 2^r * 2^(c-r) alpha back (32 - 256 = -224).
// EXP-LABEL: func.func @dynamic_prefix
// EXP: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to tensor<8x4x16xi8>
// EXP: case 2 {
// EXP: %[[ONE:.*]] = arith.constant dense<1065353216> : vector<16xi32>
// EXP: %[[P0:.*]] = vector.transfer_read %[[W]][%c0{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x16xi8>, vector<2xi8>
// EXP-NEXT: %[[M0:.*]] = vector.bitcast %[[P0]] : vector<2xi8> to vector<16xi1>
// EXP: %[[S0:.*]] = arith.ori %[[ONE]], %{{.*}} : vector<16xi32>
// EXP-NEXT: %[[F0:.*]] = arith.select %[[M0]], %[[S0]], %[[ONE]] : vector<16xi1>, vector<16xi32>
// EXP: %[[P1:.*]] = vector.transfer_read %[[W]][%c1{{[_0-9]*}}, %{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<8x4x16xi8>, vector<2xi8>
// EXP-NEXT: %[[M1:.*]] = vector.bitcast %[[P1]] : vector<2xi8> to vector<16xi1>
// EXP: %[[S1:.*]] = arith.ori %[[F0]], %{{.*}} : vector<16xi32>
// EXP-NEXT: %[[F1:.*]] = arith.select %[[M1]], %[[S1]], %[[F0]] : vector<16xi1>, vector<16xi32>
// EXP-NEXT: %[[F:.*]] = vector.bitcast %[[F1]] : vector<16xi32> to vector<16xf32>
// EXP-NOT: arith.uitofp
// EXP: vector.fma %[[F]], %{{.*}}, %{{.*}} : vector<16xf32>
// EXP: arith.constant dense<-2.240000e+02> : vector<16xf32>
// EXP: arith.constant dense<2.560000e+02> : vector<16xf32>
// EXP: case 3 {
// EXP: case 4 {
// EXP: arith.uitofp %{{.*}} : vector<16xi8> to vector<16xf32>
!wpe = !mq.weight<4x128xf32, storage = 8, bits = 8, mode = prefix_exact, layout = #mq.layout<planes, 8>>
func.func @dynamic_prefix(%x: tensor<128xf32>, %w: !wpe, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<128xf32>, !wpe, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Clamped, indices rebuilt: width 2 reads planes 0, 1 and the rounding bit
// (plane 2), adds it and clamps to 3.
// CHECK-LABEL: func.func @dynamic_clamped_indices
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to tensor<8x4x16xi8>
// CHECK: case 2 {
// CHECK: vector.transfer_read %[[W]][%c0{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: vector.transfer_read %[[W]][%c1{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[K:.*]] = arith.ori %{{.*}}, %{{.*}} : vector<64xi8>
// CHECK: %[[P2:.*]] = vector.transfer_read %[[W]][%c2{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[RB:.*]] = arith.extui %{{.*}} : vector<64xi1> to vector<64xi8>
// CHECK-NEXT: %[[KR:.*]] = arith.addi %[[K]], %[[RB]] : vector<64xi8>
// CHECK: %[[TOP:.*]] = arith.constant dense<3> : vector<64xi8>
// CHECK: arith.minui %[[KR]], %[[TOP]] : vector<64xi8>
// CHECK: case 3 {
// The rounding modes keep the byte lanes with exponent decoding on.
// EXP-LABEL: func.func @dynamic_clamped_indices
// EXP: case 2 {
// EXP: arith.minui %{{.*}}, %{{.*}} : vector<64xi8>
// EXP: arith.uitofp %{{.*}} : vector<16xi8> to vector<16xf32>
// EXP: case 3 {
!wci = !mq.weight<4x128xf32, storage = 8, bits = 8, layout = #mq.layout<planes, 8>>
func.func @dynamic_clamped_indices(%x: tensor<128xf32>, %w: !wci, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<128xf32>, !wci, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Groups of 16 are not whole 64-element blocks: masked partial sums per
// plane. Clamped: width r reads planes 0..r (the rounding bit is plane r),
// and one more partial sum over the codes with all r + 1 top bits set (the
// carry the clamp takes back), masked by their AND; no mid-point offset.
// CHECK-LABEL: func.func @dynamic_clamped
// CHECK: %[[W:.*]] = builtin.unrealized_conversion_cast %{{.*}} to tensor<8x4x4xi8>
// CHECK: scf.index_switch %{{.*}} -> tensor<4x1xf32>
// CHECK: case 1 {
// CHECK: case 2 {
// CHECK: %[[P0:.*]] = vector.transfer_read %[[W]][%c0{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[P1:.*]] = vector.transfer_read %[[W]][%c1{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK: %[[P2:.*]] = vector.transfer_read %[[W]][%c2{{[_0-9]*}}, %{{.*}}, %{{.*}}]
// CHECK-NOT: vector.transfer_read %[[W]]
// CHECK: %[[A:.*]] = arith.andi %[[P0]], %[[P1]] : vector<2xi8>
// CHECK-NEXT: %[[A2:.*]] = arith.andi %[[A]], %[[P2]] : vector<2xi8>
// CHECK-NEXT: vector.bitcast %[[A2]] : vector<2xi8> to vector<16xi1>
// CHECK: arith.constant -1.000000e+00 : f32
// CHECK: case 3 {
!wc = !mq.weight<4x32xf32, storage = 8, bits = 8, group = 16, layout = #mq.layout<planes, 8>>
func.func @dynamic_clamped(%x: tensor<32xf32>, %w: !wc, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>, %r: i32) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<32xf32>, !wc, tensor<4x2xf32>, tensor<4x2xf32>, i32 -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Not a bit-plane weight: left for the reference lowering.
// CHECK-LABEL: func.func @dynamic_logical
// CHECK: mq.matvec_dynamic
!wl = !mq.weight<4x32xf32, storage = 8, bits = 8>
func.func @dynamic_logical(%x: tensor<32xf32>, %w: !wl, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>, %r: index) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<32xf32>, !wl, tensor<4x1xf32>, tensor<4x1xf32>, index -> tensor<4xf32>
  return %y : tensor<4xf32>
}
