// RUN: matquant-opt %s --split-input-file --convert-linalg-to-gpu-kernels | FileCheck %s

// A pointwise op right after a combined reduction, over the reduction's
// output shape and reading nothing but that output (through the identity),
// runs inside the reduction's kernel: the thread that stores an output
// point computes the pointwise op there from the value it just stored (no
// reload) and stores its result; one launch instead of two. Attention's
// p.V followed by the rounding of its output to f16 is this pair.

#in = affine_map<(i, k) -> (i, k)>
#out = affine_map<(i, k) -> (i)>
#id = affine_map<(i) -> (i)>

// CHECK-LABEL: func.func @rowsum_round
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c9, %c1, %c1) threads in (%c256, %c1, %c1) args(%arg0 : memref<70x100xf32>, %arg1 : memref<70xf32>, %cst : f32, %arg2 : memref<70xf16>)
// CHECK-NEXT: return
// CHECK: gpu.func @linalg_kernel_0(
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: scf.if
// CHECK: %[[V:.*]] = arith.addf %arg2, %{{.*}} : f32
// CHECK-NEXT: memref.store %[[V]], %arg1[%[[P:.*]]] : memref<70xf32>
// CHECK-NEXT: %[[H:.*]] = arith.truncf %[[V]] : f32 to f16
// CHECK-NEXT: memref.store %[[H]], %arg3[%[[P]]] : memref<70xf16>
func.func @rowsum_round(%a: memref<70x100xf32>, %o: memref<70xf32>, %h: memref<70xf16>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%o : memref<70xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x100xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %acc, %x : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%o : memref<70xf32>) outs(%h : memref<70xf16>) {
  ^bb0(%x: f32, %y: f16):
    %t = arith.truncf %x : f32 to f16
    linalg.yield %t : f16
  }
  return
}

// -----

#in = affine_map<(i, k) -> (i, k)>
#out = affine_map<(i, k) -> (i)>
#id = affine_map<(i) -> (i)>

// The pointwise op also reads another buffer (%b): it could read a value
// another block has not written yet, so it keeps its own launch; so does
// one that writes into the buffer the reduction reads.
// CHECK-LABEL: func.func @not_epilogues
// CHECK-COUNT-4: gpu.launch_func
// CHECK-NOT: gpu.launch_func
func.func @not_epilogues(%a: memref<70x100xf32>, %o: memref<70xf32>, %b: memref<70xf32>, %h: memref<70xf16>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%o : memref<70xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x100xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %acc, %x : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%o, %b : memref<70xf32>, memref<70xf32>) outs(%h : memref<70xf16>) {
  ^bb0(%x: f32, %y: f32, %w: f16):
    %s = arith.addf %x, %y : f32
    %t = arith.truncf %s : f32 to f16
    linalg.yield %t : f16
  }
  linalg.fill ins(%z : f32) outs(%o : memref<70xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x100xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %acc, %x : f32
    linalg.yield %t : f32
  }
  %row = memref.subview %a[0, 0] [1, 70] [1, 1] : memref<70x100xf32> to memref<70xf32, strided<[1]>>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%o : memref<70xf32>) outs(%row : memref<70xf32, strided<[1]>>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  return
}
