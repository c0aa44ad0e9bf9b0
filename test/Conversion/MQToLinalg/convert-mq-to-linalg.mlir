// RUN: matquant-opt %s --convert-mq-to-linalg -split-input-file | FileCheck %s

// Affine maps are printed as aliases at the top of each split module, so
// they are captured with global ($) variables before the function's label.

//===----------------------------------------------------------------------===//
// mq.constant
//===----------------------------------------------------------------------===//

// The constant becomes an arith.constant of its storage tensor type, and the
// function returns that type.

// CHECK-LABEL: func.func @constant
// CHECK-SAME: () -> tensor<2x3xi8>
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[0, 3, 1], [2, 2, 0]]> : tensor<2x3xi8>
// CHECK-NOT: mq.
// CHECK: return %[[C]] : tensor<2x3xi8>
func.func @constant() -> !mq.weight<2x3xf32, storage = 8, bits = 2> {
  %c = mq.constant dense<[[0, 3, 1], [2, 2, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
  return %c : !mq.weight<2x3xf32, storage = 8, bits = 2>
}

// -----

// A packed constant keeps its bytes and is unpacked where it is used. (The
// conversion folds mq.unpack / mq.dequantize of constants, so the constant
// feeds an op without a folder here.)

// CHECK-LABEL: func.func @constant_packed
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<5xf32>, %[[S:[a-zA-Z0-9_]+]]: tensor<2x1xf32>, %[[M:[a-zA-Z0-9_]+]]: tensor<2x1xf32>) -> tensor<2xf32>
// CHECK: %[[C:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[-47, 88], [-121, 51]]> : tensor<2x2xi8>
// CHECK: %[[U:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK: tensor.extract %[[C]]
// CHECK: } : tensor<2x5xi8>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[U]], %[[S]], %[[M]] : tensor<2x5xi8>, tensor<2x1xf32>, tensor<2x1xf32>)
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[X]], %{{.*}} : tensor<5xf32>, tensor<2x5xf32>)
// CHECK-NOT: mq.
func.func @constant_packed(%x: tensor<5xf32>, %s: tensor<2x1xf32>, %m: tensor<2x1xf32>) -> tensor<2xf32> {
  %c = mq.constant dense<[[-47, 88], [-121, 51]]> : tensor<2x2xi8> : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
  %0 = mq.matvec %x, %c, %s, %m : tensor<5xf32>, !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Constant operands fold while converting: mq.dequantize of a constant with
// constant scales becomes a float constant (k * 64 * 0.5 + 1).

// CHECK-LABEL: func.func @constant_dequantize_folds
// CHECK: %[[D:[a-zA-Z0-9_]+]] = arith.constant dense<{{\[}}[1.000000e+00, 9.700000e+01, 3.300000e+01], [6.500000e+01, 6.500000e+01, 1.000000e+00]]> : tensor<2x3xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[D]] : tensor<2x3xf32>
// CHECK-NOT: mq.
func.func @constant_dequantize_folds() -> tensor<2x3xf32> {
  %c = mq.constant dense<[[0, 3, 1], [2, 2, 0]]> : tensor<2x3xi8> : !mq.weight<2x3xf32, storage = 8, bits = 2>
  %s = arith.constant dense<0.5> : tensor<2x1xf32>
  %m = arith.constant dense<1.0> : tensor<2x1xf32>
  %0 = mq.dequantize %c, %s, %m : !mq.weight<2x3xf32, storage = 8, bits = 2>, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// mq.quantize
//===----------------------------------------------------------------------===//

// Group size 6 along the rows of an 8x12 (axis 0) weight: the input is
// expanded to 8x2x6, reduced over d2 to min / max, turned into
// (alpha, z, m) and the codes are computed per element.

// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$RED:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[$ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @quantize
// CHECK-SAME: (%[[W:[a-zA-Z0-9_]+]]: tensor<8x12xf32>) -> (tensor<8x12xi8>, tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK: %[[X:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[W]] {{\[}}[0], [1, 2]] output_shape [8, 2, 6] : tensor<8x12xf32> into tensor<8x2x6xf32>
// CHECK-DAG: %[[NINF:[a-zA-Z0-9_]+]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[PINF:[a-zA-Z0-9_]+]] = arith.constant 0x7F800000 : f32
// CHECK-DAG: %[[MAXI:[a-zA-Z0-9_]+]] = linalg.fill ins(%[[NINF]] : f32) outs(%{{.*}} : tensor<8x2xf32>)
// CHECK-DAG: %[[MINI:[a-zA-Z0-9_]+]] = linalg.fill ins(%[[PINF]] : f32) outs(%{{.*}} : tensor<8x2xf32>)
// CHECK: %[[MM:[a-zA-Z0-9_]+]]:2 = linalg.generic {indexing_maps = [#[[$ID3]], #[[$RED]], #[[$RED]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]] : tensor<8x2x6xf32>) outs(%[[MAXI]], %[[MINI]] : tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK: ^bb0(%[[IN:[a-zA-Z0-9_]+]]: f32, %[[OMAX:[a-zA-Z0-9_]+]]: f32, %[[OMIN:[a-zA-Z0-9_]+]]: f32):
// CHECK: %[[NMAX:[a-zA-Z0-9_]+]] = arith.max{{[a-z]*}}f %[[IN]], %[[OMAX]] : f32
// CHECK: %[[NMIN:[a-zA-Z0-9_]+]] = arith.min{{[a-z]*}}f %[[IN]], %[[OMIN]] : f32
// CHECK: linalg.yield %[[NMAX]], %[[NMIN]] : f32, f32
// alpha = (hi - lo) / 255, z = -lo / alpha, m = -alpha * z; a group with
// hi == lo is constant (detected by comparing hi and lo).
// CHECK: %[[P:[a-zA-Z0-9_]+]]:3 = linalg.generic {indexing_maps = [#[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$ID2]], #[[$ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[MM]]#0, %[[MM]]#1 : tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK: ^bb0(%[[HI:[a-zA-Z0-9_]+]]: f32, %[[LO:[a-zA-Z0-9_]+]]: f32, %{{.*}}: f32, %{{.*}}: f32, %{{.*}}: f32):
// CHECK-DAG: %[[LEVELS:[a-zA-Z0-9_]+]] = arith.constant 2.550000e+02 : f32
// CHECK-DAG: %[[RANGE:[a-zA-Z0-9_]+]] = arith.subf %[[HI]], %[[LO]] : f32
// CHECK-DAG: arith.divf %[[RANGE]], %[[LEVELS]] : f32
// CHECK-DAG: %[[NLO:[a-zA-Z0-9_]+]] = arith.negf %[[LO]] : f32
// CHECK-DAG: %[[Z:[a-zA-Z0-9_]+]] = arith.divf %[[NLO]], %[[ALPHA:[a-zA-Z0-9_]+]] : f32
// CHECK-DAG: %[[NALPHA:[a-zA-Z0-9_]+]] = arith.negf %[[ALPHA]] : f32
// CHECK-DAG: arith.mulf %[[NALPHA]], %[[Z]] : f32
// CHECK-DAG: arith.cmpf {{[a-z]+}}, %[[HI]], %[[LO]] : f32
// CHECK: linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
// q = clamp(round(w / alpha + z), 0, 255), 0 for a constant group.
// CHECK: %[[Q:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID3]], #[[$RED]], #[[$RED]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK-SAME: ins(%[[X]], %[[P]]#0, %[[P]]#1 : tensor<8x2x6xf32>, tensor<8x2xf32>, tensor<8x2xf32>) outs(%{{.*}} : tensor<8x2x6xi8>)
// CHECK: ^bb0(%[[V:[a-zA-Z0-9_]+]]: f32, %[[QA:[a-zA-Z0-9_]+]]: f32, %[[QZ:[a-zA-Z0-9_]+]]: f32, %{{.*}}: i8):
// CHECK: %[[T:[a-zA-Z0-9_]+]] = arith.divf %[[V]], %[[QA]] : f32
// CHECK: %[[T2:[a-zA-Z0-9_]+]] = arith.addf %[[T]], %[[QZ]] : f32
// CHECK: %[[R:[a-zA-Z0-9_]+]] = math.round %[[T2]] : f32
// CHECK: arith.constant 2.550000e+02 : f32
// CHECK: %[[UB:[a-zA-Z0-9_]+]] = arith.minimumf %{{.*}}, %{{.*}} : f32
// CHECK: %[[U:[a-zA-Z0-9_]+]] = arith.fptoui %[[UB]] : f32 to i32
// CHECK: %[[ISC:[a-zA-Z0-9_]+]] = arith.cmpf oeq, %[[QA]], %{{.*}} : f32
// CHECK: %[[SEL:[a-zA-Z0-9_]+]] = arith.select %[[ISC]], %{{.*}}, %[[U]] : i32
// CHECK: %[[Q8:[a-zA-Z0-9_]+]] = arith.trunci %[[SEL]] : i32 to i8
// CHECK: linalg.yield %[[Q8]] : i8
// CHECK: %[[FLAT:[a-zA-Z0-9_]+]] = tensor.collapse_shape %[[Q]] {{\[}}[0], [1, 2]] : tensor<8x2x6xi8> into tensor<8x12xi8>
// CHECK: return %[[FLAT]], %[[P]]#0, %[[P]]#2 : tensor<8x12xi8>, tensor<8x2xf32>, tensor<8x2xf32>
// CHECK-NOT: mq.
func.func @quantize(%w: tensor<8x12xf32>)
    -> (!mq.weight<8x12xf32, storage = 8, bits = 8, group = 6>, tensor<8x2xf32>, tensor<8x2xf32>) {
  %q, %s, %m = mq.quantize %w : tensor<8x12xf32> -> !mq.weight<8x12xf32, storage = 8, bits = 8, group = 6>, tensor<8x2xf32>, tensor<8x2xf32>
  return %q, %s, %m : !mq.weight<8x12xf32, storage = 8, bits = 8, group = 6>, tensor<8x2xf32>, tensor<8x2xf32>
}

// -----

// axis = 1 with groups of 3 down the columns of a 6x4 weight at c = 4, with
// clipping: the input is expanded to 2x3x4 and reduced over d1; hi and lo
// are scaled by gamma and beta, with the fall-back to the unclipped range.

// CHECK-DAG: #[[$ID3:.*]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[$RED:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @quantize_axis1_clip
// CHECK-SAME: (%[[W:[a-zA-Z0-9_]+]]: tensor<6x4xf16>) -> (tensor<6x4xi8>, tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK: %[[X:[a-zA-Z0-9_]+]] = tensor.expand_shape %[[W]] {{\[}}[0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf16> into tensor<2x3x4xf16>
// CHECK: linalg.generic {indexing_maps = [#[[$ID3]], #[[$RED]], #[[$RED]]], iterator_types = ["parallel", "reduction", "parallel"]}
// CHECK-SAME: ins(%[[X]] : tensor<2x3x4xf16>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[MX:[a-zA-Z0-9_]+]]: f32, %[[MN:[a-zA-Z0-9_]+]]: f32,
// CHECK-DAG: %[[L15:[a-zA-Z0-9_]+]] = arith.constant 1.500000e+01 : f32
// CHECK-DAG: %[[GAMMA:[a-zA-Z0-9_]+]] = arith.constant 8.000000e-01 : f32
// CHECK-DAG: %[[BETA:[a-zA-Z0-9_]+]] = arith.constant 5.000000e-01 : f32
// CHECK-DAG: %[[HI:[a-zA-Z0-9_]+]] = arith.mulf %[[GAMMA]], %[[MX]] : f32
// CHECK-DAG: %[[LO:[a-zA-Z0-9_]+]] = arith.mulf %[[BETA]], %[[MN]] : f32
// CHECK: %[[BAD:[a-zA-Z0-9_]+]] = arith.cmpf {{[ou]}}le, %[[HI]], %[[LO]] : f32
// CHECK: %[[HI2:[a-zA-Z0-9_]+]] = arith.select %[[BAD]], %[[MX]], %[[HI]] : f32
// CHECK: %[[LO2:[a-zA-Z0-9_]+]] = arith.select %[[BAD]], %[[MN]], %[[LO]] : f32
// CHECK-DAG: %[[RANGE:[a-zA-Z0-9_]+]] = arith.subf %[[HI2]], %[[LO2]] : f32
// CHECK-DAG: arith.divf %[[RANGE]], %[[L15]] : f32
// CHECK: linalg.generic {indexing_maps = [#[[$ID3]], #[[$RED]], #[[$RED]], #[[$ID3]]], iterator_types = ["parallel", "parallel", "parallel"]}
// CHECK: math.round
// CHECK: arith.fptoui
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x3x4xi8> into tensor<6x4xi8>
// CHECK-NOT: mq.
func.func @quantize_axis1_clip(%w: tensor<6x4xf16>)
    -> (!mq.weight<6x4xf16, storage = 4, bits = 4, axis = 1, group = 3>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %q, %s, %m = mq.quantize %w clip(0.8, 0.5) : tensor<6x4xf16> -> !mq.weight<6x4xf16, storage = 4, bits = 4, axis = 1, group = 3>, tensor<2x4xf32>, tensor<2x4xf32>
  return %q, %s, %m : !mq.weight<6x4xf16, storage = 4, bits = 4, axis = 1, group = 3>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// mq.slice
//===----------------------------------------------------------------------===//

// int4 -> int2 of int8 storage: v = k << 4, k' = (v >> 6) + ((v >> 5) & 1),
// clamped to 3.

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @slice
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<8x12xi8>) -> tensor<8x12xi8>
// CHECK: %[[INIT:[a-zA-Z0-9_]+]] = tensor.empty() : tensor<8x12xi8>
// CHECK: %[[R:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]] : tensor<8x12xi8>) outs(%[[INIT]] : tensor<8x12xi8>)
// CHECK: ^bb0(%[[IN:[a-zA-Z0-9_]+]]: i8, %{{.*}}: i8):
// CHECK: %[[E:[a-zA-Z0-9_]+]] = arith.extui %[[IN]] : i8 to i32
// CHECK: %[[C4:[a-zA-Z0-9_]+]] = arith.constant 4 : i32
// CHECK: %[[V:[a-zA-Z0-9_]+]] = arith.shli %[[E]], %[[C4]] : i32
// CHECK: %[[C6:[a-zA-Z0-9_]+]] = arith.constant 6 : i32
// CHECK: %[[K:[a-zA-Z0-9_]+]] = arith.shrui %[[V]], %[[C6]] : i32
// CHECK: %[[C5:[a-zA-Z0-9_]+]] = arith.constant 5 : i32
// CHECK: %[[H:[a-zA-Z0-9_]+]] = arith.shrui %[[V]], %[[C5]] : i32
// CHECK: %[[C1:[a-zA-Z0-9_]+]] = arith.constant 1 : i32
// CHECK: %[[HB:[a-zA-Z0-9_]+]] = arith.andi %[[H]], %[[C1]] : i32
// CHECK: %[[SUM:[a-zA-Z0-9_]+]] = arith.addi %[[K]], %[[HB]] : i32
// CHECK: %[[C3:[a-zA-Z0-9_]+]] = arith.constant 3 : i32
// CHECK: %[[CL:[a-zA-Z0-9_]+]] = arith.minui %[[SUM]], %[[C3]] : i32
// CHECK: %[[T:[a-zA-Z0-9_]+]] = arith.trunci %[[CL]] : i32 to i8
// CHECK: linalg.yield %[[T]] : i8
// CHECK: return %[[R]] : tensor<8x12xi8>
// CHECK-NOT: mq.
func.func @slice(%a: !mq.weight<8x12xf32, storage = 8, bits = 4>) -> !mq.weight<8x12xf32, storage = 8, bits = 2> {
  %0 = mq.slice %a : !mq.weight<8x12xf32, storage = 8, bits = 4> to !mq.weight<8x12xf32, storage = 8, bits = 2>
  return %0 : !mq.weight<8x12xf32, storage = 8, bits = 2>
}

// -----

// From the storage width in extra-precision mode: no shift up (the input is
// already on the grid) and no clamp.

// CHECK-LABEL: func.func @slice_extra_from_storage
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<4x6xi8>) -> tensor<4x6xi8>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[A]] : tensor<4x6xi8>)
// CHECK: %[[E:[a-zA-Z0-9_]+]] = arith.extui %{{.*}} : i8 to i32
// CHECK-NOT: arith.shli
// CHECK: %[[C5:[a-zA-Z0-9_]+]] = arith.constant 5 : i32
// CHECK: %[[K:[a-zA-Z0-9_]+]] = arith.shrui %[[E]], %[[C5]] : i32
// CHECK: %[[C4:[a-zA-Z0-9_]+]] = arith.constant 4 : i32
// CHECK: %[[H:[a-zA-Z0-9_]+]] = arith.shrui %[[E]], %[[C4]] : i32
// CHECK: %[[HB:[a-zA-Z0-9_]+]] = arith.andi %[[H]], %{{.*}} : i32
// CHECK: %[[SUM:[a-zA-Z0-9_]+]] = arith.addi %[[K]], %[[HB]] : i32
// CHECK-NOT: arith.minui
// CHECK: %[[T:[a-zA-Z0-9_]+]] = arith.trunci %[[SUM]] : i32 to i8
// CHECK: linalg.yield %[[T]] : i8
// CHECK-NOT: mq.
func.func @slice_extra_from_storage(%a: !mq.weight<4x6xf32, storage = 8, bits = 8, mode = extra_precision>)
    -> !mq.weight<4x6xf32, storage = 8, bits = 3, mode = extra_precision> {
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 8, mode = extra_precision>
                  to !mq.weight<4x6xf32, storage = 8, bits = 3, mode = extra_precision>
  return %0 : !mq.weight<4x6xf32, storage = 8, bits = 3, mode = extra_precision>
}

// -----

// Prefix exact: truncation, a shift right and nothing else (no rounding bit,
// no clamp). From int6 on a 8-bit grid to int2: shift up by 2, then down by 6.

// CHECK-LABEL: func.func @slice_prefix
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<4x6xi8>) -> tensor<4x6xi8>
// CHECK: linalg.generic
// CHECK-SAME: ins(%[[A]] : tensor<4x6xi8>)
// CHECK: %[[E:[a-zA-Z0-9_]+]] = arith.extui %{{.*}} : i8 to i32
// CHECK: %[[C2:[a-zA-Z0-9_]+]] = arith.constant 2 : i32
// CHECK: %[[U:[a-zA-Z0-9_]+]] = arith.shli %[[E]], %[[C2]] : i32
// CHECK: %[[C6:[a-zA-Z0-9_]+]] = arith.constant 6 : i32
// CHECK: %[[K:[a-zA-Z0-9_]+]] = arith.shrui %[[U]], %[[C6]] : i32
// CHECK-NEXT: %[[T:[a-zA-Z0-9_]+]] = arith.trunci %[[K]] : i32 to i8
// CHECK-NEXT: linalg.yield %[[T]] : i8
// CHECK-NOT: mq.
func.func @slice_prefix(%a: !mq.weight<4x6xf32, storage = 8, bits = 6, mode = prefix_exact>)
    -> !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact> {
  %0 = mq.slice %a : !mq.weight<4x6xf32, storage = 8, bits = 6, mode = prefix_exact>
                  to !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact>
  return %0 : !mq.weight<4x6xf32, storage = 8, bits = 2, mode = prefix_exact>
}

// -----

//===----------------------------------------------------------------------===//
// mq.dequantize
//===----------------------------------------------------------------------===//

// Prefix exact, int3 of int8: scale alpha * 32, offset m + alpha * 16
// (numerics::sliceOffset), then the same multiply and add.

// CHECK-LABEL: func.func @dequantize_prefix
// CHECK: ^bb0(%[[K:[a-zA-Z0-9_]+]]: i8, %[[ALPHA:[a-zA-Z0-9_]+]]: f32, %[[OFF:[a-zA-Z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[F:[a-zA-Z0-9_]+]] = arith.constant 3.200000e+01 : f32
// CHECK: %[[EFF:[a-zA-Z0-9_]+]] = arith.mulf %[[ALPHA]], %[[F]] : f32
// CHECK: %[[KF:[a-zA-Z0-9_]+]] = arith.uitofp %[[K]] : i8 to f32
// CHECK: %[[P:[a-zA-Z0-9_]+]] = arith.mulf %[[EFF]], %[[KF]] : f32
// CHECK: %[[HF:[a-zA-Z0-9_]+]] = arith.constant 1.600000e+01 : f32
// CHECK: %[[HALF:[a-zA-Z0-9_]+]] = arith.mulf %[[ALPHA]], %[[HF]] : f32
// CHECK: %[[MP:[a-zA-Z0-9_]+]] = arith.addf %[[OFF]], %[[HALF]] : f32
// CHECK: %[[W:[a-zA-Z0-9_]+]] = arith.addf %[[P]], %[[MP]] : f32
// CHECK: linalg.yield %[[W]] : f32
// CHECK-NOT: mq.
func.func @dequantize_prefix(%a: !mq.weight<8x12xf32, storage = 8, bits = 3, mode = prefix_exact>, %s: tensor<8x1xf32>, %m: tensor<8x1xf32>) -> tensor<8x12xf32> {
  %0 = mq.dequantize %a, %s, %m : !mq.weight<8x12xf32, storage = 8, bits = 3, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8x12xf32>
  return %0 : tensor<8x12xf32>
}

// -----

// At full width a prefix-exact weight is the stored model: no half step.

// CHECK-LABEL: func.func @dequantize_prefix_full
// CHECK: ^bb0(%[[K:[a-zA-Z0-9_]+]]: i8, %[[ALPHA:[a-zA-Z0-9_]+]]: f32, %[[OFF:[a-zA-Z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[KF:[a-zA-Z0-9_]+]] = arith.uitofp %[[K]] : i8 to f32
// CHECK-NEXT: %[[P:[a-zA-Z0-9_]+]] = arith.mulf %{{.*}}, %[[KF]] : f32
// CHECK-NEXT: %[[W:[a-zA-Z0-9_]+]] = arith.addf %[[P]], %[[OFF]] : f32
// CHECK-NEXT: linalg.yield %[[W]] : f32
func.func @dequantize_prefix_full(%a: !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>, %s: tensor<8x1xf32>, %m: tensor<8x1xf32>) -> tensor<8x12xf32> {
  %0 = mq.dequantize %a, %s, %m : !mq.weight<8x12xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8x12xf32>
  return %0 : tensor<8x12xf32>
}

// -----

// Group size 6 along the 12 columns: scales and offsets are read through the
// (d0, d1 floordiv 6) map; the effective scale is alpha * 2^(8-4) = 16; the
// f16 result is truncated from f32.

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$GRP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 6)>
// CHECK-LABEL: func.func @dequantize
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<8x12xi8>, %[[S:[a-zA-Z0-9_]+]]: tensor<8x2xf32>, %[[M:[a-zA-Z0-9_]+]]: tensor<8x2xf32>) -> tensor<8x12xf16>
// CHECK: %[[INIT:[a-zA-Z0-9_]+]] = tensor.empty() : tensor<8x12xf16>
// CHECK: %[[R:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$GRP]], #[[$GRP]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[S]], %[[M]] : tensor<8x12xi8>, tensor<8x2xf32>, tensor<8x2xf32>) outs(%[[INIT]] : tensor<8x12xf16>)
// CHECK: ^bb0(%[[K:[a-zA-Z0-9_]+]]: i8, %[[ALPHA:[a-zA-Z0-9_]+]]: f32, %[[OFF:[a-zA-Z0-9_]+]]: f32, %{{.*}}: f16):
// CHECK: %[[F:[a-zA-Z0-9_]+]] = arith.constant 1.600000e+01 : f32
// CHECK: %[[EFF:[a-zA-Z0-9_]+]] = arith.mulf %[[ALPHA]], %[[F]] : f32
// CHECK: %[[KF:[a-zA-Z0-9_]+]] = arith.uitofp %[[K]] : i8 to f32
// CHECK: %[[P:[a-zA-Z0-9_]+]] = arith.mulf %[[EFF]], %[[KF]] : f32
// CHECK: %[[W:[a-zA-Z0-9_]+]] = arith.addf %[[P]], %[[OFF]] : f32
// CHECK: %[[H:[a-zA-Z0-9_]+]] = arith.truncf %[[W]] : f32 to f16
// CHECK: linalg.yield %[[H]] : f16
// CHECK: return %[[R]] : tensor<8x12xf16>
// CHECK-NOT: mq.
func.func @dequantize(%a: !mq.weight<8x12xf32, storage = 8, bits = 4, group = 6>, %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<8x12xf16> {
  %0 = mq.dequantize %a, %s, %m : !mq.weight<8x12xf32, storage = 8, bits = 4, group = 6>, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8x12xf16>
  return %0 : tensor<8x12xf16>
}

// -----

// Per channel with axis = 1: one scale per column, read through (0, d1).

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func.func @dequantize_axis1
// CHECK: linalg.generic {indexing_maps = [#[[$ID]], #[[$COL]], #[[$COL]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK-NOT: arith.truncf
// CHECK: linalg.yield %{{.*}} : f32
// CHECK-NOT: mq.
func.func @dequantize_axis1(%a: !mq.weight<12x8xf32, storage = 8, bits = 8, axis = 1>, %s: tensor<1x8xf32>, %m: tensor<1x8xf32>) -> tensor<12x8xf32> {
  %0 = mq.dequantize %a, %s, %m : !mq.weight<12x8xf32, storage = 8, bits = 8, axis = 1>, tensor<1x8xf32>, tensor<1x8xf32> -> tensor<12x8xf32>
  return %0 : tensor<12x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// mq.pack / mq.unpack
//===----------------------------------------------------------------------===//

// Dense 3-bit, 5 columns: 2 bytes per row. Byte b gathers the elements from
// floor(8b / 3) on (ceil(8/3) + 1 = 4 of them), each shifted by
// 3j - 8b, left or right by its sign; out-of-row columns read as 0.

// CHECK-LABEL: func.func @pack_dense
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<2x5xi8>) -> tensor<2x2xi8>
// CHECK: %[[G:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK: ^bb0(%[[ROW:[a-zA-Z0-9_]+]]: index, %[[BYTE:[a-zA-Z0-9_]+]]: index):
// CHECK-DAG: %[[C5:[a-zA-Z0-9_]+]] = arith.constant 5 : index
// CHECK-DAG: %[[C8:[a-zA-Z0-9_]+]] = arith.constant 8 : index
// CHECK: %[[BIT0:[a-zA-Z0-9_]+]] = arith.muli %[[BYTE]], %[[C8]] : index
// CHECK: %[[C3:[a-zA-Z0-9_]+]] = arith.constant 3 : index
// CHECK: %[[FIRST:[a-zA-Z0-9_]+]] = arith.divui %[[BIT0]], %[[C3]] : index
// CHECK: %[[J:[a-zA-Z0-9_]+]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK: %[[INB:[a-zA-Z0-9_]+]] = arith.cmpi ult, %[[J]], %[[C5]] : index
// CHECK: %[[JC:[a-zA-Z0-9_]+]] = arith.minui %[[J]], %{{.*}} : index
// CHECK: %[[X:[a-zA-Z0-9_]+]] = tensor.extract %[[A]][%[[ROW]], %[[JC]]] : tensor<2x5xi8>
// CHECK: %[[XE:[a-zA-Z0-9_]+]] = arith.extui %[[X]] : i8 to i32
// CHECK: %[[XV:[a-zA-Z0-9_]+]] = arith.select %[[INB]], %[[XE]], %{{.*}} : i32
// CHECK: arith.subi
// CHECK: %[[SH:[a-zA-Z0-9_]+]] = arith.index_cast %{{.*}} : index to i32
// CHECK: arith.cmpi slt, %[[SH]]
// CHECK: arith.shli %[[XV]]
// CHECK: arith.shrui %[[XV]]
// CHECK: arith.select
// CHECK: arith.ori
// The other three elements of the byte.
// CHECK-COUNT-3: tensor.extract %[[A]]
// CHECK-NOT: tensor.extract
// CHECK: %[[OUT:[a-zA-Z0-9_]+]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: tensor.yield %[[OUT]] : i8
// CHECK: } : tensor<2x2xi8>
// CHECK: return %[[G]] : tensor<2x2xi8>
// CHECK-NOT: mq.
func.func @pack_dense(%a: !mq.weight<2x5xf32, storage = 8, bits = 3>)
    -> !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>> {
  %0 = mq.pack %a : !mq.weight<2x5xf32, storage = 8, bits = 3>
                 to !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
  return %0 : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
}

// -----

// Bit planes, 3 bits, 10 columns: storage 3 x rows x ceil(10/8). Byte
// (p, i, b) collects bit (2 - p) of the 8 elements 8b .. 8b+7.

// CHECK-LABEL: func.func @pack_planes
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<2x10xi8>) -> tensor<3x2x2xi8>
// CHECK: %[[G:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK: ^bb0(%[[PL:[a-zA-Z0-9_]+]]: index, %[[ROW:[a-zA-Z0-9_]+]]: index, %[[BYTE:[a-zA-Z0-9_]+]]: index):
// CHECK: %[[PI:[a-zA-Z0-9_]+]] = arith.index_cast %[[PL]] : index to i32
// CHECK: %[[C2:[a-zA-Z0-9_]+]] = arith.constant 2 : i32
// CHECK: %[[BIT:[a-zA-Z0-9_]+]] = arith.subi %[[C2]], %[[PI]] : i32
// CHECK: %[[C8:[a-zA-Z0-9_]+]] = arith.constant 8 : index
// CHECK: %[[BASE:[a-zA-Z0-9_]+]] = arith.muli %[[BYTE]], %[[C8]] : index
// CHECK: %[[X:[a-zA-Z0-9_]+]] = tensor.extract %[[A]][%[[ROW]], %{{.*}}] : tensor<2x10xi8>
// CHECK: %[[XE:[a-zA-Z0-9_]+]] = arith.extui %[[X]] : i8 to i32
// CHECK: %[[XV:[a-zA-Z0-9_]+]] = arith.select %{{.*}}, %[[XE]], %{{.*}} : i32
// CHECK: %[[S:[a-zA-Z0-9_]+]] = arith.shrui %[[XV]], %[[BIT]] : i32
// CHECK: arith.andi %[[S]], %{{.*}} : i32
// CHECK: arith.shli
// CHECK: arith.ori
// CHECK-COUNT-7: arith.shrui %{{.*}}, %[[BIT]] : i32
// CHECK-NOT: tensor.extract
// CHECK: %[[OUT:[a-zA-Z0-9_]+]] = arith.trunci %{{.*}} : i32 to i8
// CHECK: tensor.yield %[[OUT]] : i8
// CHECK: } : tensor<3x2x2xi8>
// CHECK: return %[[G]] : tensor<3x2x2xi8>
// CHECK-NOT: mq.
func.func @pack_planes(%a: !mq.weight<2x10xf32, storage = 4, bits = 3>)
    -> !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>> {
  %0 = mq.pack %a : !mq.weight<2x10xf32, storage = 4, bits = 3>
                 to !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
  return %0 : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
}

// -----

// Dense unpack: element j of a row sits at bit 3j of the row; read the byte
// 3j / 8 and the next one (clamped to the last byte of the row), shift right
// by 3j % 8 and mask with 7.

// CHECK-LABEL: func.func @unpack_dense
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<2x2xi8>) -> tensor<2x5xi8>
// CHECK: %[[G:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK: ^bb0(%[[ROW:[a-zA-Z0-9_]+]]: index, %[[COL:[a-zA-Z0-9_]+]]: index):
// CHECK: %[[C3:[a-zA-Z0-9_]+]] = arith.constant 3 : index
// CHECK: %[[OFF:[a-zA-Z0-9_]+]] = arith.muli %[[COL]], %[[C3]] : index
// CHECK: %[[BYTE:[a-zA-Z0-9_]+]] = arith.divui %[[OFF]], %{{.*}} : index
// CHECK: %[[SHIFT:[a-zA-Z0-9_]+]] = arith.remui %[[OFF]], %{{.*}} : index
// CHECK: %[[LAST:[a-zA-Z0-9_]+]] = arith.constant 1 : index
// CHECK: %[[B1:[a-zA-Z0-9_]+]] = arith.addi %[[BYTE]], %{{.*}} : index
// CHECK: %[[NEXT:[a-zA-Z0-9_]+]] = arith.minui %[[B1]], %[[LAST]] : index
// CHECK: %[[LO:[a-zA-Z0-9_]+]] = tensor.extract %[[P]][%[[ROW]], %[[BYTE]]] : tensor<2x2xi8>
// CHECK: %[[LO32:[a-zA-Z0-9_]+]] = arith.extui %[[LO]] : i8 to i32
// CHECK: %[[HI:[a-zA-Z0-9_]+]] = tensor.extract %[[P]][%[[ROW]], %[[NEXT]]] : tensor<2x2xi8>
// CHECK: %[[HI32:[a-zA-Z0-9_]+]] = arith.extui %[[HI]] : i8 to i32
// CHECK: %[[C8:[a-zA-Z0-9_]+]] = arith.constant 8 : i32
// CHECK: %[[HIS:[a-zA-Z0-9_]+]] = arith.shli %[[HI32]], %[[C8]] : i32
// CHECK: %[[WORD:[a-zA-Z0-9_]+]] = arith.ori %[[LO32]], %[[HIS]] : i32
// CHECK: %[[SH32:[a-zA-Z0-9_]+]] = arith.index_cast %[[SHIFT]] : index to i32
// CHECK: %[[V:[a-zA-Z0-9_]+]] = arith.shrui %[[WORD]], %[[SH32]] : i32
// CHECK: %[[MASK:[a-zA-Z0-9_]+]] = arith.constant 7 : i32
// CHECK: %[[K:[a-zA-Z0-9_]+]] = arith.andi %[[V]], %[[MASK]] : i32
// CHECK: %[[K8:[a-zA-Z0-9_]+]] = arith.trunci %[[K]] : i32 to i8
// CHECK: tensor.yield %[[K8]] : i8
// CHECK: } : tensor<2x5xi8>
// CHECK: return %[[G]] : tensor<2x5xi8>
// CHECK-NOT: mq.
func.func @unpack_dense(%p: !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>)
    -> !mq.weight<2x5xf32, storage = 8, bits = 3> {
  %0 = mq.unpack %p : !mq.weight<2x5xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
                   to !mq.weight<2x5xf32, storage = 8, bits = 3>
  return %0 : !mq.weight<2x5xf32, storage = 8, bits = 3>
}

// -----

// Planes unpack: one load per plane, plane p giving bit (bits - 1 - p).

// CHECK-LABEL: func.func @unpack_planes
// CHECK-SAME: (%[[P:[a-zA-Z0-9_]+]]: tensor<3x2x2xi8>) -> tensor<2x10xi8>
// CHECK: %[[G:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK: ^bb0(%[[ROW:[a-zA-Z0-9_]+]]: index, %[[COL:[a-zA-Z0-9_]+]]: index):
// CHECK: %[[BYTE:[a-zA-Z0-9_]+]] = arith.divui %[[COL]], %{{.*}} : index
// CHECK: %[[BITI:[a-zA-Z0-9_]+]] = arith.remui %[[COL]], %{{.*}} : index
// CHECK: %[[BIT:[a-zA-Z0-9_]+]] = arith.index_cast %[[BITI]] : index to i32
// CHECK: %[[P0:[a-zA-Z0-9_]+]] = arith.constant 0 : index
// CHECK: tensor.extract %[[P]][%[[P0]], %[[ROW]], %[[BYTE]]] : tensor<3x2x2xi8>
// CHECK: arith.shrui %{{.*}}, %[[BIT]] : i32
// CHECK: %[[SH0:[a-zA-Z0-9_]+]] = arith.constant 2 : i32
// CHECK: arith.shli %{{.*}}, %[[SH0]] : i32
// CHECK: %[[P1:[a-zA-Z0-9_]+]] = arith.constant 1 : index
// CHECK: tensor.extract %[[P]][%[[P1]], %[[ROW]], %[[BYTE]]] : tensor<3x2x2xi8>
// CHECK: %[[P2:[a-zA-Z0-9_]+]] = arith.constant 2 : index
// CHECK: tensor.extract %[[P]][%[[P2]], %[[ROW]], %[[BYTE]]] : tensor<3x2x2xi8>
// CHECK-NOT: tensor.extract
// CHECK: tensor.yield %{{.*}} : i8
// CHECK: } : tensor<2x10xi8>
// CHECK: return %[[G]] : tensor<2x10xi8>
// CHECK-NOT: mq.
func.func @unpack_planes(%p: !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>)
    -> !mq.weight<2x10xf32, storage = 4, bits = 3> {
  %0 = mq.unpack %p : !mq.weight<2x10xf32, storage = 4, bits = 3, layout = #mq.layout<planes, 3>>
                   to !mq.weight<2x10xf32, storage = 4, bits = 3>
  return %0 : !mq.weight<2x10xf32, storage = 4, bits = 3>
}

// -----

//===----------------------------------------------------------------------===//
// mq.matvec / mq.matmul
//===----------------------------------------------------------------------===//

// Matvec on a logical int2 weight with groups of 6: dequantize (scale
// alpha * 64), then a (parallel, reduction) contraction into a zero-filled
// f32 accumulator.

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$GRP:.*]] = affine_map<(d0, d1) -> (d0, d1 floordiv 6)>
// CHECK-DAG: #[[$XMAP:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[$YMAP:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @matvec
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<12xf32>, %[[Q:[a-zA-Z0-9_]+]]: tensor<8x12xi8>, %[[S:[a-zA-Z0-9_]+]]: tensor<8x2xf32>, %[[M:[a-zA-Z0-9_]+]]: tensor<8x2xf32>) -> tensor<8xf32>
// CHECK: %[[W:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$GRP]], #[[$GRP]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[Q]], %[[S]], %[[M]] : tensor<8x12xi8>, tensor<8x2xf32>, tensor<8x2xf32>)
// CHECK: arith.constant 6.400000e+01 : f32
// CHECK: arith.uitofp
// CHECK: } -> tensor<8x12xf32>
// CHECK: %[[ZERO:[a-zA-Z0-9_]+]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:[a-zA-Z0-9_]+]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<8xf32>) -> tensor<8xf32>
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$XMAP]], #[[$ID]], #[[$YMAP]]], iterator_types = ["parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<12xf32>, tensor<8x12xf32>) outs(%[[ACC]] : tensor<8xf32>)
// CHECK: ^bb0(%[[XV:[a-zA-Z0-9_]+]]: f32, %[[WV:[a-zA-Z0-9_]+]]: f32, %[[OUT:[a-zA-Z0-9_]+]]: f32):
// CHECK: %[[PR:[a-zA-Z0-9_]+]] = arith.mulf %[[XV]], %[[WV]] : f32
// CHECK: %[[SUM:[a-zA-Z0-9_]+]] = arith.addf %[[OUT]], %[[PR]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: return %[[Y]] : tensor<8xf32>
// CHECK-NOT: mq.
func.func @matvec(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 2, group = 6>,
                  %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<8xf32> {
  %y = mq.matvec %x, %q, %s, %m : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 2, group = 6>, tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Matmul with f16 activations on a packed (planes) axis = 1 int4 weight:
// unpack, dequantize, contract over d2 with the weight read as (d2, d1),
// extend the activations to f32, accumulate in f32, truncate to f16.

// CHECK-DAG: #[[$ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$COL:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-DAG: #[[$XMAP:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[$WMAP:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-DAG: #[[$YMAP:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @matmul_f16
// CHECK-SAME: (%[[X:[a-zA-Z0-9_]+]]: tensor<3x12xf16>, %[[P:[a-zA-Z0-9_]+]]: tensor<4x12x1xi8>, %[[S:[a-zA-Z0-9_]+]]: tensor<1x8xf32>, %[[M:[a-zA-Z0-9_]+]]: tensor<1x8xf32>) -> tensor<3x8xf16>
// CHECK: %[[U:[a-zA-Z0-9_]+]] = tensor.generate
// CHECK-COUNT-4: tensor.extract %[[P]]
// CHECK: } : tensor<12x8xi8>
// CHECK: %[[W:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$COL]], #[[$COL]], #[[$ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[U]], %[[S]], %[[M]] : tensor<12x8xi8>, tensor<1x8xf32>, tensor<1x8xf32>)
// CHECK: arith.constant 1.600000e+01 : f32
// CHECK: } -> tensor<12x8xf32>
// CHECK: %[[ACC:[a-zA-Z0-9_]+]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x8xf32>) -> tensor<3x8xf32>
// CHECK: %[[Y:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$XMAP]], #[[$WMAP]], #[[$YMAP]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%[[X]], %[[W]] : tensor<3x12xf16>, tensor<12x8xf32>) outs(%[[ACC]] : tensor<3x8xf32>)
// CHECK: ^bb0(%[[XV:[a-zA-Z0-9_]+]]: f16, %[[WV:[a-zA-Z0-9_]+]]: f32, %[[OUT:[a-zA-Z0-9_]+]]: f32):
// CHECK: %[[XF:[a-zA-Z0-9_]+]] = arith.extf %[[XV]] : f16 to f32
// CHECK: %[[PR:[a-zA-Z0-9_]+]] = arith.mulf %[[XF]], %[[WV]] : f32
// CHECK: %[[SUM:[a-zA-Z0-9_]+]] = arith.addf %[[OUT]], %[[PR]] : f32
// CHECK: linalg.yield %[[SUM]] : f32
// CHECK: } -> tensor<3x8xf32>
// CHECK: %[[R:[a-zA-Z0-9_]+]] = linalg.generic {indexing_maps = [#[[$ID]], #[[$ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[Y]] : tensor<3x8xf32>) outs(%{{.*}} : tensor<3x8xf16>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %[[R]] : tensor<3x8xf16>
// CHECK-NOT: mq.
func.func @matmul_f16(%x: tensor<3x12xf16>, %q: !mq.weight<12x8xf32, storage = 8, bits = 4, axis = 1, layout = #mq.layout<planes, 4>>,
                      %s: tensor<1x8xf32>, %m: tensor<1x8xf32>) -> tensor<3x8xf16> {
  %y = mq.matmul %x, %q, %s, %m : tensor<3x12xf16>, !mq.weight<12x8xf32, storage = 8, bits = 4, axis = 1, layout = #mq.layout<planes, 4>>, tensor<1x8xf32>, tensor<1x8xf32> -> tensor<3x8xf16>
  return %y : tensor<3x8xf16>
}

// -----

//===----------------------------------------------------------------------===//
// Function signatures and calls
//===----------------------------------------------------------------------===//

// !mq.weight arguments and results become their storage tensor types:
// indices for a logical weight, packed bytes for a packed one; calls follow.

// CHECK-LABEL: func.func private @external
// CHECK-SAME: (tensor<8x3xi8>, tensor<3x4x1xi8>) -> tensor<4x6xi8>
func.func private @external(!mq.weight<8x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>,
                            !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision, layout = #mq.layout<planes, 3>>)
    -> !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision>

// CHECK-LABEL: func.func @signature
// CHECK-SAME: (%[[A:[a-zA-Z0-9_]+]]: tensor<8x3xi8>, %[[B:[a-zA-Z0-9_]+]]: tensor<3x4x1xi8>) -> (tensor<4x6xi8>, tensor<8x3xi8>)
// CHECK: %[[R:[a-zA-Z0-9_]+]] = call @external(%[[A]], %[[B]]) : (tensor<8x3xi8>, tensor<3x4x1xi8>) -> tensor<4x6xi8>
// CHECK: return %[[R]], %[[A]] : tensor<4x6xi8>, tensor<8x3xi8>
// CHECK-NOT: mq.
// CHECK-NOT: unrealized_conversion_cast
func.func @signature(%a: !mq.weight<8x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>,
                     %b: !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision, layout = #mq.layout<planes, 3>>)
    -> (!mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision>,
        !mq.weight<8x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>) {
  %r = func.call @external(%a, %b) : (!mq.weight<8x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>,
                                      !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision, layout = #mq.layout<planes, 3>>)
      -> !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision>
  return %r, %a : !mq.weight<4x6xbf16, storage = 4, bits = 2, mode = extra_precision>,
                  !mq.weight<8x6xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
}

// -----

// Weights flowing through arith.select and scf.if become their storage tensors.
// CHECK-LABEL: func.func @weight_control_flow
// CHECK-SAME: (%[[C:.*]]: i1, %[[A:.*]]: tensor<2x4xi8>, %[[B:.*]]: tensor<2x4xi8>) -> (tensor<2x4xi8>, tensor<2x4xi8>)
// CHECK: %[[S:.*]] = arith.select %[[C]], %[[A]], %[[B]] : tensor<2x4xi8>
// CHECK: %[[I:.*]] = scf.if %[[C]] -> (tensor<2x4xi8>)
// CHECK: scf.yield %[[A]] : tensor<2x4xi8>
// CHECK: scf.yield %[[B]] : tensor<2x4xi8>
// CHECK: return %[[S]], %[[I]]
// CHECK-NOT: mq.
func.func @weight_control_flow(%c: i1, %a: !mq.weight<2x4xf32, storage = 8, bits = 2>, %b: !mq.weight<2x4xf32, storage = 8, bits = 2>) -> (!mq.weight<2x4xf32, storage = 8, bits = 2>, !mq.weight<2x4xf32, storage = 8, bits = 2>) {
  %0 = arith.select %c, %a, %b : !mq.weight<2x4xf32, storage = 8, bits = 2>
  %1 = scf.if %c -> (!mq.weight<2x4xf32, storage = 8, bits = 2>) {
    scf.yield %a : !mq.weight<2x4xf32, storage = 8, bits = 2>
  } else {
    scf.yield %b : !mq.weight<2x4xf32, storage = 8, bits = 2>
  }
  return %0, %1 : !mq.weight<2x4xf32, storage = 8, bits = 2>, !mq.weight<2x4xf32, storage = 8, bits = 2>
}

// -----

// mq.matvec_dynamic: the run-time width is clamped into [1, 8]; s = 8 - r,
// 2^s and 2^(s-1) (shift by max(s - 1, 0)) are computed once, outside the
// element loop. Prefix exact: k = q >> s and the offset m + alpha * 2^(s-1)
// when s > 0, else m.

// CHECK-LABEL: func.func @matvec_dynamic_prefix
// CHECK-SAME: %[[R:[a-zA-Z0-9_]+]]: index) -> tensor<4xf32>
// CHECK: %[[RI:.*]] = arith.index_cast %[[R]] : index to i32
// CHECK: %[[LO:.*]] = arith.maxsi %[[RI]], %{{.*}} : i32
// CHECK: %[[W:.*]] = arith.minsi %[[LO]], %{{.*}} : i32
// CHECK: %[[S:.*]] = arith.subi %{{.*}}, %[[W]] : i32
// CHECK: %[[CUT:.*]] = arith.cmpi sgt, %[[S]], %{{.*}} : i32
// CHECK: %[[SCALE:.*]] = arith.uitofp %{{.*}} : i32 to f32
// CHECK: %[[HALF:.*]] = arith.uitofp %{{.*}} : i32 to f32
// CHECK: linalg.generic
// CHECK: ^bb0(%[[Q:[a-zA-Z0-9_]+]]: i8, %[[ALPHA:[a-zA-Z0-9_]+]]: f32, %[[OFF:[a-zA-Z0-9_]+]]: f32, %{{.*}}: f32):
// CHECK: %[[QE:.*]] = arith.extui %[[Q]] : i8 to i32
// CHECK: %[[K:.*]] = arith.shrui %[[QE]], %[[S]] : i32
// CHECK: %[[EFF:.*]] = arith.mulf %[[ALPHA]], %[[SCALE]] : f32
// CHECK: %[[KF:.*]] = arith.uitofp %[[K]] : i32 to f32
// CHECK: %[[P:.*]] = arith.mulf %[[EFF]], %[[KF]] : f32
// CHECK: %[[H:.*]] = arith.mulf %[[ALPHA]], %[[HALF]] : f32
// CHECK: %[[MP:.*]] = arith.addf %[[OFF]], %[[H]] : f32
// CHECK: %[[M:.*]] = arith.select %[[CUT]], %[[MP]], %[[OFF]] : f32
// CHECK: arith.addf %[[P]], %[[M]] : f32
// CHECK-NOT: mq.
func.func @matvec_dynamic_prefix(%x: tensor<12xf32>, %w: !mq.weight<4x12xf32, storage = 8, bits = 8, mode = prefix_exact>, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>, %r: index) -> tensor<4xf32> {
  %y = mq.matvec_dynamic %x, %w, %s, %m, width %r : tensor<12xf32>, !mq.weight<4x12xf32, storage = 8, bits = 8, mode = prefix_exact>, tensor<4x1xf32>, tensor<4x1xf32>, index -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Clamped, from bit planes: unpack, then k = (q >> s) + ((q >> (s-1)) & 1)
// (the rounding bit only when s > 0), clamped to 2^r - 1.

// CHECK-LABEL: func.func @matmul_dynamic_clamped
// CHECK: tensor.generate
// CHECK: linalg.generic
// CHECK: %[[K:.*]] = arith.shrui %{{.*}}, %{{.*}} : i32
// CHECK: %[[B:.*]] = arith.shrui %{{.*}}, %{{.*}} : i32
// CHECK: %[[B1:.*]] = arith.andi %[[B]], %{{.*}} : i32
// CHECK: %[[B2:.*]] = arith.select %{{.*}}, %[[B1]], %{{.*}} : i32
// CHECK: %[[KR:.*]] = arith.addi %[[K]], %[[B2]] : i32
// CHECK: arith.minui %[[KR]], %{{.*}} : i32
// CHECK-NOT: mq.
func.func @matmul_dynamic_clamped(%x: tensor<2x12xf16>, %w: !mq.weight<4x12xf32, storage = 8, bits = 8, layout = #mq.layout<planes, 8>>, %s: tensor<4x1xf32>, %m: tensor<4x1xf32>, %r: i32) -> tensor<2x4xf16> {
  %y = mq.matmul_dynamic %x, %w, %s, %m, width %r : tensor<2x12xf16>, !mq.weight<4x12xf32, storage = 8, bits = 8, layout = #mq.layout<planes, 8>>, tensor<4x1xf32>, tensor<4x1xf32>, i32 -> tensor<2x4xf16>
  return %y : tensor<2x4xf16>
}

// -----

// mq.pack_scales on values: rows padded with 0 to whole tiles of 16, each
// row split into (tile, h, g) (row 16 t + 8 h + g), then transposed to
// (tile, group, g, h).
// CHECK-LABEL: func.func @pack_scales(
// CHECK-SAME: %[[S:.*]]: tensor<40x3xf32>) -> tensor<3x3x8x2xf32>
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[PAD:.*]] = tensor.pad %[[S]] low[0, 0] high[8, 0]
// CHECK: tensor.yield %[[ZERO]] : f32
// CHECK: } : tensor<40x3xf32> to tensor<48x3xf32>
// CHECK: %[[SPLIT:.*]] = tensor.expand_shape %[[PAD]] {{\[\[}}0, 1, 2], [3]] output_shape [3, 2, 8, 3] : tensor<48x3xf32> into tensor<3x2x8x3xf32>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<3x3x8x2xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[SPLIT]] : tensor<3x2x8x3xf32>) outs(%[[INIT]] : tensor<3x3x8x2xf32>) permutation = [0, 3, 2, 1]
// CHECK: return %[[T]]
func.func @pack_scales(%s: tensor<40x3xf32>) -> tensor<3x3x8x2xf32> {
  %p = mq.pack_scales %s : tensor<40x3xf32> -> tensor<3x3x8x2xf32>
  return %p : tensor<3x3x8x2xf32>
}
