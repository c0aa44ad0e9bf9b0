// REQUIRES: avx512vnni
// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16 row-tile=1 activation-bits=8" -split-input-file | FileCheck %s

// W{r}A8, int2, blocks of 128: the 2-bit piece of a block is 32 bytes, four
// slots of 32 elements. Per 64 weights: the 32 bytes repeated into 64 (one
// broadcast load), each 8-byte word shifted right by its slot's 2 t (slots
// 0 and 1 for the first 64 weights, 2 and 3 for the next), one mask, one
// mq.dot4. Under a cache line per row and block: the weights are prefetched
// 384 bytes ahead.
// CHECK-LABEL: func.func @int2_a8
// CHECK: %[[WB:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<4x64xi8> to memref<4x64xi8>
// CHECK: memref.prefetch %[[WB]][%{{.*}}, %{{.*}}], read, locality<3>, data : memref<4x64xi8>
// CHECK: %[[P:.*]] = vector.transfer_read {{.*}} : tensor<4x64xi8>, vector<32xi8>
// CHECK: %[[R:.*]] = vector.shuffle %[[P]], %[[P]] [0, 1, {{.*}}, 31, 0, 1, {{.*}}, 31] : vector<32xi8>, vector<32xi8>
// CHECK: %[[W0:.*]] = vector.bitcast %[[R]] : vector<64xi8> to vector<8xi64>
// CHECK: %[[S0:.*]] = arith.shrui %[[W0]], %{{.*}} : vector<8xi64>
// CHECK: %[[B0:.*]] = vector.bitcast %[[S0]] : vector<8xi64> to vector<64xi8>
// CHECK: %[[K0:.*]] = arith.andi %[[B0]], %{{.*}} : vector<64xi8>
// CHECK: %[[D0:.*]] = mq.dot4 %{{.*}}, %[[K0]], %{{.*}} : vector<64xi8>, vector<64xi8> into vector<16xi32>
// CHECK: %[[W1:.*]] = vector.bitcast %[[R]] : vector<64xi8> to vector<8xi64>
// CHECK: %[[S1:.*]] = arith.shrui %[[W1]], %{{.*}} : vector<8xi64>
// CHECK: mq.dot4 %[[D0]], %{{.*}}, %{{.*}} : vector<64xi8>, vector<64xi8> into vector<16xi32>
// CHECK-NOT: mq.dot4
// CHECK: scf.yield
!w2 = !mq.weight<4x256xf32, storage = 8, bits = 2, group = 128, layout = #mq.layout<interleaved, 2, block = 128>>
func.func @int2_a8(%x: tensor<256xf32>, %w: !w2, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w2, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// int3 = 2 + 1 bits: the 2-bit piece sits at bit 1, so slot 0 moves left by
// one and slot 1 right by one in the same register: a per-word rotate
// (right by 63 = left by 1, right by 1), then the mask 0b110.
// CHECK-LABEL: func.func @int3_a8
// CHECK: %[[AMT:.*]] = arith.constant dense<[63, 63, 63, 63, 1, 1, 1, 1]> : vector<8xi64>
// CHECK: %[[ROT:.*]] = llvm.intr.fshr(%[[X:.*]], %[[X]], %[[AMT]]) : (vector<8xi64>, vector<8xi64>, vector<8xi64>) -> vector<8xi64>
// CHECK: %[[B:.*]] = vector.bitcast %[[ROT]] : vector<8xi64> to vector<64xi8>
// CHECK: %[[MASK:.*]] = arith.constant dense<6> : vector<64xi8>
// CHECK: arith.andi %[[B]], %[[MASK]] : vector<64xi8>
// The 1-bit piece (16 bytes, eight slots): shifts right by the slot only.
// CHECK: arith.constant dense<[0, 0, 1, 1, 2, 2, 3, 3]> : vector<8xi64>
!w3 = !mq.weight<4x256xf32, storage = 8, bits = 3, group = 128, layout = #mq.layout<interleaved, 3, block = 128>>
func.func @int3_a8(%x: tensor<256xf32>, %w: !w3, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w3, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// int4: a 64-byte piece per block, one shift-and-mask per 64 weights, and a
// cache line per row and block: no software prefetch.
// CHECK-LABEL: func.func @int4_a8
// CHECK-NOT: memref.prefetch
// CHECK: vector.transfer_read {{.*}} : tensor<4x128xi8>, vector<64xi8>
// CHECK: mq.dot4
!w4 = !mq.weight<4x256xf32, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128>>
func.func @int4_a8(%x: tensor<256xf32>, %w: !w4, %s: tensor<4x2xf32>, %m: tensor<4x2xf32>) -> tensor<4xf32> {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w4, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
