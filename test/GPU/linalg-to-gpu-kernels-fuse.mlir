// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels="fuse-small-ops=4096 fused-threads=512" | FileCheck %s
// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels | FileCheck %s --check-prefix=OFF

// convert-linalg-to-gpu-kernels{fuse-small-ops=N}: a run of consecutive ops
// of at most N points each, with nothing but views, scalar ops and
// allocations between them, is one kernel of a single block
// (fused-threads), launched where the run's last op was; the ops in order,
// a gpu.barrier between two. Checked, on a function of four runs:
//   - RMSNorm's sum of squares (1 point of 2000 terms: the whole block per
//     point, its warps' values through 16 floats of workgroup memory, the
//     fill folded in), the scaling and rounding to f16 (2000 points,
//     ragged: 4 per thread, unrolled, every load before the first store, the
//     last point clamped to 1999 for its loads and its store guarded), and
//     a row max (40 rows of 100: a warp per row, each of the 16 warps
//     taking 3 rows, unrolled, every row's loads first, the third clamped
//     to row 39 and its store guarded) are one launch of 1 block of 512
//     threads, in that order;
//   - a 200 x 100 row sum (20000 points) is not small: its own launch as
//     without fusion (25 blocks of 256 threads, a warp per row), and the
//     pointwise op after it, alone in its run, keeps the one-thread-per-point
//     kernel of 256-thread blocks;
//   - a memref.load between two small ops ends the run: the two ops after
//     it are a second fused kernel;
//   - without the option (OFF), every op is a launch of its own.

#id1 = affine_map<(d0) -> (d0)>
#sc = affine_map<(d0) -> ()>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// CHECK-LABEL: func.func @runs(
// CHECK-SAME: %[[X:[a-z0-9]+]]: memref<2000xf32>, %[[S:[a-z0-9]+]]: memref<f32>, %[[O:[a-z0-9]+]]: memref<2000xf16>, %[[SC:[a-z0-9]+]]: memref<40x100xf32>, %[[M:[a-z0-9]+]]: memref<40xf32>, %[[BIG:[a-z0-9]+]]: memref<200x100xf32>, %[[BO:[a-z0-9]+]]: memref<200xf32>)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[V:.*]] = memref.subview %[[X]]
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c1{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c512{{.*}}, %c1{{.*}}, %c1{{.*}}) args(%[[X]] : memref<2000xf32>, %[[S]] : memref<f32>, %[[ZERO]] : f32, %[[V]] : memref<2000xf32, strided<[1]>>, %[[O]] : memref<2000xf16>, %[[SC]] : memref<40x100xf32>, %[[M]] : memref<40xf32>, %[[NINF]] : f32)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c25{{.*}}) threads in (%c256{{.*}}) args(%[[BIG]] : memref<200x100xf32>, %[[BO]] : memref<200xf32>, %[[ZERO]] : f32)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_2 blocks in (%c1{{.*}}) threads in (%c256{{.*}}) args(%[[BO]] : memref<200xf32>, %[[BO]] : memref<200xf32>)
// CHECK: %[[L:.*]] = memref.load %[[M]]
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_3 blocks in (%c1{{.*}}) threads in (%c512{{.*}}) args(%[[M]] : memref<40xf32>, %[[L]] : f32)
// CHECK-NEXT: return

// CHECK: gpu.func @linalg_kernel_0({{.*}}) workgroup(%[[P:.*]] : memref<16xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 512, 1, 1>}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// The sum of squares: the block strides over the 2000 terms, four per
// thread, unrolled, the last clamped to 1999 and dropped past the end.
// CHECK: scf.for %{{.*}} = %c0 to %c1 step %c1
// CHECK-NOT: scf.for
// CHECK-COUNT-3: memref.load %arg0[
// CHECK: arith.minui %{{.*}}, %c1999
// CHECK: memref.load %arg0[
// CHECK: arith.select
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: gpu.barrier
// CHECK: memref.load %[[P]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: arith.addf %arg2,
// CHECK: memref.store %{{.*}}, %arg1[] : memref<f32>
// CHECK: gpu.barrier
// CHECK: }
// Between two ops.
// CHECK-NEXT: gpu.barrier
// The scaling: four points per thread, loads first.
// CHECK: %[[P0:.*]] = arith.addi %[[TID]], %c0
// CHECK: memref.load %arg3[%[[P0]]]
// CHECK: %[[P1:.*]] = arith.addi %[[TID]], %c512
// CHECK: memref.load %arg3[%[[P1]]]
// CHECK: %[[P2:.*]] = arith.addi %[[TID]], %c1024
// CHECK: memref.load %arg3[%[[P2]]]
// CHECK: %[[P3:.*]] = arith.addi %[[TID]], %c1536
// CHECK: %[[P3C:.*]] = arith.minui %[[P3]], %c1999
// CHECK: memref.load %arg3[%[[P3C]]]
// CHECK-NOT: memref.store
// CHECK: arith.truncf
// CHECK: memref.store %{{.*}}, %arg4[%[[P0]]]
// CHECK: memref.store %{{.*}}, %arg4[%[[P1]]]
// CHECK: memref.store %{{.*}}, %arg4[%[[P2]]]
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[P3]], %c2000
// CHECK: scf.if %[[IN]] {
// CHECK-NEXT: memref.store %{{.*}}, %arg4[%[[P3C]]]
// CHECK: gpu.barrier
// The row max: a warp per row, lanes over a row; a warp's three rows
// unrolled, all their loads first.
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %c32
// CHECK-NOT: scf.for
// CHECK: %[[R0:.*]] = arith.addi %[[WARP]], %c0
// CHECK: %[[K:.*]] = arith.addi %[[LANE]], %c0
// CHECK: memref.load %arg5[%[[R0]], %[[K]]]
// CHECK-COUNT-3: memref.load %arg5[%[[R0]],
// CHECK: %[[R1:.*]] = arith.addi %[[WARP]], %c16
// CHECK-COUNT-4: memref.load %arg5[%[[R1]],
// CHECK: %[[R2:.*]] = arith.addi %[[WARP]], %c32
// CHECK: %[[R2C:.*]] = arith.minui %[[R2]], %c39
// CHECK-COUNT-4: memref.load %arg5[%[[R2C]],
// CHECK-NOT: memref.load %arg5
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %arg6[%[[R0]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %arg6[%[[R1]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[R2]], %c40
// CHECK: %[[ST:.*]] = arith.andi %{{.*}}, %[[IN]]
// CHECK: scf.if %[[ST]] {
// CHECK: memref.store %{{.*}}, %arg6[%[[R2C]]]
// CHECK-NOT: gpu.barrier
// CHECK-NOT: scf.for
// CHECK: gpu.return

// CHECK: gpu.func @linalg_kernel_1({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: gpu.func @linalg_kernel_2({{.*}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: gpu.func @linalg_kernel_3({{.*}}) kernel attributes {known_block_size = array<i32: 512, 1, 1>}
// CHECK: arith.addf
// CHECK: gpu.barrier
// CHECK: arith.mulf
// CHECK: gpu.return

// OFF-COUNT-7: gpu.launch_func
// OFF-NOT: gpu.launch_func
func.func @runs(%x: memref<2000xf32>, %s: memref<f32>, %o: memref<2000xf16>, %sc: memref<40x100xf32>, %m: memref<40xf32>, %big: memref<200x100xf32>, %bo: memref<200xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%s : memref<f32>)
  linalg.generic {indexing_maps = [#id1, #sc], iterator_types = ["reduction"]}
      ins(%x : memref<2000xf32>) outs(%s : memref<f32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %t = arith.addf %acc, %sq : f32
    linalg.yield %t : f32
  }
  %v = memref.subview %x[0] [2000] [1] : memref<2000xf32> to memref<2000xf32, strided<[1]>>
  linalg.generic {indexing_maps = [#id1, #sc, #id1], iterator_types = ["parallel"]}
      ins(%v, %s : memref<2000xf32, strided<[1]>>, memref<f32>) outs(%o : memref<2000xf16>) {
  ^bb0(%a: f32, %ss: f32, %out: f16):
    %q = arith.mulf %a, %ss : f32
    %h = arith.truncf %q : f32 to f16
    linalg.yield %h : f16
  }
  %ninf = arith.constant 0xFF800000 : f32
  linalg.fill ins(%ninf : f32) outs(%m : memref<40xf32>)
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%sc : memref<40x100xf32>) outs(%m : memref<40xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.maximumf %acc, %a : f32
    linalg.yield %t : f32
  }
  // 20000 points: not small, a launch of its own.
  linalg.fill ins(%z : f32) outs(%bo : memref<200xf32>)
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%big : memref<200x100xf32>) outs(%bo : memref<200xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %t = arith.addf %acc, %a : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%bo : memref<200xf32>) outs(%bo : memref<200xf32>) {
  ^bb0(%a: f32, %b: f32):
    %t = arith.addf %a, %a : f32
    linalg.yield %t : f32
  }
  // A load from memory between two small ops ends the run.
  %c0 = arith.constant 0 : index
  %l = memref.load %m[%c0] : memref<40xf32>
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]}
      outs(%m : memref<40xf32>) {
  ^bb0(%b: f32):
    %t = arith.addf %b, %l : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]}
      outs(%m : memref<40xf32>) {
  ^bb0(%b: f32):
    %t = arith.mulf %b, %b : f32
    linalg.yield %t : f32
  }
  return
}
