// RUN: matquant-opt %s --split-input-file --allow-unregistered-dialect --mq-gpu-workspace -verify-diagnostics
// RUN: echo 'func.func @f() { %%b = memref.alloc() : memref<4xf32> "test.use"(%%b) : (memref<4xf32>) -> () return }' > %t.mlir
// RUN: not matquant-opt %t.mlir --allow-unregistered-dialect --mq-gpu-workspace=alignment=48 2>&1 | FileCheck %s --check-prefix=ALIGN
// RUN: not matquant-opt %t.mlir --allow-unregistered-dialect --mq-gpu-workspace=alignment=0 2>&1 | FileCheck %s --check-prefix=ALIGN
// RUN: matquant-opt %t.mlir --allow-unregistered-dialect --mq-gpu-workspace=alignment=1 | FileCheck %s --check-prefix=ONE

// What mq-gpu-workspace rejects: an op of a host function that reads or
// writes a buffer (memref.load / memref.store / a linalg op left on the
// host: every buffer of the function is device memory), also in a function
// without allocs; an alloc it cannot place (dynamic shape, non-identity
// layout, an element type that is not a whole number of bytes, index); a
// function with allocs that is called in the module (the call would not
// pass the new workspace argument); an alignment that is not a power of two
// (a module error). Alignment 1 is fine: the buffer sits at offset 0.

// ALIGN: error: mq-gpu-workspace: alignment must be a power of two
// ALIGN-NOT: mq.workspace
// ONE: module attributes {mq.workspace = {f = 16 : i64}}
// ONE: memref.view %{{.*}} to memref<4xf32>

func.func @host_load(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' op reads or writes a buffer on the host, where every buffer is device memory (run convert-linalg-to-gpu-kernels first)}}
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// -----

func.func @host_store(%x: f32) {
  %b = memref.alloc() : memref<4xf32>
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.store' op reads or writes a buffer on the host}}
  memref.store %x, %b[%c0] : memref<4xf32>
  "test.use"(%b) : (memref<4xf32>) -> ()
  return
}

// -----

func.func @host_copy(%a: memref<4xf32>, %b: memref<4xf32>) {
  // expected-error @+1 {{'memref.copy' op reads or writes a buffer on the host}}
  memref.copy %a, %b : memref<4xf32> to memref<4xf32>
  return
}

// -----

#id1 = affine_map<(d0) -> (d0)>
func.func @host_linalg(%a: memref<4xf32>) {
  // expected-error @+1 {{'linalg.generic' op reads or writes a buffer on the host}}
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : memref<4xf32>) {
  ^bb0(%x: f32):
    %r = arith.addf %x, %x : f32
    linalg.yield %r : f32
  }
  return
}

// -----

func.func @dynamic_alloc(%n: index) {
  // expected-error @+1 {{'memref.alloc' op has a dynamic shape, a layout, a memory space or an element type that mq-gpu-workspace cannot place in the workspace: 'memref<?xf32>'}}
  %b = memref.alloc(%n) : memref<?xf32>
  "test.use"(%b) : (memref<?xf32>) -> ()
  return
}

// -----

func.func @strided_alloc() {
  // expected-error @+1 {{'memref.alloc' op has a dynamic shape, a layout, a memory space or an element type that mq-gpu-workspace cannot place in the workspace: 'memref<4x4xf32, strided<[8, 1]>>'}}
  %b = memref.alloc() : memref<4x4xf32, strided<[8, 1]>>
  "test.use"(%b) : (memref<4x4xf32, strided<[8, 1]>>) -> ()
  return
}

// -----

func.func @bool_alloc() {
  // expected-error @+1 {{cannot place in the workspace: 'memref<16xi1>'}}
  %b = memref.alloc() : memref<16xi1>
  "test.use"(%b) : (memref<16xi1>) -> ()
  return
}

// -----

func.func @index_alloc() {
  // expected-error @+1 {{cannot place in the workspace: 'memref<16xindex>'}}
  %b = memref.alloc() : memref<16xindex>
  "test.use"(%b) : (memref<16xindex>) -> ()
  return
}

// -----

// expected-error @+1 {{'func.func' op has callers; mq-gpu-workspace gives each public function a new workspace argument}}
func.func @called() {
  %b = memref.alloc() : memref<4xf32>
  "test.use"(%b) : (memref<4xf32>) -> ()
  return
}

func.func @caller() {
  call @called() : () -> ()
  return
}

// -----

// A buffer in another memory space cannot be a view of the workspace.
func.func @memory_space() {
  // expected-error @+1 {{cannot place in the workspace: 'memref<4xf32, 1>'}}
  %b = memref.alloc() : memref<4xf32, 1>
  "test.use"(%b) : (memref<4xf32, 1>) -> ()
  return
}

// -----

// Stack memory of the host is out of the kernels' reach.
func.func @alloca() {
  // expected-error @+1 {{'memref.alloca' op is host stack memory, which GPU kernels cannot reach; mq-gpu-workspace places memref.alloc only}}
  %b = memref.alloca() : memref<4xf32>
  "test.use"(%b) : (memref<4xf32>) -> ()
  return
}
