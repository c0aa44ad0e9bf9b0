// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16" | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 threads=2" | FileCheck %s --check-prefix=OMP

// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 outline-kernels=false" | FileCheck %s --check-prefix=INLINE
// RUN: matquant-opt %s --matquant-cpu-to-llvm="vector-width=16 exponent-decode=false" | FileCheck %s --check-prefix=CVT

// The whole CPU pipeline ends in the LLVM dialect with vector code; with
// threads the row loop becomes an OpenMP parallel loop. The kernel is a
// private function (mq-outline-kernels) that the caller calls, or, with
// outline-kernels=false, code in the caller itself.
// CHECK-LABEL: llvm.func @kernel
// CHECK: llvm.call @[[$K:mq_kernel[_0-9]*]](
// CHECK-LABEL: llvm.func @_mlir_ciface_kernel
// CHECK: llvm.func internal @[[$K]](
// CHECK: llvm.load {{.*}} -> vector<64xi8>
// CHECK: llvm.bitcast {{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT: llvm.uitofp
// CHECK: llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.intr.vector.reduce.fadd
// CHECK-NOT: omp.
// INLINE-LABEL: llvm.func @kernel
// INLINE-NOT: llvm.call @mq_kernel
// INLINE: llvm.load {{.*}} -> vector<64xi8>
// INLINE: llvm.intr.fmuladd({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// INLINE-LABEL: llvm.func @_mlir_ciface_kernel
// INLINE-NOT: llvm.func @mq_kernel
// Without exponent decoding, the indices are converted.
// CVT: llvm.load {{.*}} -> vector<64xi8>
// CVT: llvm.uitofp {{.*}} : vector<16xi8> to vector<16xf32>
// OMP: omp.parallel num_threads
// OMP: omp.wsloop
!w = !mq.weight<16x256xf32, storage = 8, bits = 4, group = 128>
func.func @kernel(%x: tensor<256xf32>, %w: !w, %s: tensor<16x2xf32>, %m: tensor<16x2xf32>) -> tensor<16xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %s, %m : tensor<256xf32>, !w, tensor<16x2xf32>, tensor<16x2xf32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}
