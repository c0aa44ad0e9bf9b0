/*===- c-abi.c - Calls the kernels of AOT/c-abi.mlir from C99 -------------===*
 *
 * Checks the header's calling convention from C: a struct of several
 * results, scalars by value, a scalar result, and a function that the
 * program defines and a kernel calls.
 *
 *===----------------------------------------------------------------------===*/

#include "kernels.h"

#include <stdio.h>
#include <stdlib.h>

void _mlir_ciface_report(mq_memref_1d_f32 *values) {
  const float *v = values->data + values->offset;
  printf("report: %g %g %g %g\n", v[0], v[1], v[2], v[3]);
}

int main(void) {
  float a[4] = {1, 2, 3, 4};
  mq_memref_1d_f32 in = {a, a, 0, {4}, {1}};
  scale_results results;
  _mlir_ciface_scale(&results, &in, 2.5f, 4);
  const float *y = results.result0.data + results.result0.offset;
  printf("scaled: %g %g %g %g, count %lld, rank-1 size %lld\n", y[0], y[1],
         y[2], y[3], (long long)results.result1,
         (long long)results.result0.sizes[0]);
  free(results.result0.basePtr);

  float v[8] = {9.5f, 1, 2, 3, 4, 5, 6, 7};
  mq_memref_1d_f32 vd = {v, v, 0, {8}, {1}};
  printf("first: %g\n", _mlir_ciface_first(&vd));
  printf("done\n");
  return 0;
}
