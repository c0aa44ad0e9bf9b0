// RUN: matquant-opt %s --split-input-file --mq-fuse-matvecs | FileCheck %s

// mq-fuse-matvecs: matvecs of one block reading the same input, with
// constant weights of the same kind, become one matvec on the stacked rows
// (in program order), each result a slice of it. The stacked scales and
// offsets are checked byte for byte: 20 rows of 0.5 (0x3F000000) then 12
// rows of 0.25 (0x3E800000); offsets -1 (0xBF800000) then 2 (0x40000000).

func.func @qkv(%x: tensor<100xf32>) -> (tensor<20xf32>, tensor<12xf32>) {
  %a = mq.constant dense<7> : tensor<20x100xi8> : !mq.weight<20x100xf32, storage = 8, bits = 8>
  %sa = arith.constant dense<0.5> : tensor<20x1xf32>
  %ma = arith.constant dense<-1.0> : tensor<20x1xf32>
  %b = mq.constant dense<3> : tensor<12x100xi8> : !mq.weight<12x100xf32, storage = 8, bits = 8>
  %sb = arith.constant dense<0.25> : tensor<12x1xf32>
  %mb = arith.constant dense<2.0> : tensor<12x1xf32>
  %ya = mq.matvec %x, %a, %sa, %ma {layer = "wq"} : tensor<100xf32>, !mq.weight<20x100xf32, storage = 8, bits = 8>, tensor<20x1xf32>, tensor<20x1xf32> -> tensor<20xf32>
  %yb = mq.matvec %x, %b, %sb, %mb {layer = "wk"} : tensor<100xf32>, !mq.weight<12x100xf32, storage = 8, bits = 8>, tensor<12x1xf32>, tensor<12x1xf32> -> tensor<12xf32>
  return %ya, %yb : tensor<20xf32>, tensor<12xf32>
}

// CHECK-LABEL: func.func @qkv(
// CHECK-SAME: %[[X:.*]]: tensor<100xf32>)
// CHECK: %[[W:.*]] = mq.constant dense_resource<wq_wk_codes> : tensor<32x100xi8> : !mq.weight<32x100xf32, storage = 8, bits = 8>
// CHECK: %[[S:.*]] = arith.constant dense_resource<wq_wk_scales> : tensor<32x1xf32>
// CHECK: %[[M:.*]] = arith.constant dense_resource<wq_wk_offsets> : tensor<32x1xf32>
// CHECK: %[[Y:.*]] = mq.matvec %[[X]], %[[W]], %[[S]], %[[M]] {layer = "wq+wk"} : {{.*}} -> tensor<32xf32>
// CHECK-NOT: mq.matvec
// CHECK: %[[A:.*]] = tensor.extract_slice %[[Y]][0] [20] [1] : tensor<32xf32> to tensor<20xf32>
// CHECK: %[[B:.*]] = tensor.extract_slice %[[Y]][20] [12] [1] : tensor<32xf32> to tensor<12xf32>
// CHECK: return %[[A]], %[[B]]
// CHECK: wq_wk_codes: "0x40000000{{(0707070707070707070707070707070707070707){100}(0303030303030303030303030303030303030303){60}"}}
// CHECK: wq_wk_scales: "0x40000000{{(0000003F){20}(0000803E){12}"}}
// CHECK: wq_wk_offsets: "0x40000000{{(000080BF){20}(00000040){12}"}}

// -----

// Not stacked: another input, another width, another group size, and a
// weight in a layout whose rows are not independent (dense).
func.func @apart(%x: tensor<64xf32>, %z: tensor<64xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %a = mq.constant dense<1> : tensor<4x64xi8> : !mq.weight<4x64xf32, storage = 8, bits = 8>
  %b = mq.constant dense<1> : tensor<4x64xi8> : !mq.weight<4x64xf32, storage = 8, bits = 8>
  %c = mq.constant dense<1> : tensor<4x64xi8> : !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32>
  %d = mq.constant dense<1> : tensor<4x64xi8> : !mq.weight<4x64xf32, storage = 8, bits = 4>
  %s1 = arith.constant dense<1.0> : tensor<4x1xf32>
  %s2 = arith.constant dense<1.0> : tensor<4x2xf32>
  %ya = mq.matvec %x, %a, %s1, %s1 : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  %yb = mq.matvec %z, %b, %s1, %s1 : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  %yc = mq.matvec %x, %c, %s2, %s2 : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 8, group = 32>, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  %yd = mq.matvec %x, %d, %s1, %s1 : tensor<64xf32>, !mq.weight<4x64xf32, storage = 8, bits = 4>, tensor<4x1xf32>, tensor<4x1xf32> -> tensor<4xf32>
  return %ya, %yb, %yc, %yd : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func @apart(
// CHECK-COUNT-4: mq.matvec
// CHECK-NOT: tensor.extract_slice
// CHECK-NOT: mq.matvec
