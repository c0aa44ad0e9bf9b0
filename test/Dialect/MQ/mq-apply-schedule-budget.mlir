// The greedy budget policy. Three 2x256 layers stored at 8 bits, per channel
// (r + 0.25 bits per parameter at width r), with these errors
// ||W - W_hat_r||^2 (mq.slice_errors, index r - 1):
//   a: r=2 100, r=3 50, r=4 20, r=6 5, r=8 1
//   b: r=2 10,  r=3 5,  r=4 2,  r=6 0.5, r=8 0.1
//   c: r=2 1000, r=3 300, r=4 100, r=6 10, r=8 1
// All start at 2 (2.25 bits). Error reduction per added bit (512 bits per
// step of one width): c 2->3 (700) first, then c 3->4 (200), then a 2->3
// (50, ahead of c 4->6 at 90 / 1024 bits and b 2->3 at 5), which reaches
// 3.25; nothing else fits.
// RUN: matquant-opt %s --mq-apply-schedule="policy=budget=3.25 report=true" 2>&1 | FileCheck %s
// CHECK: remark: Mix'n'Match schedule (policy budget=3.25), 3.2500 effective bits per parameter
// CHECK-NEXT: layer params width bits/param sq. error
// CHECK-NEXT: a 512 3 3.2500 50
// CHECK-NEXT: b 512 2 2.2500 10
// CHECK-NEXT: c 512 4 4.2500 100
// CHECK-NEXT: total squared weight error: 160
// CHECK: module attributes {mq.effective_bits = 3.250000e+00 : f64, mq.schedule_widths = {a = 3 : i64, b = 2 : i64, c = 4 : i64}}
//
// A larger budget (18 width steps): in order of gain per bit c->3, c->4,
// a->3, c->6, a->4, a->6, b->3, c->8, b->4.
// RUN: matquant-opt %s --mq-apply-schedule="policy=budget=6.25" | FileCheck %s --check-prefix=SIX
// SIX: mq.schedule_widths = {a = 6 : i64, b = 4 : i64, c = 8 : i64}
// RUN: matquant-opt %s --mq-apply-schedule="policy=budget=100" | FileCheck %s --check-prefix=ALL8
// ALL8: mq.effective_bits = 8.250000e+00 : f64, mq.schedule_widths = {a = 8 : i64, b = 8 : i64, c = 8 : i64}
// Allowed widths restrict the choice: c->4, a->4, then c->8 does not fit
// the budget (4 more steps) and is skipped for b->4.
// RUN: matquant-opt %s --mq-apply-schedule="policy=budget=4.25 allowed-widths=2,4,8" | FileCheck %s --check-prefix=ALLOWED
// ALLOWED: mq.schedule_widths = {a = 4 : i64, b = 4 : i64, c = 4 : i64}

!w = !mq.weight<2x256xf32, storage = 8, bits = 8>
module {
  func.func @f(%x: tensor<256xf32>, %s: tensor<2x1xf32>, %qa: !w, %qb: !w, %qc: !w) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
    %a = mq.matvec %x, %qa, %s, %s {layer = "a", mq.slice_errors = array<f64: 400.0, 100.0, 50.0, 20.0, 10.0, 5.0, 2.0, 1.0>} : tensor<256xf32>, !w, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %b = mq.matvec %x, %qb, %s, %s {layer = "b", mq.slice_errors = array<f64: 40.0, 10.0, 5.0, 2.0, 1.0, 0.5, 0.2, 0.1>} : tensor<256xf32>, !w, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %c = mq.matvec %x, %qc, %s, %s {layer = "c", mq.slice_errors = array<f64: 4000.0, 1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0>} : tensor<256xf32>, !w, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    return %a, %b, %c : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
  }
}

