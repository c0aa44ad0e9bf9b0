// RUN: matquant-opt %s --split-input-file --convert-linalg-to-gpu-kernels="unroll-terms=0" | FileCheck %s
// RUN: matquant-opt %s --split-input-file --convert-linalg-to-gpu-kernels="threads-per-block=128 kernel-module=decode_kernels unroll-terms=0" | FileCheck %s --check-prefix=T128
// (unroll-terms=0: every reduction as a loop, the structure checked here;
// the unrolled form of few terms per thread: linalg-to-gpu-kernels-lanes.mlir.)

// convert-linalg-to-gpu-kernels on bufferized host functions: every linalg
// op (named ops generalized) and every memref.copy becomes a gpu.func in the
// gpu.module @linalg_kernels and a gpu.launch_func in its place. Checked:
//   - the launch grid: ceil(points / threads-per-block) blocks for
//     one-thread-per-point kernels (pointwise ops and serial reductions),
//     ceil(points * 32 / threads-per-block) for warp reductions (one warp
//     per parallel point), blocks of threads-per-block threads;
//   - the kernel signatures (operands, then captured scalars and buffers);
//   - the kernel bodies: the bounds check on the ragged iteration space,
//     the delinearization of the thread index (last dim fastest), the warp
//     reduction (lanes striding by 32 from the neutral element, five
//     gpu.shuffle xor 16..1, lane 0 combining with the output), also of a
//     masked combiner, and the serial scf.for of reductions that are not a
//     (masked) combiner;
//   - identical kernels are emitted once and launched twice.
// The second RUN line: 128 threads per block change every grid and the
// known block size, and the kernels go to the named gpu.module.

// (a) Pointwise on a ragged 37x15 space: 555 points, 3 blocks of 256
// (5 of 128).

#id2 = affine_map<(d0, d1) -> (d0, d1)>
func.func @pointwise(%a: memref<37x15xf32>, %b: memref<37x15xf32>, %o: memref<37x15xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : memref<37x15xf32>, memref<37x15xf32>) outs(%o : memref<37x15xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32):
    %s = arith.addf %x, %y : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK: module attributes {gpu.container_module}
// CHECK-LABEL: func.func @pointwise(
// CHECK-SAME: %[[A:[^:]*]]: memref<37x15xf32>, %[[B:[^:]*]]: memref<37x15xf32>, %[[O:[^:]*]]: memref<37x15xf32>)
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 3 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%[[A]] : memref<37x15xf32>, %[[B]] : memref<37x15xf32>, %[[O]] : memref<37x15xf32>)
// CHECK-NOT: linalg.
// CHECK: return
// CHECK: gpu.module @linalg_kernels {
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KA:[^:]*]]: memref<37x15xf32>, %[[KB:[^:]*]]: memref<37x15xf32>, %[[KO:[^:]*]]: memref<37x15xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: %[[BASE:.*]] = arith.muli %[[BID]], %{{.*}} : index
// CHECK: %[[GID:.*]] = arith.addi %[[BASE]], %[[TID]] : index
// CHECK: %[[NP:.*]] = arith.constant 555 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[GID]], %[[NP]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: %[[C15:.*]] = arith.constant 15 : index
// CHECK: %[[J:.*]] = arith.remui %[[GID]], %[[C15]] : index
// CHECK: %[[I:.*]] = arith.divui %[[GID]], %[[C15]] : index
// CHECK: %[[X:.*]] = memref.load %[[KA]][%[[I]], %[[J]]] : memref<37x15xf32>
// CHECK: %[[Y:.*]] = memref.load %[[KB]][%[[I]], %[[J]]] : memref<37x15xf32>
// CHECK: %[[S:.*]] = arith.addf %[[X]], %[[Y]] : f32
// CHECK: memref.store %[[S]], %[[KO]][%[[I]], %[[J]]] : memref<37x15xf32>
// CHECK: }
// CHECK: gpu.return

// T128: module attributes {gpu.container_module}
// T128-LABEL: func.func @pointwise(
// T128-DAG: %[[ONE:.*]] = arith.constant 1 : index
// T128-DAG: %[[TPB:.*]] = arith.constant 128 : index
// T128-DAG: %[[GRID:.*]] = arith.constant 5 : index
// T128: gpu.launch_func @decode_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// T128: gpu.module @decode_kernels {
// T128: gpu.func @linalg_kernel_0({{.*}}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// T128: arith.constant 128 : index

// -----

// (b) A row sum, memref<70x200> -> memref<70>: the warp kernel, 70 warps
// of 32 threads = 2240 threads, 9 blocks of 256 (18 of 128).

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_sum(%a: memref<70x200xf32>, %o: memref<70xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x200xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @row_sum(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 9 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%{{.*}} : memref<70x200xf32>, %{{.*}} : memref<70xf32>)
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KA:[^:]*]]: memref<70x200xf32>, %[[KO:[^:]*]]: memref<70xf32>) kernel
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[GID:.*]] = arith.addi %{{.*}}, %[[TID]] : index
// CHECK: %[[LANE:.*]] = arith.remui %[[TID]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.divui %[[GID]], %{{.*}} : index
// CHECK: %[[NP:.*]] = arith.constant 70 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[ROW]], %[[NP]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[C200:.*]] = arith.constant 200 : index
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[PART:.*]] = scf.for %[[K:.*]] = %[[LANE]] to %[[C200]] step %[[C32]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %[[KA]][%[[ROW]], %[[K]]] : memref<70x200xf32>
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[X]] : f32
// CHECK-NEXT: scf.yield %[[S]] : f32
// CHECK: %[[W:.*]] = arith.constant 32 : i32
// CHECK: %[[O16:.*]] = arith.constant 16 : i32
// CHECK: %[[SH16:.*]], %{{.*}} = gpu.shuffle xor %[[PART]], %[[O16]], %[[W]] : f32
// CHECK: %[[P16:.*]] = arith.addf %[[PART]], %[[SH16]] : f32
// CHECK: %[[O8:.*]] = arith.constant 8 : i32
// CHECK: %[[SH8:.*]], %{{.*}} = gpu.shuffle xor %[[P16]], %[[O8]], %[[W]] : f32
// CHECK: %[[P8:.*]] = arith.addf %[[P16]], %[[SH8]] : f32
// CHECK: %[[O4:.*]] = arith.constant 4 : i32
// CHECK: %[[SH4:.*]], %{{.*}} = gpu.shuffle xor %[[P8]], %[[O4]], %[[W]] : f32
// CHECK: %[[P4:.*]] = arith.addf %[[P8]], %[[SH4]] : f32
// CHECK: %[[O2:.*]] = arith.constant 2 : i32
// CHECK: %[[SH2:.*]], %{{.*}} = gpu.shuffle xor %[[P4]], %[[O2]], %[[W]] : f32
// CHECK: %[[P2:.*]] = arith.addf %[[P4]], %[[SH2]] : f32
// CHECK: %[[O1:.*]] = arith.constant 1 : i32
// CHECK: %[[SH1:.*]], %{{.*}} = gpu.shuffle xor %[[P2]], %[[O1]], %[[W]] : f32
// CHECK: %[[TOTAL:.*]] = arith.addf %[[P2]], %[[SH1]] : f32
// CHECK-NOT: gpu.shuffle
// CHECK: %[[LANE0:.*]] = arith.cmpi eq, %[[LANE]], %{{.*}} : index
// CHECK: scf.if %[[LANE0]] {
// CHECK: %[[OLD:.*]] = memref.load %[[KO]][%[[ROW]]] : memref<70xf32>
// CHECK: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]] : f32
// CHECK: memref.store %[[NEW]], %[[KO]][%[[ROW]]] : memref<70xf32>
// CHECK: gpu.return

// T128-LABEL: func.func @row_sum(
// T128-DAG: %[[ONE:.*]] = arith.constant 1 : index
// T128-DAG: %[[TPB:.*]] = arith.constant 128 : index
// T128-DAG: %[[GRID:.*]] = arith.constant 18 : index
// T128: gpu.launch_func @decode_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// T128-COUNT-5: gpu.shuffle xor
// T128-NOT: gpu.shuffle
// T128: gpu.return

// -----

// (c) A max reduction of exp(x) (the softmax's max): the warp kernel from
// -inf, maximumf in the lanes, the shuffles and with the output. 10 rows:
// 320 threads, 2 blocks.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @row_max(%a: memref<10x64xf32>, %o: memref<10xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<10x64xf32>) outs(%o : memref<10xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %e = math.exp %x : f32
    %m = arith.maximumf %e, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// CHECK-LABEL: func.func @row_max(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK: arith.constant 10 : index
// CHECK: %[[NEG:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[PART:.*]] = scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[NEG]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load
// CHECK-NEXT: %[[E:.*]] = math.exp %[[X]] : f32
// CHECK-NEXT: %[[M:.*]] = arith.maximumf %[[E]], %[[ACC]] : f32
// CHECK-NEXT: scf.yield %[[M]] : f32
// CHECK-COUNT-5: gpu.shuffle xor {{.*}}
// CHECK-NEXT: arith.maximumf
// CHECK-NOT: gpu.shuffle
// CHECK: scf.if
// CHECK: %[[OLD:.*]] = memref.load
// CHECK: arith.maximumf %[[OLD]], %{{.*}} : f32
// CHECK: memref.store
// CHECK-NOT: arith.addf
// CHECK: gpu.return

// -----

// (d) Reductions that are not `combiner(out, f(ins))` (nor its masked form,
// (d')) run one thread per parallel point with a serial scf.for over the
// reduction space, from the output's value: a decaying sum (out * 0.5 + x:
// the order matters; the linalg.index of the reduction dim becomes the
// loop's induction variable), a masked sum whose mask reads the output, an
// integer sum (not f32), a sum of fewer than 32 points. 300 rows: 2 blocks
// of 256 (3 of 128).

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @decay(%a: memref<300x40xf32>, %o: memref<300xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<300x40xf32>) outs(%o : memref<300xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %i = linalg.index 1 : index
    %ii = arith.index_cast %i : index to i32
    %fi = arith.sitofp %ii : i32 to f32
    %h = arith.constant 0.5 : f32
    %d = arith.mulf %acc, %h : f32
    %t = arith.mulf %x, %fi : f32
    %s = arith.addf %d, %t : f32
    linalg.yield %s : f32
  }
  return
}

func.func @mask_reads_out(%a: memref<300x40xf32>, %o: memref<300xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<300x40xf32>) outs(%o : memref<300xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %z = arith.constant 0.0 : f32
    %cond = arith.cmpf ogt, %acc, %z : f32
    %s = arith.addf %acc, %x : f32
    %r = arith.select %cond, %s, %acc : f32
    linalg.yield %r : f32
  }
  return
}

func.func @int_sum(%a: memref<70x200xi32>, %o: memref<70xi32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x200xi32>) outs(%o : memref<70xi32>) {
  ^bb0(%x: i32, %acc: i32):
    %s = arith.addi %acc, %x : i32
    linalg.yield %s : i32
  }
  return
}

func.func @short_sum(%a: memref<70x16xf32>, %o: memref<70xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a : memref<70x16xf32>) outs(%o : memref<70xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  }
  return
}

// CHECK-LABEL: func.func @decay(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// CHECK-LABEL: func.func @mask_reads_out(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// CHECK-LABEL: func.func @int_sum(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_2 blocks in
// CHECK-LABEL: func.func @short_sum(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_3 blocks in

// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KA:[^:]*]]: memref<300x40xf32>, %[[KO:[^:]*]]: memref<300xf32>)
// CHECK-NOT: gpu.shuffle
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: %[[NP:.*]] = arith.constant 300 : index
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[GID]], %[[NP]] : index
// CHECK: scf.if %[[IN]] {
// CHECK: %[[INIT:.*]] = memref.load %[[KO]][%[[GID]]] : memref<300xf32>
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[C40:.*]] = arith.constant 40 : index
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: %[[R:.*]] = scf.for %[[K:.*]] = %[[C0]] to %[[C40]] step %[[C1]] iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %[[KA]][%[[GID]], %[[K]]] : memref<300x40xf32>
// CHECK-NEXT: %[[KI:.*]] = arith.index_cast %[[K]] : index to i32
// CHECK-NEXT: %[[KF:.*]] = arith.sitofp %[[KI]] : i32 to f32
// CHECK-NEXT: %[[H:.*]] = arith.constant 5.000000e-01 : f32
// CHECK-NEXT: %[[D:.*]] = arith.mulf %[[ACC]], %[[H]] : f32
// CHECK-NEXT: %[[T:.*]] = arith.mulf %[[X]], %[[KF]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[D]], %[[T]] : f32
// CHECK-NEXT: scf.yield %[[S]] : f32
// CHECK-NEXT: }
// CHECK-NEXT: memref.store %[[R]], %[[KO]][%[[GID]]] : memref<300xf32>
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @linalg_kernel_1(
// CHECK-NOT: gpu.shuffle
// CHECK: %[[INIT:.*]] = memref.load
// CHECK: scf.for %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK: %[[COND:.*]] = arith.cmpf ogt, %[[ACC]], %{{.*}} : f32
// CHECK: %[[S:.*]] = arith.addf %[[ACC]], %{{.*}} : f32
// CHECK: arith.select %[[COND]], %[[S]], %[[ACC]] : f32
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @linalg_kernel_2(
// CHECK-NOT: gpu.shuffle
// CHECK: arith.constant 70 : index
// CHECK: scf.for {{.*}} -> (i32) {
// CHECK: arith.addi {{.*}} : i32
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return

// CHECK-LABEL: gpu.func @linalg_kernel_3(
// CHECK-NOT: gpu.shuffle
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[C16:.*]] = arith.constant 16 : index
// CHECK: %[[C1:.*]] = arith.constant 1 : index
// CHECK: scf.for %{{.*}} = %{{c0[_0-9]*}} to %[[C16]] step %[[C1]] iter_args
// CHECK-NOT: gpu.shuffle
// CHECK: gpu.return

// T128-LABEL: func.func @decay(
// T128-DAG: %[[ONE:.*]] = arith.constant 1 : index
// T128-DAG: %[[TPB:.*]] = arith.constant 128 : index
// T128-DAG: %[[GRID:.*]] = arith.constant 3 : index
// T128: gpu.launch_func @decode_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])

// -----

// (d') A masked reduction, select(cond, out + a*b, out) with a condition
// that does not read the output (attention's causal mask; here the
// linalg.index of the reduction dim against 20): a warp kernel, the lanes
// running the masked body from 0 on their own slices, then the shuffles
// with addf. 300 rows of 32 threads: 38 blocks of 256 (75 of 128).

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
func.func @masked_dot(%a: memref<300x40xf32>, %b: memref<300x40xf32>, %o: memref<300xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%a, %b : memref<300x40xf32>, memref<300x40xf32>) outs(%o : memref<300xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %i = linalg.index 1 : index
    %c20 = arith.constant 20 : index
    %cond = arith.cmpi ult, %i, %c20 : index
    %m = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %m : f32
    %r = arith.select %cond, %s, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @masked_dot(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 38 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KA:[^:]*]]: memref<300x40xf32>, %[[KB:[^:]*]]: memref<300x40xf32>, %[[KO:[^:]*]]: memref<300xf32>)
// CHECK: %[[LANE:.*]] = arith.remui
// CHECK: %[[ROW:.*]] = arith.divui
// CHECK: arith.constant 300 : index
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: scf.for %[[K:.*]] = %[[LANE]] to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (f32) {
// CHECK-NEXT: %[[X:.*]] = memref.load %[[KA]][%[[ROW]], %[[K]]] : memref<300x40xf32>
// CHECK-NEXT: %[[Y:.*]] = memref.load %[[KB]][%[[ROW]], %[[K]]] : memref<300x40xf32>
// CHECK-NEXT: %[[C20:.*]] = arith.constant 20 : index
// CHECK-NEXT: %[[COND:.*]] = arith.cmpi ult, %[[K]], %[[C20]] : index
// CHECK-NEXT: %[[M:.*]] = arith.mulf %[[X]], %[[Y]] : f32
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[M]] : f32
// CHECK-NEXT: %[[SEL:.*]] = arith.select %[[COND]], %[[S]], %[[ACC]] : f32
// CHECK-NEXT: scf.yield %[[SEL]] : f32
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK-NEXT: arith.addf
// CHECK-NOT: gpu.shuffle
// CHECK: %[[OLD:.*]] = memref.load %[[KO]][%[[ROW]]] : memref<300xf32>
// CHECK: arith.addf %[[OLD]], %{{.*}} : f32
// CHECK: gpu.return

// T128-LABEL: func.func @masked_dot(
// T128-DAG: %[[ONE:.*]] = arith.constant 1 : index
// T128-DAG: %[[TPB:.*]] = arith.constant 128 : index
// T128-DAG: %[[GRID:.*]] = arith.constant 75 : index
// T128: gpu.launch_func @decode_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]])

// -----

// (e) Named ops, generalized: linalg.matvec (a warp reduction, 20 rows:
// 640 threads, 3 blocks), linalg.fill (its scalar operand a kernel
// argument; 300 points, 2 blocks) and linalg.copy. The matvec accumulates
// into an argument, not into the fill's buffer.

func.func @named(%m: memref<20x40xf32>, %v: memref<40xf32>, %y: memref<20xf32>, %a: memref<300xf32>, %b: memref<300xf32>) {
  %z = arith.constant 2.5 : f32
  linalg.matvec ins(%m, %v : memref<20x40xf32>, memref<40xf32>) outs(%y : memref<20xf32>)
  linalg.fill ins(%z : f32) outs(%a : memref<300xf32>)
  linalg.copy ins(%a : memref<300xf32>) outs(%b : memref<300xf32>)
  return
}

// CHECK-LABEL: func.func @named(
// CHECK-SAME: %[[M:[^:]*]]: memref<20x40xf32>, %[[V:[^:]*]]: memref<40xf32>, %[[Y:[^:]*]]: memref<20xf32>, %[[A:[^:]*]]: memref<300xf32>, %[[B:[^:]*]]: memref<300xf32>)
// CHECK: %[[Z:.*]] = arith.constant 2.500000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[G3:.*]] = arith.constant 3 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[G3]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%[[M]] : memref<20x40xf32>, %[[V]] : memref<40xf32>, %[[Y]] : memref<20xf32>)
// CHECK-DAG: %[[ONE1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB1:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[G2:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%[[G2]], %[[ONE1]], %[[ONE1]]) threads in (%[[TPB1]], %[[ONE1]], %[[ONE1]]) args(%[[Z]] : f32, %[[A]] : memref<300xf32>)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_2 blocks in ({{.*}}) threads in ({{.*}}) args(%[[A]] : memref<300xf32>, %[[B]] : memref<300xf32>)
// CHECK-NOT: linalg.
// CHECK: return

// The matvec: lanes stride over k = 40, x[k] * m[row, k] summed.
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KM:[^:]*]]: memref<20x40xf32>, %[[KV:[^:]*]]: memref<40xf32>, %[[KY:[^:]*]]: memref<20xf32>) kernel
// CHECK: %[[ROW:.*]] = arith.divui
// CHECK: arith.constant 20 : index
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) {
// CHECK-NEXT: %[[MK:.*]] = memref.load %[[KM]][%[[ROW]], %[[K]]] : memref<20x40xf32>
// CHECK-NEXT: %[[VK:.*]] = memref.load %[[KV]][%[[K]]] : memref<40xf32>
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[MK]], %[[VK]] : f32
// CHECK-NEXT: arith.addf %[[ACC]], %[[P]] : f32
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[KY]][%[[ROW]]] : memref<20xf32>

// The fill: the scalar argument stored, nothing loaded.
// CHECK-LABEL: gpu.func @linalg_kernel_1(
// CHECK-SAME: %[[KZ:[^:]*]]: f32, %[[KA:[^:]*]]: memref<300xf32>) kernel
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: arith.constant 300 : index
// CHECK: scf.if
// CHECK-NEXT: memref.store %[[KZ]], %[[KA]][%[[GID]]] : memref<300xf32>
// CHECK-NEXT: }

// The copy.
// CHECK-LABEL: gpu.func @linalg_kernel_2(
// CHECK-SAME: %[[KS:[^:]*]]: memref<300xf32>, %[[KD:[^:]*]]: memref<300xf32>) kernel
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: scf.if
// CHECK-NEXT: %[[E:.*]] = memref.load %[[KS]][%[[GID]]] : memref<300xf32>
// CHECK-NEXT: memref.store %[[E]], %[[KD]][%[[GID]]] : memref<300xf32>

// -----

// (f) memref.copy from a strided subview (rows 8..23, columns 4..35 of a
// 64x64 buffer): the kernel takes the strided memref as it is, one thread
// per element (512, 2 blocks).

func.func @strided_copy(%big: memref<64x64xf32>, %dst: memref<16x32xf32>) {
  %sv = memref.subview %big[8, 4] [16, 32] [1, 1] : memref<64x64xf32> to memref<16x32xf32, strided<[64, 1], offset: 516>>
  memref.copy %sv, %dst : memref<16x32xf32, strided<[64, 1], offset: 516>> to memref<16x32xf32>
  return
}

// CHECK-LABEL: func.func @strided_copy(
// CHECK-SAME: %[[BIG:[^:]*]]: memref<64x64xf32>, %[[DST:[^:]*]]: memref<16x32xf32>)
// CHECK: %[[SV:.*]] = memref.subview %[[BIG]][8, 4] [16, 32] [1, 1]
// CHECK-NOT: memref.copy
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%[[SV]] : memref<16x32xf32, strided<[64, 1], offset: 516>>, %[[DST]] : memref<16x32xf32>)
// CHECK-NOT: memref.copy
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KS:[^:]*]]: memref<16x32xf32, strided<[64, 1], offset: 516>>, %[[KD:[^:]*]]: memref<16x32xf32>) kernel
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: %[[NP:.*]] = arith.constant 512 : index
// CHECK: arith.cmpi ult, %[[GID]], %[[NP]] : index
// CHECK: %[[C32:.*]] = arith.constant 32 : index
// CHECK: %[[J:.*]] = arith.remui %[[GID]], %[[C32]] : index
// CHECK: %[[I:.*]] = arith.divui %[[GID]], %[[C32]] : index
// CHECK: %[[E:.*]] = memref.load %[[KS]][%[[I]], %[[J]]] : memref<16x32xf32, strided<[64, 1], offset: 516>>
// CHECK: memref.store %[[E]], %[[KD]][%[[I]], %[[J]]] : memref<16x32xf32>

// -----

// (g) Two ops that differ only in their buffers and in the scalar they
// capture (function arguments) share one kernel, whose last argument is
// the captured scalar; a third op that captures a buffer and an index (a
// memref.load in its body) gets its own kernel with both as arguments.

#id1 = affine_map<(d0) -> (d0)>
func.func @dedup(%a: memref<300xf32>, %b: memref<300xf32>, %s: f32, %t: f32, %w: memref<8xf32>, %i: index) {
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%a : memref<300xf32>) {
  ^bb0(%x: f32):
    %r = arith.mulf %x, %s : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%b : memref<300xf32>) {
  ^bb0(%x: f32):
    %r = arith.mulf %x, %t : f32
    linalg.yield %r : f32
  }
  linalg.generic {indexing_maps = [#id1], iterator_types = ["parallel"]} outs(%b : memref<300xf32>) {
  ^bb0(%x: f32):
    %e = memref.load %w[%i] : memref<8xf32>
    %r = arith.addf %x, %e : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @dedup(
// CHECK-SAME: %[[A:[^:]*]]: memref<300xf32>, %[[B:[^:]*]]: memref<300xf32>, %[[S:[^:]*]]: f32, %[[T:[^:]*]]: f32, %[[W:[^:]*]]: memref<8xf32>, %[[I:[^:]*]]: index)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in {{.*}} args(%[[A]] : memref<300xf32>, %[[S]] : f32)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in {{.*}} args(%[[B]] : memref<300xf32>, %[[T]] : f32)
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in {{.*}} args(%[[B]] : memref<300xf32>, %[[W]] : memref<8xf32>, %[[I]] : index)
// CHECK: gpu.module @linalg_kernels {
// CHECK-NEXT: gpu.func @linalg_kernel_0(%[[KO:[^:]*]]: memref<300xf32>, %[[KS:[^:]*]]: f32) kernel
// CHECK: %[[GID:.*]] = arith.addi
// CHECK: %[[X:.*]] = memref.load %[[KO]][%[[GID]]] : memref<300xf32>
// CHECK-NEXT: %[[R:.*]] = arith.mulf %[[X]], %[[KS]] : f32
// CHECK-NEXT: memref.store %[[R]], %[[KO]][%[[GID]]] : memref<300xf32>
// CHECK: gpu.func @linalg_kernel_1(%[[KO:[^:]*]]: memref<300xf32>, %[[KW:[^:]*]]: memref<8xf32>, %[[KI:[^:]*]]: index) kernel
// CHECK: %[[X:.*]] = memref.load %[[KO]][%{{.*}}] : memref<300xf32>
// CHECK-NEXT: %[[E:.*]] = memref.load %[[KW]][%[[KI]]] : memref<8xf32>
// CHECK-NEXT: arith.addf %[[X]], %[[E]] : f32
// CHECK-NOT: gpu.func

// -----

// A full reduction into a 0-d buffer (RMSNorm's sum of squares): one warp,
// one block; no parallel dims to delinearize.

#id1 = affine_map<(d0) -> (d0)>
#none = affine_map<(d0) -> ()>
func.func @sum_squares(%a: memref<200xf32>, %o: memref<f32>) {
  linalg.generic {indexing_maps = [#id1, #none], iterator_types = ["reduction"]}
      ins(%a : memref<200xf32>) outs(%o : memref<f32>) {
  ^bb0(%x: f32, %acc: f32):
    %m = arith.mulf %x, %x : f32
    %r = arith.addf %m, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @sum_squares(
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[TPB:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[GRID:.*]] = arith.constant 1 : index
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%[[GRID]], %[[ONE]], %[[ONE]]) threads in (%[[TPB]], %[[ONE]], %[[ONE]]) args(%{{.*}} : memref<200xf32>, %{{.*}} : memref<f32>)
// CHECK-LABEL: gpu.func @linalg_kernel_0(
// CHECK-SAME: %[[KA:[^:]*]]: memref<200xf32>, %[[KO:[^:]*]]: memref<f32>) kernel
// CHECK: %[[LANE:.*]] = arith.remui
// CHECK: %[[WARP:.*]] = arith.divui
// CHECK: %[[NP:.*]] = arith.constant 1 : index
// CHECK: arith.cmpi ult, %[[WARP]], %[[NP]] : index
// CHECK: scf.for %[[K:.*]] = %[[LANE]] to
// CHECK-NEXT: %[[X:.*]] = memref.load %[[KA]][%[[K]]] : memref<200xf32>
// CHECK-NEXT: %[[SQ:.*]] = arith.mulf %[[X]], %[[X]] : f32
// CHECK-NEXT: arith.addf %[[SQ]], %{{.*}} : f32
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: %[[OLD:.*]] = memref.load %[[KO]][] : memref<f32>
// CHECK: memref.store %{{.*}}, %[[KO]][] : memref<f32>

// -----

// A module without linalg ops or copies is left alone: no gpu.module, no
// container attribute.

func.func @nothing(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %v = memref.load %a[%c0] : memref<4xf32>
  return %v : f32
}

// CHECK-NOT: gpu.container_module
// CHECK-LABEL: func.func @nothing(
// CHECK-NOT: gpu.module

// -----

// select(cond, out + out, out) doubles the output: no combiner of a value
// independent of out, so a serial kernel (a warp kernel would start every
// lane from 0 and drop the doubling).
#m2 = affine_map<(d0, d1) -> (d0, d1)>
#r2 = affine_map<(d0, d1) -> (d0)>
func.func @masked_doubling(%x: memref<4x64xf32>, %o: memref<4xf32>) {
  linalg.generic {indexing_maps = [#m2, #r2], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x64xf32>) outs(%o : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %zero = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %a, %zero : f32
    %d = arith.addf %acc, %acc : f32
    %r = arith.select %pos, %d, %acc : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @masked_doubling(
// CHECK: gpu.launch_func @linalg_kernels::@[[K:linalg_kernel_[0-9]+]] blocks in (%[[G:.*]], %{{.*}}, %{{.*}}) threads
// CHECK: gpu.func @[[K]](
// CHECK-NOT: gpu.shuffle
// CHECK: scf.for
// CHECK: gpu.return

// -----

// A module whose kernel module already holds linalg_kernel_0: the new kernel
// takes the next free name.
module attributes {gpu.container_module} {
  gpu.module @linalg_kernels {
    gpu.func @linalg_kernel_0(%a: memref<8xf32>) kernel {
      gpu.return
    }
  }
  func.func @existing(%a: memref<8xf32>, %b: memref<8xf32>) {
    linalg.copy ins(%a : memref<8xf32>) outs(%b : memref<8xf32>)
    return
  }
}

// The kernel module comes first, as in the input.
// CHECK: gpu.module @linalg_kernels {
// CHECK-NEXT: gpu.func @linalg_kernel_0(%{{.*}}: memref<8xf32>) kernel {
// CHECK: gpu.func @linalg_kernel_1(
// CHECK-LABEL: func.func @existing(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_1 {{.*}} args(%{{.*}} : memref<8xf32>, %{{.*}} : memref<8xf32>)

// -----

// Few long reductions (2 points of 4096 terms, RMSNorm's shape): a block
// per point. Lanes stride by the block size, each warp combines its lanes
// (5 shuffles), lane 0 of each warp stores to workgroup memory, a barrier,
// then the first warp combines the 8 partials (5 more shuffles; lanes past
// the 8th contribute the neutral 0) and thread 0 stores.
#m3 = affine_map<(d0, d1) -> (d0, d1)>
#r3 = affine_map<(d0, d1) -> (d0)>
func.func @rms_sum(%x: memref<2x4096xf32>, %o: memref<2xf32>) {
  linalg.generic {indexing_maps = [#m3, #r3], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2x4096xf32>) outs(%o : memref<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %acc, %sq : f32
    linalg.yield %r : f32
  }
  return
}

// CHECK-LABEL: func.func @rms_sum(
// CHECK: %[[TWO:.*]] = arith.constant 2 : index
// CHECK: gpu.launch_func @linalg_kernels::@[[K:linalg_kernel_[0-9]+]] blocks in (%[[TWO]], %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// CHECK: gpu.func @[[K]](%{{.*}}: memref<2x4096xf32>, %{{.*}}: memref<2xf32>) workgroup(%[[WG:.*]] : memref<8xf32, #gpu.address_space<workgroup>>) kernel
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[BID:.*]] = gpu.block_id x
// CHECK: scf.for %{{.*}} = %[[TID]] to %{{.*}} step %{{.*}} iter_args
// CHECK: memref.load %{{.*}}[%[[BID]], %{{.*}}] : memref<2x4096xf32>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %[[WG]][%{{.*}}] : memref<8xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.barrier
// CHECK: memref.load %[[WG]][%{{.*}}] : memref<8xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[BID]]] : memref<2xf32>
