// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16" | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 threads=2" | FileCheck %s --check-prefix=OMP

// The whole CPU pipeline ends in the LLVM dialect with vector code; with
// threads the row loop becomes an OpenMP parallel loop.
// CHECK-LABEL: llvm.func @kernel
// CHECK: llvm.load {{.*}} -> vector<64xi8>
// CHECK: llvm.uitofp {{.*}} : vector<16xi8> to vector<16xf32>
// CHECK: llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.intr.vector.reduce.fadd
// CHECK-LABEL: llvm.func @_mlir_ciface_kernel
// CHECK-NOT: omp.
// OMP: omp.parallel num_threads
// OMP: omp.wsloop
!w = !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128>
func.func @kernel(%x: tensor<256xf32>, %w: !w, %s: tensor<16x2xf32>, %m: tensor<16x2xf32>) -> tensor<16xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w, tensor<16x2xf32>, tensor<16x2xf32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}
