// RUN: matquant-opt %s --convert-mq-to-vector="vector-width=16" --canonicalize --cse | FileCheck %s

// Rows tiled in the interleaved layout: the kernel views the storage
// [16, 64] as one row per tile of 8 rows, [2, 512], and reads block b of the
// tile's row r at byte b * 8 * 64 + r * 64 (one 64-byte block per row and
// group here).
// CHECK-LABEL: func.func @int4_rows
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<16x64xi8> into tensor<1024xi8>
// CHECK: %[[TILES:.*]] = tensor.expand_shape %[[FLAT]] {{\[}}[0, 1]] output_shape [2, 512] : tensor<1024xi8> into tensor<2x512xi8>
// CHECK: scf.forall (%[[T:.*]]) in (2)
// CHECK: vector.transfer_read %[[TILES]][%{{.*}}, %{{.*}}], %{{.*}} {in_bounds = [true]} : tensor<2x512xi8>, vector<64xi8>
// CHECK-NOT: tensor<16x64xi8>, vector<64xi8>
!w = !mq.weight<16x128xf32, storage = 8, bits = 4, group = 128, layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
func.func @int4_rows(%x: tensor<128xf32>, %w: !w, %s: tensor<16x1xf32>, %m: tensor<16x1xf32>) -> tensor<16xf32> {
  %y = mq.matvec %x, %w, %s, %s : tensor<128xf32>, !w, tensor<16x1xf32>, tensor<16x1xf32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}
