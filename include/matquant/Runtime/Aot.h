//===- Aot.h - Compile matquant programs to object files --------*- C++ -*-===//
//
// The ahead-of-time path of the CPU runner: compiles an MLIR module (mq and
// upstream dialects) through `matquant-cpu-to-llvm` and LLVM O3 to an ELF
// relocatable object for the host CPU (or a named one), and writes a C/C++
// header that declares the `_mlir_ciface_<name>` entry points of its
// `llvm.emit_c_interface` functions with their memref descriptor types.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_AOT_H
#define MATQUANT_RUNTIME_AOT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace matquant {

/// Options of an ahead-of-time compilation.
struct AotOptions {
  int64_t threads = 0;      ///< OpenMP threads (0: sequential code)
  /// Lanes per vector; 0 picks it from the target CPU's features: 16 with
  /// AVX-512, 8 with AVX2, else 4.
  int64_t vectorWidth = 0;
  int64_t accumulators = 2;
  int64_t rowTile = 8;
  int64_t batchTile = 4;
  /// Target CPU: "" or "native" for the host CPU with the host's features,
  /// otherwise an LLVM CPU name (e.g. `x86-64-v3`) with its default features.
  std::string cpu;
  /// File name of the header, for its include guard and banner ("" when no
  /// header is written).
  std::string headerName;
};

/// What an ahead-of-time compilation produces.
struct AotArtifacts {
  std::string object; ///< the ELF relocatable object file
  std::string header; ///< the C/C++ declarations of the C interface
};

/// Parses `source` (called `bufferName` in diagnostics), runs
/// `matquant-cpu-to-llvm`, translates the result to LLVM IR, optimizes it at
/// O3 for the target CPU and emits an object file and its header. Errors
/// name `bufferName` and carry the MLIR diagnostics.
llvm::Expected<AotArtifacts> compileAot(llvm::StringRef source,
                                        llvm::StringRef bufferName,
                                        const AotOptions &options);

/// Options of a GPU model build (compileGpuModel).
struct GpuModelOptions {
  std::string chip = "sm_90";
  unsigned rowsPerWarp = 0;
  /// 0: chosen per launch from the rows (convert-mq-to-gpu).
  unsigned warpsPerBlock = 0;
  unsigned unroll = 2;
  /// Tensor-core GEMVs of matvecs: batch tile 1 or 8, 0 for the default
  /// (1; convert-mq-to-gpu).
  unsigned matvecBatchTile = 0;
  /// Tensor-core GEMVs: shared-memory stages of the weights (0: none).
  unsigned stages = 0;
  /// Tensor-core GEMVs: super-tiles per warp asked of the L2 cache before
  /// the dependent-launch wait (0: none; convert-mq-to-gpu's
  /// early-prefetch).
  unsigned earlyPrefetch = 0;
  /// Tensor-core GEMVs: scales packed by row tile (packed), [N, groups]
  /// (plain), or packed below 8 index bits (auto; convert-mq-to-gpu).
  std::string scaleOrder = "auto";
  /// Activations of the weight-only GEMVs: f32 (the default: the model's
  /// own arithmetic), or f16 / bf16 (faster; results and everything else
  /// stay f32).
  std::string activations = "f32";
  /// GEMV kernels: auto (tensor cores for f16 below 8 bits), simt or mma.
  std::string kernel = "auto";
  /// convert-linalg-to-gpu-kernels' fuse-partitions (-1: the pipeline's
  /// default).
  int64_t fusePartitions = -1;
  /// States updated in place (the KV cache) are passed once ("arg inout")
  /// instead of as a state and a next state with a copy between.
  bool inPlaceState = true;
  /// Kernels that wait for their predecessors themselves (the manifest's
  /// `dependent_launch`: matquant-gpu-run then launches them with
  /// programmatic dependent launch).
  bool dependentLaunch = true;
  /// Host CPU of the machine that runs the model (an LLVM CPU name).
  std::string hostCpu = "x86-64";
  /// The C compiler driver that links the shared object.
  std::string linker = "cc";
  /// Write PREFIX.arena (false: the manifest's region lines alone, for a
  /// runner that fills the arena itself, e.g. for speed runs of models
  /// whose weights do not travel).
  bool writeArena = true;
};

/// What compileGpuModel wrote.
struct GpuModelSummary {
  int64_t arenaBytes = 0;
  int64_t workspaceBytes = 0;
  int64_t kernels = 0;  ///< gpu.func kernels generated
  int64_t launches = 0; ///< kernel launches per call of the function
  /// Arena bytes one call reads (a table read one row at a time, the
  /// token embedding, counts that row only).
  int64_t arenaReadBytes = 0;
  /// The gpu.modules before NVVM (also written to PREFIX.kernels.mlir).
  std::string kernelText;
};

/// Compiles `function` of `module` (a decode step: token and position
/// indices, then state tensors in; logits and the next state out) for an
/// NVIDIA GPU through `matquant-decode-to-gpu`, in place, and writes
///   PREFIX.so        host code (x86-64) with the PTX embedded; it calls
///                    the mgpu* functions of matquant/Runtime/Mgpu.h;
///   PREFIX.arena     the constants (weights) it reads from device memory;
///   PREFIX.manifest  its C signature, buffer sizes and the arena's regions
///                    (offset, bytes, element type), for matquant-gpu-run.
/// `PREFIX.o` is left beside the shared object, and PREFIX.kernels.mlir
/// holds the generated kernels before their lowering to NVVM.
llvm::Expected<GpuModelSummary> compileGpuModel(mlir::ModuleOp module,
                                                llvm::StringRef function,
                                                llvm::StringRef prefix,
                                                const GpuModelOptions &options);

} // namespace matquant

#endif // MATQUANT_RUNTIME_AOT_H
