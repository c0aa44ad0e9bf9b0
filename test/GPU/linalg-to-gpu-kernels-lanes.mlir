// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels | FileCheck %s

// A combined reduction whose largest input is contiguous along the fastest
// parallel loop (a column sum here; attention's p.V in a decode step, whose
// V cache is [position, head, dim] for outputs [head, group, dim]) takes
// lanes over consecutive points instead of a warp per point: block b
// (1024 threads) reduces the points 32 b .. 32 b + 31, one per lane, its
// 32 warps split the reduction (warp w the rows w, w + 32, w + 64, w + 96:
// four terms, unrolled with their four loads first; the last row index is
// ragged, 100 rows, so it is clamped to 99 for the load and its term
// dropped by a select where it is past the end), each thread's partial goes
// to workgroup memory, and after a barrier the first warp adds the 32
// partials of its point and the fill's value and stores. 70 columns
// (ragged): 3 blocks; lanes past column 69 take no rows but reach the
// barrier. A row-major input (the reduction innermost) keeps a warp per
// point (second function), its 100 terms per point four per lane,
// unrolled the same way.

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
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c3, %c1, %c1) threads in (%c1024, %c1, %c1) args(%arg0 : memref<100x70xf32>, %arg1 : memref<70xf32>, %cst : f32)
// CHECK-LABEL: func.func @rowsum
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c9, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}, %c1{{.*}}, %c1{{.*}})

// CHECK: gpu.func @linalg_kernel_0({{.*}}) workgroup(%[[P:.*]] : memref<1024xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 1024, 1, 1>}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %c32
// CHECK: %[[BASE:.*]] = arith.muli %[[BID]], %c32
// CHECK: %[[PT:.*]] = arith.addi %[[BASE]], %[[LANE]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[PT]], %c70
// CHECK: %[[PART:.*]] = scf.if %[[IN]] -> (f32) {
// CHECK: %[[R0:.*]] = arith.addi %[[WARP]], %c0
// CHECK: %[[V0:.*]] = memref.load %arg0[%[[R0]], %[[PT]]]
// CHECK: %[[R1:.*]] = arith.addi %[[WARP]], %c32
// CHECK: %[[V1:.*]] = memref.load %arg0[%[[R1]], %[[PT]]]
// CHECK: %[[R2:.*]] = arith.addi %[[WARP]], %c64
// CHECK: %[[V2:.*]] = memref.load %arg0[%[[R2]], %[[PT]]]
// CHECK: %[[R3:.*]] = arith.addi %[[WARP]], %c96
// CHECK: %[[K3:.*]] = arith.cmpi ult, %[[R3]], %c100
// CHECK: %[[R3C:.*]] = arith.minui %[[R3]], %c99
// CHECK: %[[V3:.*]] = memref.load %arg0[%[[R3C]], %[[PT]]]
// CHECK: %[[S0:.*]] = arith.addf %{{.*}}, %[[V0]]
// CHECK: %[[S1:.*]] = arith.addf %[[S0]], %[[V1]]
// CHECK: %[[S2:.*]] = arith.addf %[[S1]], %[[V2]]
// CHECK: %[[S3:.*]] = arith.addf %[[S2]], %[[V3]]
// CHECK: %[[S:.*]] = arith.select %[[K3]], %[[S3]], %[[S2]]
// CHECK: scf.yield %[[S]]
// CHECK: } else {
// CHECK: memref.store %[[PART]], %[[P]][%[[TID]]]
// CHECK-NEXT: gpu.barrier
// CHECK: %[[W0:.*]] = arith.cmpi eq, %[[WARP]], %c0
// CHECK: %[[FIN:.*]] = arith.andi %[[W0]], %[[IN]]
// CHECK: scf.if %[[FIN]] {
// CHECK-COUNT-32: memref.load %[[P]]
// CHECK: %[[T:.*]] = arith.addf %arg2,
// CHECK: memref.store %[[T]], %arg1[%[[PT]]]
// CHECK: gpu.func @linalg_kernel_1(
// CHECK-NOT: workgroup
// CHECK-NOT: scf.for
// CHECK-COUNT-4: memref.load %arg0
// CHECK: arith.select
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
