// Ahead-of-time compilation end to end: matquant-aot compiles these kernels
// (weights in the interleaved CPU layout, ragged shapes: row counts that are
// not multiples of the row tile, per-channel K that is not a multiple of the
// block) to an object file and a header; Inputs/driver.cpp includes the
// header, quantizes random weights with the numerics library (fixed seed),
// slices and packs them with numerics::packInterleaved, calls every kernel
// through its _mlir_ciface_ entry point and compares with
// numerics::referenceMatmul (float64) within 1e-5 of sum |x w|. It exits
// nonzero on any mismatch; `--perturb` shifts one expected value per kernel
// to prove that the comparison can fail.
//
// REQUIRES: cxx
// RUN: rm -rf %t && mkdir -p %t/seq %t/omp %t/avx2
// RUN: g++ -std=c++17 -O2 -ffp-contract=off -I%matquant_src/include -c %matquant_src/lib/Numerics/Numerics.cpp -o %t/numerics.o
//
// Sequential code for the host CPU. The batched kernels with a ragged K
// copy the activations into a padded buffer through memrefCopy, which the
// header says to link from MLIR's C runner utilities.
// RUN: matquant-aot %s -o %t/seq/kernels.o --header %t/seq/kernels.h
// RUN: FileCheck %s --check-prefix=SEQ-HEADER < %t/seq/kernels.h
// RUN: g++ -std=c++17 -O1 -Wall -Wextra -Werror -I%t/seq -I%matquant_src/include %S/Inputs/driver.cpp %t/seq/kernels.o %t/numerics.o -o %t/seq/driver
// RUN: %t/seq/driver | FileCheck %s
// RUN: not %t/seq/driver --perturb | FileCheck %s --check-prefix=PERTURB
//
// Two OpenMP threads: the header says to link libomp, and the driver does.
// RUN: matquant-aot %s --threads=2 -o %t/omp/kernels.o --header %t/omp/kernels.h
// RUN: FileCheck %s --check-prefix=OMP-HEADER < %t/omp/kernels.h
// RUN: g++ -std=c++17 -O1 -Wall -Wextra -Werror -I%t/omp -I%matquant_src/include %S/Inputs/driver.cpp %t/omp/kernels.o %t/numerics.o -L%mlir_lib_dir -lomp -Wl,-rpath,%mlir_lib_dir -o %t/omp/driver
// RUN: %t/omp/driver | FileCheck %s
//
// An AVX2 build (x86-64-v3, hence 8 lanes), which runs on any AVX2 host.
// RUN: matquant-aot %s --mcpu=x86-64-v3 --accumulators=2 --batch-tile=3 -o %t/avx2/kernels.o --header %t/avx2/kernels.h
// RUN: FileCheck %s --check-prefix=AVX2-HEADER < %t/avx2/kernels.h
// RUN: g++ -std=c++17 -O1 -Wall -Wextra -Werror -I%t/avx2 -I%matquant_src/include %S/Inputs/driver.cpp %t/avx2/kernels.o %t/numerics.o -o %t/avx2/driver
// RUN: %t/avx2/driver | FileCheck %s

// CHECK: ok mv_g32_int4: 13x96, batch 1
// CHECK-NEXT: ok mv_pc_int3: 7x100, batch 1
// CHECK-NEXT: ok mv_pc_int2ep: 6x200, batch 1
// CHECK-NEXT: ok mm_g16_int2ep: 11x64, batch 3
// CHECK-NEXT: ok mm_pc_int8: 9x45, batch 5
// CHECK-NEXT: ok mm_g64_int6: 21x192, batch 2
// CHECK-NEXT: ok mv_pair: 13x96, two results
// CHECK-NEXT: all kernels match the float64 reference

// PERTURB: FAIL mv_g32_int4: y[0][0] =
// PERTURB-NOT: all kernels match

// SEQ-HEADER: // - The kernels are sequential (threads=0).
// SEQ-HEADER-NOT: __kmpc
// The objects need nothing from MLIR's runner libraries (strided copies
// are expanded to loops): the drivers above link without them.
// SEQ-HEADER-NOT: memrefCopy

// AVX2-HEADER: // Target: {{.*}}, CPU x86-64-v3 with its default features.
// AVX2-HEADER-NEXT: // Pipeline: matquant-cpu-to-llvm{threads=0 vector-width=8 accumulators=2
// AVX2-HEADER-NEXT: //   row-tile=8 batch-tile=3}, then LLVM O3.

// OMP-HEADER: The kernels run on 2 OpenMP threads
// OMP-HEADER: -L{{.*}} -lomp
// OMP-HEADER: __kmpc_fork_call

!w_mv_g32 = !mq.weight<13x96xf32, storage = 8, bits = 4, group = 32,
                       layout = #mq.layout<interleaved, 4, block = 32>>
!w_mv_pc3 = !mq.weight<7x100xf32, storage = 8, bits = 3,
                       layout = #mq.layout<interleaved, 3, block = 32>>
!w_mv_pc2ep = !mq.weight<6x200xf32, storage = 8, bits = 2,
                         mode = extra_precision,
                         layout = #mq.layout<interleaved, 3, block = 128>>
!w_mm_g16 = !mq.weight<11x64xf32, storage = 8, bits = 2, group = 16,
                       mode = extra_precision,
                       layout = #mq.layout<interleaved, 3, block = 16>>
!w_mm_pc8 = !mq.weight<9x45xf32, storage = 8, bits = 8,
                       layout = #mq.layout<interleaved, 8, block = 32>>
!w_mm_g64 = !mq.weight<21x192xf32, storage = 8, bits = 6, group = 64,
                       layout = #mq.layout<interleaved, 6, block = 64>>

func.func @mv_g32_int4(%x: tensor<96xf32>, %w: !w_mv_g32,
                       %s: tensor<13x3xf32>, %m: tensor<13x3xf32>)
    -> tensor<13xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<96xf32>, !w_mv_g32,
      tensor<13x3xf32>, tensor<13x3xf32> -> tensor<13xf32>
  return %y : tensor<13xf32>
}

func.func @mv_pc_int3(%x: tensor<100xf32>, %w: !w_mv_pc3,
                      %s: tensor<7x1xf32>, %m: tensor<7x1xf32>)
    -> tensor<7xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<100xf32>, !w_mv_pc3,
      tensor<7x1xf32>, tensor<7x1xf32> -> tensor<7xf32>
  return %y : tensor<7xf32>
}

func.func @mv_pc_int2ep(%x: tensor<200xf32>, %w: !w_mv_pc2ep,
                        %s: tensor<6x1xf32>, %m: tensor<6x1xf32>)
    -> tensor<6xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<200xf32>, !w_mv_pc2ep,
      tensor<6x1xf32>, tensor<6x1xf32> -> tensor<6xf32>
  return %y : tensor<6xf32>
}

func.func @mm_g16_int2ep(%x: tensor<3x64xf32>, %w: !w_mm_g16,
                         %s: tensor<11x4xf32>, %m: tensor<11x4xf32>)
    -> tensor<3x11xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matmul %x, %w, %s, %m : tensor<3x64xf32>, !w_mm_g16,
      tensor<11x4xf32>, tensor<11x4xf32> -> tensor<3x11xf32>
  return %y : tensor<3x11xf32>
}

func.func @mm_pc_int8(%x: tensor<5x45xf32>, %w: !w_mm_pc8,
                      %s: tensor<9x1xf32>, %m: tensor<9x1xf32>)
    -> tensor<5x9xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matmul %x, %w, %s, %m : tensor<5x45xf32>, !w_mm_pc8,
      tensor<9x1xf32>, tensor<9x1xf32> -> tensor<5x9xf32>
  return %y : tensor<5x9xf32>
}

func.func @mm_g64_int6(%x: tensor<2x192xf32>, %w: !w_mm_g64,
                       %s: tensor<21x3xf32>, %m: tensor<21x3xf32>)
    -> tensor<2x21xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matmul %x, %w, %s, %m : tensor<2x192xf32>, !w_mm_g64,
      tensor<21x3xf32>, tensor<21x3xf32> -> tensor<2x21xf32>
  return %y : tensor<2x21xf32>
}

// Two results: the header declares a struct of both descriptors.
func.func @mv_pair(%x0: tensor<96xf32>, %x1: tensor<96xf32>, %w: !w_mv_g32,
                   %s: tensor<13x3xf32>, %m: tensor<13x3xf32>)
    -> (tensor<13xf32>, tensor<13xf32>) attributes {llvm.emit_c_interface} {
  %y0 = mq.matvec %x0, %w, %s, %m : tensor<96xf32>, !w_mv_g32,
      tensor<13x3xf32>, tensor<13x3xf32> -> tensor<13xf32>
  %y1 = mq.matvec %x1, %w, %s, %m : tensor<96xf32>, !w_mv_g32,
      tensor<13x3xf32>, tensor<13x3xf32> -> tensor<13xf32>
  return %y0, %y1 : tensor<13xf32>, tensor<13xf32>
}
