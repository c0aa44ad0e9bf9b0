// RUN: matquant-opt %s --mq-quantize-weights -split-input-file | FileCheck %s
// RUN: matquant-opt %s --mq-quantize-weights="method=minmax" -split-input-file | FileCheck %s --check-prefix=MINMAX
// RUN: matquant-opt %s --mq-quantize-weights="layers=ffn group=2 bits=4 widths=4,2 lambdas=0.5,1 mode=extra_precision restrict-widths=true" -split-input-file | FileCheck %s --check-prefix=FFN
// RUN: matquant-opt %s --mq-quantize-weights="layers=^layers\.1\." -split-input-file | FileCheck %s --check-prefix=REGEX
// The objective can be taken over prefix-exact slices; the stored model's
// type records the mode.
// RUN: matquant-opt %s --mq-quantize-weights="layers=ffn mode=prefix_exact" -split-input-file | FileCheck %s --check-prefix=PE
// The widening grid and the normalized objective keep the structure.
// RUN: matquant-opt %s --mq-quantize-weights="grid-max=1.5 normalize=true refine=true" -split-input-file | FileCheck %s

// A matvec with a zero-filled init and an mq.layer name: the weight becomes
// codes + scales + offsets, the float constant disappears, no add is needed.
// CHECK-LABEL: func.func @matvec
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NOT: arith.constant dense<{{.*}}> : tensor<2x4xf32>
// CHECK-DAG: %[[Q:.*]] = mq.constant dense<{{.*}}> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<2x1xf32>
// CHECK-DAG: %[[M:.*]] = arith.constant dense<{{.*}}> : tensor<2x1xf32>
// ||W||^2 = 1 + 0.25 + 1 + 4 * 4 = 18.25
// CHECK: %[[Y:.*]] = mq.matvec %[[X]], %[[Q]], %[[S]], %[[M]] {layer = "layers.0.feed_forward.w1", mq.slice_errors = array<f64: {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}>, mq.weight_sq_norm = 1.825000e+01 : f64} : tensor<4xf32>, !mq.weight<2x4xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
// CHECK-NOT: linalg.add
// CHECK-NOT: linalg.matvec
// CHECK: return %[[Y]]
// Min-max codes of docs/Numerics.md 2.6: [-1, 0, 0.5, 1] -> [0, 127, 191, 255]
// (printed as signed i8); the constant row quantizes exactly to m = 2.
// MINMAX-LABEL: func.func @matvec
// MINMAX-DAG: mq.constant dense<{{\[}}[0, 127, -65, -1], [0, 0, 0, 0]]> : tensor<2x4xi8>
// MINMAX-DAG: arith.constant dense<{{\[}}[0.00784313772], [0.000000e+00]]> : tensor<2x1xf32>
// MINMAX-DAG: arith.constant dense<{{\[}}[-1.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// PE-LABEL: func.func @matvec
// PE: mq.constant {{.*}} : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = prefix_exact>
// PE: mq.matvec {{.*}} {layer = "layers.0.feed_forward.w1", {{.*}} : tensor<4xf32>, !mq.weight<2x4xf32, storage = 8, bits = 8, mode = prefix_exact>
// FFN-LABEL: func.func @matvec
// FFN: mq.constant {{.*}} : !mq.weight<2x4xf32, storage = 4, bits = 4, widths = [4, 2], group = 2, mode = extra_precision>
// FFN: arith.constant {{.*}} : tensor<2x2xf32>
// FFN: mq.matvec {{.*}} {layer = "layers.0.feed_forward.w1", mq.slice_errors = array<f64: {{[^,]*}}, {{[^,]*}}, {{[^,]*}}, {{[^,]*}}>, mq.weight_sq_norm = 1.825000e+01 : f64}
// REGEX-LABEL: func.func @matvec
// REGEX: linalg.matvec
// REGEX-NOT: mq.matvec
func.func @matvec(%x: tensor<4xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %y = linalg.matvec {mq.layer = "layers.0.feed_forward.w1"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// A non-zero init is added to the product; an op without a name gets a
// generated one; a weight used elsewhere is kept for that use.
// CHECK-LABEL: func.func @init_and_shared
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<2xf32>)
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<2x4xf32>
// CHECK-DAG: %[[Q:.*]] = mq.constant
// CHECK: %[[Y:.*]] = mq.matvec %[[X]], %[[Q]], %{{.*}}, %{{.*}} {layer = "linear.0", mq.slice_errors
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2xf32>
// CHECK: %[[R:.*]] = linalg.add ins(%[[I]], %[[Y]] : tensor<2xf32>, tensor<2xf32>) outs(%[[E]] : tensor<2xf32>) -> tensor<2xf32>
// CHECK: return %[[R]], %[[W]]
// FFN-LABEL: func.func @init_and_shared
// FFN: linalg.matvec
// FFN-NOT: mq.matvec
func.func @init_and_shared(%x: tensor<4xf32>, %init: tensor<2xf32>) -> (tensor<2xf32>, tensor<2x4xf32>) {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [0.25, 2.0, -2.0, 2.0]]> : tensor<2x4xf32>
  %y = linalg.matvec ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%init : tensor<2xf32>) -> tensor<2xf32>
  return %y, %W : tensor<2xf32>, tensor<2x4xf32>
}

// -----

// linalg.matmul: default maps give a [K, N] weight (axis 1), the
// transposed-B maps an [N, K] weight (axis 0). A constant used by two ops
// with the same axis is quantized once.
// CHECK-LABEL: func.func @matmuls
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>)
// CHECK-DAG: %[[QB:.*]] = mq.constant {{.*}} : !mq.weight<4x3xf32, storage = 8, bits = 8, axis = 1>
// CHECK-DAG: arith.constant dense<{{.*}}> : tensor<1x3xf32>
// CHECK-DAG: %[[QW:.*]] = mq.constant {{.*}} : !mq.weight<3x4xf32, storage = 8, bits = 8>
// CHECK: %[[A:.*]] = mq.matmul %[[X]], %[[QB]], {{.*}} {layer = "layers.1.attention.wq", {{.*}}} : tensor<2x4xf32>, !mq.weight<4x3xf32, storage = 8, bits = 8, axis = 1>, tensor<1x3xf32>, tensor<1x3xf32> -> tensor<2x3xf32>
// CHECK: %[[B:.*]] = mq.matmul %[[X]], %[[QW]], {{.*}} {layer = "layers.1.attention.wk", {{.*}}} : tensor<2x4xf32>, !mq.weight<3x4xf32, storage = 8, bits = 8>, tensor<3x1xf32>, tensor<3x1xf32> -> tensor<2x3xf32>
// CHECK: %[[C:.*]] = mq.matmul %[[X]], %[[QW]], {{.*}} {layer = "layers.1.attention.wv",
// CHECK-NOT: mq.constant
// CHECK: return %[[A]], %[[B]], %[[C]]
// REGEX-LABEL: func.func @matmuls
// REGEX-NOT: linalg.matmul
// REGEX-COUNT-3: mq.matmul
// REGEX-LABEL: func.func @untouched
func.func @matmuls(%X: tensor<2x4xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %B = arith.constant dense<[[0.1, -0.2, 0.3], [0.4, 1.0, 2.0], [-3.0, 0.5, 0.0], [0.25, 0.5, -0.75]]> : tensor<4x3xf32>
  %W = arith.constant dense<[[0.1, -0.2, 0.3, 0.4], [1.0, 2.0, -3.0, 0.5], [0.0, 0.25, 0.5, -0.75]]> : tensor<3x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x3xf32>) -> tensor<2x3xf32>
  %a = linalg.matmul {mq.layer = "layers.1.attention.wq"} ins(%X, %B : tensor<2x4xf32>, tensor<4x3xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  %b = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {mq.layer = "layers.1.attention.wk"} ins(%X, %W : tensor<2x4xf32>, tensor<3x4xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {mq.layer = "layers.1.attention.wv"} ins(%X, %W : tensor<2x4xf32>, tensor<3x4xf32>) outs(%z : tensor<2x3xf32>) -> tensor<2x3xf32>
  return %a, %b, %c : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Not weight-stationary, or not f32: left alone.
// CHECK-LABEL: func.func @untouched
// CHECK-NOT: mq.
// CHECK: linalg.matvec
// CHECK: linalg.matmul
// CHECK: linalg.matmul
// CHECK: linalg.matvec
// CHECK-NOT: mq.
func.func @untouched(%w: tensor<2x4xf32>, %x: tensor<4xf32>, %X: tensor<4x2xf32>, %h: tensor<4xf16>) -> (tensor<2xf32>, tensor<2x2xf32>, tensor<2x3xf32>, tensor<2xf16>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  // A weight that is an argument.
  %y = linalg.matvec ins(%w, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  // A constant left-hand side.
  %C = arith.constant dense<1.0> : tensor<2x4xf32>
  %B = arith.constant dense<2.0> : tensor<4x3xf32>
  %e2 = tensor.empty() : tensor<2x3xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x3xf32>) -> tensor<2x3xf32>
  %e3 = tensor.empty() : tensor<2x2xf32>
  %m = linalg.matmul ins(%C, %X : tensor<2x4xf32>, tensor<4x2xf32>) outs(%e3 : tensor<2x2xf32>) -> tensor<2x2xf32>
  // Transposed A.
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>, affine_map<(m, n, k) -> (m, n)>] ins(%X, %B : tensor<4x2xf32>, tensor<4x3xf32>) outs(%z2 : tensor<2x3xf32>) -> tensor<2x3xf32>
  // f16 weights.
  %H = arith.constant dense<1.0> : tensor<2x4xf16>
  %zh = arith.constant dense<0.0> : tensor<2xf16>
  %yh = linalg.matvec ins(%H, %h : tensor<2x4xf16>, tensor<4xf16>) outs(%zh : tensor<2xf16>) -> tensor<2xf16>
  return %y, %m, %t, %yh : tensor<2xf32>, tensor<2x2xf32>, tensor<2x3xf32>, tensor<2xf16>
}

// -----

// dense_resource weights give dense_resource codes, scales and offsets.
// CHECK-LABEL: func.func @resource
// CHECK-DAG: mq.constant dense_resource<layers_0_attention_wo_codes> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8>
// CHECK-DAG: arith.constant dense_resource<layers_0_attention_wo_scales> : tensor<2x1xf32>
// CHECK-DAG: arith.constant dense_resource<layers_0_attention_wo_offsets> : tensor<2x1xf32>
// CHECK: mq.matvec {{.*}} {layer = "layers.0.attention.wo"
// CHECK: layers_0_attention_wo_codes: "0x04000000{{[0-9A-F]+}}"
// CHECK-NOT: blob_w:
// FFN-LABEL: func.func @resource
// FFN: linalg.matvec
func.func @resource(%x: tensor<4xf32>) -> tensor<2xf32> {
  %W = arith.constant dense_resource<blob_w> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %y = linalg.matvec {mq.layer = "layers.0.attention.wo"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      blob_w: "0x04000000000080BF000000000000003F0000803F0000803E00000040000000C000000040"
    }
  }
#-}
