// RUN: matquant-opt %s --split-input-file --convert-linalg-to-gpu-kernels -verify-diagnostics
// RUN: echo 'func.func @f(%%a: memref<8xf32>) { linalg.copy ins(%%a : memref<8xf32>) outs(%%a : memref<8xf32>) return }' > %t.mlir
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="threads-per-block=100" 2>&1 | FileCheck %s --check-prefix=TPB
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="threads-per-block=2048" 2>&1 | FileCheck %s --check-prefix=TPB
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="threads-per-block=16" 2>&1 | FileCheck %s --check-prefix=TPB
// RUN: matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="threads-per-block=1024" | FileCheck %s --check-prefix=T1024
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="fuse-small-ops=64 fused-threads=48" 2>&1 | FileCheck %s --check-prefix=FT
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="fused-threads=2048" 2>&1 | FileCheck %s --check-prefix=FT
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="fuse-small-ops=-1" 2>&1 | FileCheck %s --check-prefix=FSO
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="unroll-terms=-2" 2>&1 | FileCheck %s --check-prefix=UT
// RUN: not matquant-opt %t.mlir --convert-linalg-to-gpu-kernels="fuse-partitions=-1" 2>&1 | FileCheck %s --check-prefix=FP

// What convert-linalg-to-gpu-kernels rejects, each with its own error: an
// op with dynamic loop bounds (a launch needs a static grid), including a
// memref.copy of dynamic buffers (it becomes a linalg.copy, then a
// linalg.generic, where the error is reported), ops on tensors (the pass
// runs after bufferization), and a body that captures a value a kernel
// cannot take as an argument (a vector, a tensor). A threads-per-block
// that is not a multiple of 32 in 32..1024 is a module error, reported
// before any op is looked at (1024 itself is fine); so are a fused-threads
// of the same kind and a negative fuse-small-ops, fuse-partitions or
// unroll-terms.

// TPB: error: convert-linalg-to-gpu-kernels: threads-per-block must be a multiple of 32 in 32..1024
// TPB-NOT: gpu.module
// FT: error: convert-linalg-to-gpu-kernels: fused-threads must be a multiple of 32 in 32..1024
// FT-NOT: gpu.module
// FSO: error: convert-linalg-to-gpu-kernels: fuse-small-ops must be 0 (off) or positive
// FSO-NOT: gpu.module
// UT: error: convert-linalg-to-gpu-kernels: unroll-terms must be 0 (never) or positive
// UT-NOT: gpu.module
// FP: error: convert-linalg-to-gpu-kernels: fuse-partitions must be 0 (off) or positive
// FP-NOT: gpu.module
// T1024: gpu.launch_func @linalg_kernels::@linalg_kernel_0
// T1024: gpu.func @linalg_kernel_0({{.*}}) kernel attributes {known_block_size = array<i32: 1024, 1, 1>}

#id1 = affine_map<(d0) -> (d0)>
func.func @dynamic(%a: memref<?xf32>) {
  // expected-error @+1 {{'linalg.generic' op has dynamic loop bounds: a GPU kernel needs static shapes}}
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : memref<?xf32>) {
  ^bb0(%x: f32):
    %r = arith.addf %x, %x : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Static buffers, a dynamic reduction dim.
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @dynamic_reduction(%a: memref<8x?xf32>, %o: memref<8xf32>) {
  // expected-error @+1 {{'linalg.generic' op has dynamic loop bounds: a GPU kernel needs static shapes}}
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<8x?xf32>) outs(%o : memref<8xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// -----

func.func @dynamic_copy(%a: memref<?x4xf32>, %b: memref<?x4xf32>) {
  // expected-error @+1 {{'memref.copy' op copies a dynamically shaped buffer: a GPU kernel needs static shapes}}
  memref.copy %a, %b : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----

// Tensor semantics: a generic and a named op.
#id1 = affine_map<(d0) -> (d0)>
func.func @tensors(%a: tensor<8xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'linalg.generic' op must work on buffers: run convert-linalg-to-gpu-kernels after bufferization}}
  %r = linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : tensor<8xf32>) {
  ^bb0(%x: f32):
    %s = arith.addf %x, %x : f32
    linalg.yield %s : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// -----

func.func @named_on_tensors(%m: tensor<4x8xf32>, %v: tensor<8xf32>, %y: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'linalg.matvec' op must work on buffers: run convert-linalg-to-gpu-kernels after bufferization}}
  %r = linalg.matvec ins(%m, %v : tensor<4x8xf32>, tensor<8xf32>) outs(%y : tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// A captured vector.
#id1 = affine_map<(d0) -> (d0)>
func.func @captured_vector(%a: memref<8xf32>, %v: vector<4xf32>) {
  // expected-error @+1 {{'linalg.generic' op uses a value of type 'vector<4xf32>' defined outside it, which a kernel cannot take as an argument}}
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : memref<8xf32>) {
  ^bb0(%x: f32):
    %e = vector.extract %v[0] : f32 from vector<4xf32>
    %r = arith.addf %x, %e : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A captured tensor (the operands are buffers; the body reads a tensor
// that mq-sink-tensor-extracts would have had to move).
#id1 = affine_map<(d0) -> (d0)>
func.func @captured_tensor(%a: memref<8xf32>, %t: tensor<4xf32>) {
  // expected-error @+1 {{'linalg.generic' op uses a value of type 'tensor<4xf32>' defined outside it, which a kernel cannot take as an argument}}
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : memref<8xf32>) {
  ^bb0(%x: f32):
    %c0 = arith.constant 0 : index
    %e = tensor.extract %t[%c0] : tensor<4xf32>
    %r = arith.addf %x, %e : f32
    linalg.yield %r : f32
  }
  return
}
