//===- Jit.h - Compile and run matquant programs in process ------*- C++ -*-===//
//
// Compiles an MLIR module (mq and upstream dialects) through the CPU
// pipeline to machine code for the host CPU with MLIR's ExecutionEngine, and
// hands out function pointers to its `llvm.emit_c_interface` functions.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_JIT_H
#define MATQUANT_RUNTIME_JIT_H

#include "matquant/Pipelines/Pipelines.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace mlir {
class DialectRegistry;
class ExecutionEngine;
class MLIRContext;
class ModuleOp;
} // namespace mlir

namespace matquant {

/// Options of a JIT compilation.
struct JitOptions {
  int64_t threads = 0;      ///< OpenMP threads (0: sequential code)
  int64_t vectorWidth = 0; ///< lanes per vector (0: from the host CPU)
  int64_t accumulators = 2;
  int64_t batchTile = 4;
  int64_t rowTile = 8;
  int64_t activationBits = 0; ///< 8: W{r}A8 (int8 activations, VNNI)
  bool exponentDecode = true; ///< sub-byte indices under 1.0's exponent
  bool tileLayout = true;     ///< interleaved layout tiled by rows (rows = R)
  int64_t tilePrefetch = 8192; ///< bytes ahead of each row tile's stream
  /// mq.transpose_bits as GFNI's vgf2p8affineqb: 1 yes, 0 no (plain
  /// vector code), -1 if the host CPU has GFNI and AVX512-VBMI.
  int64_t gfni = -1;
  /// Bit planes of a run-time width transposed to bytes (1), not (0), or
  /// where GFNI is used (-1).
  int64_t planeTranspose = -1;
  bool reference = false;   ///< use matquant-reference-to-llvm instead
  std::string cpu;          ///< target CPU ("" = the host's)
  /// Keep large constants out of the code (mq-externalize-weights): the
  /// functions that read them take the arena (`arena()`) as a last
  /// `memref<?xi8>` argument.
  bool externalizeWeights = false;
  /// One function per kernel signature (mq-outline-kernels).
  bool outlineKernels = true;
  /// Matvecs of constant weights that read the same input, stacked into
  /// one (mq-fuse-matvecs).
  bool fuseMatvecs = false;
  /// OpenMP schedule of the row loops (static, dynamic, guided, auto,
  /// runtime) and chunks per thread (0: no chunk clause).
  std::string ompSchedule = "static";
  int64_t ompChunks = 0;
  /// Entry functions' results that return an argument's own buffer are
  /// dropped, the argument updated in place (the pipeline's
  /// in-place-state; the lowered function's `mq.in_place_results` says
  /// which).
  bool inPlaceState = false;
  /// The remaining linalg reductions summed in vector lanes (the
  /// pipeline's reassociate-reductions).
  bool reassociateReductions = true;
  /// With threads > 1, linalg.generic ops of at least this many loop
  /// iterations split over the threads (0: none; the pipeline's
  /// parallelize-generics).
  int64_t parallelizeGenerics = 32768;
};

/// A compiled module. Keeps its context and engine alive.
class JitModule {
public:
  /// Parses `source`, runs the pipeline and JIT-compiles it.
  static llvm::Expected<std::unique_ptr<JitModule>>
  compile(llvm::StringRef source, const JitOptions &options);
  /// Runs the pipeline on `module` in place (in the caller's context, which
  /// must outlive the JitModule when the weights are externalized: the arena
  /// is a resource of that context) and JIT-compiles it. No printing and
  /// parsing: a model of gigabytes is not copied through text.
  static llvm::Expected<std::unique_ptr<JitModule>>
  compile(mlir::ModuleOp module, const JitOptions &options);
  ~JitModule();

  /// The weight arena of a module compiled with `externalizeWeights`
  /// (empty otherwise), aligned as the pass's `alignment`.
  llvm::ArrayRef<char> arena() const { return arenaData; }

  /// The address of `_mlir_ciface_<name>` (functions need the
  /// `llvm.emit_c_interface` attribute).
  llvm::Expected<void *> lookup(llvm::StringRef name);
  /// The address of the symbol `name` itself (a public global).
  llvm::Expected<void *> lookupSymbol(llvm::StringRef name);

private:
  JitModule();
  std::unique_ptr<mlir::MLIRContext> context;
  std::unique_ptr<mlir::ExecutionEngine> engine;
  llvm::ArrayRef<char> arenaData;

  /// Pipeline, arena and engine, for both `compile`s.
  static llvm::Expected<std::unique_ptr<JitModule>>
  build(std::unique_ptr<JitModule> jit, mlir::ModuleOp module,
        const JitOptions &options, std::string &diagnostics);
};

/// Adds every upstream dialect, extension and LLVM IR translation and every
/// matquant dialect: what parsing and compiling a matquant program needs.
void registerCompilerDialects(mlir::DialectRegistry &registry);

/// The OpenMP runtime the compiled code calls when threads > 0.
llvm::StringRef ompRuntimePath();

/// Initializes LLVM's native target and its asm printer, once per process
/// (the JIT and the object-file paths need them).
void initializeNativeTarget();

} // namespace matquant

#endif // MATQUANT_RUNTIME_JIT_H
