// RUN: matquant-opt %s --mq-forward-tensor-copies --split-input-file | FileCheck %s

// A linalg.copy of a tensor has its input's value: its uses take the input
// (the importer's copy of a KV cache before the new rows are inserted), and
// the copy is gone. A copy on buffers writes memory and stays.

// CHECK-LABEL: func.func @cache(
// CHECK-SAME: %[[C:.*]]: tensor<2x8x4xf32>, %[[R:.*]]: tensor<4xf32>, %[[P:.*]]: index)
// CHECK-NOT: linalg.copy
// CHECK: %[[I:.*]] = tensor.insert_slice %[[R]] into %[[C]][0, %[[P]], 0]
// CHECK: return %[[I]]
func.func @cache(%c: tensor<2x8x4xf32>, %r: tensor<4xf32>, %p: index) -> tensor<2x8x4xf32> {
  %e = tensor.empty() : tensor<2x8x4xf32>
  %0 = linalg.copy ins(%c : tensor<2x8x4xf32>) outs(%e : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
  %1 = tensor.insert_slice %r into %0[0, %p, 0] [1, 1, 4] [1, 1, 1] : tensor<4xf32> into tensor<2x8x4xf32>
  return %1 : tensor<2x8x4xf32>
}

// -----

// CHECK-LABEL: func.func @buffers(
// CHECK: linalg.copy ins(%arg0 : memref<4xf32>) outs(%arg1 : memref<4xf32>)
func.func @buffers(%a: memref<4xf32>, %b: memref<4xf32>) {
  linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32>)
  return
}
