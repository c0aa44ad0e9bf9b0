// Without mq.slice_errors the errors are computed from the constant stored
// model as ||W_hat_8 - W_hat_r||^2. Codes [255, 240, 24, 159] with alpha = 1,
// m = 0 slice to [192, 192, 0, 128] at r = 2 (error 63^2 + 48^2 + 24^2 +
// 31^2 = 7810) and [240, 240, 32, 160] at r = 4 (15^2 + 0 + 8^2 + 1 = 290);
// layer q has alpha = 0.5, a quarter of those errors. A 1x4 weight costs
// 4 r + 64 bits, so a budget of (72 + 80) / 8 = 19 bits per parameter pays
// for one upgrade, which goes to p (gain 7520 against 1880).
// RUN: matquant-opt %s --mq-apply-schedule="policy=budget=19 allowed-widths=2,4 report=true" 2>&1 | FileCheck %s --check-prefix=CONST
// CONST: remark: Mix'n'Match schedule (policy budget=19), 19.0000 effective bits per parameter
// CONST-NEXT: layer params width bits/param sq. error
// CONST-NEXT: p 4 4 20.0000 290
// CONST-NEXT: q 4 2 18.0000 1952.5
// CONST-NEXT: total squared weight error: 2242.5
!c = !mq.weight<1x4xf32, storage = 8, bits = 8>
module {
  func.func @g(%x: tensor<4xf32>) -> (tensor<1xf32>, tensor<1xf32>) {
    %q = mq.constant dense<[[-1, -16, 24, -97]]> : tensor<1x4xi8> : !c
    %one = arith.constant dense<1.0> : tensor<1x1xf32>
    %half = arith.constant dense<0.5> : tensor<1x1xf32>
    %zero = arith.constant dense<0.0> : tensor<1x1xf32>
    %p = mq.matvec %x, %q, %one, %zero {layer = "p"} : tensor<4xf32>, !c, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1xf32>
    %r = mq.matvec %x, %q, %half, %zero {layer = "q"} : tensor<4xf32>, !c, tensor<1x1xf32>, tensor<1x1xf32> -> tensor<1xf32>
    return %p, %r : tensor<1xf32>, tensor<1xf32>
  }
}
