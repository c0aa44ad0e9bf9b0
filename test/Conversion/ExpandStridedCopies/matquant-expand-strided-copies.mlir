// RUN: matquant-opt %s --matquant-expand-strided-copies | FileCheck %s

// A strided destination would need the runner library's memrefCopy: it
// becomes a linalg.copy. A contiguous copy stays a memref.copy (a memcpy).
// CHECK-LABEL: func.func @copies
// CHECK-SAME: (%[[A:.*]]: memref<4x3xf32>, %[[B:.*]]: memref<4x3xf32, strided<[5, 1]>>, %[[C:.*]]: memref<4x3xf32>, %[[D:.*]]: memref<?xf32>, %[[E:.*]]: memref<?xf32>)
// CHECK: linalg.copy ins(%[[A]] : memref<4x3xf32>) outs(%[[B]] : memref<4x3xf32, strided<[5, 1]>>)
// CHECK: memref.copy %[[A]], %[[C]] : memref<4x3xf32> to memref<4x3xf32>
// CHECK: linalg.copy ins(%[[D]] : memref<?xf32>) outs(%[[E]] : memref<?xf32>)
// CHECK-NOT: memref.copy
func.func @copies(%a: memref<4x3xf32>, %b: memref<4x3xf32, strided<[5, 1]>>, %c: memref<4x3xf32>, %d: memref<?xf32>, %e: memref<?xf32>) {
  memref.copy %a, %b : memref<4x3xf32> to memref<4x3xf32, strided<[5, 1]>>
  memref.copy %a, %c : memref<4x3xf32> to memref<4x3xf32>
  memref.copy %d, %e : memref<?xf32> to memref<?xf32>
  return
}

// An unranked copy has no loops to become: it stays a memref.copy (and the
// pass does not assume a ranked type).
// CHECK-LABEL: func.func @unranked
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<*xf32> to memref<*xf32>
// CHECK-NOT: linalg.copy
func.func @unranked(%a: memref<*xf32>, %b: memref<*xf32>) {
  memref.copy %a, %b : memref<*xf32> to memref<*xf32>
  return
}
