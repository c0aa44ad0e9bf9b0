// RUN: matquant-opt %s --split-input-file --allow-unregistered-dialect --convert-linalg-to-gpu-kernels --mq-gpu-workspace | FileCheck %s
// RUN: matquant-opt %s --split-input-file --allow-unregistered-dialect --convert-linalg-to-gpu-kernels --mq-gpu-workspace=alignment=16 | FileCheck %s --check-prefix=A16

// mq-gpu-workspace: every memref.alloc of a public function becomes a
// memref.view of a new last argument `memref<?xi8> {mq.workspace}`, the
// buffers one after the other in program order, each at an offset rounded
// up to the alignment (256 bytes by default); deallocs of them disappear.
// The total size (end of the last buffer, unpadded) is the function's
// mq.workspace_bytes and its entry in the module's mq.workspace dictionary
// (one entry per function). Functions without allocs keep their
// signature; private functions are not touched. (Both RUN lines run
// convert-linalg-to-gpu-kernels first, which only the last split needs:
// mq-gpu-workspace rejects linalg ops left on the host.)
//
// Sizes: 37xf32 = 148 bytes, 2x3xi8 = 6, 300xf64 = 2400, f32 = 4.
//   alignment 256: offsets 0, 256, 512, 3072; 3076 bytes.
//   alignment 16:  offsets 0, 160, 176, 2576; 2580 bytes.

func.func @step(%a: memref<37xf32>, %out: memref<4xf32>) {
  %b = memref.alloc() : memref<37xf32>
  %c = memref.alloc() : memref<2x3xi8>
  %d = memref.alloc() : memref<300xf64>
  %e = memref.alloc() : memref<f32>
  "test.use"(%b, %c, %d, %e) : (memref<37xf32>, memref<2x3xi8>, memref<300xf64>, memref<f32>) -> ()
  memref.dealloc %b : memref<37xf32>
  memref.dealloc %d : memref<300xf64>
  return
}

func.func @no_allocs(%a: memref<37xf32>) -> index {
  %c0 = arith.constant 0 : index
  return %c0 : index
}

func.func private @helper() {
  %b = memref.alloc() : memref<37xf32>
  "test.use"(%b) : (memref<37xf32>) -> ()
  return
}

func.func @small() -> index {
  %b = memref.alloc() : memref<3xi16>
  "test.use"(%b) : (memref<3xi16>) -> ()
  %c0 = arith.constant 0 : index
  return %c0 : index
}

// CHECK: module attributes {mq.workspace = {small = 6 : i64, step = 3076 : i64}} {
// CHECK-LABEL: func.func @step(
// CHECK-SAME: %{{[^:]*}}: memref<37xf32>, %{{[^:]*}}: memref<4xf32>, %[[WS:[^:]*]]: memref<?xi8> {mq.workspace}) attributes {mq.workspace_bytes = 3076 : i64} {
// CHECK-NOT: memref.alloc
// CHECK: %[[O0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[B:.*]] = memref.view %[[WS]][%[[O0]]][] : memref<?xi8> to memref<37xf32>
// CHECK-NEXT: %[[O1:.*]] = arith.constant 256 : index
// CHECK-NEXT: %[[C:.*]] = memref.view %[[WS]][%[[O1]]][] : memref<?xi8> to memref<2x3xi8>
// CHECK-NEXT: %[[O2:.*]] = arith.constant 512 : index
// CHECK-NEXT: %[[D:.*]] = memref.view %[[WS]][%[[O2]]][] : memref<?xi8> to memref<300xf64>
// CHECK-NEXT: %[[O3:.*]] = arith.constant 3072 : index
// CHECK-NEXT: %[[E:.*]] = memref.view %[[WS]][%[[O3]]][] : memref<?xi8> to memref<f32>
// CHECK-NEXT: "test.use"(%[[B]], %[[C]], %[[D]], %[[E]])
// CHECK-NEXT: return
// CHECK-LABEL: func.func @no_allocs(
// CHECK-SAME: %{{[^:]*}}: memref<37xf32>) -> index {
// CHECK-LABEL: func.func private @helper() {
// CHECK-NEXT: memref.alloc() : memref<37xf32>
// CHECK-LABEL: func.func @small(
// CHECK-SAME: %[[WS:[^:]*]]: memref<?xi8> {mq.workspace}) -> index attributes {mq.workspace_bytes = 6 : i64} {
// CHECK: memref.view %[[WS]][%{{.*}}][] : memref<?xi8> to memref<3xi16>
// CHECK-NOT: memref.dealloc

// A16: module attributes {mq.workspace = {small = 6 : i64, step = 2580 : i64}} {
// A16-LABEL: func.func @step(
// A16-SAME: attributes {mq.workspace_bytes = 2580 : i64}
// A16: arith.constant 0 : index
// A16-NEXT: memref.view {{.*}} to memref<37xf32>
// A16-NEXT: arith.constant 160 : index
// A16-NEXT: memref.view {{.*}} to memref<2x3xi8>
// A16-NEXT: arith.constant 176 : index
// A16-NEXT: memref.view {{.*}} to memref<300xf64>
// A16-NEXT: arith.constant 2576 : index
// A16-NEXT: memref.view {{.*}} to memref<f32>

// -----

// Allocs in nested regions are placed too, each with its own offset (here
// one buffer reused by every iteration of the loop); the dictionary
// already on the module keeps its entries.

module attributes {mq.workspace = {earlier = 1024 : i64}} {
  func.func @nested(%n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %a = memref.alloc() : memref<100xi32>
    scf.for %i = %c0 to %n step %c1 {
      %b = memref.alloc() : memref<10xf32>
      "test.use"(%a, %b) : (memref<100xi32>, memref<10xf32>) -> ()
      memref.dealloc %b : memref<10xf32>
    }
    return
  }
}

// CHECK: module attributes {mq.workspace = {earlier = 1024 : i64, nested = 552 : i64}} {
// CHECK-LABEL: func.func @nested(
// CHECK-SAME: %{{[^:]*}}: index, %[[WS:[^:]*]]: memref<?xi8> {mq.workspace}) attributes {mq.workspace_bytes = 552 : i64} {
// CHECK: memref.view %[[WS]][%{{.*}}][] : memref<?xi8> to memref<100xi32>
// CHECK: scf.for
// CHECK-NEXT: %[[OFF:.*]] = arith.constant 512 : index
// CHECK-NEXT: %[[B:.*]] = memref.view %[[WS]][%[[OFF]]][] : memref<?xi8> to memref<10xf32>
// CHECK-NEXT: "test.use"(%{{.*}}, %[[B]])
// CHECK-NEXT: }
// CHECK-NOT: memref.dealloc

// A16: module attributes {mq.workspace = {earlier = 1024 : i64, nested = 440 : i64}} {

// -----

// After convert-linalg-to-gpu-kernels (a no-op on the splits above, which
// have no linalg ops): the kernels' buffer arguments are views of the
// workspace; the launches are not host accesses, the copy runs in the
// row sum's kernel (its epilogue).
// 8 x 64 f32 = 2048 bytes at 0, 8 f32 at 2048 (either alignment).

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @decode(%x: memref<8x64xf32>, %out: memref<8xf32>) {
  %t = memref.alloc() : memref<8x64xf32>
  %s = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<8x64xf32>) outs(%t : memref<8x64xf32>) {
  ^bb0(%a: f32, %b: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%t : memref<8x64xf32>) outs(%s : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.addf %a, %acc : f32
    linalg.yield %r : f32
  }
  memref.copy %s, %out : memref<8xf32> to memref<8xf32>
  memref.dealloc %t : memref<8x64xf32>
  memref.dealloc %s : memref<8xf32>
  return
}

// CHECK: module attributes {gpu.container_module, mq.workspace = {decode = 2080 : i64}} {
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[X:[^:]*]]: memref<8x64xf32>, %[[OUT:[^:]*]]: memref<8xf32>, %[[WS:[^:]*]]: memref<?xi8> {mq.workspace}) attributes {mq.workspace_bytes = 2080 : i64} {
// CHECK: %[[T:.*]] = memref.view %[[WS]][%{{.*}}][] : memref<?xi8> to memref<8x64xf32>
// CHECK: %[[OFF:.*]] = arith.constant 2048 : index
// CHECK-NEXT: %[[S:.*]] = memref.view %[[WS]][%[[OFF]]][] : memref<?xi8> to memref<8xf32>
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 {{.*}} args(%[[X]] : memref<8x64xf32>, %[[T]] : memref<8x64xf32>)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 {{.*}} args(%[[T]] : memref<8x64xf32>, %[[S]] : memref<8xf32>, %[[OUT]] : memref<8xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK-NOT: memref.dealloc
// CHECK-NOT: memref.copy
// CHECK: return

// A16: module attributes {gpu.container_module, mq.workspace = {decode = 2080 : i64}} {

// -----

// A dealloc through a cast of a workspace buffer goes too: the workspace is
// not the function's to free.
func.func @dealloc_alias() {
  %b = memref.alloc() : memref<4xf32>
  "test.use"(%b) : (memref<4xf32>) -> ()
  %c = memref.cast %b : memref<4xf32> to memref<?xf32>
  memref.dealloc %c : memref<?xf32>
  return
}

// CHECK-LABEL: func.func @dealloc_alias(
// CHECK: memref.view
// CHECK-NOT: memref.dealloc
// CHECK: return
// A16-LABEL: func.func @dealloc_alias(
