// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels="fuse-partitions=65536" --split-input-file | FileCheck %s
// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels --split-input-file | FileCheck %s --check-prefix=OFF

// convert-linalg-to-gpu-kernels{fuse-partitions=N}: a run of consecutive
// ops that partition along their leading parallel loops is one kernel of a
// block per partition. Checked on attention over 2 KV heads x 4 query
// heads, 40 cached positions, head dimension 64: the scores (320 points of
// 64 terms), the scaling and causal mask, the row max, the exponentials,
// the row sum, the division and p.V (512 points of 40 terms), each an op
// of its own (nothing between them but a scalar), are ONE launch of 8
// blocks (the 2 x 4 heads; the scores' 40 x 64 = 2560 payload evaluations
// per head fill a block of 1024 threads). Each block takes its head from
// its id (the last partition loop fastest), and every op is restricted to
// it: the scores a warp per position (the 40 positions of a head over 32
// warps: 2 each, unrolled, the second clamped to 39), the row max and sum
// the whole block per point (through workgroup memory), p.V lanes over 32
// consecutive outputs (the V cache is contiguous along them) and the
// block's warps splitting the positions; a gpu.barrier between two ops.
// The scores, the row max and the row sum, allocations that only the run
// uses, each block touching its head's part only, live in workgroup
// memory, a head's part per block (40 floats, one, one): no kernel
// arguments, no global memory traffic. Without the option (OFF) the ops
// are 7 launches.

#q = affine_map<(h, g, t, d) -> (h, g, d)>
#k = affine_map<(h, g, t, d) -> (t, h, d)>
#s = affine_map<(h, g, t, d) -> (h, g, t)>
#id3 = affine_map<(h, g, t) -> (h, g, t)>
#row = affine_map<(h, g, t) -> (h, g)>
#p = affine_map<(h, g, d, t) -> (h, g, t)>
#v = affine_map<(h, g, d, t) -> (t, h, d)>
#o = affine_map<(h, g, d, t) -> (h, g, d)>

// CHECK-LABEL: func.func @attention(
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c1024{{.*}}, %c1{{.*}}, %c1{{.*}})
// CHECK-NOT: gpu.launch_func
// CHECK: return
// OFF-LABEL: func.func @attention(
// OFF-COUNT-7: gpu.launch_func
// OFF: return
func.func @attention(%q: memref<2x4x64xf32>, %kc: memref<40x2x64xf32>,
                     %vc: memref<40x2x64xf32>, %pos: index,
                     %out: memref<2x4x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scale = arith.constant 8.0 : f32
  %s = memref.alloc() : memref<2x4x40xf32>
  %m = memref.alloc() : memref<2x4xf32>
  %l = memref.alloc() : memref<2x4xf32>
  linalg.fill ins(%zero : f32) outs(%s : memref<2x4x40xf32>)
  linalg.generic {indexing_maps = [#q, #k, #s],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kc : memref<2x4x64xf32>, memref<40x2x64xf32>)
      outs(%s : memref<2x4x40xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#id3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      outs(%s : memref<2x4x40xf32>) {
  ^bb0(%x: f32):
    %t = linalg.index 2 : index
    %0 = arith.divf %x, %scale : f32
    %c = arith.cmpi ule, %t, %pos : index
    %1 = arith.select %c, %0, %ninf : f32
    linalg.yield %1 : f32
  }
  linalg.fill ins(%ninf : f32) outs(%m : memref<2x4xf32>)
  linalg.generic {indexing_maps = [#id3, #row],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : memref<2x4x40xf32>) outs(%m : memref<2x4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %0 = arith.maximumf %acc, %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #id3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m : memref<2x4xf32>) outs(%s : memref<2x4x40xf32>) {
  ^bb0(%mx: f32, %x: f32):
    %0 = arith.subf %x, %mx : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  }
  linalg.fill ins(%zero : f32) outs(%l : memref<2x4xf32>)
  linalg.generic {indexing_maps = [#id3, #row],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : memref<2x4x40xf32>) outs(%l : memref<2x4xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %0 = arith.addf %acc, %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #id3],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%l : memref<2x4xf32>) outs(%s : memref<2x4x40xf32>) {
  ^bb0(%sum: f32, %x: f32):
    %0 = arith.divf %x, %sum : f32
    linalg.yield %0 : f32
  }
  linalg.fill ins(%zero : f32) outs(%out : memref<2x4x64xf32>)
  linalg.generic {indexing_maps = [#p, #v, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%s, %vc : memref<2x4x40xf32>, memref<40x2x64xf32>)
      outs(%out : memref<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %acc, %0 : f32
    linalg.yield %1 : f32
  }
  return
}
// CHECK: gpu.func @linalg_kernel_0(%arg0: memref<2x4x64xf32>, %arg1: memref<40x2x64xf32>, %arg2: f32, %arg3: f32, %arg4: index, %arg5: f32, %arg6: memref<40x2x64xf32>, %arg7: memref<2x4x64xf32>) workgroup(%[[S:.*]] : memref<40xf32, #gpu.address_space<workgroup>>, %[[M:.*]] : memref<f32, #gpu.address_space<workgroup>>, %[[L:.*]] : memref<f32, #gpu.address_space<workgroup>>, %[[P:.*]] : memref<1024xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 1024, 1, 1>}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[G:.*]] = arith.remui %[[BID]], %c4
// CHECK: %[[H:.*]] = arith.divui %[[BID]], %c4
// The scores: a warp's two positions of the head, loads first.
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %c32
// CHECK: %[[WARP:.*]] = arith.divui %[[TID]], %c32
// CHECK-NOT: scf.for
// CHECK: %[[T0:.*]] = arith.addi %[[WARP]], %c0
// CHECK: %[[D0:.*]] = arith.addi %[[LANE]], %c0
// CHECK: memref.load %arg0[%[[H]], %[[G]], %[[D0]]]
// CHECK: memref.load %arg1[%[[T0]], %[[H]], %[[D0]]]
// CHECK: %[[T1:.*]] = arith.addi %[[WARP]], %c32
// CHECK: %[[T1C:.*]] = arith.minui %[[T1]], %c39
// CHECK: memref.load %arg1[%[[T1C]], %[[H]],
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[S]][%[[T0]]]
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[S]][%[[T1C]]]
// CHECK: gpu.barrier
// The scaling and mask: the head's 40 positions.
// CHECK: memref.load %[[S]][
// CHECK: arith.divf
// CHECK: gpu.barrier
// The row max: the block per point, through the workgroup memory.
// CHECK: arith.maximumf
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %[[M]][] : memref<f32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load %[[M]][]
// CHECK: math.exp
// CHECK: gpu.barrier
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[L]][] : memref<f32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load %[[L]][]
// CHECK: arith.divf
// CHECK: gpu.barrier
// p.V: 2 chunks of 32 outputs, 16 warps each; a warp's positions s, s + 16,
// s + 32 (unrolled, the last guarded).
// CHECK: %[[CH:.*]] = arith.divui %{{.*}}, %c16
// CHECK: %[[SL:.*]] = arith.remui %{{.*}}, %c16
// CHECK: %[[PT:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: scf.if
// CHECK: memref.load %[[S]][
// CHECK: memref.load %arg6[%{{.*}}, %[[H]], %[[PT]]] : memref<40x2x64xf32>
// CHECK: memref.load %arg6[%{{.*}}, %[[H]], %[[PT]]] : memref<40x2x64xf32>
// CHECK: arith.cmpi ult, %{{.*}}, %c40
// CHECK: memref.load %arg6[%{{.*}}, %[[H]], %[[PT]]] : memref<40x2x64xf32>
// CHECK: memref.store %{{.*}}, %[[P]]
// CHECK: gpu.barrier
// CHECK: memref.store %{{.*}}, %arg7[%[[H]], %[[G]], %[[PT]]] : memref<2x4x64xf32>
// CHECK: gpu.barrier
// CHECK: gpu.return

// -----

// A transposed read of a buffer that the run writes: block (h, g) would read
// what other blocks write. No partitioned kernel: two launches, each of
// its own grid.

#id2 = affine_map<(i, j) -> (i, j)>
#tr = affine_map<(i, j) -> (j, i)>
// CHECK-LABEL: func.func @transposed(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c16{{.*}}) threads in (%c256{{.*}})
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c16{{.*}}) threads in (%c256{{.*}})
// CHECK-NOT: gpu.launch_func
func.func @transposed(%a: memref<64x64xf32>, %b: memref<64x64xf32>,
                      %c: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<64x64xf32>) outs(%b : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#tr, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%b : memref<64x64xf32>) outs(%c : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// Independent ops (the second reads nothing the first writes) are no
// partitioned run: the first keeps its own grid; the second and the third,
// which reads what the second writes, row by row, are one kernel of a
// block per row (64 rows, the 64 points of a row a thread each: 64
// threads).

#id2 = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @independent(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c16{{.*}}) threads in (%c256{{.*}}) args(%arg0 : memref<64x64xf32>, %arg1 : memref<64x64xf32>)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c64{{.*}}) threads in (%c64{{.*}}) args(%arg2 : memref<64x64xf32>, %arg3 : memref<64x64xf32>, %arg1 : memref<64x64xf32>)
// CHECK-NOT: gpu.launch_func
// CHECK: gpu.func @linalg_kernel_1
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[ROW:.*]] = gpu.block_id x
// CHECK: %[[COL:.*]] = arith.addi %[[TID]], %c0
// CHECK: memref.load %arg0[%[[ROW]], %[[COL]]]
// CHECK: memref.store %{{.*}}, %arg1[%[[ROW]], %[[COL]]]
// CHECK: gpu.barrier
// CHECK: memref.load %arg1[%[[ROW]], %[[COL2:.*]]]
// CHECK: memref.store %{{.*}}, %arg2[%[[ROW]], %[[COL2]]]
func.func @independent(%a: memref<64x64xf32>, %b: memref<64x64xf32>,
                       %c: memref<64x64xf32>, %d: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<64x64xf32>) outs(%b : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<64x64xf32>) outs(%d : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id2, #id2],
                  iterator_types = ["parallel", "parallel"]}
      ins(%d : memref<64x64xf32>) outs(%b : memref<64x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  return
}

// -----

// One allocation for two runs (as a decode step's layers share their
// attention buffers): each run writes it whole before reading it, and
// nothing reads what one run left, so in each run it is block-private
// workgroup memory (a row of 64 floats per block) and the allocation goes.
// Where an op after the run reads what the run wrote (@live_after), it
// stays in global memory, an argument of the kernel.

#rw = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @reused(
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c4{{.*}}) threads in (%c64{{.*}}) args(%arg0 : memref<4x64xf32>, %arg1 : memref<4x64xf32>)
// CHECK: memref.load
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c4{{.*}}) threads in (%c64{{.*}}) args(%arg0 : memref<4x64xf32>, %arg2 : memref<4x64xf32>)
// CHECK-LABEL: func.func @live_after(
// CHECK: %[[T:.*]] = memref.alloc() : memref<4x64xf32>
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_2 blocks in (%c4{{.*}}) threads in (%c64{{.*}}) args(%arg0 : memref<4x64xf32>, %[[T]] : memref<4x64xf32>, %arg1 : memref<4x64xf32>)
// CHECK: gpu.func @linalg_kernel_0({{.*}}) workgroup(%{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.func @linalg_kernel_1({{.*}}) workgroup(%{{.*}} : memref<64xf32, #gpu.address_space<workgroup>>)
// CHECK: gpu.func @linalg_kernel_2(%{{[^)]*}}) kernel
func.func @reused(%a: memref<4x64xf32>, %o1: memref<4x64xf32>,
                  %o2: memref<4x64xf32>) -> f32 {
  %t = memref.alloc() : memref<4x64xf32>
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x64xf32>) outs(%t : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x64xf32>) outs(%o1 : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = arith.addf %x, %x : f32
    linalg.yield %0 : f32
  }
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0, %c0] : memref<4x64xf32>
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x64xf32>) outs(%t : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.sqrt %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x64xf32>) outs(%o2 : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = arith.mulf %x, %x : f32
    linalg.yield %0 : f32
  }
  return %v : f32
}
func.func @live_after(%a: memref<4x64xf32>, %o1: memref<4x64xf32>,
                      %o2: memref<4x64xf32>) -> f32 {
  %t = memref.alloc() : memref<4x64xf32>
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%a : memref<4x64xf32>) outs(%t : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = math.exp %x : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x64xf32>) outs(%o1 : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = arith.addf %x, %x : f32
    linalg.yield %0 : f32
  }
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0, %c0] : memref<4x64xf32>
  linalg.generic {indexing_maps = [#rw, #rw], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<4x64xf32>) outs(%o2 : memref<4x64xf32>) {
  ^bb0(%x: f32, %y: f32):
    %0 = arith.mulf %x, %x : f32
    linalg.yield %0 : f32
  }
  return %v : f32
}
