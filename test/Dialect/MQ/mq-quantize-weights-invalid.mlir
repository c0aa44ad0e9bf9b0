// Bad options: each is reported once, on the module, and the pass fails.
// RUN: not matquant-opt %s --mq-quantize-weights="bits=9" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: mq-quantize-weights: option 'bits' must be in 1..8, got 9
// RUN: not matquant-opt %s --mq-quantize-weights="widths=8,x,2" 2>&1 | FileCheck %s --check-prefix=WIDTHS
// WIDTHS: error: mq-quantize-weights: option 'widths': 'x' is not an unsigned integer
// RUN: not matquant-opt %s --mq-quantize-weights="widths=8,,2" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: error: mq-quantize-weights: option 'widths': empty item in the list '8,,2'
// RUN: not matquant-opt %s --mq-quantize-weights="widths=4,2 lambdas=1,1" 2>&1 | FileCheck %s --check-prefix=NOBITS
// NOBITS: error: mq-quantize-weights: option 'widths' (4,2) must contain the storage width bits = 8
// RUN: not matquant-opt %s --mq-quantize-weights="widths=8,4,9" 2>&1 | FileCheck %s --check-prefix=WIDE
// WIDE: error: mq-quantize-weights: bad options: width 9 is not in 1..8 (the storage width)
// RUN: not matquant-opt %s --mq-quantize-weights="widths=8,4,4" 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: error: mq-quantize-weights: bad options: width 4 is listed twice
// RUN: not matquant-opt %s --mq-quantize-weights="lambdas=1,1" 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: mq-quantize-weights: option 'lambdas' needs one value per width (3), got 2
// RUN: not matquant-opt %s --mq-quantize-weights="lambdas=1,-1,1" 2>&1 | FileCheck %s --check-prefix=NEG
// NEG: error: mq-quantize-weights: bad options: every lambda must be finite and >= 0, got -1
// RUN: not matquant-opt %s --mq-quantize-weights="lambdas=0.1,abc,1" 2>&1 | FileCheck %s --check-prefix=LAMBDA
// LAMBDA: error: mq-quantize-weights: option 'lambdas': 'abc' is not a finite number
// RUN: not matquant-opt %s --mq-quantize-weights="lambdas=0,0,0" 2>&1 | FileCheck %s --check-prefix=ZERO
// ZERO: error: mq-quantize-weights: bad options: the lambdas must not all be 0
// RUN: not matquant-opt %s --mq-quantize-weights="mode=rounded" 2>&1 | FileCheck %s --check-prefix=MODE
// MODE: error: mq-quantize-weights: option 'mode' must be 'clamped', 'extra_precision' or 'prefix_exact', got 'rounded'
// RUN: not matquant-opt %s --mq-quantize-weights="method=gptq" 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: error: mq-quantize-weights: option 'method' must be 'minmax' or 'matquant', got 'gptq'
// RUN: not matquant-opt %s --mq-quantize-weights="group=-4" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: mq-quantize-weights: option 'group' must be >= 0, got -4
// RUN: not matquant-opt %s --mq-quantize-weights="grid-min=0" 2>&1 | FileCheck %s --check-prefix=GRID
// GRID: error: mq-quantize-weights: bad options: the smallest clip factor must be in (0, 1], got 0
// RUN: not matquant-opt %s --mq-quantize-weights="grid-step=0" 2>&1 | FileCheck %s --check-prefix=STEP
// STEP: error: mq-quantize-weights: bad options: the clip grid step must be positive
// RUN: not matquant-opt %s --mq-quantize-weights="grid-max=0.5" 2>&1 | FileCheck %s --check-prefix=GRIDMAX
// GRIDMAX: error: mq-quantize-weights: bad options: the largest clip factor must be in [1, 4], got 0.5
// RUN: not matquant-opt %s --mq-quantize-weights="layers=(ffn" 2>&1 | FileCheck %s --check-prefix=REGEX
// REGEX: error: mq-quantize-weights: option 'layers' is not a valid regular expression: '(ffn': parentheses not balanced
// The whole failure leaves no partial rewrite behind in the output.
// RUN: not matquant-opt %s --mq-quantize-weights="bits=9" 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT-NOT: mq.matvec

func.func @f(%x: tensor<4xf32>) -> tensor<2xf32> {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 2.0, 2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %y = linalg.matvec ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}
