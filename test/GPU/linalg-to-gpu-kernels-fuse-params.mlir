// RUN: matquant-opt %s --convert-linalg-to-gpu-kernels="fuse-small-ops=64" | FileCheck %s

// A fused kernel takes at most 4 KiB of parameters (PTX before ISA 8.1
// allows 4352 bytes, and ptxas rejects more). Twelve small pointwise ops,
// each on four rank-4 buffers of its own (a descriptor of 8 * (3 + 2 * 4)
// = 88 bytes each, 352 bytes an op): eleven ops take 3872 bytes, twelve
// would take 4224, so the run ends after the eleventh and the twelfth is
// a launch of its own (one thread per point, 256-thread blocks).

#m = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @many(%a0: memref<2x2x2x2xf32>, %a1: memref<2x2x2x2xf32>, %a2: memref<2x2x2x2xf32>, %a3: memref<2x2x2x2xf32>, %a4: memref<2x2x2x2xf32>, %a5: memref<2x2x2x2xf32>, %a6: memref<2x2x2x2xf32>, %a7: memref<2x2x2x2xf32>, %a8: memref<2x2x2x2xf32>, %a9: memref<2x2x2x2xf32>, %a10: memref<2x2x2x2xf32>, %a11: memref<2x2x2x2xf32>, %a12: memref<2x2x2x2xf32>, %a13: memref<2x2x2x2xf32>, %a14: memref<2x2x2x2xf32>, %a15: memref<2x2x2x2xf32>, %a16: memref<2x2x2x2xf32>, %a17: memref<2x2x2x2xf32>, %a18: memref<2x2x2x2xf32>, %a19: memref<2x2x2x2xf32>, %a20: memref<2x2x2x2xf32>, %a21: memref<2x2x2x2xf32>, %a22: memref<2x2x2x2xf32>, %a23: memref<2x2x2x2xf32>, %a24: memref<2x2x2x2xf32>, %a25: memref<2x2x2x2xf32>, %a26: memref<2x2x2x2xf32>, %a27: memref<2x2x2x2xf32>, %a28: memref<2x2x2x2xf32>, %a29: memref<2x2x2x2xf32>, %a30: memref<2x2x2x2xf32>, %a31: memref<2x2x2x2xf32>, %a32: memref<2x2x2x2xf32>, %a33: memref<2x2x2x2xf32>, %a34: memref<2x2x2x2xf32>, %a35: memref<2x2x2x2xf32>, %a36: memref<2x2x2x2xf32>, %a37: memref<2x2x2x2xf32>, %a38: memref<2x2x2x2xf32>, %a39: memref<2x2x2x2xf32>, %a40: memref<2x2x2x2xf32>, %a41: memref<2x2x2x2xf32>, %a42: memref<2x2x2x2xf32>, %a43: memref<2x2x2x2xf32>, %a44: memref<2x2x2x2xf32>, %a45: memref<2x2x2x2xf32>, %a46: memref<2x2x2x2xf32>, %a47: memref<2x2x2x2xf32>) {
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a0, %a1, %a2 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a3 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a4, %a5, %a6 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a7 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a8, %a9, %a10 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a11 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a12, %a13, %a14 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a15 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a16, %a17, %a18 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a19 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a20, %a21, %a22 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a23 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a24, %a25, %a26 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a27 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a28, %a29, %a30 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a31 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a32, %a33, %a34 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a35 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a36, %a37, %a38 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a39 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a40, %a41, %a42 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a43 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#m, #m, #m, #m], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a44, %a45, %a46 : memref<2x2x2x2xf32>, memref<2x2x2x2xf32>, memref<2x2x2x2xf32>) outs(%a47 : memref<2x2x2x2xf32>) {
  ^bb0(%x: f32, %y: f32, %z: f32, %w: f32):
    %s = arith.addf %x, %y : f32
    %t = arith.addf %s, %z : f32
    linalg.yield %t : f32
  }
  return
}

// CHECK-LABEL: func.func @many(
// CHECK: gpu.launch_func @linalg_kernels::@linalg_kernel_0 blocks in (%c1{{.*}}) threads in (%c1024{{.*}}) args(%arg0 : {{.*}}, %arg43 : memref<2x2x2x2xf32>)
// CHECK-NEXT: arith.constant
// CHECK-NEXT: arith.constant
// CHECK-NEXT: arith.constant
// CHECK-NEXT: gpu.launch_func @linalg_kernels::@linalg_kernel_1 blocks in (%c1{{.*}}) threads in (%c256{{.*}}) args(%arg44 : memref<2x2x2x2xf32>, %arg45 : memref<2x2x2x2xf32>, %arg46 : memref<2x2x2x2xf32>, %arg47 : memref<2x2x2x2xf32>)
// CHECK-NEXT: return
// CHECK: gpu.func @linalg_kernel_0(
// CHECK-COUNT-10: gpu.barrier
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
