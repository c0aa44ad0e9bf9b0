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

/// Options of the CPU pipeline.
struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<int64_t> threads{*this, "threads",
                          llvm::cl::desc("OpenMP threads over output rows "
                                         "(0: no OpenMP, sequential)"),
                          llvm::cl::init(0)};
  Option<std::string> ompSchedule{
      *this, "omp-schedule",
      llvm::cl::desc("OpenMP schedule of the row loops (matquant-omp-"
                     "schedule): static, dynamic, guided, auto or runtime"),
      llvm::cl::init("static")};
  Option<int64_t> ompChunks{
      *this, "omp-chunks",
      llvm::cl::desc("Chunks per thread of a dynamic or guided schedule (0: "
                     "no chunk clause)"),
      llvm::cl::init(0)};
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("Lanes per vector (0: from the host CPU: 16 with "
                     "AVX-512, 8 with AVX2, else 4)"),
      llvm::cl::init(0)};
  Option<int64_t> accumulators{*this, "accumulators",
                               llvm::cl::desc("Independent accumulators"),
                               llvm::cl::init(2)};
  Option<int64_t> activationBits{
      *this, "activation-bits",
      llvm::cl::desc("8: W{r}A8 with int8 activations and VNNI (opt-in)"),
      llvm::cl::init(0)};
  Option<bool> exponentDecode{
      *this, "exponent-decode",
      llvm::cl::desc("Float activations: sub-byte indices become f32 "
                     "weights by a shift and a mask under the exponent of "
                     "1.0, not by a conversion"),
      llvm::cl::init(true)};
  Option<int64_t> gfni{
      *this, "gfni",
      llvm::cl::desc("1: the target has GFNI and AVX512-VBMI "
                     "(mq.transpose_bits becomes vgf2p8affineqb); 0: it has "
                     "not; -1: from the host CPU"),
      llvm::cl::init(-1)};
  Option<int64_t> planeTranspose{
      *this, "plane-transpose",
      llvm::cl::desc("convert-mq-to-vector's plane-transpose (1: bit planes "
                     "of a run-time width transposed to bytes, 0: byte "
                     "lanes); -1: where the target has GFNI (see gfni)"),
      llvm::cl::init(-1)};
  Option<int64_t> rowTile{*this, "row-tile",
                          llvm::cl::desc("Rows per iteration at batch 1"),
                          llvm::cl::init(8)};
  Option<bool> tileLayout{
      *this, "tile-layout",
      llvm::cl::desc("mq-select-cpu-layout tiles the interleaved layout's "
                     "rows as the kernels walk them (rows = R, one read "
                     "stream per tile, prefetched tile-prefetch bytes "
                     "ahead); off: rows one after the other"),
      llvm::cl::init(true)};
  Option<int64_t> tilePrefetch{
      *this, "tile-prefetch",
      llvm::cl::desc("convert-mq-to-vector's tile-prefetch: bytes ahead of "
                     "each row tile's stream (0: none)"),
      llvm::cl::init(8192)};
  Option<int64_t> batchTile{*this, "batch-tile",
                            llvm::cl::desc("Batch rows per decoded weight"),
                            llvm::cl::init(4)};
  Option<bool> outlineKernels{
      *this, "outline-kernels",
      llvm::cl::desc("One private function per kernel signature "
                     "(mq-outline-kernels), called by every op of it"),
      llvm::cl::init(true)};
  Option<bool> externalizeWeights{
      *this, "externalize-weights",
      llvm::cl::desc("Move large constants into a run-time arena argument "
                     "(mq-externalize-weights) instead of the compiled code"),
      llvm::cl::init(false)};
  Option<bool> fuseMatvecs{
      *this, "fuse-matvecs",
      llvm::cl::desc("Stack the constant-weight matvecs that read the same "
                     "input (q, k, v; gate, up) into one (mq-fuse-matvecs): "
                     "one parallel region and one larger GEMV instead of "
                     "several (off: not faster on the 2-core VM)"),
      llvm::cl::init(false)};
  Option<bool> inPlaceState{
      *this, "in-place-state",
      llvm::cl::desc("Results that bufferize to an argument's own buffer (a "
                     "decode step's KV cache, whose new rows are inserted "
                     "into a copy of the argument) are dropped "
                     "(mq-forward-tensor-copies, mq-drop-in-place-results): "
                     "the state is updated in place instead of copied whole "
                     "into a new buffer on every call. The entry function's "
                     "signature changes; `mq.in_place_results` says how"),
      llvm::cl::init(false)};
  Option<bool> reassociateReductions{
      *this, "reassociate-reductions",
      llvm::cl::desc("Float reductions of the remaining linalg.generic ops "
                     "(a decode step's attention and norms) may be summed "
                     "in another order (matquant-reassociate-reductions), "
                     "so that LLVM vectorizes their loops"),
      llvm::cl::init(true)};
  Option<int64_t> parallelizeGenerics{
      *this, "parallelize-generics",
      llvm::cl::desc("With threads > 1: linalg.generic ops of at least this "
                     "many loop iterations (a decode step's attention) are "
                     "split over the threads (matquant-parallelize-generics; "
                     "0: none)"),
      llvm::cl::init(32768)};
};

/// The widest index whose interleaved layout the CPU pipeline tiles by rows
/// (mq-select-cpu-layout's row-tile-max-bits): every width with float
/// activations; below 8 bits with the W{r}A8 kernels (activation-bits=8),
/// which read int8 weights faster untiled (docs/CPU-results.md, session 19).
unsigned cpuRowTileMaxBits(int64_t activationBits);

/// mq (and float linalg matvec / matmul) -> vectorized, OpenMP-parallel
/// CPU code in the LLVM dialect: mq-fuse-matvecs, mq-select-cpu-layout,
/// canonicalize, convert-mq-to-vector, convert-mq-to-linalg for everything
/// else, bufferization, scf.forall -> OpenMP, LLVM.
void buildCPUToLLVMPipeline(mlir::OpPassManager &pm,
                            const CPUPipelineOptions &options);

/// Options of the GPU pipelines.
struct GPUPipelineOptions
    : public mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("NVIDIA target chip"),
                           llvm::cl::init("sm_90")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("NVPTX optimization level"),
                            llvm::cl::init(3)};
  Option<unsigned> rowsPerWarp{
      *this, "rows-per-warp",
      llvm::cl::desc("Output rows per warp (0: 2 at batch 1, else 1)"),
      llvm::cl::init(0)};
  Option<unsigned> warpsPerBlock{*this, "warps-per-block",
                                 llvm::cl::desc("Warps per thread block (0: per launch in matquant-decode-to-gpu)"),
                                 llvm::cl::init(4)};
  Option<unsigned> unroll{*this, "unroll",
                          llvm::cl::desc("Blocks per lane in flight"),
                          llvm::cl::init(2)};
  Option<unsigned> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Tensor-core GEMVs: each warp asks the L2 cache for "
                     "its weights this many super-tiles ahead of its "
                     "register loads (prefetch.L2; 0: none). The "
                     "kernels then use 64-bit index"),
      llvm::cl::init(0)};
  Option<unsigned> earlyPrefetch{
      *this, "early-prefetch",
      llvm::cl::desc("Tensor-core GEMVs: before waiting for the kernels "
                     "before them (dependent launch), each warp asks the L2 "
                     "cache for up to this many of its next super-tiles "
                     "(convert-mq-to-gpu's early-prefetch; 0: none). The "
                     "kernels then use 64-bit index"),
      llvm::cl::init(0)};
  Option<unsigned> matvecBatchTile{
      *this, "matvec-batch-tile",
      llvm::cl::desc("Tensor-core GEMVs of matvecs: batch tile 1 or 8, or 0 "
                     "(default): 1 (convert-mq-to-gpu's matvec-batch-tile)"),
      llvm::cl::init(0)};
  Option<unsigned> stages{
      *this, "stages",
      llvm::cl::desc("Tensor-core GEMVs: weights through a shared-memory "
                     "ring of this many super-tiles per warp (cp.async; 0: "
                     "registers). The kernels then use 64-bit index"),
      llvm::cl::init(0)};
  Option<std::string> scaleOrder{
      *this, "scale-order",
      llvm::cl::desc("Tensor-core kernels: scales packed by row tile "
                     "(packed, mq.pack_scales), [N, groups] (plain), or "
                     "packed below 8 index bits (auto, the default)"),
      llvm::cl::init("auto")};
  Option<unsigned> indexBitwidth{
      *this, "index-bitwidth",
      llvm::cl::desc("matquant-gpu-kernels-to-ptx / matquant-gpu-to-ptx: "
                     "bits of index in the kernels, 32 or 64 (64 whatever "
                     "this says with prefetch > 0; matquant-decode-to-gpu "
                     "always uses 64)"),
      llvm::cl::init(32)};
  Option<bool> arenaData{
      *this, "arena-data",
      llvm::cl::desc("matquant-decode-to-gpu: keep the arena's bytes in the "
                     "module (mq.arena_data)"),
      llvm::cl::init(true)};
  Option<std::string> activations{
      *this, "activations",
      llvm::cl::desc("matquant-decode-to-gpu: activations of the weight-only "
                     "GEMVs: f32, or f16 / bf16 (mq-narrow-activations; "
                     "results stay f32)"),
      llvm::cl::init("f32")};
  Option<int64_t> fuseSmallOps{
      *this, "fuse-small-ops",
      llvm::cl::desc("matquant-decode-to-gpu: runs of consecutive linalg "
                     "ops of at most this many points each share one "
                     "single-block kernel (0: one kernel per op)"),
      llvm::cl::init(4096)};
  Option<bool> dependentLaunch{
      *this, "dependent-launch",
      llvm::cl::desc("matquant-decode-to-gpu: every kernel waits for its "
                     "predecessors itself (mq-gpu-dependent-launch), so "
                     "that the runner may launch it with programmatic "
                     "dependent launch"),
      llvm::cl::init(true)};
  Option<bool> inPlaceState{
      *this, "in-place-state",
      llvm::cl::desc("matquant-decode-to-gpu: results that bufferize to an "
                     "argument's own buffer (a KV cache updated in place) "
                     "are dropped (mq-forward-tensor-copies, "
                     "mq-drop-in-place-results) instead of copied into a "
                     "result buffer"),
      llvm::cl::init(true)};
  Option<int64_t> fusePartitions{
      *this, "fuse-partitions",
      llvm::cl::desc("matquant-decode-to-gpu: runs of consecutive linalg "
                     "ops that partition along their leading parallel "
                     "loops (attention by head), at most this many points "
                     "per partition and op, share one kernel of a block "
                     "per partition (0: off)"),
      llvm::cl::init(65536)};
  Option<std::string> kernel{
      *this, "kernel",
      llvm::cl::desc("auto (tensor cores for f16 matmuls and sub-8-bit "
                     "f16 matvecs), simt or mma"),
      llvm::cl::init("auto")};
};

/// Whether kernels for `chip` (sm_NN) can wait for their predecessors
/// (griddepcontrol: sm_90 and later); the pipeline's dependent-launch
/// applies to those only.
bool chipHasDependentLaunch(llvm::StringRef chip);

/// gpu.module kernels -> NVVM -> PTX in a gpu.binary (format = isa):
/// convert-gpu-to-nvvm (index-bitwidth 32), canonicalize, cse,
/// nvvm-attach-target, gpu-module-to-binary.
void buildGPUKernelsToPTXPipeline(mlir::OpPassManager &pm,
                                  const GPUPipelineOptions &options);

/// A whole function on the GPU (`matquant-decode-to-gpu`): mq ops become
/// launches of their generated kernels, the other ops are fused, bufferized
/// (results as out-parameters), constants move to the arena argument
/// (mq-externalize-weights), linalg ops become generated kernels
/// (convert-linalg-to-gpu-kernels), buffers become views of the workspace
/// argument (mq-gpu-workspace); kernels go to PTX (64-bit index) and the
/// host code to the LLVM dialect (gpu-to-llvm), calling the mgpu* functions
/// of matquant's runtime (matquant/Runtime/Mgpu.h).
void buildDecodeToGPUPipeline(mlir::OpPassManager &pm,
                              const GPUPipelineOptions &options);

/// mq weight-only ops -> GPU kernels -> PTX: mq-select-gpu-layout,
/// canonicalize (folds the repacking of constants), convert-mq-to-gpu,
/// then buildGPUKernelsToPTXPipeline.
void buildMQToPTXPipeline(mlir::OpPassManager &pm,
                          const GPUPipelineOptions &options);

/// Registers `matquant-reference-to-llvm`, `matquant-cpu-to-llvm`,
/// `matquant-gpu-kernels-to-ptx` and `matquant-gpu-to-ptx`.
void registerPipelines();

} // namespace matquant

#endif // MATQUANT_PIPELINES_PIPELINES_H
