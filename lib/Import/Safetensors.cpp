//===- Safetensors.cpp - safetensors checkpoint reader ----------*- C++ -*-===//
//
// Reads a safetensors file: an 8-byte little-endian header length, a JSON
// header mapping tensor names to {dtype, shape, data_offsets}, then the data
// section. Tensors use the Hugging Face Llama names; F32, F16 and BF16 are
// converted to f32. The hyper-parameters come from a separate JSON config.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace llvm;

namespace matquant {

/// Headers larger than this are rejected before parsing (the format's own
/// reference implementation uses the same limit).
static constexpr uint64_t kMaxHeaderBytes = 100 * 1000 * 1000;

namespace {
/// One entry of the safetensors header.
struct TensorInfo {
  std::string dtype;
  unsigned elementBytes = 0;
  SmallVector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

/// Converts an IEEE binary16 value to float (exact).
float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31)
    return bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  return bit_cast<float>(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? ", " : "") + std::to_string(d);
  return s + "]";
}
} // namespace

/// Size in bytes of a safetensors dtype, or 0 for an unknown one.
static unsigned dtypeBytes(StringRef dtype) {
  return StringSwitch<unsigned>(dtype)
      .Cases({"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3"}, 1)
      .Cases({"I16", "U16", "F16", "BF16"}, 2)
      .Cases({"I32", "U32", "F32"}, 4)
      .Cases({"I64", "U64", "F64"}, 8)
      .Default(0);
}

Expected<LlamaWeights> readSafetensorsCheckpoint(StringRef fileName,
                                                 MemoryBufferRef buffer,
                                                 const LlamaConfig &config) {
  StringRef data = buffer.getBuffer();
  auto error = [&](const Twine &msg) {
    return createStringError(formatv("{0}: {1}", fileName, msg.str()).str());
  };
  if (data.size() < 8)
    return error(formatv("header at byte offset 0: file has {0} bytes, too "
                         "short for the 8-byte safetensors header length",
                         data.size()));
  uint64_t headerBytes = support::endian::read64le(data.data());
  if (headerBytes < 2 || headerBytes > data.size() - 8)
    return error(formatv("header at byte offset 0: header length {0} does "
                         "not fit the file of {1} bytes (not a safetensors "
                         "file, or truncated)",
                         headerBytes, data.size()));
  if (headerBytes > kMaxHeaderBytes)
    return error(formatv("header at byte offset 0: header length {0} exceeds "
                         "the limit of {1} bytes",
                         headerBytes, kMaxHeaderBytes));
  const uint64_t dataStart = 8 + headerBytes;
  const uint64_t dataBytes = data.size() - dataStart;

  Expected<json::Value> header = json::parse(data.substr(8, headerBytes));
  if (!header)
    return error("header at byte offset 8: invalid JSON (positions count "
                 "from the header start): " +
                 toString(header.takeError()));
  const json::Object *entries = header->getAsObject();
  if (!entries)
    return error("header at byte offset 8: the header is not a JSON object");

  // Validate every entry, so that a corrupt header is reported even for
  // tensors the importer does not need.
  // In name order, so that the first bad entry reported does not depend on
  // the hash order of json::Object.
  SmallVector<StringRef> names;
  for (const auto &entry : *entries)
    if (StringRef(entry.first) != "__metadata__")
      names.push_back(entry.first);
  llvm::sort(names);
  StringMap<TensorInfo> tensors;
  for (StringRef name : names) {
    const json::Value &value = *entries->get(name);
    auto entryError = [&](const Twine &msg) {
      return error(formatv("tensor '{0}' in the header at byte offset 8: {1}",
                           name, msg.str()));
    };
    const json::Object *entry = value.getAsObject();
    if (!entry)
      return entryError("the entry is not a JSON object");
    TensorInfo info;
    const json::Array *offsets = entry->getArray("data_offsets");
    std::optional<int64_t> b = offsets && offsets->size() == 2
                                   ? (*offsets)[0].getAsInteger()
                                   : std::nullopt;
    std::optional<int64_t> e = offsets && offsets->size() == 2
                                   ? (*offsets)[1].getAsInteger()
                                   : std::nullopt;
    if (!b || !e || *b < 0 || *e < *b)
      return entryError("'data_offsets' must be two integers [begin, end] "
                        "with 0 <= begin <= end");
    info.begin = static_cast<uint64_t>(*b);
    info.end = static_cast<uint64_t>(*e);
    // From here on the entry's data offset is known and named in errors.
    uint64_t fileOffset = dataStart + info.begin;
    auto dataError = [&](const Twine &msg) {
      return error(formatv("tensor '{0}' at byte offset {1}: {2}", name,
                           fileOffset, msg.str()));
    };
    if (info.end > dataBytes)
      return dataError(formatv("data_offsets [{0}, {1}] exceed the data "
                               "section of {2} bytes (truncated file?)",
                               info.begin, info.end, dataBytes));
    std::optional<StringRef> dtype = entry->getString("dtype");
    if (!dtype)
      return dataError("missing string 'dtype'");
    info.dtype = dtype->str();
    info.elementBytes = dtypeBytes(*dtype);
    if (!info.elementBytes)
      return dataError("unknown dtype '" + info.dtype + "'");
    const json::Array *shape = entry->getArray("shape");
    if (!shape)
      return dataError("missing array 'shape'");
    uint64_t count = 1;
    for (const json::Value &d : *shape) {
      std::optional<int64_t> v = d.getAsInteger();
      if (!v || *v < 0)
        return dataError("'shape' must hold non-negative integers");
      info.shape.push_back(*v);
      // No tensor of 2^56 elements fits a file: stop before overflowing.
      if (*v != 0 && count > (uint64_t(1) << 56) / static_cast<uint64_t>(*v))
        return dataError("shape " + formatShape(info.shape) + " is too large");
      count *= static_cast<uint64_t>(*v);
    }
    if (count * info.elementBytes != info.end - info.begin)
      return dataError(formatv("data_offsets [{0}, {1}] hold {2} bytes, but "
                               "shape {3} of {4} needs {5} bytes",
                               info.begin, info.end, info.end - info.begin,
                               formatShape(info.shape), info.dtype,
                               count * info.elementBytes));
    tensors[name] = std::move(info);
  }

  // Biases would be silently dropped: refuse them.
  for (StringRef name : names)
    if (name.starts_with("model.layers.") && name.ends_with(".bias"))
      return error(formatv("tensor '{0}' at byte offset {1}: bias tensors are "
                           "not supported (Llama linear layers have none)",
                           name, dataStart + tensors[name].begin));

  // Fetches one tensor by its Hugging Face name, checks dtype and shape and
  // converts it to f32.
  auto fetch = [&](LlamaTensor &t, StringRef hfName, std::string canonical,
                   ArrayRef<int64_t> shape, bool optional,
                   bool &found) -> Error {
    found = false;
    auto it = tensors.find(hfName);
    if (it == tensors.end()) {
      if (optional)
        return Error::success();
      return createStringError(
          formatv("{0}: tensor '{1}' is missing from the header at byte offset "
                  "8 ({2} bytes, {3} tensors)",
                  fileName, hfName, headerBytes, tensors.size())
              .str());
    }
    found = true;
    const TensorInfo &info = it->second;
    uint64_t fileOffset = dataStart + info.begin;
    auto tensorError = [&](const Twine &msg) {
      return createStringError(formatv("{0}: tensor '{1}' at byte offset {2}: "
                                       "{3}",
                                       fileName, hfName, fileOffset, msg.str())
                                   .str());
    };
    if (ArrayRef<int64_t>(info.shape) != shape)
      return tensorError(formatv("shape {0} does not match the config: "
                                 "expected {1}",
                                 formatShape(info.shape), formatShape(shape)));
    if (info.dtype != "F32" && info.dtype != "F16" && info.dtype != "BF16")
      return tensorError("dtype " + info.dtype +
                         " is not supported (expected F32, F16 or BF16)");
    t.name = std::move(canonical);
    t.sourceName = hfName.str();
    t.fileOffset = fileOffset;
    t.shape.assign(shape.begin(), shape.end());
    uint64_t count = (info.end - info.begin) / info.elementBytes;
    t.data.resize(count);
    const char *p = data.data() + fileOffset;
    if (info.dtype == "F32") {
      for (uint64_t i = 0; i != count; ++i)
        t.data[i] = bit_cast<float>(support::endian::read32le(p + 4 * i));
    } else if (info.dtype == "F16") {
      for (uint64_t i = 0; i != count; ++i)
        t.data[i] = halfToFloat(support::endian::read16le(p + 2 * i));
    } else {
      for (uint64_t i = 0; i != count; ++i)
        t.data[i] = bit_cast<float>(
            static_cast<uint32_t>(support::endian::read16le(p + 2 * i)) << 16);
    }
    return Error::success();
  };

  const LlamaConfig &c = config;
  const int64_t dim = c.dim, hidden = c.hiddenDim, kvDim = c.kvDim();
  LlamaWeights w;
  w.config = c;
  w.layers.resize(c.nLayers);
  bool found;
  if (Error e = fetch(w.tokEmbeddings, "model.embed_tokens.weight",
                      "tok_embeddings", {c.vocabSize, dim}, false, found))
    return std::move(e);
  using Member = LlamaTensor LlamaLayerWeights::*;
  struct Entry {
    Member member;
    const char *hfName;
    const char *name;
    int64_t rows, cols;
  };
  const Entry layerEntries[] = {
      {&LlamaLayerWeights::attentionNorm, "input_layernorm", "attention_norm",
       0, dim},
      {&LlamaLayerWeights::wq, "self_attn.q_proj", "attention.wq", dim, dim},
      {&LlamaLayerWeights::wk, "self_attn.k_proj", "attention.wk", kvDim, dim},
      {&LlamaLayerWeights::wv, "self_attn.v_proj", "attention.wv", kvDim, dim},
      {&LlamaLayerWeights::wo, "self_attn.o_proj", "attention.wo", dim, dim},
      {&LlamaLayerWeights::ffnNorm, "post_attention_layernorm", "ffn_norm", 0,
       dim},
      {&LlamaLayerWeights::w1, "mlp.gate_proj", "feed_forward.w1", hidden, dim},
      {&LlamaLayerWeights::w2, "mlp.down_proj", "feed_forward.w2", dim, hidden},
      {&LlamaLayerWeights::w3, "mlp.up_proj", "feed_forward.w3", hidden, dim},
  };
  for (int64_t l = 0; l < c.nLayers; ++l) {
    for (const Entry &entry : layerEntries) {
      SmallVector<int64_t, 2> shape;
      if (entry.rows)
        shape.push_back(entry.rows);
      shape.push_back(entry.cols);
      std::string hfName =
          formatv("model.layers.{0}.{1}.weight", l, entry.hfName).str();
      if (Error e = fetch(w.layers[l].*(entry.member), hfName,
                          formatv("layers.{0}.{1}", l, entry.name).str(), shape,
                          false, found))
        return std::move(e);
    }
  }
  if (Error e = fetch(w.norm, "model.norm.weight", "norm", {dim}, false, found))
    return std::move(e);
  LlamaTensor output;
  if (Error e = fetch(output, "lm_head.weight", "output", {c.vocabSize, dim},
                      /*optional=*/true, found))
    return std::move(e);
  if (found)
    w.output = std::move(output);
  if (Error e = checkFiniteWeights(fileName, w))
    return std::move(e);
  return w;
}

} // namespace matquant
