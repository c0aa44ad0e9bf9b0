//===- Pipelines.cpp - MatQuant named pass pipelines -------------*- C++ -*-===//

#include "matquant/Pipelines/Pipelines.h"
#include "matquant/Conversion/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void matquant::buildReferenceToLLVMPipeline(
    OpPassManager &pm, const ReferencePipelineOptions &) {
  pm.addPass(createConvertMQToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertTensorToLinalgPass());
  bufferization::OneShotBufferizePassOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void matquant::registerPipelines() {
  PassPipelineRegistration<ReferencePipelineOptions>(
      "matquant-reference-to-llvm",
      "Lower mq through the reference path (linalg, loops) to the LLVM "
      "dialect for mlir-runner",
      buildReferenceToLLVMPipeline);
}
