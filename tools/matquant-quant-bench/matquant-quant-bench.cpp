//===- matquant-quant-bench.cpp - Throughput of the quantizers -*- C++ -*-===//
//
// Times the post-training quantizers of Search.h on random weights and
// prints the throughput in MB/s of float32 weights processed (4 bytes per
// weight), with the resulting errors so that a fast but wrong run shows:
//
//   minmax      quantize() (no search)
//   matquant    data-free clipping search of the MatQuant objective
//   calibrated  GPTQ with calibration activations X [samples, K]
//
// Weights are normal (sigma 0.02) with 0.1% outliers of 10 sigma; X has
// correlated features. Prints a table, and JSON with --json FILE.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Search.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace nm = matquant::numerics;
namespace cl = llvm::cl;

static cl::OptionCategory quantBenchCategory("matquant-quant-bench options");

static cl::opt<std::string> shapesOpt("shapes", cl::desc("NxK weight shapes"),
                                      cl::init("4096x4096,14336x4096"),
                                      cl::cat(quantBenchCategory));
static cl::opt<std::string> methodsOpt("methods",
                                       cl::desc("minmax,matquant,calibrated"),
                                       cl::init("minmax,matquant,calibrated"),
                                       cl::cat(quantBenchCategory));
static cl::opt<std::string> groupsOpt("groups",
                                      cl::desc("group sizes (0: per channel)"),
                                      cl::init("0,128"),
                                      cl::cat(quantBenchCategory));
static cl::opt<int> samplesOpt("samples",
                               cl::desc("calibration rows S of X [S, K]"),
                               cl::init(256), cl::cat(quantBenchCategory));
static cl::opt<unsigned> threadsOpt("jobs",
                                    cl::desc("worker threads (0: all cores)"),
                                    cl::init(0), cl::cat(quantBenchCategory));
static cl::opt<bool> refineOpt("refine", cl::desc("refine the clip grid"),
                               cl::init(false), cl::cat(quantBenchCategory));
static cl::opt<std::string> jsonOut("json", cl::desc("write JSON records"),
                                    cl::init(""), cl::cat(quantBenchCategory));

static int fail(const std::string &msg) {
  llvm::errs() << "matquant-quant-bench: " << msg << "\n";
  return 1;
}

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(quantBenchCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "throughput of matquant's quantizers\n");
  std::vector<unsigned> groups;
  std::string err = nm::parseUnsignedList(groupsOpt, groups);
  if (!err.empty())
    return fail("--groups: " + err);
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (llvm::StringRef s : llvm::split(shapesOpt.getValue(), ',')) {
    auto [a, b] = s.trim().split('x');
    int64_t n = 0, k = 0;
    if (a.getAsInteger(10, n) || b.getAsInteger(10, k) || n <= 0 || k <= 0)
      return fail("--shapes: '" + s.str() + "' is not NxK");
    shapes.push_back({n, k});
  }
  std::vector<std::string> methods;
  for (llvm::StringRef m : llvm::split(methodsOpt.getValue(), ',')) {
    m = m.trim();
    if (m != "minmax" && m != "matquant" && m != "calibrated")
      return fail("--methods: unknown method '" + m.str() + "'");
    methods.push_back(m.str());
  }
  if (samplesOpt <= 0)
    return fail("--samples must be positive");

  unsigned threads = threadsOpt
                         ? threadsOpt
                         : std::max(1u, std::thread::hardware_concurrency());
  llvm::outs() << "threads: " << threads
               << ", calibration samples: " << samplesOpt
               << ", lambdas (0.1, 0.1, 1) over widths (8, 4, 2)"
               << (refineOpt ? ", refined grid" : ", 11 x 11 clip grid")
               << "\n\n";
  llvm::outs() << llvm::format("%-11s %-6s %-11s %9s %9s %10s %10s %10s\n",
                               "shape", "group", "method", "seconds", "MB/s",
                               "relerr8", "relerr4", "relerr2");
  llvm::json::Array records;
  std::mt19937 rng(2025);
  for (auto [n, k] : shapes) {
    std::vector<float> w(static_cast<size_t>(n * k));
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    for (float &v : w) {
      v = normal(rng);
      if (uni(rng) < 0.001f)
        v *= 10.0f;
    }
    // Correlated activations: x = z A with z [16] normal, plus noise.
    const int64_t s = samplesOpt, m = 16;
    std::vector<float> a(static_cast<size_t>(m * k)),
        x(static_cast<size_t>(s * k));
    std::normal_distribution<float> unit(0.0f, 1.0f);
    for (float &v : a)
      v = unit(rng);
    for (int64_t i = 0; i < s; ++i) {
      float z[m];
      for (float &v : z)
        v = unit(rng);
      for (int64_t t = 0; t < k; ++t) {
        float acc = 0.2f * unit(rng);
        for (int64_t j = 0; j < m; ++j)
          acc += z[j] * a[j * k + t] * 0.25f;
        x[i * k + t] = acc;
      }
    }
    double norm = nm::squaredNorm(w.data(), n * k);
    for (unsigned g : groups) {
      if (g && k % g != 0)
        continue;
      nm::MatQuantOptions o;
      o.quant.groupSize = g;
      o.threads = threads;
      o.refine = refineOpt;
      for (const std::string &method : methods) {
        auto t0 = std::chrono::steady_clock::now();
        nm::QuantizedMatrix q;
        std::string qerr;
        if (method == "minmax")
          q = nm::quantize(w.data(), n, k, o.quant);
        else if (method == "matquant")
          q = nm::quantizeMatQuant(w.data(), n, k, o);
        else
          q = nm::quantizeCalibrated(w.data(), n, k, x.data(), s, o, {}, &qerr);
        double secs =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count();
        if (q.rows == 0)
          return fail(method + ": " + qerr);
        double mbps = 4.0 * double(n) * double(k) / secs / 1e6;
        double rel[3];
        unsigned widths[3] = {8, 4, 2};
        for (int i = 0; i < 3; ++i)
          rel[i] = std::sqrt(
              nm::weightError(q, widths[i], nm::SliceMode::Clamped, w.data()) /
              norm);
        std::string shape = std::to_string(n) + "x" + std::to_string(k);
        llvm::outs() << llvm::format(
            "%-11s %-6u %-11s %9.2f %9.1f %10.4f %10.4f %10.4f\n",
            shape.c_str(), g, method.c_str(), secs, mbps, rel[0], rel[1],
            rel[2]);
        llvm::outs().flush();
        records.push_back(llvm::json::Object{{"shape", shape},
                                             {"group", g},
                                             {"method", method},
                                             {"threads", threads},
                                             {"samples", s},
                                             {"seconds", secs},
                                             {"mb_per_s", mbps},
                                             {"rel_weight_err_8", rel[0]},
                                             {"rel_weight_err_4", rel[1]},
                                             {"rel_weight_err_2", rel[2]}});
      }
    }
  }
  if (!jsonOut.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(jsonOut, ec, llvm::sys::fs::OF_Text);
    if (ec)
      return fail("cannot write " + jsonOut + ": " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(records))) << "\n";
  }
  return 0;
}
