//===- matquant-gpu-bench.cpp - GPU weight-only GEMV/GEMM benchmark -*- C++ -*-===//
//
// Times matquant's generated kernels (a PTX library from
// matquant-gpu-compile) against cuBLAS fp16 GEMV / GEMM (libcublas loaded
// with dlopen) on the same shapes, in one run, next to the device's copy
// bandwidth (a device-to-device copy, counting bytes read and written).
//
// Weight buffers rotate: each measurement cycles through enough copies of
// the weights (--rotate-mib in all, at least 2) that the L2 cache cannot
// serve them. A time is the median of 5 runs of back-to-back launches
// timed with CUDA events. Weight bytes count everything a kernel must read
// of the weights: packed indices plus scales and offsets (fp16 for cuBLAS).
//
// The kernel of each point is the runtime's choice (KernelLibrary::choose:
// batch tile and rows per warp from the problem and the SM count); with
// --tune every compiled variant with a batch tile up to the batch is timed
// and the fastest is reported (the kernel column names it).
//
// Output: a table, and with --json FILE a list of records {shape, batch,
// width, mode, group, time_us, weight_gbps, pct_of_bandwidth,
// speedup_vs_baseline, kernel} plus copy_bandwidth_gbps and device.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"
#include "matquant/Runtime/GpuRuntime.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace matquant;
using namespace matquant::gpurt;

namespace {

[[noreturn]] void die(const std::string &why) {
  std::fprintf(stderr, "matquant-gpu-bench: error: %s\n", why.c_str());
  std::exit(1);
}

std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

int64_t toInt(const std::string &s, const char *what) {
  char *end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end || v < 0)
    die(std::string("--") + what + ": not a number: '" + s + "'");
  return v;
}

struct Args {
  std::string ptx, json, cublasPath;
  std::vector<std::pair<int64_t, int64_t>> shapes = {
      {4096, 4096}, {8192, 8192}, {14336, 4096}, {4096, 14336}};
  std::vector<int64_t> batches = {1, 4, 16};
  std::vector<std::string> widths = {"8", "4", "3", "2", "2ep"};
  int64_t group = 128;
  ActType act = ActType::F16;
  int64_t rotateMiB = 1024;
  bool noCublas = false;
  bool tune = false;
  bool tuneVerbose = false; ///< print every variant timed
};

Args parseArgs(int argc, char **argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        die("missing value after " + s);
      return argv[++i];
    };
    if (s == "--ptx") {
      a.ptx = value();
    } else if (s == "--json") {
      a.json = value();
    } else if (s == "--cublas") {
      a.cublasPath = value();
    } else if (s == "--no-cublas") {
      a.noCublas = true;
    } else if (s == "--tune") {
      a.tune = true;
    } else if (s == "--tune-verbose") {
      a.tune = a.tuneVerbose = true;
    } else if (s == "--shapes") {
      a.shapes.clear();
      for (const std::string &sh : split(value(), ',')) {
        std::vector<std::string> nk = split(sh, 'x');
        if (nk.size() != 2)
          die("--shapes: expected NxK, got '" + sh + "'");
        a.shapes.push_back({toInt(nk[0], "shapes"), toInt(nk[1], "shapes")});
      }
    } else if (s == "--batches") {
      a.batches.clear();
      for (const std::string &b : split(value(), ','))
        a.batches.push_back(toInt(b, "batches"));
    } else if (s == "--widths") {
      a.widths = split(value(), ',');
    } else if (s == "--group") {
      a.group = toInt(value(), "group");
    } else if (s == "--act") {
      if (!parseActType(value(), a.act))
        die("--act must be f32, f16 or bf16");
    } else if (s == "--rotate-mib") {
      a.rotateMiB = toInt(value(), "rotate-mib");
    } else {
      die("unknown argument " + s +
          "\nusage: matquant-gpu-bench --ptx FILE [--shapes NxK,...] "
          "[--batches 1,4,16] [--widths 8,4,3,2,2ep] [--group 128] "
          "[--act f16] [--json FILE] [--cublas libcublas.so] [--no-cublas] "
          "[--rotate-mib 1024] [--tune] [--tune-verbose]");
    }
  }
  if (a.ptx.empty())
    die("--ptx is required");
  return a;
}

/// cuBLAS through dlopen: the handle and cublasGemmEx.
struct Cublas {
  void *lib = nullptr, *handle = nullptr;
  int (*create)(void **) = nullptr;
  int (*destroy)(void *) = nullptr;
  int (*gemmEx)(void *, int, int, int, int, int, const void *, const void *,
                int, int, const void *, int, int, const void *, void *, int,
                int, int, int) = nullptr;
  std::string error;

  bool load(const std::string &path) {
    std::vector<std::string> tries;
    if (!path.empty())
      tries.push_back(path);
    if (const char *env = std::getenv("MATQUANT_CUBLAS"))
      tries.push_back(env);
    for (const char *n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so",
                          "/usr/local/cuda/lib64/libcublas.so"})
      tries.push_back(n);
    for (const std::string &t : tries)
      if ((lib = dlopen(t.c_str(), RTLD_NOW | RTLD_GLOBAL)))
        break;
    if (!lib) {
      error = "cannot dlopen libcublas (tried --cublas, $MATQUANT_CUBLAS, "
              "libcublas.so.13/.12)";
      return false;
    }
    create = reinterpret_cast<decltype(create)>(dlsym(lib, "cublasCreate_v2"));
    destroy =
        reinterpret_cast<decltype(destroy)>(dlsym(lib, "cublasDestroy_v2"));
    gemmEx = reinterpret_cast<decltype(gemmEx)>(dlsym(lib, "cublasGemmEx"));
    if (!create || !destroy || !gemmEx) {
      error = "libcublas lacks cublasCreate_v2 / cublasGemmEx";
      return false;
    }
    int r = create(&handle);
    if (r != 0) {
      error = "cublasCreate_v2 failed: status " + std::to_string(r);
      return false;
    }
    return true;
  }

  /// y[b, n] = x[b, :] . W[n, :] in fp16 with fp32 accumulation: column-
  /// major C (N x B) = op(A)^T B with A the K x N column-major view of W.
  bool gemm(DevicePtr w, DevicePtr x, DevicePtr y, int n, int k, int batch,
            std::string &why) {
    const float one = 1.0f, zero = 0.0f;
    constexpr int opN = 0, opT = 1, r16f = 2, compute32f = 68,
                  gemmDefault = -1;
    int r = gemmEx(handle, opT, opN, n, batch, k, &one,
                   reinterpret_cast<void *>(w), r16f, k,
                   reinterpret_cast<void *>(x), r16f, k, &zero,
                   reinterpret_cast<void *>(y), r16f, n, compute32f,
                   gemmDefault);
    if (r != 0)
      why = "cublasGemmEx failed: status " + std::to_string(r);
    return r == 0;
  }
};

struct Record {
  std::string shape, width, mode, kernel;
  int64_t batch, group;
  double timeUs, weightGbps, pct, speedup;
  int64_t bytesRead = 0; ///< weight bytes (indices, scales, offsets) a call reads
};

/// Median over 5 runs of the mean time per call of `launch(i)`, in us.
template <typename Fn>
double timeIt(CudaContext &ctx, int rotation, Fn launch) {
  EventHandle start, stop;
  if (!ctx.createEvent(start) || !ctx.createEvent(stop))
    die(ctx.error());
  for (int i = 0; i < std::max(rotation, 3); ++i)
    launch(i % rotation);
  // Calibrate to about 20 ms per run.
  ctx.record(start);
  for (int i = 0; i < 20; ++i)
    launch(i % rotation);
  ctx.record(stop);
  float ms = 0;
  ctx.elapsedMs(start, stop, ms);
  int iters = int(std::clamp(20.0 / std::max(ms / 20.0, 1e-4), 50.0, 5000.0));
  std::vector<double> runs;
  for (int run = 0; run < 5; ++run) {
    ctx.record(start);
    for (int i = 0; i < iters; ++i)
      launch(i % rotation);
    ctx.record(stop);
    ctx.elapsedMs(start, stop, ms);
    runs.push_back(1000.0 * ms / iters);
  }
  ctx.destroyEvent(start);
  ctx.destroyEvent(stop);
  if (!ctx.ok())
    die(ctx.error());
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

std::string jsonEscape(const std::string &s) {
  std::string out;
  for (char c : s)
    out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out;
}

} // namespace

int main(int argc, char **argv) {
  Args args = parseArgs(argc, argv);
  std::string error;
  std::unique_ptr<CudaContext> ctx = CudaContext::create(error);
  if (!ctx)
    die(error);
  KernelLibrary lib;
  if (!lib.loadFiles(*ctx, args.ptx, error))
    die(error);
  int sms = ctx->multiprocessorCount();
  std::printf("device: %s (sm_%d%d), %d multiprocessors; %zu kernels\n",
              ctx->deviceName().c_str(), ctx->computeCapabilityMajor(),
              ctx->computeCapabilityMinor(), sms, lib.size());

  // Copy bandwidth: 1 GiB device to device, read + write.
  double copyGbps;
  {
    size_t bytes = size_t(1) << 30;
    DevicePtr a, b;
    if (!ctx->alloc(bytes, a) || !ctx->alloc(bytes, b) ||
        !ctx->fill(a, 1, bytes))
      die(ctx->error());
    double us = timeIt(*ctx, 1, [&](int) { ctx->copyOnDevice(b, a, bytes); });
    copyGbps = 2.0 * double(bytes) / (us * 1e3);
    ctx->free(a);
    ctx->free(b);
  }
  std::printf("copy bandwidth: %.0f GB/s (device-to-device, read + write)\n",
              copyGbps);

  Cublas cublas;
  bool haveCublas = !args.noCublas && cublas.load(args.cublasPath);
  if (!args.noCublas && !haveCublas)
    std::printf("cuBLAS baseline skipped: %s\n", cublas.error.c_str());

  std::mt19937 rng(7);
  std::vector<Record> records;
  std::printf("%-11s %5s %-6s %-16s %10s %9s %7s %8s  %s\n", "shape", "batch",
              "width", "mode", "time_us", "GB/s", "%copy", "vs_fp16",
              "kernel");
  for (auto [n, k] : args.shapes) {
    std::string shape = std::to_string(n) + "x" + std::to_string(k);
    unsigned eb = actTypeBytes(args.act);
    int64_t maxBatch =
        *std::max_element(args.batches.begin(), args.batches.end());
    int64_t ldx = (k + 7) / 8 * 8;
    DevicePtr x, y;
    if (!ctx->alloc(size_t(maxBatch * ldx) * eb, x) ||
        !ctx->alloc(size_t(maxBatch * n) * 4, y))
      die(ctx->error());
    {
      std::vector<uint16_t> xh(size_t(maxBatch * ldx));
      std::normal_distribution<float> normal(0.0f, 1.0f);
      for (uint16_t &v : xh)
        v = floatToHalf(normal(rng));
      if (args.act == ActType::F32) {
        std::vector<float> xf(xh.size());
        for (size_t i = 0; i < xh.size(); ++i)
          xf[i] = halfToFloat(xh[i]);
        ctx->copyToDevice(x, xf.data(), xf.size() * 4);
      } else {
        ctx->copyToDevice(x, xh.data(), xh.size() * 2);
      }
    }
    // cuBLAS fp16 weights, rotated.
    std::vector<DevicePtr> fp16W;
    size_t fp16Bytes = size_t(n * k) * 2;
    if (haveCublas) {
      int rot = int(std::max<int64_t>(
          2, (args.rotateMiB << 20) / int64_t(fp16Bytes)));
      rot = std::min(rot, 16);
      std::vector<uint16_t> wh(size_t(n * k));
      std::normal_distribution<float> normal(0.0f, 0.02f);
      for (uint16_t &v : wh)
        v = floatToHalf(normal(rng));
      for (int r = 0; r < rot; ++r) {
        DevicePtr p;
        if (!ctx->alloc(fp16Bytes, p) ||
            !ctx->copyToDevice(p, wh.data(), fp16Bytes))
          die(ctx->error());
        fp16W.push_back(p);
      }
    }
    for (int64_t batch : args.batches) {
      double baseUs = 0;
      if (haveCublas) {
        std::string why;
        baseUs = timeIt(*ctx, int(fp16W.size()), [&](int i) {
          if (why.empty())
            cublas.gemm(fp16W[i], x, y, int(n), int(k), int(batch), why);
        });
        if (!why.empty())
          die(why);
        double gbps = double(fp16Bytes) / (baseUs * 1e3);
        records.push_back({shape, "fp16", "cublas", "cublasGemmEx", batch, 0,
                           baseUs, gbps, 100.0 * gbps / copyGbps, 1.0,
                           int64_t(fp16Bytes)});
        std::printf("%-11s %5lld %-6s %-16s %10.2f %9.0f %6.1f%% %8.2f  %s\n",
                    shape.c_str(), (long long)batch, "fp16", "cublas", baseUs,
                    gbps, 100.0 * gbps / copyGbps, 1.0, "cublasGemmEx");
      }
      for (const std::string &wname : args.widths) {
        std::string wn = wname;
        numerics::SliceMode mode = numerics::SliceMode::Clamped;
        if (wn.size() > 2 && wn.substr(wn.size() - 2) == "ep") {
          mode = numerics::SliceMode::ExtraPrecision;
          wn = wn.substr(0, wn.size() - 2);
        } else if (wn.size() > 2 && wn.substr(wn.size() - 2) == "pe") {
          mode = numerics::SliceMode::PrefixExact;
          wn = wn.substr(0, wn.size() - 2);
        }
        // Each width with the SIMT kernel and, where the library has one,
        // the tensor-core (MMA) kernel.
        for (int kind : {0, 1, 2}) {
        bool mma = kind > 0;
        GemvKernelSpec want;
        want.mma = mma;
        want.planes = kind == 2;
        want.bits = unsigned(toInt(wn, "widths"));
        want.mode = mode;
        want.groupSize = args.group;
        want.act = args.act;
        GemvKernelSpec chosen;
        KernelHandle kernel = nullptr;
        bool found = lib.choose(want, n, batch, sms, chosen, kernel);
        if (!found && mma)
          continue;
        if (!found) {
          std::printf("%-11s %5lld %-6s (no kernel in the library)\n",
                      shape.c_str(), (long long)batch, wname.c_str());
          continue;
        }
        size_t packedBytes = size_t(chosen.weightBytes(n, k));
        // A plane kernel reads planesRead() of the c planes of its buffer.
        size_t readBytes =
            chosen.planes ? packedBytes / chosen.storageBits *
                                chosen.planesRead()
                          : packedBytes;
        int64_t groups = args.group ? k / args.group : 1;
        size_t scaleBytes = size_t(n * groups) * 4;
        size_t perCopy = packedBytes + 2 * scaleBytes;
        int rot = int(std::max<int64_t>(
            2, (args.rotateMiB << 20) / int64_t(perCopy)));
        rot = std::min(rot, 64);
        std::vector<uint8_t> packed(packedBytes);
        for (uint8_t &v : packed)
          v = uint8_t(rng());
        // The buffers hold whole 16-row tiles, which kernels with packed
        // scales read (the values are random either way).
        size_t scaleCount = size_t((n + 15) / 16 * 16 * groups);
        size_t scaleAlloc = scaleCount * 4;
        std::vector<float> scales(scaleCount);
        for (float &v : scales)
          v = 1e-3f * float(1 + rng() % 16);
        std::vector<GemvOperands> ops(rot);
        for (GemvOperands &o : ops) {
          o.n = n;
          o.k = k;
          o.nb = batch;
          o.ldx = ldx;
          o.weightBytes = packedBytes;
          o.scaleCount = scaleCount;
          o.xCount = size_t(maxBatch * ldx);
          o.yCount = size_t(maxBatch * n);
          o.x = x;
          o.y = y;
          if (!ctx->alloc(packedBytes, o.weights) ||
              !ctx->alloc(scaleAlloc, o.scales) ||
              !ctx->alloc(scaleAlloc, o.offsets) ||
              !ctx->copyToDevice(o.weights, packed.data(), packedBytes) ||
              !ctx->copyToDevice(o.scales, scales.data(), scaleAlloc) ||
              !ctx->copyToDevice(o.offsets, scales.data(), scaleAlloc))
            die(ctx->error());
        }
        // The runtime's heuristic picked `chosen`; with --tune every
        // compiled variant whose batch tile does not exceed the batch, or
        // 8 (batch tile, rows per warp, warps, unroll), is timed and the
        // fastest reported.
        double us = timeIt(*ctx, rot, [&](int i) {
          launchGemv(*ctx, kernel, chosen, ops[i]);
        });
        // --tune-verbose: one line per variant timed.
        auto report = [&](const GemvKernelSpec &v, double t) {
          if (args.tuneVerbose)
            std::printf("  %-11s %5lld %-50s %9.2f us\n", shape.c_str(),
                        (long long)batch, v.name().c_str(), t);
        };
        report(chosen, us);
        if (args.tune)
          for (const GemvKernelSpec &v : lib.variants(want)) {
            // Wider tiles than the batch are timed up to 8 (the batch-8
            // tensor-core kernel next to the batch-1 one at batch 1).
            if ((v.batchTile > batch && v.batchTile > 8 &&
                 v.batchTile != chosen.batchTile) ||
                v.name() == chosen.name())
              continue;
            KernelHandle h;
            if (!ctx->getKernel(v.name(), h))
              die(ctx->error());
            double t = timeIt(*ctx, rot, [&](int i) {
              launchGemv(*ctx, h, v, ops[i]);
            });
            report(v, t);
            if (t < us) {
              us = t;
              chosen = v;
            }
          }
        for (GemvOperands &o : ops) {
          ctx->free(o.weights);
          ctx->free(o.scales);
          ctx->free(o.offsets);
        }
        double gbps = double(readBytes + 2 * scaleBytes) / (us * 1e3);
        double speedup = baseUs > 0 ? baseUs / us : 0.0;
        records.push_back({shape, wname, numerics::sliceModeName(mode),
                           chosen.name(), batch, args.group, us, gbps,
                           100.0 * gbps / copyGbps, speedup,
                           int64_t(readBytes + 2 * scaleBytes)});
        std::printf("%-11s %5lld %-6s %-16s %10.2f %9.0f %6.1f%% %8.2f  %s\n",
                    shape.c_str(), (long long)batch, wname.c_str(),
                    numerics::sliceModeName(mode), us, gbps,
                    100.0 * gbps / copyGbps, speedup, chosen.name().c_str());
        }
      }
    }
    for (DevicePtr p : fp16W)
      ctx->free(p);
    ctx->free(x);
    ctx->free(y);
  }
  if (!args.json.empty()) {
    std::ofstream out(args.json);
    if (!out)
      die("cannot write " + args.json);
    out << "{\n  \"device\": \"" << jsonEscape(ctx->deviceName())
        << "\",\n  \"multiprocessors\": " << sms
        << ",\n  \"copy_bandwidth_gbps\": " << copyGbps
        << ",\n  \"records\": [\n";
    for (size_t i = 0; i < records.size(); ++i) {
      const Record &r = records[i];
      char buf[512];
      std::snprintf(
          buf, sizeof buf,
          "    {\"shape\": \"%s\", \"batch\": %lld, \"width\": \"%s\", "
          "\"mode\": \"%s\", \"group\": %lld, \"time_us\": %.3f, "
          "\"weight_gbps\": %.1f, \"pct_of_bandwidth\": %.2f, "
          "\"speedup_vs_baseline\": %.3f, \"weight_bytes\": %lld, "
          "\"kernel\": \"%s\"}%s\n",
          r.shape.c_str(), (long long)r.batch, r.width.c_str(), r.mode.c_str(),
          (long long)r.group, r.timeUs, r.weightGbps, r.pct, r.speedup,
          (long long)r.bytesRead, r.kernel.c_str(), i + 1 < records.size() ? "," : "");
      out << buf;
    }
    out << "  ]\n}\n";
  }
  return 0;
}
