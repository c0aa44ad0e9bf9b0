//===- Pipelines.cpp - MatQuant named pass pipelines -------------*- C++ -*-===//

#include "matquant/Pipelines/Pipelines.h"
#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVM/NVVM/Utils.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"

using namespace mlir;

/// One-shot bufferization with plain (identity-layout) memref descriptors at
/// function boundaries, for callers in C++ (JIT, AOT, the GPU runner).
static void addPlainBoundaryBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferization;
  bufferization.bufferizeFunctionBoundaries = true;
  bufferization.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferization));
}

/// One-shot bufferization of a step whose state (the KV caches) may be
/// updated in place: with `inPlaceState`, the importer's copy of each cache is
/// forwarded (mq-forward-tensor-copies), the new rows are written into the
/// argument's buffer (empty-tensor elimination) and a result that returns an
/// argument's own buffer is dropped (mq-drop-in-place-results). The GPU
/// pipeline eliminates empty tensors whatever the state (`eliminateEmpty`).
static void addStateBufferization(OpPassManager &pm, bool inPlaceState,
                                  bool eliminateEmpty) {
  if (inPlaceState)
    pm.addPass(matquant::createForwardTensorCopiesPass());
  if (inPlaceState || eliminateEmpty)
    pm.addPass(bufferization::createEmptyTensorEliminationPass());
  addPlainBoundaryBufferization(pm);
  if (inPlaceState)
    pm.addPass(matquant::createDropInPlaceResultsPass());
}

/// The weights repacked into the GPU kernels' layout at compile time
/// (mq-select-gpu-layout, then canonicalize folds the repacking).
static void addGPULayout(OpPassManager &pm,
                         const matquant::GPUPipelineOptions &options) {
  matquant::mq::MQSelectGPULayoutPassOptions layout;
  layout.kernel = options.kernel;
  pm.addPass(matquant::mq::createMQSelectGPULayoutPass(layout));
  pm.addPass(createCanonicalizerPass());
}

/// convert-mq-to-gpu's options from the pipeline's.
static matquant::ConvertMQToGPUPassOptions
kernelOptions(const matquant::GPUPipelineOptions &options) {
  matquant::ConvertMQToGPUPassOptions gpu;
  gpu.rowsPerWarp = options.rowsPerWarp;
  gpu.warpsPerBlock = options.warpsPerBlock;
  gpu.unroll = options.unroll;
  gpu.prefetch = options.prefetch;
  gpu.earlyPrefetch = options.earlyPrefetch;
  gpu.matvecBatchTile = options.matvecBatchTile;
  gpu.stages = options.stages;
  gpu.scaleOrder = options.scaleOrder;
  return gpu;
}

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
  pm.addPass(createConvertBufferizationToMemRefPass());
  pm.addNestedPass<func::FuncOp>(createExpandStridedCopiesPass());
  pm.addPass(createLowerDot4Pass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

unsigned matquant::cpuRowTileMaxBits(int64_t activationBits) {
  return activationBits == 8 ? 7u : 8u;
}

void matquant::buildCPUToLLVMPipeline(OpPassManager &pm,
                                      const CPUPipelineOptions &options) {
  if (options.fuseMatvecs) {
    // On the weights' constants: canonicalize folds slices of them first.
    pm.addPass(createCanonicalizerPass());
    pm.addPass(mq::createMQFuseMatvecsPass());
  }
  mq::MQSelectCPULayoutPassOptions layout;
  layout.rowTile =
      options.tileLayout
          ? static_cast<unsigned>(std::max<int64_t>(1, options.rowTile))
          : 1u;
  layout.rowTileMaxBits = cpuRowTileMaxBits(options.activationBits);
  pm.addPass(mq::createMQSelectCPULayoutPass(layout));
  pm.addPass(createCanonicalizerPass());
  if (options.outlineKernels)
    pm.addPass(mq::createMQOutlineKernelsPass());
  ConvertMQToVectorPassOptions vector;
  vector.vectorWidth = options.vectorWidth;
  vector.accumulators = options.accumulators;
  vector.batchTile = options.batchTile;
  vector.rowTile = options.rowTile;
  vector.activationBits = options.activationBits;
  vector.exponentDecode = options.exponentDecode;
  vector.tilePrefetch = options.tilePrefetch;
  bool gfni = options.gfni >= 0 ? options.gfni != 0 : hostHasGfniVbmi();
  vector.planeTranspose =
      options.planeTranspose >= 0 ? options.planeTranspose : (gfni ? 1 : 0);
  pm.addPass(createConvertMQToVectorPass(vector));
  pm.addPass(createConvertMQToLinalgPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (options.threads > 1 && options.parallelizeGenerics > 0) {
    ParallelizeGenericsPassOptions split;
    split.threads = options.threads;
    split.minPoints = options.parallelizeGenerics;
    pm.addNestedPass<func::FuncOp>(createParallelizeGenericsPass(split));
    pm.addPass(createCanonicalizerPass());
  }
  pm.addPass(createConvertTensorToLinalgPass());
  // As in matquant-decode-to-gpu: the state's new rows are inserted into
  // the argument's buffer, and the result that returns it is dropped.
  addStateBufferization(pm, options.inPlaceState, /*eliminateEmpty=*/false);
  // The per-row result buffers of the kernels go to the stack, not malloc.
  pm.addNestedPass<func::FuncOp>(
      bufferization::createPromoteBuffersToStackPass());
  bufferization::BufferDeallocationPipelineOptions dealloc;
  bufferization::buildBufferDeallocationPipeline(pm, dealloc);
  pm.addPass(createConvertBufferizationToMemRefPass());
  if (options.externalizeWeights)
    pm.addPass(mq::createMQExternalizeWeightsPass());
  pm.addNestedPass<func::FuncOp>(createExpandStridedCopiesPass());
  LowerDot4PassOptions dot4;
  dot4.vnni = options.activationBits == 8;
  dot4.gfni = gfni;
  pm.addPass(createLowerDot4Pass(dot4));
  // The step's own reductions (attention's scores and weighted sums, the
  // norms) as vector loops: LLVM vectorizes a float sum only where it may
  // reorder it.
  if (options.reassociateReductions)
    pm.addNestedPass<func::FuncOp>(createReassociateReductionsPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  if (options.threads > 0) {
    ConvertSCFToOpenMPPassOptions omp;
    omp.numThreads = options.threads;
    pm.addPass(createConvertSCFToOpenMPPass(omp));
    if (options.ompSchedule != "static" || options.ompChunks > 0) {
      OmpSchedulePassOptions schedule;
      schedule.kind = options.ompSchedule;
      schedule.chunksPerThread =
          static_cast<unsigned>(std::max<int64_t>(0, options.ompChunks));
      schedule.threads = static_cast<unsigned>(options.threads);
      pm.addPass(createOmpSchedulePass(schedule));
    }
  }
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(createConvertVectorToLLVMPass());
  // Lowers the memref.alloca_scope that scf-to-openmp puts around a loop
  // body while that body is still one block.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// The kernels of every gpu.module to PTX, with index of `indexBitwidth`
/// bits in the kernels.
static void addKernelsToPTX(OpPassManager &pm,
                            const matquant::GPUPipelineOptions &options,
                            unsigned indexBitwidth) {
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // affine.apply of fused linalg.index computations.
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createSCFToControlFlowPass());
  // nvgpu.mma.sync (tensor-core kernels) -> nvvm.mma.sync.
  kernels.addPass(createConvertNVGPUToNVVMPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.indexBitwidth = indexBitwidth;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuNVVMAttachTargetOptions target;
  target.chip = options.chip;
  target.optLevel = options.optLevel;
  // The NVPTX backend selects prefetch.L2 from PTX ISA 8.0 on (the
  // minimum for sm_90 is 7.8).
  if (options.prefetch || options.earlyPrefetch)
    target.features = "+ptx80";
  pm.addPass(createGpuNVVMAttachTarget(target));
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  // The math functions (sqrt, exp, sin, ...) come from the toolkit's
  // libdevice, which gpu-module-to-binary links only where it finds it,
  // and otherwise leaves as extern calls that no driver resolves. MLIR
  // looks in CUDA_ROOT, CUDA_HOME, CUDA_PATH and the path its build found;
  // where none has libdevice, the usual /usr/local/cuda.
  auto hasLibdevice = [](StringRef root) {
    return !root.empty() &&
           llvm::sys::fs::exists(root + "/nvvm/libdevice/libdevice.10.bc");
  };
  std::string toolkit = NVVM::getCUDAToolkitPath().str();
  if (!hasLibdevice(toolkit) && hasLibdevice("/usr/local/cuda"))
    toolkit = "/usr/local/cuda";
  binary.toolkitPath = toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void matquant::buildGPUKernelsToPTXPipeline(OpPassManager &pm,
                                            const GPUPipelineOptions &options) {
  // A prefetch address is the buffer's pointer as an index plus an offset:
  // with 32-bit index the pointer would be cut to 32 bits.
  addKernelsToPTX(pm, options,
                  options.prefetch || options.earlyPrefetch || options.stages ||
                          options.indexBitwidth == 64
                      ? 64
                      : 32);
}

bool matquant::chipHasDependentLaunch(StringRef chip) {
  unsigned version = 0;
  return chip.consume_front("sm_") && !chip.consumeInteger(10, version) &&
         version >= 90;
}

void matquant::buildDecodeToGPUPipeline(OpPassManager &pm,
                                        const GPUPipelineOptions &options) {
  if (options.activations != "f32") {
    mq::MQNarrowActivationsPassOptions narrow;
    narrow.type = options.activations;
    pm.addPass(mq::createMQNarrowActivationsPass(narrow));
  }
  // q, k, v (and gate, up) in one launch each, on the weights' constants
  // (canonicalize folds slices of constants first).
  pm.addPass(createCanonicalizerPass());
  pm.addPass(mq::createMQFuseMatvecsPass());
  addGPULayout(pm, options);
  // Kernels that wait for their predecessors themselves (sm_90 and later).
  bool dependentLaunch =
      options.dependentLaunch && chipHasDependentLaunch(options.chip);
  ConvertMQToGPUPassOptions gpu = kernelOptions(options);
  gpu.launch = true;
  gpu.dependentLaunch = dependentLaunch;
  pm.addPass(createConvertMQToGPUPass(gpu));
  pm.addPass(createConvertMQToLinalgPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Fewer kernels: elementwise producers fused into their consumers, where
  // that computes no value twice.
  pm.addPass(createFuseElementwiseNoRecomputePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // No CSE after this: it would merge the fills made private again.
  pm.addPass(createSinkTensorExtractsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createConvertTensorToLinalgPass());
  // Producers of inserted slices (the new K and V rows) write into the
  // destination (the KV cache) instead of a copy. A state updated in place
  // is returned as the argument's buffer: the result goes, and with it the
  // copy of the whole cache into a result buffer.
  addStateBufferization(pm, options.inPlaceState, /*eliminateEmpty=*/true);
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // CSE on buffers (fills write memory and are not merged) makes the two
  // subviews of a K row that RoPE writes in place one value, and
  // canonicalize drops the copy of that row onto itself.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  // Every constant, however small, goes to the arena: the kernels read
  // device memory only.
  mq::MQExternalizeWeightsPassOptions externalize;
  externalize.minBytes = 0;
  externalize.alignment = 256;
  externalize.keepData = options.arenaData;
  pm.addPass(mq::createMQExternalizeWeightsPass(externalize));
  ConvertLinalgToGPUKernelsPassOptions kernelsOptions;
  kernelsOptions.fuseSmallOps = options.fuseSmallOps;
  kernelsOptions.fusePartitions = options.fusePartitions;
  pm.addPass(createConvertLinalgToGPUKernelsPass(kernelsOptions));
  pm.addPass(createGPUWorkspacePass());
  if (dependentLaunch)
    pm.addPass(createGPUDependentLaunchPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // The kernels take memref descriptors from host code, whose index is
  // 64-bit: the kernels use 64-bit index too.
  addKernelsToPTX(pm, options, /*indexBitwidth=*/64);
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void matquant::buildMQToPTXPipeline(OpPassManager &pm,
                                    const GPUPipelineOptions &options) {
  addGPULayout(pm, options);
  pm.addPass(createConvertMQToGPUPass(kernelOptions(options)));
  buildGPUKernelsToPTXPipeline(pm, options);
}

void matquant::registerPipelines() {
  PassPipelineRegistration<GPUPipelineOptions>(
      "matquant-gpu-kernels-to-ptx",
      "Lower the gpu.module kernels of a module to PTX for an NVIDIA chip "
      "(gpu.binary, format = isa)",
      buildGPUKernelsToPTXPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "matquant-gpu-to-ptx",
      "Generate GPU kernels for the mq weight-only ops (repacked for the "
      "GPU at compile time) and lower them to PTX",
      buildMQToPTXPipeline);
  PassPipelineRegistration<GPUPipelineOptions>(
      "matquant-decode-to-gpu",
      "Compile a whole function (a decode step: linalg, tensor, arith, math "
      "and mq ops) to GPU kernels in PTX and host code in the LLVM dialect "
      "that launches them through the mgpu* runtime functions",
      buildDecodeToGPUPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "matquant-cpu-to-llvm",
      "Compile mq weight-only ops (and float matvec / matmul) to vectorized, "
      "OpenMP-parallel CPU code in the LLVM dialect",
      buildCPUToLLVMPipeline);
  PassPipelineRegistration<ReferencePipelineOptions>(
      "matquant-reference-to-llvm",
      "Lower mq through the reference path (linalg, loops) to the LLVM "
      "dialect for mlir-runner",
      buildReferenceToLLVMPipeline);
}
