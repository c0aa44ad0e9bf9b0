//===- Llama2c.cpp - llama2.c checkpoint reader -----------------*- C++ -*-===//
//
// Reads the legacy checkpoint format of karpathy/llama2.c (run.c): a header of
// seven little-endian int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
// vocab_size, seq_len; a negative vocab_size means the classifier is stored
// separately), then float32 tensors, each stacked over the layers:
//
//   token_embedding[vocab][dim], rms_att[L][dim], wq[L][dim][dim],
//   wk[L][kv_dim][dim], wv[L][kv_dim][dim], wo[L][dim][dim], rms_ffn[L][dim],
//   w1[L][hidden][dim], w2[L][dim][hidden], w3[L][hidden][dim],
//   rms_final[dim], freq_cis_real[seq_len][head_size/2],
//   freq_cis_imag[seq_len][head_size/2], wcls[vocab][dim] (unshared only).
//
// The legacy freq_cis tensors are skipped; bytes after the last needed
// tensor are allowed.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"

#include <climits>

using namespace llvm;

namespace matquant {

namespace {
/// Reads consecutive f32 tensors from the checkpoint, with bounds checks.
class Llama2cReader {
public:
  Llama2cReader(StringRef fileName, MemoryBufferRef buffer)
      : fileName(fileName), data(buffer.getBuffer()) {}

  /// Reads the next tensor of the given shape into `t`.
  Error read(LlamaTensor &t, std::string name, ArrayRef<int64_t> shape) {
    uint64_t count = 1;
    for (int64_t d : shape)
      count *= static_cast<uint64_t>(d);
    uint64_t bytes = count * sizeof(float);
    t.name = name;
    t.sourceName = std::move(name);
    t.fileOffset = offset;
    t.shape.assign(shape.begin(), shape.end());
    if (offset > data.size() || bytes > data.size() - offset)
      return truncated(t.sourceName, bytes);
    t.data.resize(count);
    const char *p = data.data() + offset;
    for (uint64_t i = 0; i != count; ++i)
      t.data[i] = bit_cast<float>(support::endian::read32le(p + 4 * i));
    offset += bytes;
    return Error::success();
  }

  /// Skips a tensor that the importer does not need.
  void skip(uint64_t count) { offset += count * sizeof(float); }

  uint64_t getOffset() const { return offset; }

private:
  Error truncated(StringRef name, uint64_t bytes) {
    return createStringError(
        formatv("{0}: tensor '{1}' at byte offset {2}: truncated file: the "
                "tensor needs {3} bytes but the file has {4} bytes",
                fileName, name, offset, bytes, data.size())
            .str());
  }

  StringRef fileName;
  StringRef data;
  uint64_t offset = 7 * sizeof(int32_t);
};
} // namespace

/// The llama2.c "version 1/2" exports start with this magic ("ak42").
static constexpr uint32_t kLlama2cV1Magic = 0x616b3432;

Expected<LlamaWeights> readLlama2cCheckpoint(StringRef fileName,
                                             MemoryBufferRef buffer) {
  StringRef data = buffer.getBuffer();
  auto headerError = [&](uint64_t offset, const Twine &msg) {
    return createStringError(formatv("{0}: header at byte offset {1}: {2}",
                                     fileName, offset, msg.str())
                                 .str());
  };
  if (data.size() < 7 * sizeof(int32_t))
    return headerError(0, formatv("file has {0} bytes, too short for the "
                                  "28-byte llama2.c header",
                                  data.size()));
  int32_t h[7];
  for (int i = 0; i < 7; ++i)
    h[i] = static_cast<int32_t>(support::endian::read32le(data.data() + 4 * i));
  if (static_cast<uint32_t>(h[0]) == kLlama2cV1Magic)
    return headerError(
        0, formatv("found the magic 'ak42' of a llama2.c version-{0} export; "
                   "only the legacy format (export.py --version 0) is "
                   "supported",
                   h[1]));

  LlamaConfig c;
  static const char *const fieldNames[7] = {
      "dim",        "hidden_dim", "n_layers", "n_heads",
      "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) {
    bool bad = i == 5 ? (h[i] == 0 || h[i] == INT32_MIN) : h[i] <= 0;
    if (bad)
      return headerError(4 * i,
                         formatv("{0} = {1} must be {2}", fieldNames[i], h[i],
                                 i == 5 ? "non-zero" : "positive"));
  }
  bool shared = h[5] > 0;
  c.dim = h[0];
  c.hiddenDim = h[1];
  c.nLayers = h[2];
  c.nHeads = h[3];
  c.nKVHeads = h[4];
  c.vocabSize = h[5] < 0 ? -static_cast<int64_t>(h[5]) : h[5];
  c.seqLen = h[6];
  c.rope = RopeStyle::Interleaved;
  if (std::optional<LlamaConfigError> bad = checkLlamaConfig(c)) {
    // Name the header field that holds the offending value.
    auto *field = llvm::find(fieldNames, bad->key);
    uint64_t offset = field == std::end(fieldNames)
                          ? 0
                          : 4 * (field - std::begin(fieldNames));
    return headerError(offset, bad->message);
  }

  const int64_t dim = c.dim, hidden = c.hiddenDim, kvDim = c.kvDim();
  const int64_t nLayers = c.nLayers;
  LlamaWeights w;
  w.config = c;
  w.layers.resize(nLayers);
  Llama2cReader r(fileName, buffer);
  if (Error e = r.read(w.tokEmbeddings, "tok_embeddings", {c.vocabSize, dim}))
    return std::move(e);

  // Each stacked tensor is read layer by layer, so that every error names
  // the layer.
  using Member = LlamaTensor LlamaLayerWeights::*;
  struct Stack {
    Member member;
    const char *name;
    int64_t rows, cols;
  };
  const Stack stacks[] = {
      {&LlamaLayerWeights::attentionNorm, "attention_norm", 0, dim},
      {&LlamaLayerWeights::wq, "attention.wq", dim, dim},
      {&LlamaLayerWeights::wk, "attention.wk", kvDim, dim},
      {&LlamaLayerWeights::wv, "attention.wv", kvDim, dim},
      {&LlamaLayerWeights::wo, "attention.wo", dim, dim},
      {&LlamaLayerWeights::ffnNorm, "ffn_norm", 0, dim},
      {&LlamaLayerWeights::w1, "feed_forward.w1", hidden, dim},
      {&LlamaLayerWeights::w2, "feed_forward.w2", dim, hidden},
      {&LlamaLayerWeights::w3, "feed_forward.w3", hidden, dim},
  };
  for (const Stack &s : stacks) {
    for (int64_t l = 0; l < nLayers; ++l) {
      SmallVector<int64_t, 2> shape;
      if (s.rows)
        shape.push_back(s.rows);
      shape.push_back(s.cols);
      std::string name = formatv("layers.{0}.{1}", l, s.name).str();
      if (Error e = r.read(w.layers[l].*(s.member), std::move(name), shape))
        return std::move(e);
    }
  }
  if (Error e = r.read(w.norm, "norm", {dim}))
    return std::move(e);
  if (!shared) {
    // Skip freq_cis_real and freq_cis_imag.
    r.skip(2 * static_cast<uint64_t>(c.seqLen) * (c.headSize() / 2));
    w.output.emplace();
    if (Error e = r.read(*w.output, "output", {c.vocabSize, dim}))
      return std::move(e);
  }
  if (Error e = checkFiniteWeights(fileName, w))
    return std::move(e);
  return w;
}

} // namespace matquant
