// mq-quantize-weights calibration=FILE: every bad input is an error with a
// location (the module for the file and the options, the layer's op for its
// activations); the pass fails and leaves no partial rewrite.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/ok.acts --layer l0:8x4 --layer l1:8x4

// File-level problems, reported on the module.
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/none.acts" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: mq-quantize-weights-calibration-invalid.mlir:0:0: error: mq-quantize-weights: calibration file {{.*}}none.acts: cannot open: No such file or directory
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/magic.acts --layer l0:8x4 --bad-magic
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/magic.acts" 2>&1 | FileCheck %s --check-prefix=MAGIC
// MAGIC: :0:0: error: mq-quantize-weights: calibration file {{.*}}magic.acts: not a matquant activation file (bad magic)
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/version.acts --layer l0:8x4 --version 2
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/version.acts" 2>&1 | FileCheck %s --check-prefix=VERSION
// VERSION: :0:0: error: mq-quantize-weights: calibration file {{.*}}version.acts: unsupported activation file version 2
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/trunc.acts --layer l0:8x4 --layer l1:8x4 --truncate 5
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/trunc.acts" 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: :0:0: error: mq-quantize-weights: calibration file {{.*}}trunc.acts: truncated at layer 1 of 2 ('l1'): 8x4 values announced, 30 left in the file
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/trail.acts --layer l0:8x4 --layer l1:8x4 --trailing 3
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/trail.acts" 2>&1 | FileCheck %s --check-prefix=TRAIL
// TRAIL: :0:0: error: mq-quantize-weights: calibration file {{.*}}trail.acts: 3 trailing bytes after the last layer
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/dup.acts --layer l0:8x4 --layer l1:8x4 --duplicate
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/dup.acts" 2>&1 | FileCheck %s --check-prefix=DUP
// DUP: :0:0: error: mq-quantize-weights: calibration file {{.*}}dup.acts: layer 2 of 3 ('l0'): the name appears twice
// A layer of another model (wrong layer set):
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/extra.acts --layer l0:8x4 --layer l1:8x4 --layer layers.9.attention.wq:8x4
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/extra.acts" 2>&1 | FileCheck %s --check-prefix=EXTRA
// EXTRA: :0:0: error: mq-quantize-weights: calibration file {{.*}}extra.acts has activations for layer 'layers.9.attention.wq', which is not a linear layer of this module (a file of another model?)

// Per-layer problems, reported on the layer's op.
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/only0.acts --layer l0:8x4
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/only0.acts" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// NOLAYER: :[[# @LINE + 47]]:8: error: 'linalg.matvec' op calibration of layer 'l1': no activations for it in {{.*}}only0.acts
// With the layer not selected, its missing activations do not matter:
// RUN: matquant-opt %s --mq-quantize-weights="calibration=%t/only0.acts layers=l0" | FileCheck %s --check-prefix=SELECT
// SELECT: mq.matvec {{.*}}layer = "l0", mq.calibration_rows = 8 : i64
// SELECT: linalg.matvec {mq.layer = "l1"}
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/cols.acts --layer l0:8x4 --layer l1:8x5
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/cols.acts" 2>&1 | FileCheck %s --check-prefix=COLS
// COLS: :[[# @LINE + 40]]:8: error: 'linalg.matvec' op calibration of layer 'l1': the activations in {{.*}}cols.acts have 5 columns, but the layer's reduction length is 4
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/rows.acts --layer l0:8x4 --layer l1:0x4
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/rows.acts" 2>&1 | FileCheck %s --check-prefix=ROWS
// ROWS: :[[# @LINE + 37]]:8: error: 'linalg.matvec' op calibration of layer 'l1': the activations in {{.*}}rows.acts have no rows
// RUN: %python %S/../../Quantize/Inputs/gen_calibration.py -o %t/nan.acts --layer l0:8x4 --layer l1:8x4 --nan l1:13
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/nan.acts" 2>&1 | FileCheck %s --check-prefix=NAN
// NAN: :[[# @LINE + 34]]:8: error: 'linalg.matvec' op calibration of layer 'l1': activation (row 3, column 1) in {{.*}}nan.acts is not finite
// No partial rewrite on failure:
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/nan.acts" 2>&1 | FileCheck %s --check-prefix=NOOUT
// NOOUT-NOT: mq.matvec

// Options.
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts method=minmax" 2>&1 | FileCheck %s --check-prefix=MINMAX
// MINMAX: :0:0: error: mq-quantize-weights: option 'calibration' needs method=matquant (min-max quantization uses no activations)
// RUN: not matquant-opt %s --mq-quantize-weights="damp=0.1" 2>&1 | FileCheck %s --check-prefix=NOCAL
// RUN: not matquant-opt %s --mq-quantize-weights="gptq-lambdas=1,0,0" 2>&1 | FileCheck %s --check-prefix=NOCAL
// RUN: not matquant-opt %s --mq-quantize-weights="weighted-search=true" 2>&1 | FileCheck %s --check-prefix=NOCAL
// NOCAL: :0:0: error: mq-quantize-weights: options 'damp', 'gptq-lambdas' and 'weighted-search' need 'calibration'
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts damp=-1" 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: :0:0: error: mq-quantize-weights: option 'damp' must be finite and >= 0, got -1
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts gptq-lambdas=1,1" 2>&1 | FileCheck %s --check-prefix=GCOUNT
// GCOUNT: :0:0: error: mq-quantize-weights: option 'gptq-lambdas' needs one value per width (3), got 2
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts gptq-lambdas=1,-1,0" 2>&1 | FileCheck %s --check-prefix=GNEG
// GNEG: :0:0: error: mq-quantize-weights: option 'gptq-lambdas': every value must be >= 0, got -1
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts gptq-lambdas=0,0,0" 2>&1 | FileCheck %s --check-prefix=GZERO
// GZERO: :0:0: error: mq-quantize-weights: option 'gptq-lambdas' must not be all 0
// RUN: not matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts gptq-lambdas=1,x,0" 2>&1 | FileCheck %s --check-prefix=GPARSE
// GPARSE: :0:0: error: mq-quantize-weights: option 'gptq-lambdas': 'x' is not a finite number

// The file is fine for this module:
// RUN: matquant-opt %s --mq-quantize-weights="calibration=%t/ok.acts" | FileCheck %s --check-prefix=OK
// OK-COUNT-2: mq.calibration_rows = 8 : i64

func.func @f(%x: tensor<4xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
  %W = arith.constant dense<[[-1.0, 0.0, 0.5, 1.0], [2.0, 2.0, 0.25, -2.0]]> : tensor<2x4xf32>
  %V = arith.constant dense<[[-1.0, 0.1, 0.5, 1.0], [2.0, 0.7, 2.0, 2.0]]> : tensor<2x4xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2xf32>) -> tensor<2xf32>
  %a = linalg.matvec {mq.layer = "l0"} ins(%W, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  %b = linalg.matvec {mq.layer = "l1"} ins(%V, %x : tensor<2x4xf32>, tensor<4xf32>) outs(%z : tensor<2xf32>) -> tensor<2xf32>
  return %a, %b : tensor<2xf32>, tensor<2xf32>
}
