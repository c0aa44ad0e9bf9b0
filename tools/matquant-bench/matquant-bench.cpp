//===- matquant-bench.cpp - CPU weight-only GEMV/GEMM benchmark -*- C++ -*-===//
//
// Times the kernels that matquant-cpu-to-llvm generates for mq.matvec /
// mq.matmul at every requested width, mode, group size, batch and thread
// count, side by side in one run with
//   - the f32 linalg.matvec / matmul compiled by the same pipeline, and
//   - this machine's read bandwidth (the method of shared/tools/membw.cpp),
//     measured at the start and, by default, right before and after each
//     timed kernel, whose percentage is then of the mean of those two,
// and checks every kernel's output against the numerics library (float64)
// on a sample of rows. With --rounds N, a shape's kernels are all compiled
// and checked first and then timed in turn, N rounds, so that their ratios
// come from the same minutes. Prints a table, and JSON with --json FILE.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"
#include "matquant/Pipelines/Pipelines.h"
#include "matquant/Runtime/Bandwidth.h"
#include "matquant/Runtime/Jit.h"
#include "matquant/Runtime/MemRef.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <tuple>
#include <type_traits>

using namespace matquant;
namespace nm = matquant::numerics;
namespace cl = llvm::cl;

static cl::OptionCategory benchCategory("matquant-bench options");

static cl::opt<std::string>
    shapesOpt("shapes", cl::desc("NxK weight shapes"),
              cl::init("4096x4096,4096x14336,14336x4096"),
              cl::cat(benchCategory));
static cl::opt<std::string> batchesOpt("batches", cl::desc("batch sizes"),
                                       cl::init("1,4,16"),
                                       cl::cat(benchCategory));
static cl::opt<std::string>
    widthsOpt("widths",
              cl::desc("widths: r for clamped, rep for extra "
                       "precision, rpe for prefix exact"),
              cl::init("8,6,4,3,2,2ep"), cl::cat(benchCategory));
static cl::opt<std::string> groupsOpt("groups",
                                      cl::desc("group sizes (0: per channel)"),
                                      cl::init("128,0"),
                                      cl::cat(benchCategory));
static cl::opt<std::string> threadsOpt("thread-counts",
                                       cl::desc("thread counts"),
                                       cl::init("1,2"), cl::cat(benchCategory));
static cl::opt<double> minSeconds("min-seconds",
                                  cl::desc("time spent per measurement"),
                                  cl::init(0.25), cl::cat(benchCategory));
static cl::opt<int> roundsOpt(
    "rounds",
    cl::desc("time the kernels of a shape (the f32 baselines included) in "
             "this many rounds, each kernel in turn for min-seconds / rounds "
             "per round: each time and speedup is then the median over "
             "calls spread across the whole run, so that a drift of the "
             "machine's bandwidth moves them all alike"),
    cl::init(1), cl::cat(benchCategory));
static cl::opt<std::string> jsonOut("json", cl::desc("write JSON records"),
                                    cl::init(""), cl::cat(benchCategory));
static cl::opt<int> membwMiB("membw-mib",
                             cl::desc("array size of the bandwidth test"),
                             cl::init(1024), cl::cat(benchCategory));
static cl::opt<int> copiesOpt(
    "copies",
    cl::desc("copies of each packed weight the timed calls rotate through "
             "(0: enough for 256 MB, at most 16, so that the weights come "
             "from memory; 1 with a small shape: the kernel's speed from the "
             "caches)"),
    cl::init(0), cl::cat(benchCategory));
/// Copies of `bytes` of weights to rotate through (--copies).
static int weightCopies(double bytes) {
  if (copiesOpt > 0)
    return copiesOpt;
  return static_cast<int>(std::clamp<double>(std::ceil(256e6 / bytes), 1, 16));
}
static cl::opt<bool> adjacentBandwidth(
    "adjacent-bandwidth",
    cl::desc("measure the read bandwidth right before and right after each "
             "timed kernel, and report the kernel's percentage of the mean "
             "of the two (false: of the bandwidth measured once at the "
             "start); on a machine whose bandwidth drifts, the percentage "
             "then compares the kernel with the memory of its own minute"),
    cl::init(true), cl::cat(benchCategory));
static cl::opt<bool> a8("a8",
                        cl::desc("W{r}A8: int8 activations per block and "
                                 "VNNI dot products (opt-in mode)"),
                        cl::init(false), cl::cat(benchCategory));
static cl::opt<int> accumulatorsOpt("accumulators", cl::init(2),
                                    cl::desc("accumulators per row at batch 1"),
                                    cl::cat(benchCategory));
static cl::opt<int> rowTile("row-tile", cl::init(8),
                            cl::desc("rows per iteration at batch 1"),
                            cl::cat(benchCategory));
static cl::opt<int> batchTileOpt("batch-tile", cl::init(4),
                                 cl::desc("batch rows per decoded weight"),
                                 cl::cat(benchCategory));
static cl::opt<bool> tileLayout(
    "tile-layout", cl::init(true),
    cl::desc("interleaved weights tiled by rows as the kernels walk them "
             "(#mq.layout<..., rows = R>, R the largest power of two up to "
             "--row-tile dividing the rows); false: rows one after another"),
    cl::cat(benchCategory));
static cl::opt<int> tilePrefetchOpt(
    "tile-prefetch", cl::init(8192),
    cl::desc("bytes ahead of each row tile's stream (0: no prefetches)"),
    cl::cat(benchCategory));
static cl::opt<std::string> ompSchedule(
    "omp-schedule", cl::init("static"),
    cl::desc("OpenMP schedule of the row loops: static, dynamic, guided, "
             "auto or runtime (matquant-omp-schedule)"),
    cl::cat(benchCategory));
static cl::opt<int> ompChunks(
    "omp-chunks", cl::init(0),
    cl::desc("chunks per thread of a dynamic or guided schedule (0: no "
             "chunk clause)"),
    cl::cat(benchCategory));
static cl::opt<bool> exponentDecode(
    "exponent-decode", cl::init(true),
    cl::desc("float activations: sub-byte indices to f32 under the exponent "
             "of 1.0 (false: uitofp)"),
    cl::cat(benchCategory));
static cl::opt<int> gfniOpt(
    "gfni", cl::init(-1),
    cl::desc("1: use GFNI (vgf2p8affineqb) for mq.transpose_bits, 0: plain "
             "vector code, -1: if the CPU has GFNI and AVX512-VBMI"),
    cl::cat(benchCategory));
static cl::opt<int> planeTransposeOpt(
    "plane-transpose", cl::init(-1),
    cl::desc("1: the bit planes of a run-time width transposed to bytes "
             "(mq.transpose_bits), 0: byte lanes, -1: where GFNI is used"),
    cl::cat(benchCategory));
static cl::opt<int> vectorWidth("lanes", cl::init(0),
                                cl::desc("lanes per vector"),
                                cl::cat(benchCategory));
static cl::opt<bool> dynamicOpt(
    "dynamic",
    cl::desc("also run mq.matvec_dynamic / mq.matmul_dynamic: the stored int8 "
             "model once in 8 bit planes, the width passed at run time; "
             "every width of --widths is checked and timed next to the "
             "static kernel, with the bytes each reads"),
    cl::init(false), cl::cat(benchCategory));
static cl::opt<bool> referenceOpt(
    "reference",
    cl::desc("compile the quantized kernels with matquant-reference-to-llvm "
             "(a correctness check; its timings mean little)"),
    cl::init(false), cl::cat(benchCategory));

namespace {

std::vector<int64_t> parseList(const std::string &s) {
  std::vector<int64_t> out;
  for (llvm::StringRef part : llvm::split(s, ','))
    out.push_back(std::stoll(part.trim().str()));
  return out;
}

struct Width {
  unsigned r;
  nm::SliceMode mode;
  std::string name() const {
    const char *suffix = mode == nm::SliceMode::ExtraPrecision ? "ep"
                         : mode == nm::SliceMode::PrefixExact  ? "pe"
                                                               : "";
    return "int" + std::to_string(r) + suffix;
  }
};

/// Calls a compiled `@kernel(x, w, scales, offsets[, width]) -> y` through
/// its C interface: x is [batch, k] (rank 1 at batch 1), `weights` the
/// weight descriptor (any rank: passed by pointer), `width` the run-time
/// width of a dynamic kernel. Copies y into `keep` when given.
void callKernel(void *addr, int64_t batch, int64_t n, int64_t k, float *x,
                void *weights, MemRef<float, 2> *scales,
                MemRef<float, 2> *offsets, std::optional<int32_t> width,
                std::vector<float> *keep) {
  auto invoke = [&](auto *y, auto *xm) {
    using Y = std::remove_pointer_t<decltype(y)>;
    if (width) {
      using Fn = void (*)(Y *, Y *, void *, MemRef<float, 2> *,
                          MemRef<float, 2> *, int32_t);
      reinterpret_cast<Fn>(addr)(y, xm, weights, scales, offsets, *width);
    } else {
      using Fn =
          void (*)(Y *, Y *, void *, MemRef<float, 2> *, MemRef<float, 2> *);
      reinterpret_cast<Fn>(addr)(y, xm, weights, scales, offsets);
    }
    if (keep)
      keep->assign(y->data, y->data + batch * n);
    std::free(y->basePtr);
  };
  if (batch == 1) {
    auto xm = denseView<float, 1>(x, {k});
    MemRef<float, 1> y;
    invoke(&y, &xm);
  } else {
    auto xm = denseView<float, 2>(x, {batch, k});
    MemRef<float, 2> y;
    invoke(&y, &xm);
  }
}

/// Parses "r", "rep" or "rpe" with r in 1..8; false on anything else.
bool parseWidth(llvm::StringRef s, Width &out) {
  s = s.trim();
  out.mode = nm::SliceMode::Clamped;
  if (s.consume_back("ep"))
    out.mode = nm::SliceMode::ExtraPrecision;
  else if (s.consume_back("pe"))
    out.mode = nm::SliceMode::PrefixExact;
  unsigned r;
  if (s.getAsInteger(10, r) || r < 1 || r > 8)
    return false;
  out.r = r;
  return true;
}

/// The layout the CPU pipeline picks (mq-select-cpu-layout): bit planes for
/// 1-bit indices, interleaved blocks otherwise.
bool usesPlanes(unsigned idxBits, int64_t group) {
  return idxBits <= 1 && (group == 0 || group % 16 == 0);
}

/// The row tile of the interleaved layout, as mq-select-cpu-layout picks it
/// in matquant-cpu-to-llvm (8-bit indices untiled for the W{r}A8 kernels).
int64_t layoutRows(int64_t n, unsigned idxBits) {
  bool tiled = tileLayout && idxBits <= cpuRowTileMaxBits(a8 ? 8 : 0);
  return tiled ? nm::interleavedRowTile(n, rowTile) : 1;
}

std::string weightType(int64_t n, int64_t k, Width w, int64_t group,
                       unsigned idxBits, int64_t block) {
  std::string s = "!mq.weight<" + std::to_string(n) + "x" + std::to_string(k) +
                  "xf32, storage = 8, bits = " + std::to_string(w.r);
  if (group)
    s += ", group = " + std::to_string(group);
  if (w.mode != nm::SliceMode::Clamped)
    s += std::string(", mode = ") + nm::sliceModeName(w.mode);
  if (usesPlanes(idxBits, group))
    return s + ", layout = #mq.layout<planes, " + std::to_string(idxBits) +
           ">>";
  s += ", layout = #mq.layout<interleaved, " + std::to_string(idxBits) +
       ", block = " + std::to_string(block);
  if (layoutRows(n, idxBits) > 1)
    s += ", rows = " + std::to_string(layoutRows(n, idxBits));
  s += ">>";
  return s;
}

std::string tensor(std::vector<int64_t> dims, const char *elt) {
  std::string s = "tensor<";
  for (int64_t d : dims)
    s += std::to_string(d) + "x";
  return s + elt + ">";
}

/// Appends the seconds of calls of fn, after one untimed call: at least
/// `minCalls` and until `seconds` have passed (at most 200).
void timeCalls(const std::function<void()> &fn, double seconds, int minCalls,
               std::vector<double> &times) {
  fn();
  auto start = std::chrono::steady_clock::now();
  for (int calls = 0;
       calls < minCalls ||
       (std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                .count() < seconds &&
        calls < 200);
       ++calls) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    times.push_back(std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - t0)
                        .count());
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// A kernel of the current shape, registered when compiled and checked and
/// timed later in rounds next to the shape's other kernels (--rounds).
struct Timed {
  std::function<void()> run; // one call; owns what it reads
  int64_t threads;
  /// Prints the kernel's row and records it, given its median seconds per
  /// call and the read bandwidth to judge it by.
  std::function<void(double secs, double bw)> report;
  std::vector<double> times;
  double bwSum = 0;
  int bwCount = 0;
};

/// Checks y = x * W_hat^T (`out`, [batch, n]) against float64 on `rows`:
/// within 1e-5 of sum |x w|; with int8 activations (blocks of `block`,
/// scale s = max|x| / 127, rounding error <= s / 2 per element) also within
/// sum_k |w_k| s_k / 2, the A8 bound. Sets maxErr to the largest error
/// relative to sum |x w|; prints a message and returns false on a miss.
bool checkOutput(const std::vector<float> &x, const std::vector<float> &out,
                 const std::vector<float> &wHat, int64_t batch, int64_t n,
                 int64_t k, const std::vector<int64_t> &rows, int64_t block,
                 bool a8Bound, const std::string &what, double &maxErr) {
  maxErr = 0;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t row : rows) {
      double ref = 0, mag = 0, bnd8 = 0;
      for (int64_t blk = 0; blk * block < k; ++blk) {
        double amax = 0;
        int64_t end = std::min<int64_t>(k, (blk + 1) * block);
        for (int64_t kk = blk * block; kk < end; ++kk)
          amax = std::max(amax, double(std::fabs(x[b * k + kk])));
        float sx = static_cast<float>(amax) / 127.0f;
        for (int64_t kk = blk * block; kk < end; ++kk) {
          double p = double(x[b * k + kk]) * wHat[row * k + kk];
          ref += p;
          mag += std::fabs(p);
          bnd8 += std::fabs(wHat[row * k + kk]) * sx / 2;
        }
      }
      double err = std::fabs(out[b * n + row] - ref);
      double bound = 1e-5 * mag + (a8Bound ? bnd8 : 0.0);
      if (!(err <= bound)) {
        llvm::errs() << "matquant-bench: " << what << " batch " << batch
                     << " row " << row << ": error " << err
                     << " exceeds the bound " << bound << "\n";
        return false;
      }
      if (mag > 0)
        maxErr = std::max(maxErr, err / mag);
    }
  return true;
}

void fail(llvm::Error err) {
  llvm::errs() << "matquant-bench: " << llvm::toString(std::move(err)) << "\n";
  std::exit(1);
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(benchCategory);
  cl::ParseCommandLineOptions(argc, argv, "matquant CPU GEMV/GEMM benchmark\n");
  if (copiesOpt < 0 || copiesOpt > 1024) {
    llvm::errs() << "matquant-bench: --copies: expected 0 (automatic) to "
                    "1024, got "
                 << copiesOpt << "\n";
    return 1;
  }
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (llvm::StringRef s : llvm::split(shapesOpt.getValue(), ',')) {
    auto [a, b] = s.trim().split('x');
    shapes.push_back({std::stoll(a.str()), std::stoll(b.str())});
  }
  std::vector<int64_t> batches = parseList(batchesOpt);
  std::vector<int64_t> groups = parseList(groupsOpt);
  std::vector<int64_t> threadCounts = parseList(threadsOpt);
  std::vector<Width> widths;
  for (llvm::StringRef s : llvm::split(widthsOpt.getValue(), ',')) {
    Width wd;
    if (!parseWidth(s, wd)) {
      llvm::errs() << "matquant-bench: --widths: expected r, rep or rpe with "
                      "r in 1..8, got '"
                   << s.trim() << "'\n";
      return 1;
    }
    widths.push_back(wd);
  }

  // Bandwidth, measured in this run: once at the start, and (by default)
  // again around each timed kernel.
  std::map<int64_t, double> bandwidth;
  std::vector<uint64_t> bwData = bandwidthArray(membwMiB);
  for (int64_t t : threadCounts)
    bandwidth[t] = readBandwidth(bwData, static_cast<unsigned>(t));
  if (!adjacentBandwidth) {
    bwData.clear();
    bwData.shrink_to_fit();
  }
  /// Times a shape's kernels in --rounds rounds, each kernel in turn, and
  /// reports them in the order they were registered. With adjacent
  /// bandwidth, the bandwidth is measured between consecutive kernels (at
  /// each kernel's thread count), and a kernel is judged by the mean over
  /// its rounds of the measurements right before and right after it.
  auto timeAll = [&](std::vector<Timed> &timed) {
    int rounds = std::max(1, roundsOpt.getValue());
    double seconds = minSeconds / rounds;
    int minCalls = rounds == 1 ? 5 : 3;
    for (int r = 0; r < rounds; ++r)
      for (size_t i = 0; i < timed.size(); ++i) {
        Timed &t = timed[i];
        auto thr = static_cast<unsigned>(t.threads);
        double before = 0;
        if (adjacentBandwidth)
          before = readBandwidthAfterParallel(bwData, thr);
        timeCalls(t.run, seconds, minCalls, t.times);
        if (adjacentBandwidth) {
          double after = readBandwidthAfterParallel(bwData, thr);
          t.bwSum += (before + after) / 2;
          ++t.bwCount;
        }
      }
    for (Timed &t : timed)
      t.report(median(t.times),
               t.bwCount ? t.bwSum / t.bwCount : bandwidth[t.threads]);
    timed.clear();
  };
  double bestBandwidth = 0;
  for (auto &[t, bw] : bandwidth) {
    llvm::outs() << llvm::format("read bandwidth, %lld thread(s): %.2f GB/s\n",
                                 (long long)t, bw);
    bestBandwidth = std::max(bestBandwidth, bw);
  }

  llvm::json::Array records;
  llvm::outs() << llvm::format(
      "\n%-11s %5s %-6s %-7s %3s %10s %9s %7s %7s %8s %9s\n", "shape", "batch",
      "width", "group", "thr", "time_us", "GB/s", "%bw", "bw GB/s", "vs f32",
      "max_err");
  std::mt19937 rng(2025);
  for (auto [n, k] : shapes) {
    std::vector<float> w(static_cast<size_t>(n * k));
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (float &v : w)
      v = normal(rng);
    int64_t maxBatch = *std::max_element(batches.begin(), batches.end());
    std::vector<float> x(static_cast<size_t>(maxBatch * k));
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    for (float &v : x)
      v = uni(rng);
    // f32 baselines per (batch, threads).
    std::map<std::pair<int64_t, int64_t>, double> baseline;
    // The shape's kernels, timed together once all are compiled.
    std::vector<Timed> timed;
    for (int64_t batch : batches)
      for (int64_t threads : threadCounts) {
        std::string src =
            "func.func @kernel(%x: " +
            tensor(batch == 1 ? std::vector<int64_t>{k}
                              : std::vector<int64_t>{batch, k},
                   "f32") +
            ", %w: " + tensor({n, k}, "f32") + ") -> " +
            tensor(batch == 1 ? std::vector<int64_t>{n}
                              : std::vector<int64_t>{batch, n},
                   "f32") +
            " attributes {llvm.emit_c_interface} {\n"
            "  %z = arith.constant 0.0 : f32\n"
            "  %e = tensor.empty() : " +
            tensor(batch == 1 ? std::vector<int64_t>{n}
                              : std::vector<int64_t>{batch, n},
                   "f32") +
            "\n  %i = linalg.fill ins(%z : f32) outs(%e : " +
            tensor(batch == 1 ? std::vector<int64_t>{n}
                              : std::vector<int64_t>{batch, n},
                   "f32") +
            ") -> " +
            tensor(batch == 1 ? std::vector<int64_t>{n}
                              : std::vector<int64_t>{batch, n},
                   "f32") +
            "\n";
        if (batch == 1)
          src += "  %y = linalg.matvec ins(%w, %x : " + tensor({n, k}, "f32") +
                 ", " + tensor({k}, "f32") + ") outs(%i : " +
                 tensor({n}, "f32") + ") -> " + tensor({n}, "f32") + "\n";
        else
          src += "  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) "
                 "-> (m, k)>, affine_map<(m, n, k) -> (n, k)>, "
                 "affine_map<(m, n, k) -> (m, n)>] ins(%x, %w : " +
                 tensor({batch, k}, "f32") + ", " + tensor({n, k}, "f32") +
                 ") outs(%i : " + tensor({batch, n}, "f32") + ") -> " +
                 tensor({batch, n}, "f32") + "\n";
        src += "  return %y : " +
               tensor(batch == 1 ? std::vector<int64_t>{n}
                                 : std::vector<int64_t>{batch, n},
                      "f32") +
               "\n}\n";
        JitOptions opts;
        opts.threads = threads;
        opts.vectorWidth = vectorWidth;
        opts.rowTile = rowTile;
        opts.exponentDecode = exponentDecode;
        opts.tileLayout = tileLayout;
        opts.tilePrefetch = tilePrefetchOpt;
        opts.ompSchedule = ompSchedule;
        opts.ompChunks = ompChunks;
        opts.gfni = gfniOpt;
        opts.planeTranspose = planeTransposeOpt;
        opts.batchTile = batchTileOpt;
        opts.accumulators = accumulatorsOpt;
        auto jit = JitModule::compile(src, opts);
        if (!jit)
          fail(jit.takeError());
        auto fnAddr = (*jit)->lookup("kernel");
        if (!fnAddr)
          fail(fnAddr.takeError());
        std::shared_ptr<JitModule> module = std::move(*jit);
        Timed t;
        t.threads = threads;
        // x and w live until the shape's kernels are timed.
        if (batch == 1) {
          using Fn = void (*)(MemRef<float, 1> *, MemRef<float, 1> *,
                              MemRef<float, 2> *);
          auto fn = reinterpret_cast<Fn>(*fnAddr);
          auto xm = denseView<float, 1>(x.data(), {k});
          auto wm = denseView<float, 2>(w.data(), {n, k});
          t.run = [module, fn, xm, wm]() mutable {
            MemRef<float, 1> y;
            fn(&y, &xm, &wm);
            std::free(y.basePtr);
          };
        } else {
          using Fn = void (*)(MemRef<float, 2> *, MemRef<float, 2> *,
                              MemRef<float, 2> *);
          auto fn = reinterpret_cast<Fn>(*fnAddr);
          auto xm = denseView<float, 2>(x.data(), {batch, k});
          auto wm = denseView<float, 2>(w.data(), {n, k});
          t.run = [module, fn, xm, wm]() mutable {
            MemRef<float, 2> y;
            fn(&y, &xm, &wm);
            std::free(y.basePtr);
          };
        }
        t.report = [&, n, k, batch, threads](double secs, double bw) {
          baseline[{batch, threads}] = secs;
          double bytes = 4.0 * n * k;
          double gbps = bytes / secs / 1e9;
          llvm::outs() << llvm::format(
              "%-11s %5lld %-6s %-7s %3lld %10.1f %9.2f %6.1f%% %7.2f %8.2f "
              "%9s\n",
              (std::to_string(n) + "x" + std::to_string(k)).c_str(),
              (long long)batch, "f32", "-", (long long)threads, secs * 1e6,
              gbps, 100 * gbps / bw, bw, 1.0, "-");
          llvm::json::Object rec{
              {"shape", std::to_string(n) + "x" + std::to_string(k)},
              {"batch", batch},
              {"width", "f32"},
              {"mode", "float"},
              {"group", 0},
              {"threads", threads},
              {"time_us", secs * 1e6},
              {"weight_gbps", gbps},
              {"pct_of_bandwidth", 100 * gbps / bw},
              {"read_bandwidth_gbps", bw},
              {"speedup_vs_baseline", 1.0}};
          records.push_back(std::move(rec));
        };
        timed.push_back(std::move(t));
      }

    for (int64_t group : groups) {
      if (group && k % group != 0)
        continue;
      nm::QuantOptions qopts;
      qopts.bits = 8;
      qopts.groupSize = group;
      // Shared with the timed kernels, which read its scales and offsets.
      auto qp = std::make_shared<nm::QuantizedMatrix>(
          nm::quantize(w.data(), n, k, qopts));
      const nm::QuantizedMatrix &q = *qp;
      int64_t block = 128;
      while (group && group % block != 0)
        block /= 2;
      // The dynamic kernels read the stored model once packed in 8 planes.
      int64_t planeBytes8 = nm::planeRowBytes(k);
      auto dynData = std::make_shared<std::vector<std::vector<uint8_t>>>();
      std::map<std::tuple<int, int64_t, int64_t>, std::shared_ptr<JitModule>>
          dynJits;
      if (dynamicOpt) {
        std::vector<uint8_t> planes8 = nm::packPlanes(q.codes.data(), n, k, 8);
        int copies = weightCopies(double(planes8.size()));
        dynData->assign(copies, planes8);
      }
      for (Width wd : widths) {
        nm::SliceMode mode = wd.mode;
        unsigned idxBits = nm::indexStorageBits(8, wd.r, mode);
        std::vector<uint8_t> idx = nm::sliceAll(q, wd.r, mode);
        bool planes = usesPlanes(idxBits, group);
        std::vector<uint8_t> packed =
            planes ? nm::packPlanes(idx.data(), n, k, idxBits)
                   : nm::packInterleaved(idx.data(), n, k, idxBits, block,
                                         layoutRows(n, idxBits));
        idx.clear();
        idx.shrink_to_fit();
        int64_t rowBytes = nm::interleavedRowBytes(k, idxBits, block);
        int64_t planeBytes = nm::planeRowBytes(k);
        double bytes = double(packed.size()) + 8.0 * q.alpha.size();
        // Enough copies that the weights do not stay in the caches.
        int copies = weightCopies(bytes);
        auto copiesData =
            std::make_shared<std::vector<std::vector<uint8_t>>>(copies, packed);
        packed.clear();
        packed.shrink_to_fit();
        int64_t ng = q.scaleCols();
        // Reference rows: a sample, from the numerics library in float64.
        std::vector<int64_t> sampleRows = {0, n / 3, n / 2, n - 1};
        if (n * k <= (int64_t(1) << 16)) { // small: every row
          sampleRows.clear();
          for (int64_t i = 0; i < n; ++i)
            sampleRows.push_back(i);
        }
        std::vector<float> wHat = nm::dequantize(q, wd.r, mode);
        for (int64_t batch : batches)
          for (int64_t threads : threadCounts) {
            std::string wt = weightType(n, k, wd, group, idxBits, block);
            std::vector<int64_t> xd = batch == 1 ? std::vector<int64_t>{k}
                                                 : std::vector<int64_t>{batch, k};
            std::vector<int64_t> yd = batch == 1 ? std::vector<int64_t>{n}
                                                 : std::vector<int64_t>{batch, n};
            std::string st = tensor({n, ng}, "f32");
            std::string src = "func.func @kernel(%x: " + tensor(xd, "f32") +
                              ", %w: " + wt + ", %s: " + st + ", %m: " + st +
                              ") -> " + tensor(yd, "f32") +
                              " attributes {llvm.emit_c_interface} {\n"
                              "  %y = mq." +
                              std::string(batch == 1 ? "matvec" : "matmul") +
                              " %x, %w, %s, %m : " + tensor(xd, "f32") + ", " +
                              wt + ", " + st + ", " + st + " -> " +
                              tensor(yd, "f32") + "\n  return %y : " +
                              tensor(yd, "f32") + "\n}\n";
            JitOptions opts;
            opts.threads = threads;
            opts.vectorWidth = vectorWidth;
        opts.rowTile = rowTile;
        opts.exponentDecode = exponentDecode;
        opts.tileLayout = tileLayout;
        opts.tilePrefetch = tilePrefetchOpt;
        opts.ompSchedule = ompSchedule;
        opts.ompChunks = ompChunks;
        opts.gfni = gfniOpt;
        opts.planeTranspose = planeTransposeOpt;
        opts.batchTile = batchTileOpt;
        opts.accumulators = accumulatorsOpt;
            opts.activationBits = a8 ? 8 : 0;
            opts.reference = referenceOpt;
            auto jit = JitModule::compile(src, opts);
            if (!jit)
              fail(jit.takeError());
            auto fnAddr = (*jit)->lookup("kernel");
            if (!fnAddr)
              fail(fnAddr.takeError());
            auto sm = denseView<float, 2>(qp->alpha.data(), {n, ng});
            auto mm = denseView<float, 2>(qp->offset.data(), {n, ng});
            std::shared_ptr<JitModule> module = std::move(*jit);
            void *kernelAddr = reinterpret_cast<void *>(*fnAddr);
            auto next = std::make_shared<int>(0);
            // The static kernel's median seconds, for the dynamic one's row.
            auto staticSecs = std::make_shared<double>(0);
            std::vector<float> out;
            // The weight descriptor: rank 2 (interleaved) or 3 (planes);
            // both are passed by pointer, so one call type serves. Copies
            // everything it reads (or its owner) for the timed calls.
            auto runOnce = [module, qp, copiesData, next, kernelAddr, sm, mm, n,
                            k, rowBytes, idxBits, planeBytes, planes, copies,
                            batch,
                            xp = x.data()](std::vector<float> *keep) mutable {
              auto &cd = *copiesData;
              auto w2 = denseView<int8_t, 2>(
                  reinterpret_cast<int8_t *>(cd[*next].data()), {n, rowBytes});
              auto w3 = denseView<int8_t, 3>(
                  reinterpret_cast<int8_t *>(cd[*next].data()),
                  {static_cast<int64_t>(idxBits), n, planeBytes});
              void *wm = planes ? static_cast<void *>(&w3)
                                : static_cast<void *>(&w2);
              *next = (*next + 1) % copies;
              callKernel(kernelAddr, batch, n, k, xp, wm, &sm, &mm,
                         std::nullopt, keep);
            };
            runOnce(&out);
            double maxErr = 0;
            if (!checkOutput(x, out, wHat, batch, n, k, sampleRows, block, a8,
                             wd.name() + " group " + std::to_string(group),
                             maxErr))
              return 1;
            Timed t;
            t.threads = threads;
            t.run = [runOnce]() mutable { runOnce(nullptr); };
            t.report = [&, n, k, batch, threads, wd, group, bytes, maxErr,
                        staticSecs](double secs, double bw) {
              *staticSecs = secs;
              double gbps = bytes / secs / 1e9;
              double speedup = baseline[{batch, threads}] / secs;
              llvm::outs() << llvm::format(
                  "%-11s %5lld %-6s %-7s %3lld %10.1f %9.2f %6.1f%% %7.2f "
                  "%8.2f "
                  "%9.1e\n",
                  (std::to_string(n) + "x" + std::to_string(k)).c_str(),
                  (long long)batch, wd.name().c_str(),
                  group ? std::to_string(group).c_str() : "channel",
                  (long long)threads, secs * 1e6, gbps, 100 * gbps / bw, bw,
                  speedup, maxErr);
              llvm::outs().flush();
              llvm::json::Object rec{
                  {"shape", std::to_string(n) + "x" + std::to_string(k)},
                  {"batch", batch},
                  {"width", wd.name()},
                  {"mode", nm::sliceModeName(wd.mode)},
                  {"group", group},
                  {"threads", threads},
                  {"time_us", secs * 1e6},
                  {"weight_gbps", gbps},
                  {"pct_of_bandwidth", 100 * gbps / bw},
                  {"read_bandwidth_gbps", bw},
                  {"speedup_vs_baseline", speedup},
                  {"max_rel_error", maxErr}};
              records.push_back(std::move(rec));
            };
            timed.push_back(std::move(t));
            if (!dynamicOpt)
              continue;
            // The same width from the stored model, chosen at run time.
            auto key = std::make_tuple(int(wd.mode), batch, threads);
            if (!dynJits.count(key)) {
              std::string dt = "!mq.weight<" + std::to_string(n) + "x" +
                               std::to_string(k) +
                               "xf32, storage = 8, bits = 8";
              if (group)
                dt += ", group = " + std::to_string(group);
              if (wd.mode != nm::SliceMode::Clamped)
                dt += std::string(", mode = ") + nm::sliceModeName(wd.mode);
              dt += ", layout = #mq.layout<planes, 8>>";
              std::string dsrc =
                  "func.func @kernel(%x: " + tensor(xd, "f32") + ", %w: " + dt +
                  ", %s: " + st + ", %m: " + st + ", %r: i32) -> " +
                  tensor(yd, "f32") +
                  " attributes {llvm.emit_c_interface} {\n  %y = mq." +
                  std::string(batch == 1 ? "matvec" : "matmul") +
                  "_dynamic %x, %w, %s, %m, width %r : " + tensor(xd, "f32") +
                  ", " + dt + ", " + st + ", " + st + ", i32 -> " +
                  tensor(yd, "f32") + "\n  return %y : " + tensor(yd, "f32") +
                  "\n}\n";
              JitOptions dopts = opts;
              dopts.activationBits = 0;
              auto djit = JitModule::compile(dsrc, dopts);
              if (!djit)
                fail(djit.takeError());
              dynJits[key] = std::move(*djit);
            }
            std::shared_ptr<JitModule> dmodule = dynJits[key];
            auto dAddr = dmodule->lookup("kernel");
            if (!dAddr)
              fail(dAddr.takeError());
            void *dynAddr = reinterpret_cast<void *>(*dAddr);
            auto dnext = std::make_shared<int>(0);
            auto runDyn = [dmodule, qp, dynData, dnext, dynAddr, sm, mm, n, k,
                           planeBytes8, batch, wd,
                           xp = x.data()](std::vector<float> *keep) mutable {
              auto w3 = denseView<int8_t, 3>(
                  reinterpret_cast<int8_t *>((*dynData)[*dnext].data()),
                  {8, n, planeBytes8});
              *dnext = (*dnext + 1) % static_cast<int>(dynData->size());
              callKernel(dynAddr, batch, n, k, xp, &w3, &sm, &mm,
                         static_cast<int32_t>(wd.r), keep);
            };
            runDyn(&out);
            double dErr = 0;
            if (!checkOutput(
                    x, out, wHat, batch, n, k, sampleRows, block, false,
                    "dynamic " + wd.name() + " group " + std::to_string(group),
                    dErr))
              return 1;
            Timed dt;
            dt.threads = threads;
            dt.run = [runDyn]() mutable { runDyn(nullptr); };
            dt.report = [&, n, k, batch, threads, wd, group, bytes, dErr,
                         staticSecs, planeBytes8, scaleCount = q.alpha.size()](
                            double dsecs, double dbw) {
              double secs = *staticSecs;
              // Planes read: r, plus the rounding plane r for a rounding mode
              // below c; and the f32 scale and offset of every group.
              unsigned readPlanes =
                  wd.r + (wd.mode != nm::SliceMode::PrefixExact && wd.r < 8);
              double dbytes =
                  double(readPlanes) * n * planeBytes8 + 8.0 * scaleCount;
              llvm::outs() << llvm::format(
                  "%-11s %5lld %-6s %-7s %3lld %10.1f %9.2f %6.1f%% %7.2f "
                  "%8.2f "
                  "%9.1e"
                  "  dynamic: %u planes, %.2f MB (static %.2f MB), %.2fx "
                  "static "
                  "time\n",
                  (std::to_string(n) + "x" + std::to_string(k)).c_str(),
                  (long long)batch, ("d" + wd.name()).c_str(),
                  group ? std::to_string(group).c_str() : "channel",
                  (long long)threads, dsecs * 1e6, dbytes / dsecs / 1e9,
                  100 * dbytes / dsecs / 1e9 / dbw, dbw,
                  baseline[{batch, threads}] / dsecs, dErr, readPlanes,
                  dbytes / 1e6, bytes / 1e6, dsecs / secs);
              llvm::outs().flush();
              records.push_back(llvm::json::Object{
                  {"shape", std::to_string(n) + "x" + std::to_string(k)},
                  {"batch", batch},
                  {"width", wd.name()},
                  {"mode", nm::sliceModeName(wd.mode)},
                  {"kernel", "dynamic"},
                  {"group", group},
                  {"threads", threads},
                  {"planes_read", readPlanes},
                  {"bytes", dbytes},
                  {"static_bytes", bytes},
                  {"time_us", dsecs * 1e6},
                  {"static_time_us", secs * 1e6},
                  {"time_vs_static", dsecs / secs},
                  {"pct_of_bandwidth", 100 * dbytes / dsecs / 1e9 / dbw},
                  {"read_bandwidth_gbps", dbw},
                  {"max_rel_error", dErr}});
            };
            timed.push_back(std::move(dt));
          }
      }
    }
    timeAll(timed);
  }
  if (!jsonOut.empty()) {
    llvm::json::Object bwByThreads;
    for (auto &[t, bw] : bandwidth)
      bwByThreads[std::to_string(t)] = bw;
    llvm::json::Object root{
        {"read_bandwidth_gbps", bestBandwidth},
        {"bandwidth_per_record", adjacentBandwidth ? "adjacent" : "start"},
        {"rounds", std::max(1, roundsOpt.getValue())},
        {"read_bandwidth_gbps_by_threads", std::move(bwByThreads)},
        {"records", std::move(records)}};
    std::error_code ec;
    llvm::raw_fd_ostream os(jsonOut, ec);
    if (ec) {
      llvm::errs() << "matquant-bench: cannot write " << jsonOut << ": "
                   << ec.message() << "\n";
      return 1;
    }
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  }
  return 0;
}
