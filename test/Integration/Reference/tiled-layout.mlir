// Rows tiled in the interleaved layout (#mq.layout<..., rows = 2>), end to
// end: the reference lowering packs the indices at run time (and unpacks
// them in its matvec), the folder packs them through the numerics library
// (--canonicalize), and the CPU kernels read them, sequential and with 2
// threads. Indices k[i][j] = (7 i + 3 j) mod 16, scales 1/16 (w = k),
// x[j] = (j mod 5 - 2) / 2; y = sum_j k[i][j] x[j] is exact in f32 and was
// computed independently (Python): -45, 32.5, -66, 35.5.
//
// REQUIRES: mlir-runner
// RUN: matquant-opt %s --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --canonicalize --matquant-reference-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm | mlir-runner -e main -entry-point-result=void %runner_libs | FileCheck %s
// RUN: matquant-opt %s --matquant-cpu-to-llvm="threads=2 row-tile=4" | mlir-runner -e main -entry-point-result=void %runner_libs %omp_lib | FileCheck %s
// RUN: matquant-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD

// The folded constant: the tile of rows 0 and 1 takes storage rows 0 and 1
// (48 bytes): block 0 of row 0 (8 bytes, byte j = k[0][j] | k[0][j+8] << 4
// = 3j | (3j + 24 mod 16) << 4: -128, -77, ..., -43), block 0 of row 1
// (first byte 7 | 15 << 4 = -9), block 1 of row 0, ...
// FOLD: mq.constant dense<{{\[}}[-128, -77, -26, 25, 76, 127, -94, -43, -9, 42, {{.*}} : tensor<4x24xi8> : !mq.weight<4x48xf32, storage = 8, bits = 4, group = 16, layout = #mq.layout<interleaved, 4, block = 16, rows = 2>>
// FOLD-NOT: mq.pack

// CHECK: [-45,  32.5,  -66,  35.5]
module {
  func.func private @printMemrefF32(tensor<*xf32>)
  func.func @main() {
    %q = mq.constant dense<[[0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13], [7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4], [14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11], [5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2, 5, 8, 11, 14, 1, 4, 7, 10, 13, 0, 3, 6, 9, 12, 15, 2]]> : tensor<4x48xi8> : !mq.weight<4x48xf32, storage = 8, bits = 4, group = 16>
    %p = mq.pack %q : !mq.weight<4x48xf32, storage = 8, bits = 4, group = 16> to !mq.weight<4x48xf32, storage = 8, bits = 4, group = 16, layout = #mq.layout<interleaved, 4, block = 16, rows = 2>>
    %x = arith.constant dense<[-1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0, 0.5, 1.0, -1.0, -0.5, 0.0]> : tensor<48xf32>
    %s = arith.constant dense<0.0625> : tensor<4x3xf32>
    %m = arith.constant dense<0.0> : tensor<4x3xf32>
    %y = mq.matvec %x, %p, %s, %m : tensor<48xf32>, !mq.weight<4x48xf32, storage = 8, bits = 4, group = 16, layout = #mq.layout<interleaved, 4, block = 16, rows = 2>>, tensor<4x3xf32>, tensor<4x3xf32> -> tensor<4xf32>
    %u = tensor.cast %y : tensor<4xf32> to tensor<*xf32>
    call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
    return
  }
}
