// A budget below the cheapest schedule (every layer at its lowest allowed
// width: 2 + 64 * 2 / 512 = 2.25 bits per parameter here).
// RUN: not matquant-opt %s --mq-apply-schedule="policy=budget=2.2" 2>&1 | FileCheck %s
// CHECK: error: mq-apply-schedule: budget 2.2 bits per parameter is below the cheapest schedule (2.2500)
!w = !mq.weight<2x256xf32, storage = 8, bits = 8>
module {
  func.func @f(%x: tensor<256xf32>, %s: tensor<2x1xf32>, %q: !w) -> tensor<2xf32> {
    %a = mq.matvec %x, %q, %s, %s {layer = "a", mq.slice_errors = array<f64: 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0>} : tensor<256xf32>, !w, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    return %a : tensor<2xf32>
  }
}
