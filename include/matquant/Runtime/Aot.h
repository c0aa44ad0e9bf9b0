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
  int64_t accumulators = 4;
  int64_t rowTile = 4;
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

} // namespace matquant

#endif // MATQUANT_RUNTIME_AOT_H
