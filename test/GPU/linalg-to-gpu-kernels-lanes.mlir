// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels | FileCheck %s

// A combined reduction whose largest input is contiguous along the fastest
// parallel loop (a column sum here; attention's p.V in a decode step, whose
// V cache is [position, head, dim] for outputs [head, group, dim]) takes
// lanes over consecutive points instead of a warp per point: block b
// reduces the points 32 b .. 32 b + 31, one per lane, its 8 warps split
// the reduction (warp w the rows w, w + 8, ...), each thread's partial
// goes to workgroup memory, and after a barrier the first warp adds the 8
// partials of its point and the fill's value and stores. 70 columns
// (ragged): 3 blocks; lanes past column 69 take no rows but reach the
// barrier. A row-major input (the reduction innermost) keeps a warp per
// point (second function).

#in = affine_map<(c, r) -> (r, c)>
#out = affine_map<(c, r) -> (c)>
func.func @colsum(%a: memref<100x70xf32>, %o: memref<70xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%o : memref<70xf32>)
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<100x70xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %acc, %x : f32
    linalg.yield %t : f32
  }
  return
}

// CHECK-LABEL: func.func @colsum
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c3, %c1, %c1) threads in (%c256, %c1, %c1) args(%arg0 : memref<100x70xf32>, %arg1 : memref<70xf32>, %cst : f32)
// CHECK-LABEL: func.func @rowsum
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c9, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})

// CHECK: gpu.func @linalg_kernel_0({{.*}}) workgroup(%[[P:.*]] : memref<256xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %c32
// CHECK: %[[BASE:.*]] = arith.muli %[[BID]], %c32
// CHECK: %[[PT:.*]] = arith.addi %[[BASE]], %[[LANE]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[PT]], %c70
// CHECK: %[[PART:.*]] = scf.if %[[IN]] -> (f32) {
// CHECK: scf.for %[[R:.*]] = %[[WARP]] to %c100 step %c8 iter_args
// CHECK: memref.load %arg0[%[[R]], %[[PT]]]
// CHECK: } else {
// CHECK: memref.store %[[PART]], %[[P]][%[[TID]]]
// CHECK-NEXT: gpu.barrier
// CHECK: %[[W0:.*]] = arith.cmpi eq, %[[WARP]], %c0
// CHECK: %[[FIN:.*]] = arith.andi %[[W0]], %[[IN]]
// CHECK: scf.if %[[FIN]] {
// CHECK-COUNT-8: memref.load %[[P]]
// CHECK: %[[T:.*]] = arith.addf %arg2,
// CHECK: memref.store %[[T]], %arg1[%[[PT]]]
// CHECK: gpu.func @linalg_kernel_1(
// CHECK-NOT: workgroup
// CHECK-COUNT-5: gpu.shuffle xor

#rin = affine_map<(c, r) -> (c, r)>
func.func @rowsum(%a: memref<70x100xf32>, %o: memref<70xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%o : memref<70xf32>)
  linalg.generic {indexing_maps = [#rin, #out], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x100xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %t = arith.addf %acc, %x : f32
    linalg.yield %t : f32
  }
  return
}
