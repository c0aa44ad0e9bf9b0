// RUN: matquant-opt %s --matquant-reference-to-llvm | FileCheck %s --implicit-check-not=mq. --implicit-check-not=linalg. --implicit-check-not=tensor. --implicit-check-not=bufferization. --implicit-check-not=memref. --implicit-check-not=arith. --implicit-check-not=math. --implicit-check-not=affine. --implicit-check-not=scf. --implicit-check-not=cf. --implicit-check-not=func.func --implicit-check-not=unrealized_conversion_cast

// The reference pipeline takes a small int8 -> int4 matvec all the way to the
// LLVM dialect: the function takes and returns memref descriptors, the slice
// (shift right by 4 and 3, and 1, add, umin 15), the dequantization (alpha * 16,
// uitofp, fmul, fadd) and the contraction survive as llvm ops, and nothing of
// mq, linalg, tensor, memref, arith, scf or cf is left (implicit-check-not).

// CHECK: module {
// CHECK-DAG: llvm.func @malloc(i64) -> !llvm.ptr
// CHECK-DAG: llvm.func @free(!llvm.ptr)
// CHECK-LABEL: llvm.func @matvec_int4(
// CHECK-SAME: -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK-DAG: %[[C16:[a-zA-Z0-9_]+]] = llvm.mlir.constant(1.600000e+01 : f32) : f32
// CHECK-DAG: %[[C15:[a-zA-Z0-9_]+]] = llvm.mlir.constant(15 : i32) : i32
// CHECK-DAG: %[[C4:[a-zA-Z0-9_]+]] = llvm.mlir.constant(4 : i32) : i32
// CHECK-DAG: %[[C3:[a-zA-Z0-9_]+]] = llvm.mlir.constant(3 : i32) : i32
// Slice 8 -> 4 on the int8 codes.
// CHECK: %[[V:[a-zA-Z0-9_]+]] = llvm.zext %{{.*}} : i8 to i32
// CHECK: %[[K:[a-zA-Z0-9_]+]] = llvm.lshr %[[V]], %[[C4]] : i32
// CHECK: %[[H:[a-zA-Z0-9_]+]] = llvm.lshr %[[V]], %[[C3]] : i32
// CHECK: %[[HB:[a-zA-Z0-9_]+]] = llvm.and %[[H]], %{{.*}} : i32
// CHECK: %[[S:[a-zA-Z0-9_]+]] = llvm.add %[[K]], %[[HB]] : i32
// CHECK: llvm.intr.umin(%[[S]], %[[C15]]) : (i32, i32) -> i32
// CHECK: llvm.trunc %{{.*}} : i32 to i8
// Dequantize with the effective scale alpha * 2^(8-4).
// CHECK: %[[EFF:[a-zA-Z0-9_]+]] = llvm.fmul %{{.*}}, %[[C16]] : f32
// CHECK: %[[KF:[a-zA-Z0-9_]+]] = llvm.uitofp %{{.*}} : i8 to f32
// CHECK: %[[WK:[a-zA-Z0-9_]+]] = llvm.fmul %[[EFF]], %[[KF]] : f32
// CHECK: llvm.fadd %[[WK]], %{{.*}} : f32
// The f32 contraction.
// CHECK: %[[P:[a-zA-Z0-9_]+]] = llvm.fmul %{{.*}}, %{{.*}} : f32
// CHECK: llvm.fadd %{{.*}}, %[[P]] : f32
// CHECK: llvm.call @free
// CHECK: llvm.return %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK-NOT: linalg.
// CHECK-NOT: mq.
// CHECK-NOT: tensor.
func.func @matvec_int4(%x: tensor<12xf32>, %q: !mq.weight<8x12xf32, storage = 8, bits = 8, group = 6>,
                       %s: tensor<8x2xf32>, %m: tensor<8x2xf32>) -> tensor<8xf32> {
  %q4 = mq.slice %q : !mq.weight<8x12xf32, storage = 8, bits = 8, group = 6>
                   to !mq.weight<8x12xf32, storage = 8, bits = 4, group = 6>
  %y = mq.matvec %x, %q4, %s, %m : tensor<12xf32>, !mq.weight<8x12xf32, storage = 8, bits = 4, group = 6>,
                                   tensor<8x2xf32>, tensor<8x2xf32> -> tensor<8xf32>
  return %y : tensor<8xf32>
}
