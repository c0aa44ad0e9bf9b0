// RUN: matquant-opt %s --convert-scf-to-openmp --matquant-omp-schedule="kind=dynamic chunks-per-thread=4 threads=2" --canonicalize | FileCheck %s
// RUN: matquant-opt %s --convert-scf-to-openmp --matquant-omp-schedule="kind=guided" | FileCheck %s --check-prefix=GUIDED
// RUN: matquant-opt %s --convert-scf-to-openmp --matquant-omp-schedule="kind=runtime chunks-per-thread=4 threads=2" | FileCheck %s --check-prefix=RUNTIME
// RUN: not matquant-opt %s --convert-scf-to-openmp --matquant-omp-schedule="kind=bogus" 2>&1 | FileCheck %s --check-prefix=BADKIND
// RUN: not matquant-opt %s --convert-scf-to-openmp --matquant-omp-schedule="kind=dynamic chunks-per-thread=4" 2>&1 | FileCheck %s --check-prefix=NOTHREADS

// 500 iterations over 2 threads x 4 chunks: chunks of ceil(500 / 8) = 63.
// CHECK-LABEL: func.func @rows
// CHECK: %[[C:.*]] = arith.constant 63 : i64
// CHECK: omp.wsloop schedule(dynamic = %[[C]] : i64)
// CHECK-NEXT: omp.loop_nest
// A loop of 3 iterations still gets chunks of at least 1.
// CHECK-LABEL: func.func @short
// CHECK: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: omp.wsloop schedule(dynamic = %[[ONE]] : i64)
// GUIDED: omp.wsloop schedule(guided) {
// GUIDED: omp.wsloop schedule(guided) {
// The runtime schedule takes its chunk from OMP_SCHEDULE: no chunk clause.
// RUNTIME: omp.wsloop schedule(runtime) {
// BADKIND: error: matquant-omp-schedule: unknown schedule kind 'bogus' (static, dynamic, guided, auto or runtime)
// NOTHREADS: error: matquant-omp-schedule: chunks-per-thread needs threads > 0
func.func @rows(%a: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1000 = arith.constant 1000 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c1000) step (%c2) {
    memref.store %f, %a[%i] : memref<1000xf32>
    scf.reduce
  }
  return
}

func.func @short(%a: memref<3xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c3) step (%c1) {
    memref.store %f, %a[%i] : memref<3xf32>
    scf.reduce
  }
  return
}
