//===- matquant-aot.cpp - AOT compiler of the CPU runner --------*- C++ -*-===//
//
// Compiles an MLIR file through `matquant-cpu-to-llvm` and LLVM O3 to an ELF
// object file for the host CPU (or --mcpu), and optionally writes a C/C++
// header declaring the `_mlir_ciface_<name>` entry points of its
// `llvm.emit_c_interface` functions. On any error it prints
// "matquant-aot: error: <file>: ..." and writes no output file: the outputs
// go to temporary files next to them, renamed only once both are written.
//
//===----------------------------------------------------------------------===//

#include "matquant/Runtime/Aot.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace llvm;

static cl::OptionCategory aotCategory("matquant-aot options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<input .mlir>"),
                                      cl::cat(aotCategory));
static cl::opt<std::string> objectFile("o", cl::Required,
                                       cl::desc("Output object file"),
                                       cl::value_desc("file.o"),
                                       cl::cat(aotCategory));
static cl::opt<std::string>
    headerFile("header",
               cl::desc("Also write a C/C++ header declaring the "
                        "_mlir_ciface_<name> functions"),
               cl::value_desc("file.h"), cl::cat(aotCategory));
static cl::opt<std::string>
    cpu("mcpu",
        cl::desc("Target CPU (default: the host CPU with its features; "
                 "e.g. x86-64-v3 for AVX2)"),
        cl::value_desc("name"), cl::init(""), cl::cat(aotCategory));
static cl::opt<int64_t>
    vectorWidth("vector-width",
                cl::desc("Lanes per vector (0: from the target CPU: 16 with "
                         "AVX-512, 8 with AVX2, else 4)"),
                cl::init(0), cl::cat(aotCategory));
static cl::opt<int64_t> accumulators("accumulators",
                                     cl::desc("Independent accumulators"),
                                     cl::init(2), cl::cat(aotCategory));
static cl::opt<int64_t> rowTile("row-tile",
                                cl::desc("Rows per iteration at batch 1"),
                                cl::init(8), cl::cat(aotCategory));
static cl::opt<int64_t> batchTile("batch-tile",
                                  cl::desc("Batch rows per decoded weight"),
                                  cl::init(4), cl::cat(aotCategory));

static int fail(const Twine &message) {
  WithColor::error(errs(), "matquant-aot") << message << "\n";
  return 1;
}

namespace {
/// An output written to a temporary file next to it, renamed on commit.
struct PendingOutput {
  std::string path;
  std::optional<sys::fs::TempFile> temp;
};
} // namespace

/// Writes `contents` to a temporary file next to `output.path`.
static Error writeTemp(PendingOutput &output, StringRef contents) {
  Expected<sys::fs::TempFile> temp = sys::fs::TempFile::create(
      output.path + "-%%%%%%.tmp", sys::fs::all_read | sys::fs::all_write);
  if (!temp)
    return createStringError(
        output.path +
        ": cannot create a temporary file: " + toString(temp.takeError()));
  output.temp.emplace(std::move(*temp));
  raw_fd_ostream os(output.temp->FD, /*shouldClose=*/false);
  os << contents;
  os.flush();
  if (os.has_error()) {
    os.clear_error();
    return createStringError(output.path + ": cannot write");
  }
  return Error::success();
}

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  // libLLVM registers a `-threads` of its own (the thread count of the legacy
  // ThinLTO code generator, which this tool never runs), so a static option
  // of that name would abort at start-up: take the name over here instead.
  if (cl::Option *llvmThreads = cl::getRegisteredOptions().lookup("threads"))
    llvmThreads->removeArgument();
  cl::opt<int64_t> threads("threads",
                           cl::desc("OpenMP threads over output rows "
                                    "(0: sequential code, no OpenMP)"),
                           cl::init(0), cl::cat(aotCategory));
  cl::HideUnrelatedOptions(aotCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "matquant-aot: MLIR (mq weight-only ops, float matvec / matmul) to an "
      "object file and a C header, through matquant-cpu-to-llvm\n");

  ErrorOr<std::unique_ptr<MemoryBuffer>> input =
      MemoryBuffer::getFileOrSTDIN(inputFile, /*IsText=*/true);
  if (std::error_code ec = input.getError())
    return fail(inputFile + ": cannot read: " + ec.message());

  matquant::AotOptions options;
  options.threads = threads;
  options.vectorWidth = vectorWidth;
  options.accumulators = accumulators;
  options.rowTile = rowTile;
  options.batchTile = batchTile;
  options.cpu = cpu;
  options.headerName = headerFile;
  Expected<matquant::AotArtifacts> artifacts =
      matquant::compileAot((*input)->getBuffer(), inputFile, options);
  if (!artifacts)
    return fail(toString(artifacts.takeError()));

  // Both outputs go to temporary files first; they are renamed only when
  // both are complete, so a failure leaves neither behind.
  SmallVector<PendingOutput, 2> outputs;
  outputs.push_back({objectFile, std::nullopt});
  if (!headerFile.empty())
    outputs.push_back({headerFile, std::nullopt});
  auto discardAll = [&] {
    for (PendingOutput &output : outputs)
      if (output.temp)
        consumeError(output.temp->discard());
  };
  for (PendingOutput &output : outputs) {
    bool isObject = &output == &outputs.front();
    if (Error error =
            writeTemp(output, isObject ? StringRef(artifacts->object)
                                       : StringRef(artifacts->header))) {
      discardAll();
      return fail(toString(std::move(error)));
    }
  }
  for (auto [i, output] : llvm::enumerate(outputs)) {
    if (Error error = output.temp->keep(output.path)) {
      std::string message = output.path +
                            ": cannot rename the temporary "
                            "file: " +
                            toString(std::move(error));
      // Take back the outputs already in place.
      for (size_t j = 0; j < i; ++j)
        sys::fs::remove(outputs[j].path);
      // The failed `keep` has removed its own temporary file.
      for (size_t j = i + 1; j < outputs.size(); ++j)
        consumeError(outputs[j].temp->discard());
      return fail(message);
    }
  }
  return 0;
}
