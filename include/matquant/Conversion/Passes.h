//===- Passes.h - MatQuant conversion passes ---------------------*- C++ -*-===//

#ifndef MATQUANT_CONVERSION_PASSES_H
#define MATQUANT_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace matquant {

#define GEN_PASS_DECL
#include "matquant/Conversion/Passes.h.inc"

/// The attribute mq-drop-in-place-results leaves on a function whose
/// results it dropped: per original result, the argument it returned (-1:
/// kept). The GPU build reads it for the manifest's `arg inout` states.
inline constexpr llvm::StringLiteral kInPlaceResultsAttrName =
    "mq.in_place_results";

/// Whether the host CPU has `feature` (an LLVM feature name: "avx512vnni",
/// "gfni", ...): what convert-mq-to-vector and the CPU pipeline choose
/// kernels by when no option says.
bool hostHasCPUFeature(llvm::StringRef feature);

/// Whether the host CPU has GFNI and AVX512-VBMI: the default of
/// convert-mq-to-vector's `plane-transpose` and the CPU pipeline's `gfni`.
bool hostHasGfniVbmi();

/// Converts `!mq.weight` to its storage tensor type.
void populateMQToLinalgTypeConversion(mlir::TypeConverter &converter);

/// Patterns lowering every mq op to linalg / tensor / arith / math.
void populateMQToLinalgConversionPatterns(
    const mlir::TypeConverter &converter, mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "matquant/Conversion/Passes.h.inc"

} // namespace matquant

#endif // MATQUANT_CONVERSION_PASSES_H
