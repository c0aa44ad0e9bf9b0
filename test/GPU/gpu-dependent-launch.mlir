// RUN: matquant-opt %s --mq-gpu-dependent-launch | FileCheck %s

// Every kernel starts by waiting for the grids it depends on, then lets
// its dependents be scheduled; functions that are not kernels are left
// alone.

// CHECK-LABEL: gpu.func @k(
// CHECK-NEXT: nvvm.griddepcontrol wait
// CHECK-NEXT: nvvm.griddepcontrol launch_dependents
// CHECK-NEXT: gpu.thread_id x
// CHECK-LABEL: gpu.func @helper(
// CHECK-NOT: nvvm.griddepcontrol
// CHECK: gpu.return
module attributes {gpu.container_module} {
  gpu.module @kernels {
    gpu.func @k(%a: memref<4xf32>) kernel {
      %t = gpu.thread_id x
      %v = memref.load %a[%t] : memref<4xf32>
      memref.store %v, %a[%t] : memref<4xf32>
      gpu.return
    }
    gpu.func @helper(%a: memref<4xf32>) {
      gpu.return
    }
  }
}
