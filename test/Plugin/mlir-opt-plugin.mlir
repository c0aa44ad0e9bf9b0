// Debian's own mlir-opt-22 loads matquant as a dialect and pass plugin, parses
// mq IR, runs matquant's conversion, and runs the whole reference pipeline.
// REQUIRES: plugins
// RUN: mlir-opt --load-dialect-plugin=%matquant_plugin %s | FileCheck %s --check-prefix=PARSE
// RUN: mlir-opt --load-dialect-plugin=%matquant_plugin --load-pass-plugin=%matquant_plugin %s --pass-pipeline="builtin.module(convert-mq-to-linalg)" | FileCheck %s --check-prefix=LOWER
// RUN: mlir-opt --load-dialect-plugin=%matquant_plugin --load-pass-plugin=%matquant_plugin %s --pass-pipeline="builtin.module(matquant-reference-to-llvm)" | FileCheck %s --check-prefix=LLVM
// RUN: not mlir-opt %s 2>&1 | FileCheck %s --check-prefix=NOPLUGIN

!w8 = !mq.weight<4x6xf32, storage = 8, bits = 8, group = 3>
!w2 = !mq.weight<4x6xf32, storage = 8, bits = 2, group = 3>

// PARSE-LABEL: func.func @f
// PARSE: mq.quantize
// PARSE: mq.slice
// PARSE: mq.matvec
// LOWER-LABEL: func.func @f
// LOWER-NOT: mq.
// LOWER: linalg.generic
// LOWER: math.round
// LLVM: llvm.func @f
// LLVM-NOT: linalg.
// NOPLUGIN: type created with unregistered dialect
func.func @f(%w: tensor<4x6xf32>, %x: tensor<6xf32>) -> tensor<4xf32> {
  %q, %s, %m = mq.quantize %w : tensor<4x6xf32> -> !w8, tensor<4x2xf32>, tensor<4x2xf32>
  %q2 = mq.slice %q : !w8 to !w2
  %y = mq.matvec %x, %q2, %s, %m : tensor<6xf32>, !w2, tensor<4x2xf32>, tensor<4x2xf32> -> tensor<4xf32>
  return %y : tensor<4xf32>
}
