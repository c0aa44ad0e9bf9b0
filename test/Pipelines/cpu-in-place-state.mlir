// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 in-place-state=true" | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16" | FileCheck %s --check-prefix=COPY

// A decode step's shape: the state (a KV cache) is copied, a new row is
// inserted into the copy, and the copy is returned. With in-place-state the
// row goes into the argument's own buffer and the result that returned it
// is dropped (mq.in_place_results: per original result, the argument it
// was; -1 kept), so the step returns its output alone; without it the step
// returns a whole new state every call, copied from the argument.
// CHECK-LABEL: llvm.func @step(
// CHECK-SAME: -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK-SAME: mq.in_place_results = array<i64: -1, 1>
// CHECK: llvm.return %{{.*}} : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
// CHECK-LABEL: llvm.func @_mlir_ciface_step(
// COPY-LABEL: llvm.func @step(
// COPY-SAME: -> !llvm.struct<(struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>)>
// COPY-NOT: mq.in_place_results
func.func @step(%x: tensor<4xf32>, %state: tensor<16x4xf32>, %pos: index)
    -> (tensor<4xf32>, tensor<16x4xf32>) attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<16x4xf32>
  %copy = linalg.copy ins(%state : tensor<16x4xf32>) outs(%e : tensor<16x4xf32>) -> tensor<16x4xf32>
  %row = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%row : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = arith.mulf %a, %a : f32
    linalg.yield %t : f32
  } -> tensor<4xf32>
  %next = tensor.insert_slice %y into %copy[%pos, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<16x4xf32>
  return %y, %next : tensor<4xf32>, tensor<16x4xf32>
}
