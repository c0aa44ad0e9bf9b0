//===- llama-ref.cpp - Reference Llama forward pass in C++ ------*- C++ -*-===//
//-*-===//
//
// An independent reference for the matquant-import execution tests: its own
// checkpoint loaders (llama2.c and safetensors F32/F16/BF16) and a forward
// pass transcribed from karpathy/llama2.c's run.c, with no MLIR involved.
// It runs N greedy decode steps from token 1 and prints, per step,
// "<argmax>, <logits[0]>, ..., <logits[3]>" exactly as the importer's
// `--emit-driver` main does with the mlir-runner utilities (printI64,
// printComma, printF32 = "%g", printNewline).
//
// For safetensors the rotary embedding follows Hugging Face's rotate_half
// (pairs (i, i + head_size/2)), unless the config says "rope": "interleaved".
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "llama-ref: %s\n", msg.c_str());
  std::exit(1);
}

struct Config {
  int dim = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0, vocab = 0,
      seqLen = 0;
  float eps = 1e-5f, theta = 10000.0f;
  bool halfRope = false;
};

struct Model {
  Config p;
  // Row-major, stacked over layers as in run.c.
  std::vector<float> emb, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal,
      wcls;
};

std::vector<char> readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot open " + path);
  return std::vector<char>(std::istreambuf_iterator<char>(in),
                           std::istreambuf_iterator<char>());
}

float f32At(const char *p) {
  uint32_t u = uint32_t(uint8_t(p[0])) | uint32_t(uint8_t(p[1])) << 8 |
               uint32_t(uint8_t(p[2])) << 16 | uint32_t(uint8_t(p[3])) << 24;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

//===----------------------------------------------------------------------===//
// llama2.c
//===----------------------------------------------------------------------===//

Model loadLlama2c(const std::string &path) {
  std::vector<char> file = readFile(path);
  if (file.size() < 28)
    die("short header");
  Model m;
  int32_t h[7];
  std::memcpy(h, file.data(), 28);
  Config &p = m.p;
  p.dim = h[0];
  p.hidden = h[1];
  p.layers = h[2];
  p.heads = h[3];
  p.kvHeads = h[4];
  p.vocab = std::abs(h[5]);
  p.seqLen = h[6];
  bool shared = h[5] > 0;
  size_t offset = 28;
  auto take = [&](std::vector<float> &v, size_t n) {
    if (offset + 4 * n > file.size())
      die("truncated checkpoint");
    v.resize(n);
    for (size_t i = 0; i < n; ++i)
      v[i] = f32At(file.data() + offset + 4 * i);
    offset += 4 * n;
  };
  size_t d = p.dim, L = p.layers, hd = p.hidden;
  size_t kvDim = d / p.heads * p.kvHeads;
  take(m.emb, p.vocab * d);
  take(m.rmsAtt, L * d);
  take(m.wq, L * d * d);
  take(m.wk, L * kvDim * d);
  take(m.wv, L * kvDim * d);
  take(m.wo, L * d * d);
  take(m.rmsFfn, L * d);
  take(m.w1, L * hd * d);
  take(m.w2, L * d * hd);
  take(m.w3, L * hd * d);
  take(m.rmsFinal, d);
  if (shared) {
    m.wcls = m.emb;
  } else {
    offset += 4 * size_t(p.seqLen) * (d / p.heads); // freq_cis_real + imag
    take(m.wcls, p.vocab * d);
  }
  return m;
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

float halfBits(uint16_t h) {
  int sign = h >> 15, e = (h >> 10) & 31, f = h & 1023;
  float v;
  if (e == 0)
    v = std::ldexp(float(f), -24);
  else if (e == 31)
    v = f ? NAN : INFINITY;
  else
    v = std::ldexp(float(f + 1024), e - 25);
  return sign ? -v : v;
}

Model loadSafetensors(const std::string &path, const std::string &configPath) {
  Model m;
  Config &p = m.p;
  std::vector<char> cfgText = readFile(configPath);
  auto cfg = llvm::json::parse(llvm::StringRef(cfgText.data(), cfgText.size()));
  if (!cfg) {
    llvm::consumeError(cfg.takeError());
    die("bad config JSON");
  }
  const llvm::json::Object *o = cfg->getAsObject();
  auto num = [&](const char *a, const char *b, double dflt) -> double {
    for (const char *k : {a, b})
      if (k)
        if (auto v = o->getNumber(k))
          return *v;
    if (dflt < 0)
      die(std::string("config lacks ") + a);
    return dflt;
  };
  p.dim = int(num("dim", "hidden_size", -1));
  p.hidden = int(num("hidden_dim", "intermediate_size", -1));
  p.layers = int(num("n_layers", "num_hidden_layers", -1));
  p.heads = int(num("n_heads", "num_attention_heads", -1));
  p.kvHeads = int(num("n_kv_heads", "num_key_value_heads", p.heads));
  p.vocab = int(num("vocab_size", nullptr, -1));
  p.seqLen = int(num("seq_len", "max_position_embeddings", -1));
  p.eps = float(num("norm_eps", "rms_norm_eps", 1e-5));
  p.theta = float(num("rope_theta", nullptr, 10000.0));
  p.halfRope = true;
  if (auto r = o->getString("rope"))
    p.halfRope = *r != "interleaved";

  std::vector<char> file = readFile(path);
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  auto header = llvm::json::parse(llvm::StringRef(file.data() + 8, n));
  if (!header) {
    llvm::consumeError(header.takeError());
    die("bad safetensors header");
  }
  const llvm::json::Object *entries = header->getAsObject();
  const char *base = file.data() + 8 + n;
  // Appends tensor `name` (converted to f32) to `out`; false if absent.
  auto append = [&](std::vector<float> &out, const std::string &name,
                    bool optional = false) {
    const llvm::json::Object *t = entries->getObject(name);
    if (!t) {
      if (optional)
        return false;
      die("missing tensor " + name);
    }
    std::string dtype = t->getString("dtype")->str();
    const llvm::json::Array &off = *t->getArray("data_offsets");
    uint64_t b = *off[0].getAsInteger(), e = *off[1].getAsInteger();
    const char *q = base + b;
    if (dtype == "F32") {
      for (uint64_t i = 0; i < (e - b) / 4; ++i)
        out.push_back(f32At(q + 4 * i));
    } else if (dtype == "F16" || dtype == "BF16") {
      for (uint64_t i = 0; i < (e - b) / 2; ++i) {
        uint16_t h =
            uint16_t(uint8_t(q[2 * i])) | uint16_t(uint8_t(q[2 * i + 1])) << 8;
        if (dtype == "F16") {
          out.push_back(halfBits(h));
        } else {
          uint32_t u = uint32_t(h) << 16;
          float f;
          std::memcpy(&f, &u, 4);
          out.push_back(f);
        }
      }
    } else {
      die("unsupported dtype " + dtype);
    }
    return true;
  };
  append(m.emb, "model.embed_tokens.weight");
  for (int l = 0; l < p.layers; ++l) {
    std::string pre = "model.layers." + std::to_string(l) + ".";
    append(m.rmsAtt, pre + "input_layernorm.weight");
    append(m.wq, pre + "self_attn.q_proj.weight");
    append(m.wk, pre + "self_attn.k_proj.weight");
    append(m.wv, pre + "self_attn.v_proj.weight");
    append(m.wo, pre + "self_attn.o_proj.weight");
    append(m.rmsFfn, pre + "post_attention_layernorm.weight");
    append(m.w1, pre + "mlp.gate_proj.weight");
    append(m.w2, pre + "mlp.down_proj.weight");
    append(m.w3, pre + "mlp.up_proj.weight");
  }
  append(m.rmsFinal, "model.norm.weight");
  if (!append(m.wcls, "lm_head.weight", /*optional=*/true))
    m.wcls = m.emb;
  return m;
}

//===----------------------------------------------------------------------===//
// Forward pass (run.c)
//===----------------------------------------------------------------------===//

void rmsnorm(float *o, const float *x, const float *w, int size, float eps) {
  float ss = 0.0f;
  for (int j = 0; j < size; j++)
    ss += x[j] * x[j];
  ss /= size;
  ss += eps;
  ss = 1.0f / sqrtf(ss);
  for (int j = 0; j < size; j++)
    o[j] = w[j] * (ss * x[j]);
}

void softmax(float *x, int size) {
  float maxVal = x[0];
  for (int i = 1; i < size; i++)
    if (x[i] > maxVal)
      maxVal = x[i];
  float sum = 0.0f;
  for (int i = 0; i < size; i++) {
    x[i] = expf(x[i] - maxVal);
    sum += x[i];
  }
  for (int i = 0; i < size; i++)
    x[i] /= sum;
}

// W (d,n) @ x (n,) -> xout (d,)
void matmul(float *xout, const float *x, const float *w, int n, int d) {
  for (int i = 0; i < d; i++) {
    float val = 0.0f;
    for (int j = 0; j < n; j++)
      val += w[i * n + j] * x[j];
    xout[i] = val;
  }
}

struct State {
  std::vector<float> x, xb, xb2, hb, hb2, q, k, v, att, logits, keyCache,
      valueCache;
};

const float *forward(const Model &m, State &s, int token, int pos) {
  const Config &p = m.p;
  int dim = p.dim, kvDim = p.dim * p.kvHeads / p.heads;
  int kvMul = p.heads / p.kvHeads, hidden = p.hidden, hs = dim / p.heads;
  float *x = s.x.data();
  std::memcpy(x, &m.emb[size_t(token) * dim], dim * sizeof(float));

  for (int l = 0; l < p.layers; l++) {
    rmsnorm(s.xb.data(), x, &m.rmsAtt[size_t(l) * dim], dim, p.eps);
    size_t loff = size_t(l) * p.seqLen * kvDim;
    float *k = &s.keyCache[loff + size_t(pos) * kvDim];
    float *v = &s.valueCache[loff + size_t(pos) * kvDim];
    matmul(s.q.data(), s.xb.data(), &m.wq[size_t(l) * dim * dim], dim, dim);
    matmul(k, s.xb.data(), &m.wk[size_t(l) * dim * kvDim], dim, kvDim);
    matmul(v, s.xb.data(), &m.wv[size_t(l) * dim * kvDim], dim, kvDim);

    if (!p.halfRope) {
      // run.c: pairs (i, i+1).
      for (int i = 0; i < dim; i += 2) {
        int headDim = i % hs;
        float freq = 1.0f / powf(p.theta, headDim / (float)hs);
        float val = pos * freq;
        float fcr = cosf(val), fci = sinf(val);
        int rotn = i < kvDim ? 2 : 1;
        for (int r = 0; r < rotn; r++) {
          float *vec = r == 0 ? s.q.data() : k;
          float v0 = vec[i], v1 = vec[i + 1];
          vec[i] = v0 * fcr - v1 * fci;
          vec[i + 1] = v0 * fci + v1 * fcr;
        }
      }
    } else {
      // Hugging Face rotate_half: pairs (i, i + hs/2) within each head.
      for (int h = 0; h < p.heads; h++) {
        for (int i = 0; i < hs / 2; i++) {
          float freq = 1.0f / powf(p.theta, (2 * i) / (float)hs);
          float val = pos * freq;
          float fcr = cosf(val), fci = sinf(val);
          int rotn = h < p.kvHeads ? 2 : 1;
          for (int r = 0; r < rotn; r++) {
            float *vec = (r == 0 ? s.q.data() : k) + h * hs;
            float v0 = vec[i], v1 = vec[i + hs / 2];
            vec[i] = v0 * fcr - v1 * fci;
            vec[i + hs / 2] = v1 * fcr + v0 * fci;
          }
        }
      }
    }

    for (int h = 0; h < p.heads; h++) {
      float *q = &s.q[size_t(h) * hs];
      float *att = &s.att[size_t(h) * p.seqLen];
      for (int t = 0; t <= pos; t++) {
        const float *kt =
            &s.keyCache[loff + size_t(t) * kvDim + (h / kvMul) * hs];
        float score = 0.0f;
        for (int i = 0; i < hs; i++)
          score += q[i] * kt[i];
        score /= sqrtf(hs);
        att[t] = score;
      }
      softmax(att, pos + 1);
      float *xb = &s.xb[size_t(h) * hs];
      std::memset(xb, 0, hs * sizeof(float));
      for (int t = 0; t <= pos; t++) {
        const float *vt =
            &s.valueCache[loff + size_t(t) * kvDim + (h / kvMul) * hs];
        float a = att[t];
        for (int i = 0; i < hs; i++)
          xb[i] += a * vt[i];
      }
    }
    matmul(s.xb2.data(), s.xb.data(), &m.wo[size_t(l) * dim * dim], dim, dim);
    for (int i = 0; i < dim; i++)
      x[i] += s.xb2[i];

    rmsnorm(s.xb.data(), x, &m.rmsFfn[size_t(l) * dim], dim, p.eps);
    matmul(s.hb.data(), s.xb.data(), &m.w1[size_t(l) * dim * hidden], dim,
           hidden);
    matmul(s.hb2.data(), s.xb.data(), &m.w3[size_t(l) * dim * hidden], dim,
           hidden);
    for (int i = 0; i < hidden; i++) {
      float val = s.hb[i];
      val *= (1.0f / (1.0f + expf(-val)));
      val *= s.hb2[i];
      s.hb[i] = val;
    }
    matmul(s.xb.data(), s.hb.data(), &m.w2[size_t(l) * dim * hidden], hidden,
           dim);
    for (int i = 0; i < dim; i++)
      x[i] += s.xb[i];
  }
  rmsnorm(x, x, m.rmsFinal.data(), dim, p.eps);
  matmul(s.logits.data(), x, m.wcls.data(), p.dim, p.vocab);
  return s.logits.data();
}

} // namespace

int main(int argc, char **argv) {
  std::string path, format, config;
  int steps = 0, maxSeqLen = 0, printLogits = 4;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string &flag) -> const char * {
      if (a.rfind(flag + "=", 0) == 0)
        return argv[i] + flag.size() + 1;
      if (a == flag && i + 1 < argc)
        return argv[++i];
      return nullptr;
    };
    if (const char *v = value("--steps"))
      steps = std::atoi(v);
    else if (const char *v = value("--format"))
      format = v;
    else if (const char *v = value("--config"))
      config = v;
    else if (const char *v = value("--max-seq-len"))
      maxSeqLen = std::atoi(v);
    else if (const char *v = value("--logits"))
      printLogits = std::atoi(v);
    else if (a[0] != '-')
      path = a;
    else
      die("unknown option " + a);
  }
  if (path.empty() || steps <= 0)
    die("usage: llama-ref [--format=llama2c|safetensors] [--config FILE] "
        "[--max-seq-len N] [--logits N] --steps N CHECKPOINT");
  if (format.empty())
    format = path.size() > 12 &&
                     path.compare(path.size() - 12, 12, ".safetensors") == 0
                 ? "safetensors"
                 : "llama2c";
  Model m;
  if (format == "llama2c") {
    m = loadLlama2c(path);
  } else {
    if (config.empty()) {
      size_t slash = path.find_last_of('/');
      config = (slash == std::string::npos ? std::string()
                                           : path.substr(0, slash + 1)) +
               "config.json";
    }
    m = loadSafetensors(path, config);
  }
  // The cache length does not change the results; it only bounds `steps`.
  if (maxSeqLen > 0 && maxSeqLen < m.p.seqLen)
    m.p.seqLen = maxSeqLen;
  if (steps > m.p.seqLen)
    die("more steps than positions");

  const Config &p = m.p;
  int kvDim = p.dim * p.kvHeads / p.heads;
  State s;
  s.x.resize(p.dim);
  s.xb.resize(p.dim);
  s.xb2.resize(p.dim);
  s.hb.resize(p.hidden);
  s.hb2.resize(p.hidden);
  s.q.resize(p.dim);
  s.att.resize(size_t(p.heads) * p.seqLen);
  s.logits.resize(p.vocab);
  s.keyCache.assign(size_t(p.layers) * p.seqLen * kvDim, 0.0f);
  s.valueCache.assign(size_t(p.layers) * p.seqLen * kvDim, 0.0f);

  int token = 1;
  for (int pos = 0; pos < steps; ++pos) {
    const float *logits = forward(m, s, token, pos);
    int next = 0;
    float best = -INFINITY;
    for (int i = 0; i < p.vocab; ++i)
      if (logits[i] > best) {
        best = logits[i];
        next = i;
      }
    std::printf("%d", next);
    for (int j = 0; j < printLogits && j < p.vocab; ++j)
      std::printf(", %.7g", logits[j]);
    std::printf("\n");
    token = next;
  }
  return 0;
}
