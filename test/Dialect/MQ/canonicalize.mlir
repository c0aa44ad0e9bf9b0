// RUN: matquant-opt %s -canonicalize -split-input-file | FileCheck %s

// Expected values were computed independently of the numerics library from
// the formulas in MATQUANT.md (float32 arithmetic, roundf, round half up on
// the dropped bits of a slice). i8 tensors print as signed values: a code
// above 127 prints as code - 256.

//===----------------------------------------------------------------------===//
// mq.slice to the same width
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @slice_identity
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK-NOT: mq.slice
// CHECK: return %[[A]]
func.func @slice_identity(%a: !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>)
    -> !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3> {
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>
                  to !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>
  return %0 : !mq.weight<4x6xf32, storage = 8, bits = 4, group = 3>
}

// -----

//===----------------------------------------------------------------------===//
// Slice chains. Exhaustive enumeration (MATQUANT.md section 2) shows that no
// chain r0 -> mid -> r with r0 > mid > r is exact, for any storage width 1..8
// and either mode: S(S(q, 4), 2) differs from S(q, 2) for 24 of the 256 int8
// codes. Only chains with an identity step collapse to one slice.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @slice_chain_8_4_2_kept
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S4:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : !mq.weight<8x12xf32, storage = 8, bits = 8> to !mq.weight<8x12xf32, storage = 8, bits = 4>
// CHECK: %[[S2:[a-zA-Z0-9_]+]] = mq.slice %[[S4]] : !mq.weight<8x12xf32, storage = 8, bits = 4> to !mq.weight<8x12xf32, storage = 8, bits = 2>
// CHECK: return %[[S2]]
func.func @slice_chain_8_4_2_kept(%a: !mq.weight<8x12xf32, storage = 8, bits = 8>)
    -> !mq.weight<8x12xf32, storage = 8, bits = 2> {
  %0 = mq.slice %a : !mq.weight<8x12xf32, storage = 8, bits = 8>
                  to !mq.weight<8x12xf32, storage = 8, bits = 4>
  %1 = mq.slice %0 : !mq.weight<8x12xf32, storage = 8, bits = 4>
                  to !mq.weight<8x12xf32, storage = 8, bits = 2>
  return %1 : !mq.weight<8x12xf32, storage = 8, bits = 2>
}

// -----

// The same chain in extra-precision mode is not exact either (the extra
// top level does not help: 8 -> 4 -> 2 differs for 32 of the 256 codes).

// CHECK-LABEL: func.func @slice_chain_extra_kept
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S4:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : {{.*}} to !mq.weight<8x12xf32, storage = 8, bits = 4, mode = extra_precision>
// CHECK: %[[S2:[a-zA-Z0-9_]+]] = mq.slice %[[S4]] : {{.*}} to !mq.weight<8x12xf32, storage = 8, bits = 2, mode = extra_precision>
// CHECK: return %[[S2]]
func.func @slice_chain_extra_kept(%a: !mq.weight<8x12xf32, storage = 8, bits = 8, mode = extra_precision>)
    -> !mq.weight<8x12xf32, storage = 8, bits = 2, mode = extra_precision> {
  %0 = mq.slice %a : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = extra_precision>
                  to !mq.weight<8x12xf32, storage = 8, bits = 4, mode = extra_precision>
  %1 = mq.slice %0 : !mq.weight<8x12xf32, storage = 8, bits = 4, mode = extra_precision>
                  to !mq.weight<8x12xf32, storage = 8, bits = 2, mode = extra_precision>
  return %1 : !mq.weight<8x12xf32, storage = 8, bits = 2, mode = extra_precision>
}

// -----

// Small storage, c = 3: the only proper chain 3 -> 2 -> 1 is still not exact
// (code 1 = 0b001: S(1, 1) = 0, but S(1, 2) = 1, i.e. grid value 2, which
// re-slices to 1).

// CHECK-LABEL: func.func @slice_chain_c3_kept
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S2:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : {{.*}} to !mq.weight<2x8xf32, storage = 3, bits = 2>
// CHECK: %[[S1:[a-zA-Z0-9_]+]] = mq.slice %[[S2]] : {{.*}} to !mq.weight<2x8xf32, storage = 3, bits = 1>
// CHECK: return %[[S1]]
func.func @slice_chain_c3_kept(%a: !mq.weight<2x8xf32, storage = 3, bits = 3>)
    -> !mq.weight<2x8xf32, storage = 3, bits = 1> {
  %0 = mq.slice %a : !mq.weight<2x8xf32, storage = 3, bits = 3>
                  to !mq.weight<2x8xf32, storage = 3, bits = 2>
  %1 = mq.slice %0 : !mq.weight<2x8xf32, storage = 3, bits = 2>
                  to !mq.weight<2x8xf32, storage = 3, bits = 1>
  return %1 : !mq.weight<2x8xf32, storage = 3, bits = 1>
}

// -----

// A chain that starts below the storage width (8: 4 -> 3 -> 2) is not exact.

// CHECK-LABEL: func.func @slice_chain_from_4_kept
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S3:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : {{.*}} to !mq.weight<2x8xf32, storage = 8, bits = 3>
// CHECK: %[[S2:[a-zA-Z0-9_]+]] = mq.slice %[[S3]] : {{.*}} to !mq.weight<2x8xf32, storage = 8, bits = 2>
// CHECK: return %[[S2]]
func.func @slice_chain_from_4_kept(%a: !mq.weight<2x8xf32, storage = 8, bits = 4>)
    -> !mq.weight<2x8xf32, storage = 8, bits = 2> {
  %0 = mq.slice %a : !mq.weight<2x8xf32, storage = 8, bits = 4>
                  to !mq.weight<2x8xf32, storage = 8, bits = 3>
  %1 = mq.slice %0 : !mq.weight<2x8xf32, storage = 8, bits = 3>
                  to !mq.weight<2x8xf32, storage = 8, bits = 2>
  return %1 : !mq.weight<2x8xf32, storage = 8, bits = 2>
}

// -----

// A middle width equal to the input width is trivially exact: one slice.

// CHECK-LABEL: func.func @slice_chain_8_8_2_merged
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]> to !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2]>
// CHECK-NOT: mq.slice
// CHECK: return %[[S]]
func.func @slice_chain_8_8_2_merged(%a: !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>)
    -> !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2]> {
  %0 = mq.slice %a : !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>
                  to !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>
  %1 = mq.slice %0 : !mq.weight<8x12xf32, storage = 8, bits = 8, widths = [8, 4, 2]>
                  to !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2]>
  return %1 : !mq.weight<8x12xf32, storage = 8, bits = 2, widths = [8, 4, 2]>
}

// -----

// A last width equal to the middle one is trivially exact too.

// CHECK-LABEL: func.func @slice_chain_8_4_4_merged
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = extra_precision> to !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision>
// CHECK-NOT: mq.slice
// CHECK: return %[[S]]
func.func @slice_chain_8_4_4_merged(%a: !mq.weight<2x4xf32, storage = 8, bits = 8, mode = extra_precision>)
    -> !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision> {
  %0 = mq.slice %a : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = extra_precision>
                  to !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision>
  %1 = mq.slice %0 : !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision>
                  to !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision>
  return %1 : !mq.weight<2x4xf32, storage = 8, bits = 4, mode = extra_precision>
}

// -----

//===----------------------------------------------------------------------===//
// mq.quantize of constants
//===----------------------------------------------------------------------===//

// Row 0: alpha = 2/255, z = 1/alpha = 127.49999 in float32, so 0.0 gives
// code 127 (not 128), 0.5 gives 191 (-65), 1.0 gives 255 (-1), m = -1.
// Row 1 is constant: alpha = 0, m = 2, codes 0.

// CHECK-LABEL: func.func @quantize_per_channel
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[0, 127, -65, -1], [0, 0, 0, 0]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[0.00784313772], [0.000000e+00]]> : tensor<2x1xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-1.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_per_channel() -> (!mq.weight<2x4xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %w = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %q, %s, %m = mq.quantize %w : tensor<2x4xf32> -> !mq.weight<2x4xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32>
  return %q, %s, %m : !mq.weight<2x4xf32, storage = 8, bits = 8>, tensor<2x1xf32>, tensor<2x1xf32>
}

// -----

// Group size 3, c = 4: four groups, (alpha, m) per group. Group (0, 1)
// = [0.2, 1.5, 1.5] gives alpha = 1.3/15, m = 0.2.

// CHECK-LABEL: func.func @quantize_groups
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[6, 0, 15, 0, 15, 15], [15, 0, 7, 0, 6, 15]]> : tensor<2x6xi8> : !mq.weight<2x6xf32, storage = 4, bits = 4, group = 3>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[0.0666666701, 0.0866666659], [0.333333343, 0.116666667]]> : tensor<2x2xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-3.000000e-01, 2.000000e-01], [-2.000000e+00, -7.500000e-01]]> : tensor<2x2xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_groups() -> (!mq.weight<2x6xf32, storage = 4, bits = 4, group = 3>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = arith.constant dense<[[0.1, -0.3, 0.7, 0.2, 1.5, 1.5], [3.0, -2.0, 0.25, -0.75, 0.0, 1.0]]> : tensor<2x6xf32>
  %q, %s, %m = mq.quantize %w : tensor<2x6xf32> -> !mq.weight<2x6xf32, storage = 4, bits = 4, group = 3>, tensor<2x2xf32>, tensor<2x2xf32>
  return %q, %s, %m : !mq.weight<2x6xf32, storage = 4, bits = 4, group = 3>, tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// axis = 1: channels are columns, so each column is one group. Column 0 =
// [0.5, -1.5, 0.25], column 1 = [1, 2, 3]; both have range 2, so alpha = 2/7
// for both (printed as a splat); m = -1.50000012 and 1.

// CHECK-LABEL: func.func @quantize_axis1
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[7, 0], [0, 3], [6, 7]]> : tensor<3x2xi8> : !mq.weight<3x2xf32, storage = 3, bits = 3, axis = 1>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<0.285714298> : tensor<1x2xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-1.50000012, 1.000000e+00]]> : tensor<1x2xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_axis1() -> (!mq.weight<3x2xf32, storage = 3, bits = 3, axis = 1>, tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<[[0.5, 1.0], [-1.5, 2.0], [0.25, 3.0]]> : tensor<3x2xf32>
  %q, %s, %m = mq.quantize %w : tensor<3x2xf32> -> !mq.weight<3x2xf32, storage = 3, bits = 3, axis = 1>, tensor<1x2xf32>, tensor<1x2xf32>
  return %q, %s, %m : !mq.weight<3x2xf32, storage = 3, bits = 3, axis = 1>, tensor<1x2xf32>, tensor<1x2xf32>
}

// -----

// f16 weights are read as float32; the values are exact in f16, so the
// result is that of @quantize_per_channel's first row.

// CHECK-LABEL: func.func @quantize_f16
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[0, 127, -65, -1]]> : tensor<1x4xi8> : !mq.weight<1x4xf16, storage = 8, bits = 8>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<0.00784313772> : tensor<1x1xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<-1.000000e+00> : tensor<1x1xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_f16() -> (!mq.weight<1x4xf16, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0]]> : tensor<1x4xf16>
  %q, %s, %m = mq.quantize %w : tensor<1x4xf16> -> !mq.weight<1x4xf16, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
  return %q, %s, %m : !mq.weight<1x4xf16, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
}

// -----

// Clipping: hi = 0.5 * 1, lo = 0.5 * -1, alpha = 1/255; 1.0 saturates to 255.

// CHECK-LABEL: func.func @quantize_clip
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[0, 127, -1, -1]]> : tensor<1x4xi8>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<0.00392156886> : tensor<1x1xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<-5.000000e-01> : tensor<1x1xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_clip() -> (!mq.weight<1x4xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0]]> : tensor<1x4xf32>
  %q, %s, %m = mq.quantize %w clip(0.5, 0.5) : tensor<1x4xf32> -> !mq.weight<1x4xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
  return %q, %s, %m : !mq.weight<1x4xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
}

// -----

// A whole tensor of one value: every group is constant.

// CHECK-LABEL: func.func @quantize_splat
// CHECK-DAG: %[[Q:[a-zA-Z0-9_]+]] = mq.constant dense<0> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8, group = 2>
// CHECK-DAG: %[[S:[a-zA-Z0-9_]+]] = arith.constant dense<0.000000e+00> : tensor<2x2xf32>
// CHECK-DAG: %[[M:[a-zA-Z0-9_]+]] = arith.constant dense<-3.250000e+00> : tensor<2x2xf32>
// CHECK-NOT: mq.quantize
// CHECK: return %[[Q]], %[[S]], %[[M]]
func.func @quantize_splat() -> (!mq.weight<2x4xf32, storage = 8, bits = 8, group = 2>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %w = arith.constant dense<-3.25> : tensor<2x4xf32>
  %q, %s, %m = mq.quantize %w : tensor<2x4xf32> -> !mq.weight<2x4xf32, storage = 8, bits = 8, group = 2>, tensor<2x2xf32>, tensor<2x2xf32>
  return %q, %s, %m : !mq.weight<2x4xf32, storage = 8, bits = 8, group = 2>, tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// Non-finite weights have no quantization: the op stays.

// CHECK-LABEL: func.func @quantize_inf_not_folded
// CHECK: mq.quantize
// CHECK-NOT: mq.constant
func.func @quantize_inf_not_folded() -> (!mq.weight<1x2xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>) {
  %w = arith.constant dense<[[0x7F800000, 1.0]]> : tensor<1x2xf32>
  %q, %s, %m = mq.quantize %w : tensor<1x2xf32> -> !mq.weight<1x2xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
  return %q, %s, %m : !mq.weight<1x2xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
}

// -----

//===----------------------------------------------------------------------===//
// mq.slice of constants
//===----------------------------------------------------------------------===//

// int8 -> int2, clamped: 240 -> round(3.75) = 4 -> 3, 53 -> 1, 24 -> 0,
// 255 -> 4 -> 3; row 1: 64 -> 1, 96 -> round(1.5) = 2, 95 -> 1, 128 -> 2.

// CHECK-LABEL: func.func @slice_constant_clamped
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[3, 1, 0, 3], [1, 2, 1, 2]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 2>
// CHECK-NOT: mq.slice
// CHECK: return %[[C]]
func.func @slice_constant_clamped() -> !mq.weight<2x4xf32, storage = 8, bits = 2> {
  %c = mq.constant dense<[[240, 53, 24, 255], [64, 96, 95, 128]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8>
  %0 = mq.slice %c : !mq.weight<2x4xf32, storage = 8, bits = 8> to !mq.weight<2x4xf32, storage = 8, bits = 2>
  return %0 : !mq.weight<2x4xf32, storage = 8, bits = 2>
}

// -----

// Extra precision keeps the top level 2^r = 4.

// CHECK-LABEL: func.func @slice_constant_extra
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[4, 1, 0, 4], [1, 2, 1, 2]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 2, mode = extra_precision>
// CHECK-NOT: mq.slice
// CHECK: return %[[C]]
func.func @slice_constant_extra() -> !mq.weight<2x4xf32, storage = 8, bits = 2, mode = extra_precision> {
  %c = mq.constant dense<[[240, 53, 24, 255], [64, 96, 95, 128]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = extra_precision>
  %0 = mq.slice %c : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = extra_precision> to !mq.weight<2x4xf32, storage = 8, bits = 2, mode = extra_precision>
  return %0 : !mq.weight<2x4xf32, storage = 8, bits = 2, mode = extra_precision>
}

// -----

// A splat constant: 255 -> int3 = (255 >> 5) + 1 = 8 -> clamped to 7.

// CHECK-LABEL: func.func @slice_constant_splat
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<7> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 3>
// CHECK-NOT: mq.slice
// CHECK: return %[[C]]
func.func @slice_constant_splat() -> !mq.weight<2x3xf32, storage = 8, bits = 3> {
  %c = mq.constant dense<255> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 8>
  %0 = mq.slice %c : !mq.weight<2x3xf32, storage = 8, bits = 8> to !mq.weight<2x3xf32, storage = 8, bits = 3>
  return %0 : !mq.weight<2x3xf32, storage = 8, bits = 3>
}

// -----

// A chain of constant slices folds step by step, so it computes the chained
// result S(S(q, 4), 2), not S(q, 2): 24 = 0b00011000 -> 2 (int4) -> 1 (int2)
// whereas S(24, 2) = 0; 95 -> 6 -> 2 whereas S(95, 2) = 1; 72 -> 5 -> 1
// (= S(72, 2)); 255 -> 15 -> 3 (clamped at both steps).

// CHECK-LABEL: func.func @slice_constant_chain
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[1, 2, 1, 3]]> : tensor<1x4xi8> : !mq.weight<1x4xf32, storage = 8, bits = 2>
// CHECK-NOT: mq.slice
// CHECK: return %[[C]]
func.func @slice_constant_chain() -> !mq.weight<1x4xf32, storage = 8, bits = 2> {
  %c = mq.constant dense<[[24, 95, 72, 255]]> : tensor<1x4xi8> : !mq.weight<1x4xf32, storage = 8, bits = 8>
  %0 = mq.slice %c : !mq.weight<1x4xf32, storage = 8, bits = 8> to !mq.weight<1x4xf32, storage = 8, bits = 4>
  %1 = mq.slice %0 : !mq.weight<1x4xf32, storage = 8, bits = 4> to !mq.weight<1x4xf32, storage = 8, bits = 2>
  return %1 : !mq.weight<1x4xf32, storage = 8, bits = 2>
}

// -----

//===----------------------------------------------------------------------===//
// mq.pack / mq.unpack
//===----------------------------------------------------------------------===//

// Dense 3-bit, 5 indices per row = 15 bits = 2 bytes per row.
// Row 0: 1 | 2<<3 | 3<<6 | 4<<9 | 5<<12 = 0x58D1 -> bytes 209 (-47), 88.
// Row 1: 7 | 0<<3 | 6<<6 | 1<<9 | 3<<12 = 0x3387 -> bytes 135 (-121), 51.

// CHECK-LABEL: func.func @pack_dense_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[-47, 88], [-121, 51]]> : tensor<2x2xi8> : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
// CHECK-NOT: mq.pack
// CHECK: return %[[C]]
func.func @pack_dense_constant() -> !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>> {
  %c = mq.constant dense<[[1, 2, 3, 4, 5], [7, 0, 6, 1, 3]]> : tensor<2x5xi8> : !mq.weight<2x5xf32, storage = 8, bits = 3>
  %0 = mq.pack %c : !mq.weight<2x5xf32, storage = 8, bits = 3> to !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
  return %0 : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
}

// -----

// Bit planes, 3 bits, 10 indices per row = 2 bytes per plane row; plane 0
// holds the most significant bit, element j at bit j % 8 of byte j / 8.
// Row 0 = [1, 2, 3, 4, 5, 6, 7, 0, 1, 2]:
//   bit 2 set for j = 3..6  -> [0b01111000, 0] = [120, 0]
//   bit 1 set for j = 1, 2, 5, 6, 9 -> [0b01100110, 0b10] = [102, 2]
//   bit 0 set for j = 0, 2, 4, 6, 8 -> [0b01010101, 0b01] = [85, 1]
// Row 1 is all 7: every plane [255 (-1), 3].

// CHECK-LABEL: func.func @pack_planes_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}{{\[}}[120, 0], [-1, 3]], {{\[}}[102, 2], [-1, 3]], {{\[}}[85, 1], [-1, 3]]]> : tensor<3x2x2xi8> : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
// CHECK-NOT: mq.pack
// CHECK: return %[[C]]
func.func @pack_planes_constant() -> !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>> {
  %c = mq.constant dense<[[1, 2, 3, 4, 5, 6, 7, 0, 1, 2], [7, 7, 7, 7, 7, 7, 7, 7, 7, 7]]> : tensor<2x10xi8> : !mq.weight<2x10xf32, storage = 4, bits = 3>
  %0 = mq.pack %c : !mq.weight<2x10xf32, storage = 4, bits = 3> to !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
  return %0 : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
}

// -----

// The inverse: the packed bytes of @pack_dense_constant unpack to the indices.

// CHECK-LABEL: func.func @unpack_dense_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[1, 2, 3, 4, 5], [7, 0, 6, 1, 3]]> : tensor<2x5xi8> : !mq.weight<2x5xf32, storage = 8, bits = 3>
// CHECK-NOT: mq.unpack
// CHECK: return %[[C]]
func.func @unpack_dense_constant() -> !mq.weight<2x5xf32, storage = 8, bits = 3> {
  %c = mq.constant dense<[[-47, 88], [-121, 51]]> : tensor<2x2xi8> : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
  %0 = mq.unpack %c : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>> to !mq.weight<2x5xf32, storage = 8, bits = 3>
  return %0 : !mq.weight<2x5xf32, storage = 8, bits = 3>
}

// -----

// The inverse for planes: the bytes of @pack_planes_constant.

// CHECK-LABEL: func.func @unpack_planes_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[1, 2, 3, 4, 5, 6, 7, 0, 1, 2], [7, 7, 7, 7, 7, 7, 7, 7, 7, 7]]> : tensor<2x10xi8> : !mq.weight<2x10xf32, storage = 4, bits = 3>
// CHECK-NOT: mq.unpack
// CHECK: return %[[C]]
func.func @unpack_planes_constant() -> !mq.weight<2x10xf32, storage = 4, bits = 3> {
  %c = mq.constant dense<[[[120, 0], [-1, 3]], [[102, 2], [-1, 3]], [[85, 1], [-1, 3]]]> : tensor<3x2x2xi8> : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
  %0 = mq.unpack %c : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>> to !mq.weight<2x10xf32, storage = 4, bits = 3>
  return %0 : !mq.weight<2x10xf32, storage = 4, bits = 3>
}

// -----

// Extra-precision int2 needs 3-bit storage for its top level 4: dense, 3
// indices per row = 9 bits = 2 bytes: 4 | 1<<3 | 4<<6 = 0x10C -> [12, 1].

// CHECK-LABEL: func.func @pack_extra_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[12, 1]]> : tensor<1x2xi8> : !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 3>>
// CHECK-NOT: mq.pack
// CHECK: return %[[C]]
func.func @pack_extra_constant() -> !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 3>> {
  %c = mq.constant dense<[[4, 1, 4]]> : tensor<1x3xi8> : !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision>
  %0 = mq.pack %c : !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision> to !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 3>>
  return %0 : !mq.weight<1x3xf32, storage = 8, bits = 2, mode = extra_precision, layout = #mq.layout<dense, 3>>
}

// -----

// unpack(pack(x)) -> x on a non-constant value.

// CHECK-LABEL: func.func @unpack_of_pack
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK-NOT: mq.pack
// CHECK-NOT: mq.unpack
// CHECK: return %[[A]]
func.func @unpack_of_pack(%a: !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6>)
    -> !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6> {
  %0 = mq.pack %a : !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6>
                 to !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6, layout = #mq.layout<dense, 3>>
  %1 = mq.unpack %0 : !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6, layout = #mq.layout<dense, 3>>
                   to !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6>
  return %1 : !mq.weight<4x12xf32, storage = 8, bits = 3, group = 6>
}

// -----

// pack(unpack(p)) -> p with the same layout.

// CHECK-LABEL: func.func @pack_of_unpack
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK-NOT: mq.unpack
// CHECK-NOT: mq.pack
// CHECK: return %[[P]]
func.func @pack_of_unpack(%p: !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>)
    -> !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>> {
  %0 = mq.unpack %p : !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>
                   to !mq.weight<4x12xf32, storage = 8, bits = 4>
  %1 = mq.pack %0 : !mq.weight<4x12xf32, storage = 8, bits = 4>
                 to !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>
  return %1 : !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>
}

// -----

// Re-packing into another layout is a real conversion: both ops stay.

// CHECK-LABEL: func.func @repack_other_layout_kept
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[U:[a-zA-Z0-9_]+]] = mq.unpack %[[P]]
// CHECK: %[[D:[a-zA-Z0-9_]+]] = mq.pack %[[U]] : {{.*}} to !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
// CHECK: return %[[D]]
func.func @repack_other_layout_kept(%p: !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>)
    -> !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>> {
  %0 = mq.unpack %p : !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<planes, 4>>
                   to !mq.weight<4x12xf32, storage = 8, bits = 4>
  %1 = mq.pack %0 : !mq.weight<4x12xf32, storage = 8, bits = 4>
                 to !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
  return %1 : !mq.weight<4x12xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
}

// -----

//===----------------------------------------------------------------------===//
// mq.dequantize of constants
//===----------------------------------------------------------------------===//

// int2 of int8 storage: effective scale alpha * 64.
// Row 0: 0.64 * k - 1 for k = 0..3 (float32); row 1: 32 * k + 0.25.

// CHECK-LABEL: func.func @dequantize_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-1.000000e+00, -3.600000e-01, 0.279999971, 0.919999957], [9.625000e+01, 6.425000e+01, 3.225000e+01, 2.500000e-01]]> : tensor<2x4xf32>
// CHECK-NOT: mq.
// CHECK: return %[[C]]
func.func @dequantize_constant() -> tensor<2x4xf32> {
  %c = mq.constant dense<[[0, 1, 2, 3], [3, 2, 1, 0]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 2>
  %s = arith.constant dense<[[0.01], [0.5]]> : tensor<2x1xf32>
  %m = arith.constant dense<[[-1.0], [0.25]]> : tensor<2x1xf32>
  %0 = mq.dequantize %c, %s, %m : !mq.weight<2x4xf32, storage = 8, bits = 2>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Extra precision, storage 4, int2: scale alpha * 4 = 0.4, k = 0..4.

// CHECK-LABEL: func.func @dequantize_extra_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-5.000000e-01, -0.099999994, 3.000000e-01, 0.700000048, 1.100000e+00]]> : tensor<1x5xf32>
// CHECK-NOT: mq.
// CHECK: return %[[C]]
func.func @dequantize_extra_constant() -> tensor<1x5xf32> {
  %c = mq.constant dense<[[0, 1, 2, 3, 4]]> : tensor<1x5xi8> : !mq.weight<1x5xf32, storage = 4, bits = 2, mode = extra_precision>
  %s = arith.constant dense<0.1> : tensor<1x1xf32>
  %m = arith.constant dense<-0.5> : tensor<1x1xf32>
  %0 = mq.dequantize %c, %s, %m : !mq.weight<1x5xf32, storage = 4, bits = 2, mode = extra_precision>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x5xf32>
  return %0 : tensor<1x5xf32>
}

// -----

// The whole chain folds: quantize [-1, 0, 0.5, 1] to int8 ([0, 127, 191,
// 255], alpha = 2/255, m = -1), slice to int2 ([0, 2, 3, 3]), dequantize
// with scale alpha * 64: [-1, 0.003921628, 0.505882502, 0.505882502].

// CHECK-LABEL: func.func @quantize_slice_dequantize
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-1.000000e+00, 0.003921628, 0.505882502, 0.505882502]]> : tensor<1x4xf32>
// CHECK-NOT: mq.
// CHECK: return %[[C]]
func.func @quantize_slice_dequantize() -> tensor<1x4xf32> {
  %w = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0]]> : tensor<1x4xf32>
  %q, %s, %m = mq.quantize %w : tensor<1x4xf32> -> !mq.weight<1x4xf32, storage = 8, bits = 8>, tensor<1x1xf32>, tensor<1x1xf32>
  %q2 = mq.slice %q : !mq.weight<1x4xf32, storage = 8, bits = 8> to !mq.weight<1x4xf32, storage = 8, bits = 2>
  %0 = mq.dequantize %q2, %s, %m : !mq.weight<1x4xf32, storage = 8, bits = 2>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

//===----------------------------------------------------------------------===//
// Prefix-exact slices (truncation, mid-point reconstruction)
//===----------------------------------------------------------------------===//

// -----

// A prefix of a prefix is a prefix: 8 -> 4 -> 2 equals 8 -> 2 for every
// code, so MergeExactSlices takes the int2 slice from the stored model.

// CHECK-LABEL: func.func @slice_chain_prefix_merged
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
// CHECK-NOT: mq.slice
// CHECK: return %[[S]]
func.func @slice_chain_prefix_merged(%a: !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>)
    -> !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact> {
  %0 = mq.slice %a : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>
                  to !mq.weight<8x12xf32, storage = 8, bits = 4, mode = prefix_exact>
  %1 = mq.slice %0 : !mq.weight<8x12xf32, storage = 8, bits = 4, mode = prefix_exact>
                  to !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
  return %1 : !mq.weight<8x12xf32, storage = 8, bits = 2, mode = prefix_exact>
}

// -----

// Also from an already sliced value: storage 6, 5 -> 4 -> 1 becomes 5 -> 1.

// CHECK-LABEL: func.func @slice_chain_prefix_from_slice
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: !mq.weight
// CHECK: %[[S:[a-zA-Z0-9_]+]] = mq.slice %[[A]] : !mq.weight<3x4xf32, storage = 6, bits = 5, axis = 1, mode = prefix_exact> to !mq.weight<3x4xf32, storage = 6, bits = 1, axis = 1, mode = prefix_exact>
// CHECK-NOT: mq.slice
// CHECK: return %[[S]]
func.func @slice_chain_prefix_from_slice(%a: !mq.weight<3x4xf32, storage = 6, bits = 5, axis = 1, mode = prefix_exact>)
    -> !mq.weight<3x4xf32, storage = 6, bits = 1, axis = 1, mode = prefix_exact> {
  %0 = mq.slice %a : !mq.weight<3x4xf32, storage = 6, bits = 5, axis = 1, mode = prefix_exact>
                  to !mq.weight<3x4xf32, storage = 6, bits = 4, axis = 1, mode = prefix_exact>
  %1 = mq.slice %0 : !mq.weight<3x4xf32, storage = 6, bits = 4, axis = 1, mode = prefix_exact>
                  to !mq.weight<3x4xf32, storage = 6, bits = 1, axis = 1, mode = prefix_exact>
  return %1 : !mq.weight<3x4xf32, storage = 6, bits = 1, axis = 1, mode = prefix_exact>
}

// -----

// Truncation: the top two bits. 240 = 0b11110000 -> 3 (rounding would give
// 4), 53 -> 0 (rounding: 1), 95 -> 1, 128 -> 2.

// CHECK-LABEL: func.func @slice_constant_prefix
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[3, 0, 0, 3], [1, 1, 1, 2]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 2, mode = prefix_exact>
// CHECK-NOT: mq.slice
// CHECK: return %[[C]]
func.func @slice_constant_prefix() -> !mq.weight<2x4xf32, storage = 8, bits = 2, mode = prefix_exact> {
  %c = mq.constant dense<[[240, 53, 24, 255], [64, 96, 95, 128]]> : tensor<2x4xi8> : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = prefix_exact>
  %0 = mq.slice %c : !mq.weight<2x4xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<2x4xf32, storage = 8, bits = 2, mode = prefix_exact>
  return %0 : !mq.weight<2x4xf32, storage = 8, bits = 2, mode = prefix_exact>
}

// -----

// Storage 4, int2, alpha = 0.1, m = -0.5: scale alpha * 4 = 0.4 and offset
// m' = m + alpha * 2 = -0.3 (float32), so w_hat = 0.4 * k - 0.3, the
// mid-points of the four buckets of two codes each.

// CHECK-LABEL: func.func @dequantize_prefix_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-3.000000e-01, 0.099999994, 5.000000e-01, 0.900000035]]> : tensor<1x4xf32>
// CHECK-NOT: mq.
// CHECK: return %[[C]]
func.func @dequantize_prefix_constant() -> tensor<1x4xf32> {
  %c = mq.constant dense<[[0, 1, 2, 3]]> : tensor<1x4xi8> : !mq.weight<1x4xf32, storage = 4, bits = 2, mode = prefix_exact>
  %s = arith.constant dense<0.1> : tensor<1x1xf32>
  %m = arith.constant dense<-0.5> : tensor<1x1xf32>
  %0 = mq.dequantize %c, %s, %m : !mq.weight<1x4xf32, storage = 4, bits = 2, mode = prefix_exact>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

// The whole chain in prefix-exact mode: codes [0, 127, 191, 255], int2
// indices [0, 1, 2, 3], scale alpha * 64, offset -1 + alpha * 32.

// CHECK-LABEL: func.func @quantize_slice_dequantize_prefix
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-0.749019622, -0.247058809, 2.549020e-01, 0.756862879]]> : tensor<1x4xf32>
// CHECK-NOT: mq.
// CHECK: return %[[C]]
func.func @quantize_slice_dequantize_prefix() -> tensor<1x4xf32> {
  %w = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0]]> : tensor<1x4xf32>
  %q, %s, %m = mq.quantize %w : tensor<1x4xf32> -> !mq.weight<1x4xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<1x1xf32>, tensor<1x1xf32>
  %q2 = mq.slice %q : !mq.weight<1x4xf32, storage = 8, bits = 8, mode = prefix_exact> to !mq.weight<1x4xf32, storage = 8, bits = 2, mode = prefix_exact>
  %0 = mq.dequantize %q2, %s, %m : !mq.weight<1x4xf32, storage = 8, bits = 2, mode = prefix_exact>, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1x4xf32>
  return %0 : tensor<1x4xf32>
}

// -----

// A prefix-exact int3 index needs 3 bits: [5, 7, 2] packs densely into the
// bit stream 101 111 010 (LSB first) = bytes 0xBD 0x00 -> [-67, 0].

// CHECK-LABEL: func.func @pack_prefix_constant
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[-67, 0]]> : tensor<1x2xi8> : !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact, layout = #mq.layout<dense, 3>>
// CHECK: return %[[C]]
func.func @pack_prefix_constant() -> !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact, layout = #mq.layout<dense, 3>> {
  %c = mq.constant dense<[[5, 7, 2]]> : tensor<1x3xi8> : !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact>
  %0 = mq.pack %c : !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact> to !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact, layout = #mq.layout<dense, 3>>
  return %0 : !mq.weight<1x3xf32, storage = 8, bits = 3, mode = prefix_exact, layout = #mq.layout<dense, 3>>
}

// -----

// The tensor-core layout, 8 bits, tiles of 16 x 16 (one k-step, 8 bytes
// per lane). From the mma.m16n8k16 A fragment: lane l = 4 g + t holds rows
// g and g + 8; its word 0 is registers a0 (row g) and a1 (row g + 8) of
// columns 4t, 4t + 1 at bits 0 / 16 and 8 / 24, word 1 the same for
// columns 4t + 2, 4t + 3. So lane 0 reads [w00, w80, w01, w81, w02, w82,
// w03, w83], lane 1 [w04, w84, 0...] (columns past 5 and rows past 2 are
// padding, index 0), lane 4 row 1 and 9.

// CHECK-LABEL: func.func @pack_mma_constant
// CHECK: mq.constant dense<"0x010002000300040005000000000000000000000000000000000000000000000006000700080009000A00{{0+}}"> : tensor<1x256xi8> : !mq.weight<2x5xf16, storage = 8, bits = 8, layout = #mq.layout<mma, 8, block = 16>>
// CHECK-NOT: mq.pack
func.func @pack_mma_constant() -> !mq.weight<2x5xf16, storage = 8, bits = 8, layout = #mq.layout<mma, 8, block = 16>> {
  %c = mq.constant dense<[[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]> : tensor<2x5xi8> : !mq.weight<2x5xf16, storage = 8, bits = 8>
  %0 = mq.pack %c : !mq.weight<2x5xf16, storage = 8, bits = 8> to !mq.weight<2x5xf16, storage = 8, bits = 8, layout = #mq.layout<mma, 8, block = 16>>
  return %0 : !mq.weight<2x5xf16, storage = 8, bits = 8, layout = #mq.layout<mma, 8, block = 16>>
}

// -----

// And back: packing into the 3-bit tensor-core layout (pieces 2 + 1,
// tiles of 64 columns) and unpacking folds to the same indices.

// CHECK-LABEL: func.func @mma_round_trip
// CHECK: %[[C:[a-zA-Z0-9_]+]] = mq.constant dense<{{\[}}[1, 2, 3, 4, 5, 6, 7, 0, 1, 2], [7, 6, 5, 4, 3, 2, 1, 0, 7, 6], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]]> : tensor<3x10xi8> : !mq.weight<3x10xf16, storage = 8, bits = 3>
// CHECK-NOT: mq.pack
// CHECK-NOT: mq.unpack
// CHECK: return %[[C]]
func.func @mma_round_trip() -> !mq.weight<3x10xf16, storage = 8, bits = 3> {
  %c = mq.constant dense<[[1, 2, 3, 4, 5, 6, 7, 0, 1, 2], [7, 6, 5, 4, 3, 2, 1, 0, 7, 6], [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]]> : tensor<3x10xi8> : !mq.weight<3x10xf16, storage = 8, bits = 3>
  %0 = mq.pack %c : !mq.weight<3x10xf16, storage = 8, bits = 3> to !mq.weight<3x10xf16, storage = 8, bits = 3, layout = #mq.layout<mma, 3, block = 64>>
  %1 = mq.unpack %0 : !mq.weight<3x10xf16, storage = 8, bits = 3, layout = #mq.layout<mma, 3, block = 64>> to !mq.weight<3x10xf16, storage = 8, bits = 3>
  return %1 : !mq.weight<3x10xf16, storage = 8, bits = 3>
}
