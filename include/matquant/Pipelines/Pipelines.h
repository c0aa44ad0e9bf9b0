//===- Pipelines.h - MatQuant named pass pipelines ---------------*- C++ -*-===//

#ifndef MATQUANT_PIPELINES_PIPELINES_H
#define MATQUANT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace matquant {

/// Options of the reference pipeline.
struct ReferencePipelineOptions
    : public mlir::PassPipelineOptions<ReferencePipelineOptions> {};

/// mq on tensors -> linalg -> bufferized loops -> LLVM dialect, ready for
/// mlir-runner: the reference execution path.
void buildReferenceToLLVMPipeline(mlir::OpPassManager &pm,
                                  const ReferencePipelineOptions &options);

/// Registers `matquant-reference-to-llvm`.
void registerPipelines();

} // namespace matquant

#endif // MATQUANT_PIPELINES_PIPELINES_H
