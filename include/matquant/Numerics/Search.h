//===- Search.h - MatQuant post-training quantizers ------------*- C++ -*-===//
//
// Post-training quantizers for the shared c-bit model of MatQuant (Nair et
// al., ICML 2025), in plain C++ on top of Numerics.h:
//
// - weight and output errors of an r-bit slice;
// - data-free MatQuant: per-group clipping (gamma, beta) chosen by grid
//   search to minimise sum_r lambda_r ||w_g - w_hat_{g,r}||^2 over the nested
//   widths r (shared/MATQUANT.md section 4), and the "separate" baseline (the
//   same search for one width r alone, stored at c = r);
// - calibrated MatQuant: GPTQ (Frantar et al., ICLR 2023) with calibration
//   activations X, the per-group scales from the clipping search on the
//   error-compensated weights, and the error of each column taken as the
//   lambda-weighted mean over the nested slices.
//
// Every quantizer returns a QuantizedMatrix that quantize() could have
// produced: its codes and (alpha, m) follow the float32 rules of
// docs/Numerics.md, so slicing, dequantization and the kernels apply as is.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_NUMERICS_SEARCH_H
#define MATQUANT_NUMERICS_SEARCH_H

#include "matquant/Numerics/Numerics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matquant::numerics {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// ||W - W_hat_r||^2 over the whole matrix, accumulated in float64 with the
/// dequantized float32 values of dequantize(). NaN weights are skipped.
/// `w` has the shape of q.
double weightError(const QuantizedMatrix &q, unsigned r, SliceMode mode,
                   const float *w);

/// The same error per group, in the order of q.alpha.
std::vector<double> weightErrorPerGroup(const QuantizedMatrix &q, unsigned r,
                                        SliceMode mode, const float *w);

/// ||W||^2 in float64 (NaN skipped): the denominator of a relative error.
double squaredNorm(const float *w, int64_t n);

/// The multi-scale objective sum_i lambdas[i] * weightError(q, widths[i]).
double matquantObjective(const QuantizedMatrix &q, const float *w,
                         const std::vector<unsigned> &widths,
                         const std::vector<double> &lambdas, SliceMode mode);

/// ||X (W - W_hat_r)^T||^2 for a q with axis 0 (W [N, K], X [samples, K]),
/// or ||X (W - W_hat_r)||^2 for axis 1 (W [K, N]), in float64.
double outputError(const QuantizedMatrix &q, unsigned r, SliceMode mode,
                   const float *w, const float *x, int64_t samples);

/// ||X W^T||^2 (axis 0) or ||X W||^2 (axis 1) in float64.
double outputEnergy(const float *w, int64_t rows, int64_t cols, unsigned axis,
                    const float *x, int64_t samples);

//===----------------------------------------------------------------------===//
// Data-free MatQuant
//===----------------------------------------------------------------------===//

/// Options of the MatQuant quantizers.
struct MatQuantOptions {
  /// Storage width c, channel axis and group size of the shared model.
  QuantOptions quant;
  /// The nested widths R, each in 1..c, without duplicates.
  std::vector<unsigned> widths = {8, 4, 2};
  /// One weight lambda_r >= 0 per width, not all 0 (the paper's Gemma
  /// setting by default).
  std::vector<double> lambdas = {0.1, 0.1, 1.0};
  /// How the slices are taken (the paper's extra-precision variant drops
  /// the clamp).
  SliceMode mode = SliceMode::Clamped;
  /// The clipping grid: gamma and beta each take the values
  /// 1, 1 - step, 1 - 2 step, ... down to gridMin (>= gridMin > 0), every
  /// pair is tried. gridMin = 1 gives plain min-max.
  double gridMin = 0.5;
  double gridStep = 0.05;
  /// (matquant) Clip factors above 1 widen the range instead: the grid then
  /// also holds 1 + step, 1 + 2 step, ... up to gridMax (1 <= gridMax <= 4).
  /// A clamped r-bit slice only reaches (2^r - 1) / 2^r of the c-bit range
  /// (192 of 255 at int2), so widening the top can serve the narrow slices
  /// without the saturation that clipping costs the wide ones.
  double gridMax = 1.0;
  /// Then refine: a grid of step gridStep / 4 over [best - step, best +
  /// step] (clipped to (0, 1]) for each group. Costs about 80 more
  /// evaluations per group.
  bool refine = false;
  /// (matquant) Weigh each width's error relative to the group's min-max
  /// error at that width: minimise sum_r lambda_r e_r / e_r(min-max) instead
  /// of sum_r lambda_r e_r. Squared errors shrink by about 4x per extra
  /// bit, so with plain lambdas the narrowest width decides alone; the
  /// normalized objective makes lambda a trade-off between relative errors.
  bool normalize = false;
  /// Threads (0: std::thread::hardware_concurrency()).
  unsigned threads = 0;
};

/// Returns an empty string if `opts` are valid for a rows x cols matrix,
/// otherwise what is wrong.
std::string validate(int64_t rows, int64_t cols, const MatQuantOptions &opts);

/// quantizeValue() of a group that is not exact (alpha != 0), restated
/// branch-free so that the search loop inlines and vectorizes it:
/// t = v / alpha + z, then roundf(t) clamped to [0, levels] with NaN -> 0.
/// roundf rounds half away from zero; for 0 <= t <= levels < 2^23,
/// floor(t) = int(t) and t - floor(t) is exact (Sterbenz), so adding
/// (t - floor(t) >= 0.5) is that rounding. Equal to quantizeValue() for
/// every input (tested).
inline uint32_t quantizeCode(float v, float alpha, float z, float levels) {
  float t = v / alpha + z;
  float tc = t > 0.0f ? t : 0.0f; // NaN -> 0
  tc = tc < levels ? tc : levels;
  int32_t i = static_cast<int32_t>(tc);
  float frac = tc - static_cast<float>(i);
  return static_cast<uint32_t>(i) + (frac >= 0.5f ? 1u : 0u);
}

/// The clip factor values of the search grid: 1, 1 - step, ... >= gridMin,
/// then 1 + step, ... <= gridMax.
std::vector<float> clipGrid(const MatQuantOptions &opts);

/// The per-group objective sum_i lambda_i ||v - v_hat_{r_i}||^2 of quantizing
/// the n values v[0], v[stride], ... at c = opts.quant.bits with clip factors
/// (gamma, beta) (NaN values skipped).
double groupObjective(const float *v, int64_t n, int64_t stride, float gamma,
                      float beta, const MatQuantOptions &opts);

/// Chooses (gamma, beta) for one group: the grid pair (then the refined pair)
/// with the lowest groupObjective, the first in grid order (gamma outer,
/// beta inner, both from 1 down) on ties, so min-max wins ties. A group
/// whose objective is NaN for every pair (an Inf weight) gets (1, 1).
void searchGroupClip(const float *v, int64_t n, int64_t stride,
                     const MatQuantOptions &opts, float &gamma, float &beta);

/// Per-group clip factors for the whole matrix (scale-shape order).
void searchClipping(const float *w, int64_t rows, int64_t cols,
                    const MatQuantOptions &opts, std::vector<float> &gamma,
                    std::vector<float> &beta);

/// Data-free MatQuant: quantize() with the per-group clip factors of
/// searchClipping(). Invalid options give an empty matrix.
QuantizedMatrix quantizeMatQuant(const float *w, int64_t rows, int64_t cols,
                                 const MatQuantOptions &opts);

/// The "separate model per width" baseline: the same search for width r
/// alone (widths = {r}, lambda = {1}), stored at c = r.
QuantizedMatrix quantizeSeparate(const float *w, int64_t rows, int64_t cols,
                                 unsigned r, const MatQuantOptions &opts);

//===----------------------------------------------------------------------===//
// Calibrated MatQuant (GPTQ)
//===----------------------------------------------------------------------===//

/// Options of the calibrated quantizer.
struct CalibrationOptions {
  /// Dampening added to the diagonal of H = 2 X^T X, as a fraction of the
  /// mean of its diagonal (1 when that mean is 0).
  double damp = 0.01;
  /// Columns per lazy block update (rounded to whole groups).
  int64_t blockSize = 128;
  /// The weights mu_r of the error pushed into the remaining columns,
  /// err = sum_r mu_r (w - w_hat_r) / sum_r mu_r, one per width; empty: the
  /// weights of the objective (the lambdas, or with `normalize` the
  /// normalized lambdas of the row's current group): the shared update
  /// that minimises the weighted objective.
  std::vector<double> propagationLambdas;
  /// Weight each element's squared error in the clipping search by the
  /// diagonal of H (the energy of its input) instead of 1.
  bool weightedSearch = false;
};

/// Returns an empty string if the calibration inputs are valid: the
/// MatQuant options, samples > 0, and every weight and activation finite.
std::string validateCalibration(const float *w, int64_t rows, int64_t cols,
                                const float *x, int64_t samples,
                                const MatQuantOptions &opts);

/// Calibrated MatQuant. `x` is [samples, K] row-major, K the reduction
/// length (cols for axis 0, rows for axis 1). GPTQ over the columns of the
/// reduction axis with H = 2 X^T X + damp I: at the start of each group the
/// group's clip factors are searched (searchGroupClip) on its current,
/// error-compensated weights; each column is quantized with them, its error
/// err = sum_r lambda_r (w - w_hat_r) / sum_r lambda_r is pushed into the
/// remaining columns through the upper Cholesky factor of H^-1. Rows are
/// independent and run on opts.threads threads. On invalid input returns an
/// empty matrix and, if `error` is given, the message.
QuantizedMatrix quantizeCalibrated(const float *w, int64_t rows, int64_t cols,
                                   const float *x, int64_t samples,
                                   const MatQuantOptions &opts,
                                   const CalibrationOptions &calib = {},
                                   std::string *error = nullptr);

/// The upper-triangular U with U^T U = (2 X^T X + damp I)^-1, row-major
/// K x K in float64 (exposed for tests). Returns false if H is not
/// positive definite after dampening.
bool inverseHessianFactor(const float *x, int64_t samples, int64_t k,
                          double damp, std::vector<double> &u);

//===----------------------------------------------------------------------===//
// Option lists
//===----------------------------------------------------------------------===//

/// Parses a comma-separated list of unsigned integers ("8,4,2"); returns a
/// message on anything else (empty list, empty item, sign, garbage, > 2^31).
std::string parseUnsignedList(const std::string &s, std::vector<unsigned> &out);

/// Parses a comma-separated list of finite doubles ("0.1,0.1,1").
std::string parseDoubleList(const std::string &s, std::vector<double> &out);

} // namespace matquant::numerics

#endif // MATQUANT_NUMERICS_SEARCH_H
