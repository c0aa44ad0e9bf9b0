//===- Passes.td - MatQuant conversion passes --------------*- tablegen -*-===//

#ifndef MATQUANT_CONVERSION_PASSES_TD
#define MATQUANT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMQToLinalgPass : Pass<"convert-mq-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Reference lowering of the mq dialect to linalg, tensor and arith";
  let description = [{
    Lowers every mq op to upstream dialects on tensors (linalg, tensor, arith,
    math), so that any matquant program bufferizes and runs through the
    standard pipeline and mlir-runner. This is the reference semantics that
    the fast code generators are checked against: it computes exactly what
    the numerics library computes (same float32 operations in the same
    order), so folded constants and lowered code agree bit for bit.

    `!mq.weight` values become their storage tensors (`tensor<R x C x i8>`
    for logical weights, the packed bytes otherwise); function signatures,
    calls and returns are converted with them.

    - `mq.constant` becomes `arith.constant` of its bytes;
    - `mq.quantize` becomes a min/max `linalg.generic` reduction per group,
      an elementwise generic for (alpha, z, m), and one for the codes;
    - `mq.slice` and `mq.dequantize` become elementwise `linalg.generic`s;
    - `mq.pack` / `mq.unpack` become `tensor.generate`s that read the bytes
      or indices they need;
    - `mq.matmul` / `mq.matvec` become unpack + dequantize + a contraction
      `linalg.generic` accumulating in f32.

    Before:
    ```mlir
    %y = mq.matvec %x, %q, %s, %m : tensor<12xf32>,
        !mq.weight<8x12xf32, storage = 8, bits = 2>,
        tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    ```
    After (abridged):
    ```mlir
    %w = linalg.generic {...} ins(%q, %s, %m : tensor<8x12xi8>, ...)
        outs(%e : tensor<8x12xf32>) { ... arith.uitofp ... arith.mulf ... }
    %y = linalg.generic {iterator_types = ["parallel", "reduction"]}
        ins(%x, %w : ...) outs(%zero : tensor<8xf32>) { ... }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // MATQUANT_CONVERSION_PASSES_TD
