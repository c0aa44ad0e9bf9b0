//===- Search.cpp - MatQuant post-training quantizers ---------------------===//
//
// Implements include/matquant/Numerics/Search.h: weight and output errors,
// the data-free clipping search of the MatQuant objective and the calibrated
// (GPTQ) quantizer. Every code and every (alpha, m) is produced by the
// primitives of Numerics.cpp (groupParams, quantizeValue, dequantizeIndex),
// so the results follow docs/Numerics.md bit for bit.
//
// Compiled with -ffp-contract=off like the rest of the library. Eigen (used
// for X^T X, the Cholesky factorisation and the block updates of GPTQ) uses
// its own kernels; none of them computes a code or a scale.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Search.h"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <thread>

namespace matquant::numerics {

namespace {

/// Runs fn(begin, end) over [0, n) split into `threads` contiguous chunks.
template <typename Fn> void parallelFor(int64_t n, unsigned threads, Fn fn) {
  if (n <= 0)
    return;
  unsigned t =
      static_cast<unsigned>(std::min<int64_t>(std::max(1u, threads), n));
  if (t == 1) {
    fn(int64_t(0), n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(t);
  for (unsigned i = 0; i < t; ++i) {
    int64_t lo = n * i / t, hi = n * (i + 1) / t;
    pool.emplace_back([=] { fn(lo, hi); });
  }
  for (std::thread &th : pool)
    th.join();
}

unsigned resolveThreads(unsigned requested) {
  if (requested)
    return requested;
  unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 1;
}

/// The length of a group along the reduction axis.
int64_t groupLen(const QuantizedMatrix &q) {
  int64_t reduce = q.opts.axis == 0 ? q.cols : q.rows;
  return q.opts.groupSize == 0 ? reduce : q.opts.groupSize;
}

/// The dequantized r-bit value of code `code` of a group with parameters p.
float dequantCode(uint32_t code, const GroupQuant &p, unsigned c, unsigned r,
                  SliceMode mode) {
  return dequantizeIndex(sliceIndex(code, c, r, mode), p.alpha, p.offset, c, r,
                         mode);
}

/// What the clipping search needs to know about the widths, computed once
/// per search: for each width r, the float r-bit index of every c-bit code
/// and the factor 2^(c-r), so that w_hat_r = (alpha * 2^(c-r)) * k + m' (m'
/// from sliceOffset) is evaluated exactly as dequantizeIndex() does.
struct SearchContext {
  unsigned c = 8;
  SliceMode mode = SliceMode::Clamped;
  float levels = 255.0f;
  std::vector<unsigned> widths;
  std::vector<double> lambdas;
  std::vector<std::vector<float>> index; ///< [width][code] -> float(k)
  std::vector<float> pow2;               ///< [width] -> 2^(c-r)
  std::vector<float> grid;
  double gridStep = 0.05;
  float gridMax = 1.0f;
  bool refine = false;
  bool normalize = false;

  explicit SearchContext(const MatQuantOptions &opts)
      : c(opts.quant.bits), mode(opts.mode),
        levels(float((1u << opts.quant.bits) - 1u)), grid(clipGrid(opts)),
        gridStep(opts.gridStep), gridMax(static_cast<float>(opts.gridMax)),
        refine(opts.refine), normalize(opts.normalize) {
    for (size_t i = 0; i < opts.widths.size(); ++i) {
      if (opts.lambdas[i] == 0.0)
        continue; // contributes nothing
      unsigned r = opts.widths[i];
      widths.push_back(r);
      lambdas.push_back(opts.lambdas[i]);
      std::vector<float> idx(size_t(1) << c);
      for (uint32_t q = 0; q < (1u << c); ++q)
        idx[q] = static_cast<float>(sliceIndex(q, c, r, opts.mode));
      index.push_back(std::move(idx));
      pow2.push_back(static_cast<float>(1u << (c - r)));
    }
  }
};

/// Per-thread scratch of the clipping search.
struct SearchScratch {
  std::vector<float> values;  ///< the gathered group, NaN removed
  std::vector<uint8_t> codes; ///< its codes for the pair being tried
  /// Optional per-element weights of the squared errors (same length as
  /// values; empty: all 1).
  std::vector<float> weights;
};

/// The squared error of the contiguous NaN-free group v[0..n) quantized
/// with p, at each width of ctx (into out[i]), each element's error weighted
/// by h[t] when h is given.
void evalWidths(const float *v, int64_t n, const GroupQuant &p,
                const SearchContext &ctx, SearchScratch &scratch,
                const float *h, double *out) {
  if (p.alpha == 0.0f) {
    // Exact group: every slice dequantizes to (alpha * 2^(c-r)) * 0 + m.
    for (size_t i = 0; i < ctx.widths.size(); ++i) {
      float hat =
          dequantizeIndex(0, p.alpha, p.offset, ctx.c, ctx.widths[i], ctx.mode);
      double acc = 0.0;
      for (int64_t t = 0; t < n; ++t) {
        double d = double(v[t]) - double(hat);
        acc += h ? double(h[t]) * d * d : d * d;
      }
      out[i] = acc;
    }
    return;
  }
  scratch.codes.resize(static_cast<size_t>(n));
  uint8_t *codes = scratch.codes.data();
  const float alpha = p.alpha, z = p.z, levels = ctx.levels;
  for (int64_t t = 0; t < n; ++t)
    codes[t] = static_cast<uint8_t>(quantizeCode(v[t], alpha, z, levels));
  for (size_t i = 0; i < ctx.widths.size(); ++i) {
    const float scale = alpha * ctx.pow2[i];
    const float m =
        sliceOffset(alpha, p.offset, ctx.c, ctx.widths[i], ctx.mode);
    const float *idx = ctx.index[i].data();
    if (h) {
      double a = 0.0;
      for (int64_t t = 0; t < n; ++t) {
        double d = double(v[t]) - double(scale * idx[codes[t]] + m);
        a += double(h[t]) * d * d;
      }
      out[i] = a;
      continue;
    }
    // Four partial sums; the order differs from a plain loop only in the
    // last bits of a float64 sum.
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int64_t t = 0;
    for (; t + 4 <= n; t += 4) {
      double d0 = double(v[t]) - double(scale * idx[codes[t]] + m);
      double d1 = double(v[t + 1]) - double(scale * idx[codes[t + 1]] + m);
      double d2 = double(v[t + 2]) - double(scale * idx[codes[t + 2]] + m);
      double d3 = double(v[t + 3]) - double(scale * idx[codes[t + 3]] + m);
      a0 += d0 * d0;
      a1 += d1 * d1;
      a2 += d2 * d2;
      a3 += d3 * d3;
    }
    for (; t < n; ++t) {
      double d = double(v[t]) - double(scale * idx[codes[t]] + m);
      a0 += d * d;
    }
    out[i] = (a0 + a1) + (a2 + a3);
  }
}

/// sum_i lam[i] * (the error at width i).
double evalObjective(const float *v, int64_t n, const GroupQuant &p,
                     const SearchContext &ctx, SearchScratch &scratch,
                     const float *h, const double *lam) {
  double e[16];
  evalWidths(v, n, p, ctx, scratch, h, e);
  double obj = 0.0;
  for (size_t i = 0; i < ctx.widths.size(); ++i)
    obj += lam[i] * e[i];
  return obj;
}

/// searchGroupClip on the NaN-free group in scratch.values. If `lamOut` is
/// given, writes the weights the objective used for each width of ctx (the
/// lambdas, or the normalized lambdas).
void searchContiguous(const SearchContext &ctx, SearchScratch &scratch,
                      float &gammaOut, float &betaOut,
                      double *lamOut = nullptr) {
  const float *v = scratch.values.data();
  const int64_t n = static_cast<int64_t>(scratch.values.size());
  const size_t nw = ctx.widths.size();
  double lam[16];
  for (size_t i = 0; i < nw; ++i)
    lam[i] = ctx.lambdas[i];
  float bestG = 1.0f, bestB = 1.0f;
  gammaOut = bestG;
  betaOut = bestB;
  auto finish = [&] {
    if (lamOut)
      std::copy(lam, lam + nw, lamOut);
  };
  if (n == 0)
    return finish();
  float mn, mx;
  groupRange(v, n, 1, mn, mx);
  if (!(mx > mn))
    return finish(); // exact group: clipping changes nothing
  const unsigned c = ctx.c;
  const float *h = scratch.weights.empty() ? nullptr : scratch.weights.data();
  GroupQuant base = groupParamsFromRange(mn, mx, c, 1.0f, 1.0f);
  if (ctx.normalize) {
    // Each width's error relative to its min-max error.
    double e[16];
    evalWidths(v, n, base, ctx, scratch, h, e);
    for (size_t i = 0; i < nw; ++i)
      lam[i] =
          ctx.lambdas[i] / std::max(e[i], std::numeric_limits<double>::min());
  }
  double best = evalObjective(v, n, base, ctx, scratch, h, lam);
  auto tryPair = [&](float g, float b) {
    double obj = evalObjective(v, n, groupParamsFromRange(mn, mx, c, g, b), ctx,
                               scratch, h, lam);
    if (obj < best) {
      best = obj;
      bestG = g;
      bestB = b;
    }
  };
  for (float g : ctx.grid)
    for (float b : ctx.grid)
      if (!(g == 1.0f && b == 1.0f))
        tryPair(g, b);
  if (ctx.refine && ctx.grid.size() > 1) {
    const double fine = ctx.gridStep / 4.0;
    const float top = ctx.gridMax;
    const float g0 = bestG, b0 = bestB;
    for (int i = -4; i <= 4; ++i) {
      float g = static_cast<float>(double(g0) + i * fine);
      if (!(g > 0.0f) || g > top)
        continue;
      for (int j = -4; j <= 4; ++j) {
        float b = static_cast<float>(double(b0) + j * fine);
        if (!(b > 0.0f) || b > top || (i == 0 && j == 0))
          continue;
        tryPair(g, b);
      }
    }
  }
  gammaOut = bestG;
  betaOut = bestB;
  finish();
}

/// Gathers v[0], v[stride], ... into `out`, leaving out NaN (which takes
/// no part in the range and no part in the objective).
void gather(const float *v, int64_t n, int64_t stride,
            std::vector<float> &out) {
  out.clear();
  for (int64_t t = 0; t < n; ++t)
    if (!std::isnan(v[t * stride]))
      out.push_back(v[t * stride]);
}

} // namespace

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

namespace {
/// Calls fn(group, (w - w_hat_r)^2) for every non-NaN element, row-major.
template <typename Fn>
void forEachSquaredError(const QuantizedMatrix &q, unsigned r, SliceMode mode,
                         const float *w, Fn fn) {
  const unsigned c = q.opts.bits;
  assert(r >= 1 && r <= c);
  for (int64_t i = 0; i < q.rows; ++i) {
    for (int64_t j = 0; j < q.cols; ++j) {
      size_t e = static_cast<size_t>(i * q.cols + j);
      if (std::isnan(w[e]))
        continue;
      int64_t g = q.groupIndex(i, j);
      float hat = dequantizeIndex(sliceIndex(q.codes[e], c, r, mode),
                                  q.alpha[g], q.offset[g], c, r, mode);
      double d = double(w[e]) - double(hat);
      fn(g, d * d);
    }
  }
}
} // namespace

std::vector<double> weightErrorPerGroup(const QuantizedMatrix &q, unsigned r,
                                        SliceMode mode, const float *w) {
  std::vector<double> err(q.alpha.size(), 0.0);
  forEachSquaredError(q, r, mode, w, [&](int64_t g, double d2) {
    err[static_cast<size_t>(g)] += d2;
  });
  return err;
}

double weightError(const QuantizedMatrix &q, unsigned r, SliceMode mode,
                   const float *w) {
  double err = 0.0;
  forEachSquaredError(q, r, mode, w, [&](int64_t, double d2) { err += d2; });
  return err;
}

double squaredNorm(const float *w, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isnan(w[i]))
      s += double(w[i]) * double(w[i]);
  return s;
}

double matquantObjective(const QuantizedMatrix &q, const float *w,
                         const std::vector<unsigned> &widths,
                         const std::vector<double> &lambdas, SliceMode mode) {
  assert(widths.size() == lambdas.size());
  double obj = 0.0;
  for (size_t i = 0; i < widths.size(); ++i)
    if (lambdas[i] != 0.0)
      obj += lambdas[i] * weightError(q, widths[i], mode, w);
  return obj;
}

namespace {
using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>;
using MatDR =
    Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatFR =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;

/// ||X D^T||^2 (axis 0, D [N, K]) or ||X D||^2 (axis 1, D [K, N]).
double projectedEnergy(const MatDR &d, unsigned axis, const float *x,
                       int64_t samples) {
  int64_t k = axis == 0 ? d.cols() : d.rows();
  Eigen::Map<const MatFR> xf(x, samples, k);
  MatD xd = xf.cast<double>();
  MatD y = axis == 0 ? MatD(xd * d.transpose()) : MatD(xd * d);
  return y.squaredNorm();
}
} // namespace

double outputError(const QuantizedMatrix &q, unsigned r, SliceMode mode,
                   const float *w, const float *x, int64_t samples) {
  std::vector<float> hat = dequantize(q, r, mode);
  MatDR d(q.rows, q.cols);
  for (int64_t i = 0; i < q.rows; ++i)
    for (int64_t j = 0; j < q.cols; ++j) {
      size_t e = static_cast<size_t>(i * q.cols + j);
      d(i, j) = double(w[e]) - double(hat[e]);
    }
  return projectedEnergy(d, q.opts.axis, x, samples);
}

double outputEnergy(const float *w, int64_t rows, int64_t cols, unsigned axis,
                    const float *x, int64_t samples) {
  MatDR d = Eigen::Map<const MatFR>(w, rows, cols).cast<double>();
  return projectedEnergy(d, axis, x, samples);
}

//===----------------------------------------------------------------------===//
// Data-free MatQuant
//===----------------------------------------------------------------------===//

std::string validate(int64_t rows, int64_t cols, const MatQuantOptions &opts) {
  std::string err = validate(rows, cols, opts.quant);
  if (!err.empty())
    return err;
  const unsigned c = opts.quant.bits;
  if (opts.widths.empty())
    return "the list of widths is empty";
  if (opts.widths.size() > 16)
    return "at most 16 widths, got " + std::to_string(opts.widths.size());
  for (size_t i = 0; i < opts.widths.size(); ++i) {
    unsigned r = opts.widths[i];
    if (r < 1 || r > c)
      return "width " + std::to_string(r) + " is not in 1.." +
             std::to_string(c) + " (the storage width)";
    for (size_t j = 0; j < i; ++j)
      if (opts.widths[j] == r)
        return "width " + std::to_string(r) + " is listed twice";
  }
  if (opts.lambdas.size() != opts.widths.size())
    return "expected one lambda per width (" +
           std::to_string(opts.widths.size()) + "), got " +
           std::to_string(opts.lambdas.size());
  double sum = 0.0;
  for (double l : opts.lambdas) {
    if (!std::isfinite(l) || l < 0.0)
      return "every lambda must be finite and >= 0, got " + std::to_string(l);
    sum += l;
  }
  if (!(sum > 0.0))
    return "the lambdas must not all be 0";
  if (!(opts.gridMin > 0.0 && opts.gridMin <= 1.0))
    return "the smallest clip factor must be in (0, 1], got " +
           std::to_string(opts.gridMin);
  if (!(opts.gridMax >= 1.0 && opts.gridMax <= 4.0))
    return "the largest clip factor must be in [1, 4], got " +
           std::to_string(opts.gridMax);
  if ((opts.gridMin < 1.0 || opts.gridMax > 1.0) &&
      !(opts.gridStep > 0.0 && std::isfinite(opts.gridStep) &&
        (opts.gridMax - opts.gridMin) / opts.gridStep <= 1000.0))
    return "the clip grid step must be positive and give at most 1000 "
           "values, got " +
           std::to_string(opts.gridStep);
  return std::string();
}

std::vector<float> clipGrid(const MatQuantOptions &opts) {
  std::vector<float> grid = {1.0f};
  if (opts.gridMin < 1.0) {
    for (int i = 1;; ++i) {
      double v = 1.0 - i * opts.gridStep;
      // Tolerate the rounding of i * step (0.5 must be reached from 0.05).
      if (v < opts.gridMin - 1e-9)
        break;
      grid.push_back(static_cast<float>(std::max(v, opts.gridMin)));
    }
  }
  if (opts.gridMax > 1.0) {
    for (int i = 1;; ++i) {
      double v = 1.0 + i * opts.gridStep;
      if (v > opts.gridMax + 1e-9)
        break;
      grid.push_back(static_cast<float>(std::min(v, opts.gridMax)));
    }
  }
  return grid;
}

double groupObjective(const float *v, int64_t n, int64_t stride, float gamma,
                      float beta, const MatQuantOptions &opts) {
  SearchContext ctx(opts);
  SearchScratch scratch;
  gather(v, n, stride, scratch.values);
  if (scratch.values.empty())
    return 0.0;
  const int64_t m = static_cast<int64_t>(scratch.values.size());
  const float *x = scratch.values.data();
  double lam[16];
  for (size_t i = 0; i < ctx.widths.size(); ++i)
    lam[i] = ctx.lambdas[i];
  if (ctx.normalize) {
    double e[16];
    evalWidths(x, m, groupParams(x, m, 1, opts.quant.bits, 1.0f, 1.0f), ctx,
               scratch, nullptr, e);
    for (size_t i = 0; i < ctx.widths.size(); ++i)
      lam[i] =
          ctx.lambdas[i] / std::max(e[i], std::numeric_limits<double>::min());
  }
  GroupQuant p = groupParams(x, m, 1, opts.quant.bits, gamma, beta);
  return evalObjective(x, m, p, ctx, scratch, nullptr, lam);
}

void searchGroupClip(const float *v, int64_t n, int64_t stride,
                     const MatQuantOptions &opts, float &gamma, float &beta) {
  SearchContext ctx(opts);
  SearchScratch scratch;
  gather(v, n, stride, scratch.values);
  searchContiguous(ctx, scratch, gamma, beta);
}

void searchClipping(const float *w, int64_t rows, int64_t cols,
                    const MatQuantOptions &opts, std::vector<float> &gamma,
                    std::vector<float> &beta) {
  QuantizedMatrix shape;
  shape.rows = rows;
  shape.cols = cols;
  shape.opts = opts.quant;
  const int64_t sRows = shape.scaleRows(), sCols = shape.scaleCols();
  const int64_t nGroups = sRows * sCols;
  const int64_t glen = groupLen(shape);
  gamma.assign(static_cast<size_t>(nGroups), 1.0f);
  beta.assign(static_cast<size_t>(nGroups), 1.0f);
  const SearchContext ctx(opts);
  // Small problems are not worth a thread.
  double work = double(rows) * double(cols) * double(ctx.grid.size()) *
                double(ctx.grid.size());
  unsigned threads = work < 4e6 ? 1u : resolveThreads(opts.threads);
  parallelFor(nGroups, threads, [&](int64_t lo, int64_t hi) {
    SearchScratch scratch;
    for (int64_t g = lo; g < hi; ++g) {
      int64_t sr = g / sCols, sc = g % sCols;
      const float *first;
      int64_t stride;
      if (opts.quant.axis == 0) {
        first = w + sr * cols + sc * glen;
        stride = 1;
      } else {
        first = w + (sr * glen) * cols + sc;
        stride = cols;
      }
      gather(first, glen, stride, scratch.values);
      searchContiguous(ctx, scratch, gamma[static_cast<size_t>(g)],
                       beta[static_cast<size_t>(g)]);
    }
  });
}

QuantizedMatrix quantizeMatQuant(const float *w, int64_t rows, int64_t cols,
                                 const MatQuantOptions &opts) {
  if (!validate(rows, cols, opts).empty())
    return QuantizedMatrix();
  std::vector<float> gamma, beta;
  searchClipping(w, rows, cols, opts, gamma, beta);
  return quantize(w, rows, cols, opts.quant, gamma, beta);
}

QuantizedMatrix quantizeSeparate(const float *w, int64_t rows, int64_t cols,
                                 unsigned r, const MatQuantOptions &opts) {
  MatQuantOptions one = opts;
  one.quant.bits = r;
  one.widths = {r};
  one.lambdas = {1.0};
  return quantizeMatQuant(w, rows, cols, one);
}

//===----------------------------------------------------------------------===//
// Calibrated MatQuant (GPTQ)
//===----------------------------------------------------------------------===//

bool inverseHessianFactor(const float *x, int64_t samples, int64_t k,
                          double damp, std::vector<double> &u) {
  Eigen::Map<const MatFR> xf(x, samples, k);
  MatD xd = xf.cast<double>();
  MatD h = MatD::Zero(k, k);
  h.selfadjointView<Eigen::Lower>().rankUpdate(xd.transpose(), 2.0);
  double mean = h.diagonal().mean();
  double add = mean > 0.0 && std::isfinite(mean) ? damp * mean : 1.0;
  if (!(add > 0.0))
    add = 1.0;
  h.diagonal().array() += add;
  // U^T U = H^-1 with U upper: with P the reversal permutation and
  // P H P = L L^T, U = P L^-1 P.
  MatD hr = h.selfadjointView<Eigen::Lower>();
  hr = hr.reverse().eval();
  Eigen::LLT<MatD> llt(hr);
  if (llt.info() != Eigen::Success)
    return false;
  MatD linv = MatD::Identity(k, k);
  llt.matrixL().solveInPlace(linv);
  MatDR ur = linv.reverse();
  u.assign(ur.data(), ur.data() + k * k);
  for (double v : u)
    if (!std::isfinite(v))
      return false;
  return true;
}

std::string validateCalibration(const float *w, int64_t rows, int64_t cols,
                                const float *x, int64_t samples,
                                const MatQuantOptions &opts) {
  std::string err = validate(rows, cols, opts);
  if (!err.empty())
    return err;
  if (samples <= 0)
    return "calibration needs at least one sample, got " +
           std::to_string(samples);
  const int64_t k = opts.quant.axis == 0 ? cols : rows;
  if (k > 32768)
    return "reduction length " + std::to_string(k) +
           " is too long for the K x K Hessian (at most 32768)";
  for (int64_t i = 0; i < rows * cols; ++i)
    if (!std::isfinite(w[i]))
      return "weight element " + std::to_string(i) + " is not finite";
  for (int64_t i = 0; i < samples * k; ++i)
    if (!std::isfinite(x[i]))
      return "activation element " + std::to_string(i) + " (sample " +
             std::to_string(i / k) + ") is not finite";
  return std::string();
}

namespace {

/// GPTQ on rows [r0, r1) of the row-major N x K matrix w; writes their codes
/// and (alpha, m) into `out` (axis 0).
void gptqRows(const float *w, int64_t r0, int64_t r1, int64_t kDim,
              const MatFR &u, const std::vector<float> &hdiag,
              const MatQuantOptions &opts, const CalibrationOptions &calib,
              QuantizedMatrix &out) {
  const int64_t n = r1 - r0;
  const unsigned c = opts.quant.bits;
  const int64_t glen = opts.quant.groupSize ? opts.quant.groupSize : kDim;
  const int64_t sCols = out.scaleCols();
  // Blocks hold whole groups, so a group never starts before the updates of
  // the columns in front of it have been applied.
  int64_t block = std::max<int64_t>(1, calib.blockSize);
  if (opts.quant.groupSize)
    block = glen * std::max<int64_t>(1, block / glen);
  const SearchContext ctx(opts);
  const size_t nw = ctx.widths.size();
  // The weights of the propagated error, per row: the given propagation
  // lambdas, else the weights the clipping search used for the row's
  // current group (the lambdas, or the normalized lambdas).
  std::vector<double> mu(static_cast<size_t>(n) * nw);
  std::vector<double> fixedMu;
  if (!calib.propagationLambdas.empty())
    for (size_t j = 0; j < opts.widths.size(); ++j)
      if (opts.lambdas[j] != 0.0)
        fixedMu.push_back(calib.propagationLambdas[j]);

  MatF wt = Eigen::Map<const MatFR>(w + r0 * kDim, n, kDim);
  MatF err(n, block);
  std::vector<GroupQuant> params(static_cast<size_t>(n));
  SearchScratch scratch;
  for (int64_t b0 = 0; b0 < kDim; b0 += block) {
    const int64_t b1 = std::min(kDim, b0 + block);
    for (int64_t k = b0; k < b1; ++k) {
      if (k % glen == 0) {
        // A group starts: search its clip factors on the current weights.
        for (int64_t i = 0; i < n; ++i) {
          gather(&wt(i, k), glen, n, scratch.values);
          if (calib.weightedSearch)
            scratch.weights.assign(hdiag.begin() + k, hdiag.begin() + k + glen);
          float gamma, beta;
          double *rowMu = &mu[static_cast<size_t>(i) * nw];
          searchContiguous(ctx, scratch, gamma, beta, rowMu);
          if (!fixedMu.empty())
            std::copy(fixedMu.begin(), fixedMu.end(), rowMu);
          GroupQuant p = groupParams(&wt(i, k), glen, n, c, gamma, beta);
          params[static_cast<size_t>(i)] = p;
          int64_t g = (r0 + i) * sCols + k / glen;
          out.alpha[static_cast<size_t>(g)] = p.alpha;
          out.offset[static_cast<size_t>(g)] = p.offset;
        }
      }
      const float d = u(k, k);
      for (int64_t i = 0; i < n; ++i) {
        const GroupQuant &p = params[static_cast<size_t>(i)];
        float x = wt(i, k);
        uint8_t q = quantizeValue(x, p, c);
        out.codes[static_cast<size_t>((r0 + i) * kDim + k)] = q;
        const double *rowMu = &mu[static_cast<size_t>(i) * nw];
        double e = 0.0, muSum = 0.0;
        for (size_t j = 0; j < nw; ++j) {
          e += rowMu[j] * (double(x) - double(dequantCode(
                                           q, p, c, ctx.widths[j], opts.mode)));
          muSum += rowMu[j];
        }
        err(i, k - b0) =
            muSum > 0.0 ? static_cast<float>(e / muSum / double(d)) : 0.0f;
      }
      if (k + 1 < b1)
        wt.block(0, k + 1, n, b1 - k - 1).noalias() -=
            err.col(k - b0) * u.block(k, k + 1, 1, b1 - k - 1);
    }
    if (b1 < kDim)
      wt.rightCols(kDim - b1).noalias() -=
          err.leftCols(b1 - b0) * u.block(b0, b1, b1 - b0, kDim - b1);
  }
}

} // namespace

QuantizedMatrix quantizeCalibrated(const float *w, int64_t rows, int64_t cols,
                                   const float *x, int64_t samples,
                                   const MatQuantOptions &opts,
                                   const CalibrationOptions &calib,
                                   std::string *error) {
  std::string err = validateCalibration(w, rows, cols, x, samples, opts);
  if (err.empty() && !(calib.damp >= 0.0 && std::isfinite(calib.damp)))
    err =
        "dampening must be finite and >= 0, got " + std::to_string(calib.damp);
  if (err.empty() && !calib.propagationLambdas.empty()) {
    double sum = 0.0;
    for (double l : calib.propagationLambdas) {
      if (!std::isfinite(l) || l < 0.0)
        err = "every propagation lambda must be finite and >= 0";
      sum += l;
    }
    if (calib.propagationLambdas.size() != opts.widths.size())
      err = "expected one propagation lambda per width (" +
            std::to_string(opts.widths.size()) + "), got " +
            std::to_string(calib.propagationLambdas.size());
    else if (err.empty() && !(sum > 0.0))
      err = "the propagation lambdas must not all be 0";
  }
  if (!err.empty()) {
    if (error)
      *error = err;
    return QuantizedMatrix();
  }
  if (opts.quant.axis == 1) {
    // W [K, N]: run on the transpose and transpose the result back.
    std::vector<float> wt(static_cast<size_t>(rows * cols));
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        wt[static_cast<size_t>(j * rows + i)] = w[i * cols + j];
    MatQuantOptions o = opts;
    o.quant.axis = 0;
    QuantizedMatrix t =
        quantizeCalibrated(wt.data(), cols, rows, x, samples, o, calib, error);
    if (t.rows == 0)
      return t;
    QuantizedMatrix out;
    out.rows = rows;
    out.cols = cols;
    out.opts = opts.quant;
    out.codes.resize(t.codes.size());
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        out.codes[static_cast<size_t>(i * cols + j)] =
            t.codes[static_cast<size_t>(j * rows + i)];
    const int64_t tr = t.scaleRows(), tc = t.scaleCols();
    out.alpha.resize(t.alpha.size());
    out.offset.resize(t.offset.size());
    for (int64_t i = 0; i < tr; ++i)
      for (int64_t j = 0; j < tc; ++j) {
        out.alpha[static_cast<size_t>(j * tr + i)] =
            t.alpha[static_cast<size_t>(i * tc + j)];
        out.offset[static_cast<size_t>(j * tr + i)] =
            t.offset[static_cast<size_t>(i * tc + j)];
      }
    return out;
  }

  std::vector<double> ud;
  if (!inverseHessianFactor(x, samples, cols, calib.damp, ud)) {
    if (error)
      *error = "the dampened Hessian 2 X^T X is not positive definite; "
               "increase the dampening";
    return QuantizedMatrix();
  }
  MatFR u = Eigen::Map<const MatDR>(ud.data(), cols, cols).cast<float>();
  ud.clear();
  ud.shrink_to_fit();

  QuantizedMatrix out;
  out.rows = rows;
  out.cols = cols;
  out.opts = opts.quant;
  out.codes.assign(static_cast<size_t>(rows * cols), 0);
  out.alpha.assign(static_cast<size_t>(out.scaleRows() * out.scaleCols()),
                   0.0f);
  out.offset.assign(out.alpha.size(), 0.0f);
  // Row slabs of at least 32 rows per thread.
  unsigned threads = static_cast<unsigned>(std::min<int64_t>(
      resolveThreads(opts.threads), std::max<int64_t>(1, rows / 32)));
  // diag(H) for the weighted clipping search, as inverseHessianFactor
  // forms H.
  std::vector<float> hdiag;
  if (calib.weightedSearch) {
    std::vector<double> diag(static_cast<size_t>(cols), 0.0);
    for (int64_t s = 0; s < samples; ++s)
      for (int64_t k = 0; k < cols; ++k)
        diag[k] += 2.0 * double(x[s * cols + k]) * double(x[s * cols + k]);
    double mean = 0.0;
    for (double v : diag)
      mean += v / double(cols);
    double add = mean > 0.0 ? calib.damp * mean : 1.0;
    if (!(add > 0.0))
      add = 1.0;
    for (double v : diag)
      hdiag.push_back(static_cast<float>(v + add));
  }
  parallelFor(rows, threads, [&](int64_t lo, int64_t hi) {
    gptqRows(w, lo, hi, cols, u, hdiag, opts, calib, out);
  });
  return out;
}

//===----------------------------------------------------------------------===//
// Option lists
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> splitList(const std::string &s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    std::string item = s.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    parts.push_back(b == std::string::npos ? std::string()
                                           : item.substr(b, e - b + 1));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return parts;
}
} // namespace

std::string parseUnsignedList(const std::string &s,
                              std::vector<unsigned> &out) {
  out.clear();
  for (const std::string &item : splitList(s)) {
    if (item.empty())
      return "empty item in the list '" + s + "'";
    if (item.size() > 10 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      return "'" + item + "' is not an unsigned integer";
    unsigned long long v = std::strtoull(item.c_str(), nullptr, 10);
    if (v > (1ull << 31))
      return "'" + item + "' is too large";
    out.push_back(static_cast<unsigned>(v));
  }
  return std::string();
}

std::string parseDoubleList(const std::string &s, std::vector<double> &out) {
  out.clear();
  for (const std::string &item : splitList(s)) {
    if (item.empty())
      return "empty item in the list '" + s + "'";
    char *end = nullptr;
    errno = 0;
    double v = std::strtod(item.c_str(), &end);
    if (end != item.c_str() + item.size() || errno != 0 || !std::isfinite(v))
      return "'" + item + "' is not a finite number";
    out.push_back(v);
  }
  return std::string();
}

} // namespace matquant::numerics
