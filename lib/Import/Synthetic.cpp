//===- Synthetic.cpp - Deterministic random Llama weights --------*- C++ -*-===//
//
// Weights for speed runs at the shape of real models: every element is a
// hash of (seed, tensor index, element index), so generation is fast (no
// sequential generator state), reproducible and independent of thread count.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>
#include <thread>
#include <tuple>
#include <optional>
#include <cstring>
#include <cerrno>
#include <unistd.h>
#include <sys/mman.h>
#include <fcntl.h>

namespace matquant {

namespace {

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Fills `t` with uniform values of standard deviation `stddev` (or with
/// `constant` when stddev is 0), in parallel.
void fill(LlamaTensor &t, std::string name, llvm::SmallVector<int64_t> shape,
          uint64_t key, float stddev, float constant = 0) {
  t.name = name;
  t.sourceName = std::move(name);
  t.shape = std::move(shape);
  size_t n = 1;
  for (int64_t d : t.shape)
    n *= static_cast<size_t>(d);
  t.data.resize(n);
  if (stddev == 0) {
    std::fill(t.data.begin(), t.data.end(), constant);
    return;
  }
  // Uniform on [-a, a] has standard deviation a / sqrt(3).
  const float a = stddev * std::sqrt(3.0f);
  unsigned threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned th = 0; th < threads; ++th)
    pool.emplace_back([&, th] {
      size_t lo = n * th / threads, hi = n * (th + 1) / threads;
      for (size_t i = lo; i < hi; ++i) {
        uint64_t h = splitmix(key ^ splitmix(i));
        float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f); // [0,1)
        t.data[i] = a * (2.0f * u - 1.0f);
      }
    });
  for (auto &th : pool)
    th.join();
}

} // namespace

namespace {
/// Writes each finished tensor to a file and frees its floats; `map` then
/// maps the file and points every tensor into the mapping.
class Backing {
public:
  explicit Backing(llvm::StringRef path) : path(path.str()) {}
  ~Backing() {
    if (fd >= 0)
      ::close(fd);
  }
  llvm::Error open() {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
      return llvm::createStringError("cannot create " + path + ": " +
                                     std::strerror(errno));
    // Unlinked at once: the descriptor (and later the mapping) keeps the
    // data, and nothing is left behind however the process ends.
    ::unlink(path.c_str());
    return llvm::Error::success();
  }
  llvm::Error add(LlamaTensor &t) {
    size_t bytes = t.data.size() * sizeof(float);
    const char *p = reinterpret_cast<const char *>(t.data.data());
    for (size_t done = 0; done < bytes;) {
      ssize_t n = ::pwrite(fd, p + done, bytes - done, off_t(offset + done));
      if (n <= 0)
        return llvm::createStringError("cannot write " + path + ": " +
                                       std::strerror(errno));
      done += size_t(n);
    }
    tensors.push_back({&t, offset, t.data.size()});
    offset += (bytes + 63) / 64 * 64;
    std::vector<float>().swap(t.data);
    return llvm::Error::success();
  }
  llvm::Error map() {
    size_t size = std::max<size_t>(offset, 1);
    void *base = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
      return llvm::createStringError("cannot map " + path + ": " +
                                     std::strerror(errno));
    std::shared_ptr<const void> keep(
        base, [size](const void *p) { ::munmap(const_cast<void *>(p), size); });
    for (auto &[t, off, n] : tensors) {
      t->external = llvm::ArrayRef<float>(
          reinterpret_cast<const float *>(static_cast<const char *>(base) + off),
          n);
      t->keepAlive = keep;
    }
    return llvm::Error::success();
  }

private:
  std::string path;
  int fd = -1;
  size_t offset = 0;
  std::vector<std::tuple<LlamaTensor *, size_t, size_t>> tensors;
};
} // namespace

llvm::Expected<LlamaWeights>
makeSyntheticLlama(const LlamaConfig &c, uint64_t seed, bool sharedClassifier,
                   llvm::StringRef backingFile) {
  LlamaWeights w;
  w.config = c;
  std::optional<Backing> backing;
  if (!backingFile.empty()) {
    backing.emplace(backingFile);
    if (llvm::Error e = backing->open())
      return std::move(e);
  }
  // Tensors are written out as soon as they are made (the vector of layers
  // is sized first, so their addresses stay).
  auto done = [&](LlamaTensor &t) -> llvm::Error {
    return backing ? backing->add(t) : llvm::Error::success();
  };
  uint64_t tensor = 0;
  auto key = [&] { return splitmix(seed * 0x100000001b3ull + ++tensor); };
  const int64_t dim = c.dim, kv = c.kvDim(), hidden = c.hiddenDim;
  auto linear = [&](LlamaTensor &t, std::string name, int64_t out,
                    int64_t in) {
    fill(t, std::move(name), {out, in}, key(),
         1.0f / std::sqrt(static_cast<float>(in)));
    return done(t);
  };
  fill(w.tokEmbeddings, "tok_embeddings", {c.vocabSize, dim}, key(), 1.0f);
  if (llvm::Error e = done(w.tokEmbeddings))
    return std::move(e);
  w.layers.resize(c.nLayers);
  for (int64_t l = 0; l < c.nLayers; ++l) {
    LlamaLayerWeights &lw = w.layers[l];
    std::string p = llvm::formatv("layers.{0}.", l).str();
    fill(lw.attentionNorm, p + "attention_norm", {dim}, key(), 0, 1.0f);
    if (llvm::Error e = done(lw.attentionNorm))
      return std::move(e);
    for (auto [t, name, out, in] :
         {std::tuple{&lw.wq, "attention.wq", dim, dim},
          std::tuple{&lw.wk, "attention.wk", kv, dim},
          std::tuple{&lw.wv, "attention.wv", kv, dim},
          std::tuple{&lw.wo, "attention.wo", dim, dim}})
      if (llvm::Error e = linear(*t, p + name, out, in))
        return std::move(e);
    fill(lw.ffnNorm, p + "ffn_norm", {dim}, key(), 0, 1.0f);
    if (llvm::Error e = done(lw.ffnNorm))
      return std::move(e);
    for (auto [t, name, out, in] :
         {std::tuple{&lw.w1, "feed_forward.w1", hidden, dim},
          std::tuple{&lw.w2, "feed_forward.w2", dim, hidden},
          std::tuple{&lw.w3, "feed_forward.w3", hidden, dim}})
      if (llvm::Error e = linear(*t, p + name, out, in))
        return std::move(e);
  }
  fill(w.norm, "norm", {dim}, key(), 0, 1.0f);
  if (llvm::Error e = done(w.norm))
    return std::move(e);
  if (!sharedClassifier) {
    w.output.emplace();
    if (llvm::Error e = linear(*w.output, "output", c.vocabSize, dim))
      return std::move(e);
  }
  if (backing)
    if (llvm::Error e = backing->map())
      return std::move(e);
  return w;
}

LlamaWeights makeSyntheticLlama(const LlamaConfig &c, uint64_t seed,
                                bool sharedClassifier) {
  return llvm::cantFail(makeSyntheticLlama(c, seed, sharedClassifier, ""));
}

std::optional<LlamaConfig> syntheticPreset(llvm::StringRef name) {
  LlamaConfig c;
  if (name == "tinyllama-1.1b") {
    c.dim = 2048;
    c.hiddenDim = 5632;
    c.nLayers = 22;
    c.nHeads = 32;
    c.nKVHeads = 4;
    c.vocabSize = 32000;
    c.seqLen = 2048;
  } else if (name == "llama-3-8b") {
    c.dim = 4096;
    c.hiddenDim = 14336;
    c.nLayers = 32;
    c.nHeads = 32;
    c.nKVHeads = 8;
    c.vocabSize = 128256;
    c.seqLen = 8192;
    c.ropeTheta = 500000.0f;
  } else {
    return std::nullopt;
  }
  c.rope = RopeStyle::Half;
  return c;
}

llvm::Expected<LlamaConfig> syntheticConfig(llvm::StringRef spec) {
  std::optional<LlamaConfig> config = syntheticPreset(spec);
  if (!config) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        llvm::MemoryBuffer::getFile(spec, /*IsText=*/true);
    if (std::error_code ec = buffer.getError())
      return llvm::createStringError(
          "synthetic model '" + spec +
          "': neither a preset (tinyllama-1.1b, llama-3-8b) nor a readable "
          "JSON config: " + ec.message());
    llvm::Expected<LlamaConfig> parsed =
        parseLlamaConfigJson(spec, (*buffer)->getBuffer(), RopeStyle::Half);
    if (!parsed)
      return parsed.takeError();
    config = *parsed;
  }
  if (std::optional<LlamaConfigError> err = checkLlamaConfig(*config))
    return llvm::createStringError("synthetic model '" + spec + "': " +
                                   err->key + ": " + err->message);
  return *config;
}

} // namespace matquant
