//===- Llama.h - Llama checkpoint readers and MLIR importer -----*- C++ -*-===//
//
// Reads Llama-architecture checkpoints (llama2.c and safetensors) into f32
// weights, and builds an MLIR module in upstream dialects (func, linalg,
// tensor, arith, math) with one `@decode_step` function: the shape a frontend
// such as torch-mlir produces. Every linear layer is a `linalg.matvec` whose
// weight is an `arith.constant dense_resource<...>` and which carries
// `mq.layer = "layers.<i>.<name>"`, so that later passes find weight-stationary
// linear ops by name.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_IMPORT_LLAMA_H
#define MATQUANT_IMPORT_LLAMA_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBufferRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <memory>
#include <vector>

namespace matquant {

/// How rotary embeddings pair the elements of a head.
enum class RopeStyle {
  /// llama2.c / Meta: pairs (2i, 2i+1) within each head.
  Interleaved,
  /// Hugging Face `rotate_half`: pairs (i, i + head_size/2) within each head.
  Half,
};

/// The checkpoint formats that the importer reads.
enum class CheckpointFormat { Llama2c, Safetensors };

/// Hyper-parameters of a Llama-architecture model.
struct LlamaConfig {
  int64_t dim = 0;
  int64_t hiddenDim = 0;
  int64_t nLayers = 0;
  int64_t nHeads = 0;
  int64_t nKVHeads = 0;
  int64_t vocabSize = 0;
  int64_t seqLen = 0;
  float normEps = 1e-5f;
  float ropeTheta = 10000.0f;
  RopeStyle rope = RopeStyle::Interleaved;

  int64_t headSize() const { return dim / nHeads; }
  int64_t kvDim() const { return headSize() * nKVHeads; }
};

/// A violated config invariant: the offending key (llama2.c spelling, e.g.
/// "n_kv_heads") and a message that starts with it.
struct LlamaConfigError {
  std::string key;
  std::string message;
};

/// Checks the invariants the importer relies on (positive, bounded sizes,
/// divisibility, even head size). Returns the first violation, if any.
std::optional<LlamaConfigError> checkLlamaConfig(const LlamaConfig &config);

/// One weight tensor, converted to f32, row-major ([out, in] for linear
/// layers).
struct LlamaTensor {
  /// Canonical (Meta/llama2.c) name, e.g. "layers.0.attention.wq".
  std::string name;
  /// The name in the checkpoint (the Hugging Face name for safetensors) and
  /// the byte offset of the first element in the file, for diagnostics.
  std::string sourceName;
  uint64_t fileOffset = 0;
  llvm::SmallVector<int64_t> shape;
  std::vector<float> data;
  /// Instead of `data` (when that is empty): elements held elsewhere, e.g.
  /// in a file mapping, kept alive by `keepAlive`.
  llvm::ArrayRef<float> external;
  std::shared_ptr<const void> keepAlive;
};

/// The weights of one transformer block.
struct LlamaLayerWeights {
  LlamaTensor attentionNorm, wq, wk, wv, wo;
  LlamaTensor ffnNorm, w1, w2, w3;
};

/// A complete model: config plus f32 weights.
struct LlamaWeights {
  LlamaConfig config;
  LlamaTensor tokEmbeddings;
  std::vector<LlamaLayerWeights> layers;
  LlamaTensor norm;
  /// The classifier; absent when it shares the token embedding.
  std::optional<LlamaTensor> output;
};

/// Returns an error naming the file, the tensor, its byte offset and the
/// first NaN or Inf element of any tensor of `weights`.
llvm::Error checkFiniteWeights(llvm::StringRef fileName,
                               const LlamaWeights &weights);

/// Reads a legacy llama2.c checkpoint (seven int32 header fields, then f32
/// tensors). `fileName` is only used in error messages, which have the form
/// "<file>: tensor '<name>' at byte offset <n>: <what>".
llvm::Expected<LlamaWeights>
readLlama2cCheckpoint(llvm::StringRef fileName, llvm::MemoryBufferRef buffer);

/// Parses a JSON model config (llama2.c-style keys `dim`, `hidden_dim`,
/// `n_layers`, `n_heads`, `n_kv_heads`, `vocab_size`, `seq_len`, `norm_eps`,
/// `rope_theta`, `rope`, or the Hugging Face `config.json` equivalents).
/// `defaultRope` is used when the config has no "rope" key.
llvm::Expected<LlamaConfig> parseLlamaConfigJson(llvm::StringRef fileName,
                                                 llvm::StringRef text,
                                                 RopeStyle defaultRope);

/// Reads a safetensors checkpoint with Hugging Face Llama tensor names;
/// F32, F16 and BF16 tensors are converted to f32.
llvm::Expected<LlamaWeights>
readSafetensorsCheckpoint(llvm::StringRef fileName,
                          llvm::MemoryBufferRef buffer,
                          const LlamaConfig &config);

/// A model of `config`'s shape with deterministic pseudo-random weights
/// (counter-based, so any tensor is reproducible on its own): linear weights
/// uniform with standard deviation 1 / sqrt(in_features), embeddings with
/// standard deviation 1, norm weights 1. For speed runs at the shape of
/// models whose weights are not at hand; the classifier is separate unless
/// `sharedClassifier`.
///
/// With a `backingFile`, each tensor is written there as it is made and the
/// weights end up `external`, in a read-only mapping of the file (which is
/// removed as soon as it is created): a model larger than this machine's memory can be
/// imported and quantized, the kernel paging the floats in and out.
llvm::Expected<LlamaWeights>
makeSyntheticLlama(const LlamaConfig &config, uint64_t seed,
                   bool sharedClassifier, llvm::StringRef backingFile);
LlamaWeights makeSyntheticLlama(const LlamaConfig &config, uint64_t seed,
                                bool sharedClassifier = false);

/// The configs of `makeSyntheticLlama` presets: "tinyllama-1.1b" (dim 2048,
/// hidden 5632, 22 layers, 32 heads, 4 KV heads, vocab 32000, seq 2048) and
/// "llama-3-8b" (4096, 14336, 32, 32, 8, 128256, 8192, rope theta 500000).
std::optional<LlamaConfig> syntheticPreset(llvm::StringRef name);

/// The config of a synthetic model: a preset name or a JSON config file
/// (parseLlamaConfigJson's keys); checked with checkLlamaConfig.
llvm::Expected<LlamaConfig> syntheticConfig(llvm::StringRef spec);

/// The unit attribute of a module imported with live attention
/// (LlamaImportOptions::liveAttention).
inline constexpr llvm::StringLiteral kLiveAttentionAttrName =
    "mq.live_attention";

/// Options of the MLIR module builder.
struct LlamaImportOptions {
  /// Number of positions in the KV cache; 0 means the model's seq_len.
  int64_t maxSeqLen = 0;
  /// When positive, also emit `@main` running this many greedy decode steps
  /// from `bosToken` and printing each step's token and logits[0..3].
  int64_t driverSteps = 0;
  int64_t bosToken = 1;
  /// Attention reads the caches' first pos + 1 rows, through slices of
  /// dynamic size, instead of every row with those after pos masked. Its
  /// cost then grows with the position, not the cache's length; the GPU
  /// pipeline takes static shapes only, i.e. the masked form.
  bool liveAttention = false;
};

/// Builds the module. Takes the weights by value: their storage is handed to
/// the module's resource blobs without a copy.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importLlama(mlir::MLIRContext &context, LlamaWeights weights,
            const LlamaImportOptions &options);

} // namespace matquant

#endif // MATQUANT_IMPORT_LLAMA_H
