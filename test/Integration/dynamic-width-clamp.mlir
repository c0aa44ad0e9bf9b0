// mq.matvec_dynamic clamps its run-time width into [1, c]: widths 0 and -5
// give exactly the width-1 result, 9 and 1000 exactly the width-8 result
// (bit for bit: the same kernel runs), with an i32 and an index width; and
// widths 1 and 8 differ (so the comparison can fail). Printed: the number
// of differing outputs per pair.
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --matquant-cpu-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// CHECK: 0
// CHECK-NEXT: 0
// CHECK-NEXT: 0
// CHECK-NEXT: 0
// CHECK-NEXT: 5
!w = !mq.weight<5x32xf32, storage = 8, bits = 8>
!p = !mq.weight<5x32xf32, storage = 8, bits = 8, layout = #mq.layout<planes, 8>>
module {
  func.func private @printI64(i64)
  func.func private @printNewline()

  func.func @run(%x: tensor<32xf32>, %p: !p, %s: tensor<5x1xf32>, %m: tensor<5x1xf32>, %r: i32) -> tensor<5xf32> {
    %y = mq.matvec_dynamic %x, %p, %s, %m, width %r : tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32 -> tensor<5xf32>
    return %y : tensor<5xf32>
  }

  func.func @run_index(%x: tensor<32xf32>, %p: !p, %s: tensor<5x1xf32>, %m: tensor<5x1xf32>, %r: index) -> tensor<5xf32> {
    %y = mq.matvec_dynamic %x, %p, %s, %m, width %r : tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, index -> tensor<5xf32>
    return %y : tensor<5xf32>
  }

  func.func @differ(%a: tensor<5xf32>, %b: tensor<5xf32>) {
    %z = arith.constant dense<0> : tensor<i64>
    %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], iterator_types = ["reduction"]} ins(%a, %b : tensor<5xf32>, tensor<5xf32>) outs(%z : tensor<i64>) {
    ^bb0(%ea: f32, %eb: f32, %acc: i64):
      %ia = arith.bitcast %ea : f32 to i32
      %ib = arith.bitcast %eb : f32 to i32
      %ne = arith.cmpi ne, %ia, %ib : i32
      %one = arith.extui %ne : i1 to i64
      %sum = arith.addi %acc, %one : i64
      linalg.yield %sum : i64
    } -> tensor<i64>
    %c = tensor.extract %n[] : tensor<i64>
    func.call @printI64(%c) : (i64) -> ()
    func.call @printNewline() : () -> ()
    return
  }

  func.func @main() {
    %w = arith.constant dense<[[0.1, -0.7, 0.3, 0.9, -0.2, 0.5, -0.4, 0.8, 0.6, -0.9, 0.0, 0.2, -0.6, 0.7, -0.1, 0.4, 0.3, -0.3, 0.9, -0.8, 0.5, -0.5, 0.1, 0.6, -0.2, 0.8, -0.7, 0.4, 0.2, -0.4, 0.7, -0.6],
                               [0.5, 0.4, -0.3, 0.2, -0.1, 0.9, 0.8, -0.7, 0.6, -0.5, 0.4, 0.3, -0.2, 0.1, 0.0, -0.9, 0.8, 0.7, -0.6, 0.5, -0.4, 0.3, 0.2, -0.1, 0.9, -0.8, 0.7, 0.6, -0.5, 0.4, -0.3, 0.2],
                               [-1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8, -0.9, 1.0, 0.95, 0.85, 0.75, 0.65, 0.55, 0.45, 0.35, 0.25, 0.15, 0.05, -0.05],
                               [0.3, 0.3, -0.3, -0.3, 0.6, 0.6, -0.6, -0.6, 0.9, 0.9, -0.9, -0.9, 0.1, 0.1, -0.1, -0.1, 0.4, 0.4, -0.4, -0.4, 0.7, 0.7, -0.7, -0.7, 0.2, 0.2, -0.2, -0.2, 0.5, 0.5, -0.5, -0.5],
                               [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.16, -0.01, -0.02, -0.03, -0.04, -0.05, -0.06, -0.07, -0.08, -0.09, -0.1, -0.11, -0.12, -0.13, -0.14, -0.15, -0.16]]> : tensor<5x32xf32>
    %x = arith.constant dense<[0.5, -0.25, 0.75, 1.0, -1.0, 0.125, 0.375, -0.5, 0.625, -0.875, 0.25, 0.5, -0.75, 1.0, 0.0, -0.125, 0.5, 0.25, -0.25, 0.75, -1.0, 0.875, 0.375, -0.625, 0.125, 0.5, -0.5, 0.25, 1.0, -0.75, 0.625, -0.375]> : tensor<32xf32>
    %q, %s, %m = mq.quantize %w : tensor<5x32xf32> -> !w, tensor<5x1xf32>, tensor<5x1xf32>
    %p = mq.pack %q : !w to !p
    %cm5 = arith.constant -5 : i32
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c8 = arith.constant 8 : i32
    %c9 = arith.constant 9 : i32
    %i1 = arith.constant 1 : index
    %i1000 = arith.constant 1000 : index
    %y0 = func.call @run(%x, %p, %s, %m, %c0) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32) -> tensor<5xf32>
    %y1 = func.call @run(%x, %p, %s, %m, %c1) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32) -> tensor<5xf32>
    %ym5 = func.call @run(%x, %p, %s, %m, %cm5) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32) -> tensor<5xf32>
    %y8 = func.call @run(%x, %p, %s, %m, %c8) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32) -> tensor<5xf32>
    %y9 = func.call @run(%x, %p, %s, %m, %c9) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, i32) -> tensor<5xf32>
    %yi1 = func.call @run_index(%x, %p, %s, %m, %i1) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, index) -> tensor<5xf32>
    %yi1000 = func.call @run_index(%x, %p, %s, %m, %i1000) : (tensor<32xf32>, !p, tensor<5x1xf32>, tensor<5x1xf32>, index) -> tensor<5xf32>
    func.call @differ(%y0, %y1) : (tensor<5xf32>, tensor<5xf32>) -> ()
    func.call @differ(%ym5, %yi1) : (tensor<5xf32>, tensor<5xf32>) -> ()
    func.call @differ(%y9, %y8) : (tensor<5xf32>, tensor<5xf32>) -> ()
    func.call @differ(%yi1000, %y8) : (tensor<5xf32>, tensor<5xf32>) -> ()
    func.call @differ(%y1, %y8) : (tensor<5xf32>, tensor<5xf32>) -> ()
    return
  }
}
