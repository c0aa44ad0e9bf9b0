//===- matquant-gpu-test.cpp - Check generated GPU kernels -------*- C++ -*-===//
//
// Runs every kernel of a PTX kernel library (matquant-gpu-compile) on fresh
// random problems and compares it with the numerics library's float64
// reference (numerics::referenceMatmul on the same quantized weights and
// the activations rounded to the kernel's activation type):
//
// - weights: random rows with varied scale and offset, quantized by
//   numerics::quantize at c bits, sliced to r (numerics::sliceAll) and
//   packed by numerics::packInterleaved with the GPU block;
// - shapes: rows 1, 37 and 130 (not multiples of a warp's rows), and
//   reduction lengths that are whole blocks and ragged ones (per channel)
//   or one and three groups (grouped); batch rows 1, the kernel's tile, and
//   two tiles and a partial one;
// - the result buffer and a guard after it are poisoned (all bytes 0xFF,
//   a NaN in every activation type) before each launch: an unwritten result
//   fails the comparison, a write past the end fails the guard check;
// - error: for every result, |y - ref| / sum_k |x_k w_hat_k| (the size of
//   the products it adds up, the measure the CPU kernel checks use too: a
//   dot product that cancels to almost nothing is not held to a relative
//   error its float32 sum cannot have), at most --tol-f32 (1e-5),
//   --tol-f16 (1e-3) or --tol-bf16 (8e-3: bf16 results carry 8
//   significant bits, a rounding error of up to 2^-9 of the value).
//
// Plain C++ over the runtime: no MLIR. Exit 0 when every case passes, 1 on
// a failed case, 2 when the GPU or the library cannot be used.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"
#include "matquant/Runtime/GpuRuntime.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace matquant;
using namespace matquant::gpurt;

namespace {

struct Args {
  std::string ptx;
  std::string filter;
  unsigned seed = 1;
  double tolF32 = 1e-5, tolF16 = 1e-3, tolBF16 = 8e-3;
  bool verbose = false;
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "matquant-gpu-test: error: %s\n"
               "usage: matquant-gpu-test --ptx FILE [--filter SUBSTR] "
               "[--seed N] [--tol-f32 X] [--tol-f16 X] [--tol-bf16 X] [-v]\n",
               why);
  std::exit(2);
}

double toNumber(const std::string &flag, const std::string &s) {
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end || !(v >= 0))
    usage((flag + ": not a non-negative number: '" + s + "'").c_str());
  return v;
}

Args parseArgs(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage(("missing value after " + s).c_str());
      return argv[++i];
    };
    if (s == "--ptx")
      a.ptx = value();
    else if (s == "--filter")
      a.filter = value();
    else if (s == "--seed")
      a.seed = unsigned(toNumber(s, value()));
    else if (s == "--tol-f32")
      a.tolF32 = toNumber(s, value());
    else if (s == "--tol-f16")
      a.tolF16 = toNumber(s, value());
    else if (s == "--tol-bf16")
      a.tolBF16 = toNumber(s, value());
    else if (s == "-v")
      a.verbose = true;
    else
      usage(("unknown argument " + s).c_str());
  }
  if (a.ptx.empty())
    usage("--ptx is required");
  return a;
}

struct Case {
  int64_t n, k, nb;
};

std::vector<Case> casesFor(const GemvKernelSpec &s) {
  std::vector<int64_t> ks;
  int64_t e = s.mma ? s.kTile() : s.block();
  if (s.groupSize == 0)
    ks = {e, 3 * e + 8, 1000, 2048 + 5 * 8 + 4};
  else
    ks = {s.groupSize, 3 * s.groupSize};
  // One row; one whole tile; two tiles and a partial one.
  std::vector<int64_t> nbs = {1, 2 * int64_t(s.batchTile) + 1};
  if (s.batchTile > 1)
    nbs.push_back(s.batchTile);
  std::vector<Case> out;
  for (int64_t n : {int64_t(1), int64_t(37), int64_t(130)})
    for (int64_t k : ks)
      for (int64_t nb : nbs)
        out.push_back({n, k, nb});
  return out;
}

struct DeviceBuffers {
  CudaContext &ctx;
  std::vector<DevicePtr> ptrs;
  DevicePtr make(size_t bytes) {
    DevicePtr p = 0;
    ctx.alloc(bytes, p);
    ptrs.push_back(p);
    return p;
  }
  ~DeviceBuffers() {
    for (DevicePtr p : ptrs)
      ctx.free(p);
  }
};

/// Runs one case; returns the relative error (NaN when something failed),
/// or -1 when the device failed (ctx.error()).
double runCase(CudaContext &ctx, KernelHandle kernel,
               const GemvKernelSpec &spec, const Case &c, std::mt19937 &rng,
               std::string &why) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  // Weights: each row with its own scale and offset, a few outliers.
  std::vector<float> w(size_t(c.n * c.k));
  for (int64_t i = 0; i < c.n; ++i) {
    float scale = std::exp(uni(rng)), shift = 0.3f * uni(rng);
    for (int64_t j = 0; j < c.k; ++j)
      w[i * c.k + j] = shift + scale * normal(rng) *
                                   ((rng() % 97) == 0 ? 4.0f : 1.0f);
  }
  numerics::QuantOptions qo;
  qo.bits = spec.storageBits;
  qo.axis = 0;
  qo.groupSize = spec.groupSize;
  numerics::QuantizedMatrix q = numerics::quantize(w.data(), c.n, c.k, qo);
  std::vector<uint8_t> idx = numerics::sliceAll(q, spec.bits, spec.mode);
  // Plane kernels read the stored c-bit model and slice it themselves.
  std::vector<uint8_t> packed =
      spec.packWeights(spec.planes ? q.codes.data() : idx.data(), c.n, c.k);
  // Activations, rounded to the kernel's type.
  int64_t ldx = (c.k + 7) / 8 * 8;
  std::vector<float> x(size_t(c.nb * c.k));
  for (float &v : x)
    v = roundToAct(normal(rng) + 0.25f, spec.act);
  std::vector<double> ref =
      numerics::referenceMatmul(x.data(), c.nb, q, spec.bits, spec.mode);
  // sum_k |x_k w_hat_k| of every result.
  std::vector<float> wHat = numerics::dequantize(q, spec.bits, spec.mode);
  std::vector<double> mag(size_t(c.nb * c.n), 0.0);
  for (int64_t bb = 0; bb < c.nb; ++bb)
    for (int64_t i = 0; i < c.n; ++i)
      for (int64_t j = 0; j < c.k; ++j)
        mag[bb * c.n + i] +=
            std::fabs(double(x[bb * c.k + j]) * double(wHat[i * c.k + j]));
  unsigned eb = actTypeBytes(spec.act);
  std::vector<uint8_t> xDev(size_t(c.nb * ldx) * eb, 0);
  for (int64_t bb = 0; bb < c.nb; ++bb)
    for (int64_t j = 0; j < c.k; ++j) {
      float v = x[bb * c.k + j];
      uint8_t *dst = &xDev[size_t(bb * ldx + j) * eb];
      if (spec.act == ActType::F32) {
        std::memcpy(dst, &v, 4);
      } else {
        uint16_t h = spec.act == ActType::F16 ? floatToHalf(v) : floatToBF16(v);
        std::memcpy(dst, &h, 2);
      }
    }
  // Garbage in the padding past K must not matter.
  for (int64_t bb = 0; bb < c.nb; ++bb)
    for (int64_t j = c.k; j < ldx; ++j)
      std::memset(&xDev[size_t(bb * ldx + j) * eb], 0x7F, eb);

  const int64_t guard = 64;
  unsigned yb = actTypeBytes(spec.outType());
  DeviceBuffers bufs{ctx, {}};
  GemvOperands o;
  o.n = c.n;
  o.k = c.k;
  o.nb = c.nb;
  o.ldx = ldx;
  o.weightBytes = packed.size();
  std::vector<float> alpha = spec.packScales(q.alpha.data(), c.n, c.k);
  std::vector<float> offset = spec.packScales(q.offset.data(), c.n, c.k);
  o.scaleCount = alpha.size();
  o.xCount = size_t(c.nb * ldx);
  o.yCount = size_t(c.nb * c.n);
  o.weights = bufs.make(packed.size());
  o.scales = bufs.make(alpha.size() * 4);
  o.offsets = bufs.make(offset.size() * 4);
  o.x = bufs.make(xDev.size());
  size_t yBytes = size_t(c.nb * c.n + guard) * yb;
  o.y = bufs.make(yBytes);
  ctx.copyToDevice(o.weights, packed.data(), packed.size());
  ctx.copyToDevice(o.scales, alpha.data(), alpha.size() * 4);
  ctx.copyToDevice(o.offsets, offset.data(), offset.size() * 4);
  ctx.copyToDevice(o.x, xDev.data(), xDev.size());
  ctx.fill(o.y, 0xFF, yBytes);
  launchGemv(ctx, kernel, spec, o);
  ctx.synchronize();
  std::vector<uint8_t> yHost(yBytes);
  ctx.copyToHost(yHost.data(), o.y, yBytes);
  if (!ctx.ok())
    return -1;
  for (size_t i = size_t(c.nb * c.n) * yb; i < yBytes; ++i)
    if (yHost[i] != 0xFF) {
      why = "write past the end of the result";
      return NAN;
    }
  double maxErr = 0;
  for (int64_t i = 0; i < c.nb * c.n; ++i) {
    float v;
    if (spec.outType() == ActType::F32) {
      std::memcpy(&v, &yHost[i * 4], 4);
    } else {
      uint16_t h;
      std::memcpy(&h, &yHost[i * 2], 2);
      v = spec.act == ActType::F16 ? halfToFloat(h) : bf16ToFloat(h);
    }
    if (!std::isfinite(v)) {
      why = "result " + std::to_string(i) + " not written (or not finite)";
      return NAN;
    }
    maxErr = std::max(maxErr,
                      std::fabs(double(v) - ref[i]) / std::max(mag[i], 1e-30));
  }
  return maxErr;
}

} // namespace

int main(int argc, char **argv) {
  Args args = parseArgs(argc, argv);
  std::string error;
  std::unique_ptr<CudaContext> ctx = CudaContext::create(error);
  if (!ctx) {
    std::fprintf(stderr, "matquant-gpu-test: error: %s\n", error.c_str());
    return 2;
  }
  KernelLibrary lib;
  if (!lib.loadFiles(*ctx, args.ptx, error)) {
    std::fprintf(stderr, "matquant-gpu-test: error: %s\n", error.c_str());
    return 2;
  }
  std::printf("device: %s, %d multiprocessors; %zu kernels in %s\n",
              ctx->deviceName().c_str(), ctx->multiprocessorCount(),
              lib.size(), args.ptx.c_str());
  std::mt19937 rng(args.seed);
  int failed = 0, passed = 0;
  for (const GemvKernelSpec &spec : lib.specs()) {
    if (!args.filter.empty() &&
        spec.name().find(args.filter) == std::string::npos)
      continue;
    KernelHandle kernel;
    if (!ctx->getKernel(spec.name(), kernel))
      break;
    double tol = spec.act == ActType::F32   ? args.tolF32
                 : spec.act == ActType::F16 ? args.tolF16
                                            : args.tolBF16;
    double worst = 0;
    std::string bad;
    for (const Case &c : casesFor(spec)) {
      std::string why;
      double err = runCase(*ctx, kernel, spec, c, rng, why);
      if (err < 0) {
        std::fprintf(stderr, "matquant-gpu-test: error: %s: %s\n",
                     spec.name().c_str(), ctx->error().c_str());
        return 2;
      }
      char where[96];
      std::snprintf(where, sizeof where, "n=%lld k=%lld nb=%lld",
                    (long long)c.n, (long long)c.k, (long long)c.nb);
      if (std::isnan(err) || err > tol) {
        if (bad.empty())
          bad = std::string(where) + ": " +
                (why.empty() ? "error " + std::to_string(err) : why);
        worst = std::isnan(err) ? NAN : std::max(worst, err);
      } else if (!std::isnan(worst)) {
        worst = std::max(worst, err);
      }
      if (args.verbose)
        std::printf("  %s %s err=%.3g\n", spec.name().c_str(), where, err);
    }
    if (bad.empty()) {
      ++passed;
      std::printf("PASS %s max rel err %.3g (tol %.0e)\n", spec.name().c_str(),
                  worst, tol);
    } else {
      ++failed;
      std::printf("FAIL %s %s\n", spec.name().c_str(), bad.c_str());
    }
  }
  std::printf("%d kernels passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
