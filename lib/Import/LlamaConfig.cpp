//===- LlamaConfig.cpp - Llama config checks and JSON configs ---*- C++ -*-===//
//
// The checks shared by the checkpoint readers: config invariants, the JSON
// config of safetensors checkpoints, and the NaN/Inf scan of all weights.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

#include <cmath>

using namespace llvm;

namespace matquant {

//===----------------------------------------------------------------------===//
// Config invariants
//===----------------------------------------------------------------------===//

/// Largest accepted sizes. They only reject absurd headers early: the file
/// size check is what bounds the allocations.
static constexpr int64_t kMaxWidth = int64_t(1) << 20;
static constexpr int64_t kMaxLayers = 4096;
static constexpr int64_t kMaxVocab = int64_t(1) << 24;
static constexpr int64_t kMaxSeqLen = int64_t(1) << 24;

std::optional<LlamaConfigError> checkLlamaConfig(const LlamaConfig &c) {
  auto error = [](StringRef key, const Twine &msg) {
    return LlamaConfigError{key.str(), (key + " = " + msg).str()};
  };
  auto range = [&](StringRef key, int64_t v,
                   int64_t max) -> std::optional<LlamaConfigError> {
    if (v < 1 || v > max)
      return error(key, formatv("{0} is out of range [1, {1}]", v, max));
    return std::nullopt;
  };
  if (auto e = range("dim", c.dim, kMaxWidth))
    return e;
  if (auto e = range("hidden_dim", c.hiddenDim, kMaxWidth))
    return e;
  if (auto e = range("n_layers", c.nLayers, kMaxLayers))
    return e;
  if (auto e = range("n_heads", c.nHeads, c.dim))
    return e;
  if (auto e = range("n_kv_heads", c.nKVHeads, c.nHeads))
    return e;
  if (auto e = range("vocab_size", c.vocabSize, kMaxVocab))
    return e;
  if (auto e = range("seq_len", c.seqLen, kMaxSeqLen))
    return e;
  if (c.dim % c.nHeads != 0)
    return error("n_heads",
                 formatv("{0} does not divide dim = {1}", c.nHeads, c.dim));
  if (c.nHeads % c.nKVHeads != 0)
    return error("n_kv_heads", formatv("{0} does not divide n_heads = {1}",
                                       c.nKVHeads, c.nHeads));
  if (c.headSize() % 2 != 0)
    return error("n_heads",
                 formatv("{0} gives an odd head size dim / n_heads = {1}; "
                         "rotary embeddings need pairs",
                         c.nHeads, c.headSize()));
  if (!(c.normEps > 0.0f) || !std::isfinite(c.normEps))
    return error("norm_eps",
                 formatv("{0} must be positive and finite", c.normEps));
  if (!(c.ropeTheta > 1.0f) || !std::isfinite(c.ropeTheta))
    return error("rope_theta",
                 formatv("{0} must be finite and greater than 1", c.ropeTheta));
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Weight scan
//===----------------------------------------------------------------------===//

static Error checkFinite(StringRef fileName, const LlamaTensor &t) {
  for (size_t i = 0, e = t.data.size(); i != e; ++i) {
    float v = t.data[i];
    if (std::isfinite(v))
      continue;
    return createStringError(
        formatv("{0}: tensor '{1}' at byte offset {2}: {3} weight at element "
                "{4}",
                fileName, t.sourceName, t.fileOffset,
                std::isnan(v) ? "NaN" : "Inf", i)
            .str());
  }
  return Error::success();
}

Error checkFiniteWeights(StringRef fileName, const LlamaWeights &w) {
  if (Error e = checkFinite(fileName, w.tokEmbeddings))
    return e;
  for (const LlamaLayerWeights &l : w.layers)
    for (const LlamaTensor *t : {&l.attentionNorm, &l.wq, &l.wk, &l.wv, &l.wo,
                                 &l.ffnNorm, &l.w1, &l.w2, &l.w3})
      if (Error e = checkFinite(fileName, *t))
        return e;
  if (Error e = checkFinite(fileName, w.norm))
    return e;
  if (w.output)
    if (Error e = checkFinite(fileName, *w.output))
      return e;
  return Error::success();
}

//===----------------------------------------------------------------------===//
// JSON config
//===----------------------------------------------------------------------===//

Expected<LlamaConfig> parseLlamaConfigJson(StringRef fileName, StringRef text,
                                           RopeStyle defaultRope) {
  auto fail = [&](const Twine &msg) {
    return createStringError(formatv("{0}: {1}", fileName, msg.str()).str());
  };
  Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fail("invalid JSON: " + toString(parsed.takeError()));
  const json::Object *obj = parsed->getAsObject();
  if (!obj)
    return fail("the config is not a JSON object");

  // Finds a key under its llama2.c name or its Hugging Face name.
  auto find = [&](StringRef key, StringRef hfKey) -> const json::Value * {
    if (const json::Value *v = obj->get(key))
      return v;
    return hfKey.empty() ? nullptr : obj->get(hfKey);
  };
  std::string error;
  auto getInt = [&](StringRef key, StringRef hfKey, int64_t &out,
                    bool required) {
    const json::Value *v = find(key, hfKey);
    if (!v) {
      if (required && error.empty())
        error = formatv("missing integer key '{0}'{1}", key,
                        hfKey.empty() ? "" : " (or '" + hfKey.str() + "')")
                    .str();
      return;
    }
    std::optional<int64_t> i = v->getAsInteger();
    if (!i) {
      if (error.empty())
        error = formatv("key '{0}' must be an integer", key).str();
      return;
    }
    out = *i;
  };
  auto getFloat = [&](StringRef key, StringRef hfKey, float &out) {
    const json::Value *v = find(key, hfKey);
    if (!v)
      return;
    std::optional<double> d = v->getAsNumber();
    if (!d) {
      if (error.empty())
        error = formatv("key '{0}' must be a number", key).str();
      return;
    }
    out = static_cast<float>(*d);
  };

  LlamaConfig c;
  c.rope = defaultRope;
  getInt("dim", "hidden_size", c.dim, true);
  getInt("hidden_dim", "intermediate_size", c.hiddenDim, true);
  getInt("n_layers", "num_hidden_layers", c.nLayers, true);
  getInt("n_heads", "num_attention_heads", c.nHeads, true);
  c.nKVHeads = c.nHeads;
  getInt("n_kv_heads", "num_key_value_heads", c.nKVHeads, false);
  getInt("vocab_size", "", c.vocabSize, true);
  getInt("seq_len", "max_position_embeddings", c.seqLen, true);
  getFloat("norm_eps", "rms_norm_eps", c.normEps);
  getFloat("rope_theta", "", c.ropeTheta);
  int64_t headDim = 0;
  getInt("head_dim", "", headDim, false);
  if (!error.empty())
    return fail(error);
  // Llama 3.x style frequency scaling would silently change the model.
  if (const json::Value *v = obj->get("rope_scaling"))
    if (v->kind() != json::Value::Null)
      return fail("key 'rope_scaling' is not supported (only plain rotary "
                  "embeddings are)");
  if (const json::Value *v = obj->get("rope")) {
    std::optional<StringRef> s = v->getAsString();
    if (s && *s == "interleaved")
      c.rope = RopeStyle::Interleaved;
    else if (s && *s == "half")
      c.rope = RopeStyle::Half;
    else
      return fail("key 'rope' must be \"interleaved\" or \"half\"");
  }
  if (std::optional<LlamaConfigError> bad = checkLlamaConfig(c))
    return fail(bad->message);
  if (headDim != 0 && headDim != c.headSize())
    return fail(formatv("head_dim = {0} differs from dim / n_heads = {1}; "
                        "such models are not supported",
                        headDim, c.headSize()));
  return c;
}

} // namespace matquant
