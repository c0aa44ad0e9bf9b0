// RUN: matquant-opt %s --mq-drop-in-place-results --split-input-file | FileCheck %s

// A result of a function that nothing in the module calls, returned as one
// of its memref arguments (through memref.cast at most) of the same type,
// is dropped: the caller has the buffer, updated in place. Other results
// (a new buffer, an argument of another type) stay, in order. The
// function records, per original result, the argument it returned (-1:
// kept), for the manifest of the step.

// CHECK-LABEL: func.func @step(
// CHECK-SAME: %{{.*}}: memref<2x8xf32>, %{{.*}}: memref<2x8xf32>) -> memref<8xf32>
// CHECK-SAME: attributes {mq.in_place_results = array<i64: -1, 0, 1>}
// CHECK: %[[L:.*]] = memref.alloc() : memref<8xf32>
// CHECK: return %[[L]] : memref<8xf32>
func.func @step(%s0: memref<2x8xf32>, %s1: memref<2x8xf32>)
    -> (memref<8xf32>, memref<2x8xf32>, memref<2x8xf32>) {
  %l = memref.alloc() : memref<8xf32>
  %c = memref.cast %s1 : memref<2x8xf32> to memref<2x8xf32>
  return %l, %s0, %c : memref<8xf32>, memref<2x8xf32>, memref<2x8xf32>
}

// -----

// A cast to another type changes what the caller sees: kept.
// CHECK-LABEL: func.func @other_type(
// CHECK-SAME: -> memref<?xf32>
// CHECK: return %{{.*}} : memref<?xf32>
func.func @other_type(%s: memref<8xf32>) -> memref<?xf32> {
  %c = memref.cast %s : memref<8xf32> to memref<?xf32>
  return %c : memref<?xf32>
}

// -----

// A function with a caller keeps its signature.
// CHECK-LABEL: func.func @callee(
// CHECK-SAME: -> memref<8xf32>
// CHECK: return %arg0
// CHECK-LABEL: func.func @caller(
// CHECK: call @callee
func.func @callee(%s: memref<8xf32>) -> memref<8xf32> {
  return %s : memref<8xf32>
}
func.func @caller(%s: memref<8xf32>) -> memref<8xf32> {
  %r = func.call @callee(%s) : (memref<8xf32>) -> memref<8xf32>
  return %r : memref<8xf32>
}

// -----

// An argument returned twice is dropped once: its second result stays.
// CHECK-LABEL: func.func @twice(
// CHECK-SAME: %[[S:.*]]: memref<8xf32>) -> memref<8xf32> attributes {mq.in_place_results = array<i64: 0, -1>}
// CHECK: return %[[S]] : memref<8xf32>
func.func @twice(%s: memref<8xf32>) -> (memref<8xf32>, memref<8xf32>) {
  return %s, %s : memref<8xf32>, memref<8xf32>
}
