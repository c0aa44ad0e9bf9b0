//===- matquant-import.cpp - Llama checkpoint to MLIR importer --*- C++ -*-===//
//
// Reads a llama2.c or safetensors checkpoint and writes an MLIR module (text
// or bytecode) with `@decode_step` in upstream dialects, optionally with a
// `@main` greedy-decoding driver for mlir-runner. On any error it prints
// "error: <file>: ..." and leaves no output file: the module is written to a
// temporary file next to the output, which is renamed only on success.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace llvm;

static cl::OptionCategory importCategory("matquant-import options");

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<checkpoint>"),
                                      cl::cat(importCategory));
static cl::opt<std::string>
    outputFile("o", cl::init("-"), cl::desc("Output file (default: stdout)"),
               cl::value_desc("file"), cl::cat(importCategory));
static cl::opt<bool> emitBytecode("emit-bytecode",
                                  cl::desc("Write MLIR bytecode"),
                                  cl::cat(importCategory));
static cl::opt<std::string> checkpointFormat(
    "format",
    cl::desc("Checkpoint format: llama2c or safetensors (default: "
             "from the extension, .bin or .safetensors), or synthetic: "
             "deterministic random weights at the shape of a preset "
             "(tinyllama-1.1b, llama-3-8b) or of a JSON config, named by "
             "the positional argument"),
    cl::value_desc("llama2c|safetensors|synthetic"), cl::cat(importCategory));
static cl::opt<uint64_t> syntheticSeed("seed",
                                       cl::desc("Seed of --format=synthetic"),
                                       cl::init(1), cl::cat(importCategory));
static cl::opt<std::string>
    configFile("config",
               cl::desc("JSON model config of a safetensors checkpoint "
                        "(default: config.json next to the checkpoint)"),
               cl::value_desc("file"), cl::cat(importCategory));
static cl::opt<int64_t>
    maxSeqLen("max-seq-len",
              cl::desc("KV-cache length (default: the model's seq_len)"),
              cl::init(0), cl::cat(importCategory));
static cl::opt<int64_t> emitDriver(
    "emit-driver",
    cl::desc("Also emit @main running N greedy decode steps from token 1, "
             "printing each step's token and logits[0..3]"),
    cl::value_desc("N"), cl::init(0), cl::cat(importCategory));

static cl::opt<bool> liveAttention(
    "live-attention",
    cl::desc("Attention reads the KV cache's first pos + 1 rows (slices of "
             "dynamic size) instead of every row with those after pos "
             "masked: its cost grows with the position, not the cache "
             "length. The CPU pipelines take it; the GPU pipeline needs the "
             "masked form"),
    cl::init(false), cl::cat(importCategory));

static int fail(const Twine &message) {
  WithColor::error() << message << "\n";
  return 1;
}

static int fail(Error error) {
  std::string message = toString(std::move(error));
  return fail(message);
}

/// Reads the checkpoint named on the command line.
static Expected<matquant::LlamaWeights> readCheckpoint() {
  std::optional<matquant::CheckpointFormat> fmt;
  if (checkpointFormat.getNumOccurrences()) {
    fmt = StringSwitch<std::optional<matquant::CheckpointFormat>>(
              checkpointFormat)
              .Case("llama2c", matquant::CheckpointFormat::Llama2c)
              .Case("safetensors", matquant::CheckpointFormat::Safetensors)
              .Default(std::nullopt);
    if (checkpointFormat == "synthetic") {
      Expected<matquant::LlamaConfig> config =
          matquant::syntheticConfig(inputFile);
      if (!config)
        return config.takeError();
      return matquant::makeSyntheticLlama(*config, syntheticSeed);
    }
    if (!fmt)
      return createStringError("unknown --format '" + checkpointFormat +
                               "' (expected llama2c, safetensors or "
                               "synthetic)");
  } else if (StringRef(inputFile).ends_with(".bin")) {
    fmt = matquant::CheckpointFormat::Llama2c;
  } else if (StringRef(inputFile).ends_with(".safetensors")) {
    fmt = matquant::CheckpointFormat::Safetensors;
  } else {
    return createStringError(inputFile + ": cannot tell the checkpoint "
                                         "format from the extension; pass "
                                         "--format=llama2c|safetensors");
  }

  // Map the file instead of copying it; weights are converted to f32 anyway.
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer = MemoryBuffer::getFile(
      inputFile, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (std::error_code ec = buffer.getError())
    return createStringError(inputFile + ": cannot read: " + ec.message());

  if (*fmt == matquant::CheckpointFormat::Llama2c) {
    if (configFile.getNumOccurrences())
      return createStringError("--config only applies to safetensors "
                               "checkpoints; llama2.c files carry their "
                               "config in the header");
    return matquant::readLlama2cCheckpoint(inputFile, **buffer);
  }

  std::string configPath = configFile;
  if (configPath.empty()) {
    SmallString<256> sibling(sys::path::parent_path(inputFile));
    sys::path::append(sibling, "config.json");
    if (!sys::fs::exists(sibling))
      return createStringError(inputFile + ": a safetensors checkpoint needs "
                                           "a JSON config: pass --config "
                                           "FILE or put config.json next to "
                                           "it");
    configPath = std::string(sibling);
  }
  ErrorOr<std::unique_ptr<MemoryBuffer>> configBuffer =
      MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (std::error_code ec = configBuffer.getError())
    return createStringError(configPath + ": cannot read: " + ec.message());
  Expected<matquant::LlamaConfig> config = matquant::parseLlamaConfigJson(
      configPath, (*configBuffer)->getBuffer(), matquant::RopeStyle::Half);
  if (!config)
    return config.takeError();
  return matquant::readSafetensorsCheckpoint(inputFile, **buffer, *config);
}

/// Writes the module in the requested form.
static LogicalResult writeModule(mlir::ModuleOp module, raw_ostream &os) {
  if (emitBytecode) {
    mlir::BytecodeWriterConfig config("matquant-import");
    return mlir::writeBytecodeToFile(module, os, config);
  }
  module->print(os, mlir::OpPrintingFlags().enableDebugInfo(false));
  return success();
}

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(importCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "matquant-import: Llama checkpoint (llama2.c or safetensors) to MLIR\n");

  if (emitBytecode && outputFile == "-" && outs().is_displayed())
    return fail("refusing to write bytecode to a terminal; pass -o FILE");

  Expected<matquant::LlamaWeights> weights = readCheckpoint();
  if (!weights)
    return fail(weights.takeError());

  mlir::MLIRContext context;
  context.disableMultithreading();
  matquant::LlamaImportOptions options;
  options.maxSeqLen = maxSeqLen;
  options.driverSteps = emitDriver;
  options.liveAttention = liveAttention;
  Expected<mlir::OwningOpRef<mlir::ModuleOp>> module =
      matquant::importLlama(context, std::move(*weights), options);
  if (!module)
    return fail(module.takeError());

  if (outputFile == "-") {
    if (failed(writeModule(**module, outs())))
      return fail("cannot write the module to stdout");
    outs().flush();
    if (outs().has_error()) {
      outs().clear_error();
      return fail("cannot write to stdout");
    }
    return 0;
  }

  // Write next to the output and rename on success, so that a failure never
  // leaves a partial file behind.
  // Mode 0666 before the umask, like any newly created output.
  Expected<sys::fs::TempFile> temp = sys::fs::TempFile::create(
      outputFile + "-%%%%%%.tmp", sys::fs::all_read | sys::fs::all_write);
  if (!temp)
    return fail(outputFile + ": cannot create a temporary file: " +
                toString(temp.takeError()));
  bool written;
  {
    raw_fd_ostream os(temp->FD, /*shouldClose=*/false);
    written = succeeded(writeModule(**module, os));
    os.flush();
    written = written && !os.has_error();
    os.clear_error();
  }
  if (!written) {
    consumeError(temp->discard());
    return fail(outputFile + ": cannot write the module");
  }
  if (Error e = temp->keep(outputFile)) {
    consumeError(temp->discard());
    return fail(outputFile + ": cannot rename the temporary file: " +
                toString(std::move(e)));
  }
  return 0;
}
