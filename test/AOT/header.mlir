// The header that matquant-aot writes: one descriptor struct per memref
// type, and per llvm.emit_c_interface function its MLIR signature, its
// signature after bufferization and the _mlir_ciface_ prototype (a leading
// result pointer, one descriptor pointer per memref argument, !mq.weight as
// the int8 descriptor of its packed storage).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: matquant-aot %s --mcpu=x86-64-v3 -o %t/kernels.o --header %t/kernels.h
// RUN: FileCheck %s < %t/kernels.h
// RUN: matquant-aot %s --threads=4 -o %t/omp.o --header %t/omp.h
// RUN: FileCheck %s --check-prefix=OMP < %t/omp.h
// The vector width follows the target CPU unless given.
// RUN: matquant-aot %s --mcpu=skylake-avx512 -o %t/w.o --header %t/w.h
// RUN: FileCheck %s --check-prefix=AVX512 < %t/w.h
// RUN: matquant-aot %s --mcpu=x86-64 -o %t/w.o --header %t/w.h
// RUN: FileCheck %s --check-prefix=SSE < %t/w.h
// RUN: matquant-aot %s --mcpu=x86-64 --vector-width=16 -o %t/w.o --header %t/w.h
// RUN: FileCheck %s --check-prefix=GIVEN < %t/w.h
// AVX512: // Pipeline: matquant-cpu-to-llvm{threads=0 vector-width=16 accumulators=2
// SSE: // Pipeline: matquant-cpu-to-llvm{threads=0 vector-width=4 accumulators=2
// GIVEN: // Pipeline: matquant-cpu-to-llvm{threads=0 vector-width=16 accumulators=2

// CHECK-LABEL: //===- kernels.h - C interface of header.mlir -{{-+}}*- C -*-===//
// CHECK: // Target: x86_64{{.*}}, CPU x86-64-v3 with its default features.
// CHECK: // Pipeline: matquant-cpu-to-llvm{threads=0 vector-width=8 accumulators=2
// CHECK-NEXT: //   row-tile=8 batch-tile=4}, then LLVM O3.
// CHECK: // - The kernels are sequential (threads=0).
// CHECK-NOT: lomp
// CHECK: #ifndef MATQUANT_AOT_KERNELS_H
// CHECK-NEXT: #define MATQUANT_AOT_KERNELS_H
// CHECK: #include <stdint.h>

// The descriptors, each once.
// CHECK: #ifndef MQ_MEMREF_1D_F32_DEFINED
// CHECK-NEXT: #define MQ_MEMREF_1D_F32_DEFINED
// CHECK-NEXT: /// A rank-1 memref of float.
// CHECK-NEXT: typedef struct mq_memref_1d_f32 {
// CHECK-NEXT:   float *basePtr;     ///< the allocation (what free() takes)
// CHECK-NEXT:   float *data;        ///< the aligned start of the elements
// CHECK-NEXT:   int64_t offset;     ///< in elements, from data
// CHECK-NEXT:   int64_t sizes[1];
// CHECK-NEXT:   int64_t strides[1]; ///< in elements
// CHECK-NEXT: } mq_memref_1d_f32;
// CHECK-NEXT: #endif
// CHECK: typedef struct mq_memref_2d_i8 {
// CHECK-NEXT:   int8_t *basePtr;
// CHECK-NEXT:   int8_t *data;
// CHECK-NEXT:   int64_t offset;
// CHECK-NEXT:   int64_t sizes[2];
// CHECK-NEXT:   int64_t strides[2];
// CHECK-NEXT: } mq_memref_2d_i8;
// CHECK: typedef struct mq_memref_2d_f32 {
// CHECK: } mq_memref_2d_f32;
// CHECK: typedef struct mq_memref_2d_ui8 {
// CHECK-NEXT:   uint8_t *basePtr;
// CHECK: } mq_memref_2d_ui8;
// CHECK-NOT: typedef struct mq_memref_1d_f32
// CHECK: extern "C" {

// CHECK: // func.func @matvec_g32(%x: tensor<96xf32>, %w: !mq.weight<13x96xf32, storage = 8, bits = 4, group = 32, layout = #mq.layout<interleaved, 4, block = 32>>, %scales: tensor<13x3xf32>, %offsets: tensor<13x3xf32>) -> tensor<13xf32>
// CHECK-NEXT: // after bufferization: (memref<96xf32>, memref<13x48xi8>, memref<13x3xf32>, memref<13x3xf32>) -> memref<13xf32>
// CHECK-NEXT: void _mlir_ciface_matvec_g32(
// CHECK-NEXT:     mq_memref_1d_f32 *result,
// CHECK-NEXT:     mq_memref_1d_f32 *x,
// CHECK-NEXT:     mq_memref_2d_i8 *w,
// CHECK-NEXT:     mq_memref_2d_f32 *scales,
// CHECK-NEXT:     mq_memref_2d_f32 *offsets);
func.func @matvec_g32(%x: tensor<96xf32>,
    %w: !mq.weight<13x96xf32, storage = 8, bits = 4, group = 32,
                   layout = #mq.layout<interleaved, 4, block = 32>>,
    %scales: tensor<13x3xf32>, %offsets: tensor<13x3xf32>)
    -> tensor<13xf32> attributes {llvm.emit_c_interface} {
  %y = mq.matvec %x, %w, %scales, %offsets : tensor<96xf32>,
      !mq.weight<13x96xf32, storage = 8, bits = 4, group = 32,
                 layout = #mq.layout<interleaved, 4, block = 32>>,
      tensor<13x3xf32>, tensor<13x3xf32> -> tensor<13xf32>
  return %y : tensor<13xf32>
}

// No llvm.emit_c_interface: not in the header.
// CHECK-NOT: not_exported
func.func @not_exported(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// Several results go through a struct; scalars are passed by value. The
// names that are no C identifiers (or clash) become argN.
// CHECK: // func.func @several(%a: tensor<4xf32>, %alpha: f32, %int: index) -> (tensor<4xf32>, index)
// CHECK-NEXT: // after bufferization: (memref<4xf32>, f32, index) -> (memref<4xf32>, index)
// CHECK-NEXT: typedef struct several_results {
// CHECK-NEXT:   mq_memref_1d_f32 result0;
// CHECK-NEXT:   int64_t result1;
// CHECK-NEXT: } several_results;
// CHECK-NEXT: void _mlir_ciface_several(
// CHECK-NEXT:     several_results *result,
// CHECK-NEXT:     mq_memref_1d_f32 *a,
// CHECK-NEXT:     float alpha,
// CHECK-NEXT:     int64_t arg2);
func.func @several(%a: tensor<4xf32>, %alpha: f32, %int: index)
    -> (tensor<4xf32>, index) attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<4xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>,
                                        affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %p = arith.mulf %v, %alpha : f32
    linalg.yield %p : f32
  } -> tensor<4xf32>
  return %r, %int : tensor<4xf32>, index
}

// One scalar result is returned by value.
// CHECK: // func.func @first(%v: tensor<8xf32>) -> f32
// CHECK-NEXT: // after bufferization: (memref<8xf32>) -> f32
// CHECK-NEXT: float _mlir_ciface_first(mq_memref_1d_f32 *v);
func.func @first(%v: tensor<8xf32>) -> f32 attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %e = tensor.extract %v[%c0] : tensor<8xf32>
  return %e : f32
}

// Unsigned elements, no results.
// CHECK: // func.func @unsigned_in(%q: memref<2x3xui8>)
// CHECK-NEXT: // after bufferization: (memref<2x3xui8>) -> ()
// CHECK-NEXT: void _mlir_ciface_unsigned_in(mq_memref_2d_ui8 *q);
func.func @unsigned_in(%q: memref<2x3xui8>) attributes {llvm.emit_c_interface} {
  return
}

// A declaration: the program defines it.
// CHECK: // func.func @callback(tensor<13xf32>)
// CHECK-NEXT: // after bufferization: (memref<13xf32>) -> ()
// CHECK-NEXT: // A declaration in the input: the program defines this function and the
// CHECK-NEXT: // kernels call it.
// CHECK-NEXT: void _mlir_ciface_callback(mq_memref_1d_f32 *arg0);
func.func private @callback(tensor<13xf32>) attributes {llvm.emit_c_interface}

// CHECK: } // extern "C"
// CHECK: #endif // MATQUANT_AOT_KERNELS_H

// OMP: // Pipeline: matquant-cpu-to-llvm{threads=4
// OMP: // - The kernels run on 4 OpenMP threads of the LLVM OpenMP runtime
// OMP-NEXT: //   ({{.*}}libomp.so): the program must link it, with
// OMP-NEXT: //     -L{{.*}} -lomp -Wl,-rpath,{{.*}}
// OMP: // - External symbols the object file uses:
// OMP: __kmpc_fork_call
