// Bad policies and options of mq-apply-schedule.
// RUN: not matquant-opt %s --mq-apply-schedule="policy=random" 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// UNKNOWN: error: mq-apply-schedule: unknown policy 'random'; expected attr, uniform=<r>, list=<r0,r1,...>, json=<file>, pyramid or budget=<bits>
// RUN: not matquant-opt %s --mq-apply-schedule="policy=uniform=9" 2>&1 | FileCheck %s --check-prefix=UNIFORM
// UNIFORM: error: mq-apply-schedule: policy 'uniform=9': '9' is not a width in 1..8
// RUN: not matquant-opt %s --mq-apply-schedule="policy=uniform=" 2>&1 | FileCheck %s --check-prefix=NOWIDTH
// NOWIDTH: error: mq-apply-schedule: policy 'uniform=': '' is not a width in 1..8
// RUN: not matquant-opt %s --mq-apply-schedule="policy=list=8,4" 2>&1 | FileCheck %s --check-prefix=LIST
// LIST: error: mq-apply-schedule: policy 'list' gives 2 widths for 3 transformer layers (layers.<i>.*)
// RUN: not matquant-opt %s --mq-apply-schedule="policy=list=8,x,2" 2>&1 | FileCheck %s --check-prefix=LIST-ITEM
// LIST-ITEM: error: mq-apply-schedule: policy 'list=8,x,2': 'x' is not a width in 1..8
// RUN: not matquant-opt %s --mq-apply-schedule="policy=json=%t.missing.json" 2>&1 | FileCheck %s --check-prefix=JSON-MISSING
// JSON-MISSING: error: mq-apply-schedule: cannot read schedule file '{{.*}}missing.json': No such file or directory
// RUN: echo '{"layers.0.w1": 4,' > %t.bad.json
// RUN: not matquant-opt %s --mq-apply-schedule="policy=json=%t.bad.json" 2>&1 | FileCheck %s --check-prefix=JSON-BAD
// JSON-BAD: error: mq-apply-schedule: schedule file '{{.*}}bad.json' is not valid JSON:
// RUN: echo '[4, 2]' > %t.array.json
// RUN: not matquant-opt %s --mq-apply-schedule="policy=json=%t.array.json" 2>&1 | FileCheck %s --check-prefix=JSON-ARRAY
// JSON-ARRAY: error: mq-apply-schedule: schedule file '{{.*}}array.json' must hold an object {"layer name": width, ...}
// RUN: echo '{"layers.0.w1": 4.5}' > %t.value.json
// RUN: not matquant-opt %s --mq-apply-schedule="policy=json=%t.value.json" 2>&1 | FileCheck %s --check-prefix=JSON-VALUE
// JSON-VALUE: error: mq-apply-schedule: schedule file '{{.*}}value.json': the width of 'layers.0.w1' must be an integer in 1..8
// RUN: echo '{"layers.0.w1": 4, "layers.9.w1": 2, "out": 3}' > %t.names.json
// RUN: not matquant-opt %s --mq-apply-schedule="policy=json=%t.names.json" 2>&1 | FileCheck %s --check-prefix=JSON-NAMES
// JSON-NAMES: error: mq-apply-schedule: schedule file '{{.*}}names.json' names layers that the module does not have: layers.9.w1, out
// RUN: not matquant-opt %s --mq-apply-schedule="policy=pyramid=3" 2>&1 | FileCheck %s --check-prefix=PYRAMID
// PYRAMID: error: mq-apply-schedule: policy 'pyramid' takes no value; use the options pyramid-edge and pyramid-center
// RUN: not matquant-opt %s --mq-apply-schedule="policy=pyramid pyramid-center=12" 2>&1 | FileCheck %s --check-prefix=PYRAMID-RANGE
// PYRAMID-RANGE: error: mq-apply-schedule: pyramid-edge and pyramid-center must be in 1..8, got 2 and 12
// RUN: not matquant-opt %s --mq-apply-schedule="policy=budget=abc" 2>&1 | FileCheck %s --check-prefix=BUDGET
// BUDGET: error: mq-apply-schedule: policy 'budget': 'abc' is not a positive number of bits per parameter
// RUN: not matquant-opt %s --mq-apply-schedule="policy=budget=-1" 2>&1 | FileCheck %s --check-prefix=BUDGET-NEG
// BUDGET-NEG: error: mq-apply-schedule: policy 'budget': '-1' is not a positive number of bits per parameter
// RUN: not matquant-opt %s --mq-apply-schedule="policy=attr=3" 2>&1 | FileCheck %s --check-prefix=ATTR
// ATTR: error: mq-apply-schedule: policy 'attr' takes no value; pass the schedule with the 'schedule' option
// RUN: not matquant-opt %s --mq-apply-schedule='policy=uniform=4 schedule="#mq.schedule<default = 3, layers = {}>"' 2>&1 | FileCheck %s --check-prefix=BOTH
// BOTH: error: mq-apply-schedule: option 'schedule' applies only to policy=attr, got policy 'uniform=4'
// RUN: not matquant-opt %s --mq-apply-schedule="policy=pyramid allowed-widths=2,,4" 2>&1 | FileCheck %s --check-prefix=ALLOWED
// ALLOWED: error: mq-apply-schedule: option 'allowed-widths': empty item in the list '2,,4'
// RUN: not matquant-opt %s --mq-apply-schedule="policy=pyramid allowed-widths=2,9" 2>&1 | FileCheck %s --check-prefix=ALLOWED-RANGE
// ALLOWED-RANGE: error: mq-apply-schedule: option 'allowed-widths': width 9 is not in 1..8
// RUN: not matquant-opt %s --mq-apply-schedule="policy=uniform=4 default-width=9" 2>&1 | FileCheck %s --check-prefix=DEFAULT
// DEFAULT: error: mq-apply-schedule: option 'default-width' must be in 0..8, got 9
// A uniform width wider than a stored model is caught like a schedule's.
// RUN: not matquant-opt %s --mq-apply-schedule="policy=uniform=8" 2>&1 | FileCheck %s --check-prefix=WIDE
// WIDE: error: 'mq.matvec' op schedule gives layer 'layers.2.w1' 8 bits, wider than its stored 4-bit model
// Pyramid and budget only choose widths that fit: nothing fits layer 2 here.
// RUN: not matquant-opt %s --mq-apply-schedule="policy=pyramid allowed-widths=6,8" 2>&1 | FileCheck %s --check-prefix=NOFIT
// NOFIT: error: 'mq.matvec' op no allowed width fits layer 'layers.2.w1'
// The budget needs weight errors: these weights are arguments.
// RUN: not matquant-opt %s --mq-apply-schedule="policy=budget=4" 2>&1 | FileCheck %s --check-prefix=NOERR
// NOERR: error: 'mq.matvec' op policy 'budget' needs the weight error of layer 'layers.0.w1' at each width: give the op an 'mq.slice_errors' array (mq-quantize-weights does) or constant weights

!w8 = !mq.weight<2x16xf32, storage = 8, bits = 8>
!w4 = !mq.weight<2x16xf32, storage = 4, bits = 4>
module {
  func.func @f(%x: tensor<16xf32>, %s: tensor<2x1xf32>, %a: !w8, %b: !w8, %c: !w4) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) {
    %y0 = mq.matvec %x, %a, %s, %s {layer = "layers.0.w1"} : tensor<16xf32>, !w8, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y1 = mq.matvec %x, %b, %s, %s {layer = "layers.1.w1"} : tensor<16xf32>, !w8, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    %y2 = mq.matvec %x, %c, %s, %s {layer = "layers.2.w1"} : tensor<16xf32>, !w4, tensor<2x1xf32>, tensor<2x1xf32> -> tensor<2xf32>
    return %y0, %y1, %y2 : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>
  }
}
