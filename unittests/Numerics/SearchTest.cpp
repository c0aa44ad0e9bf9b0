//===- SearchTest.cpp - Tests for matquant/Numerics/Search.h --------------===//
//
// Checks the quantizers of Search.h against independent computations written
// here: errors restated as plain loops over quantize() / dequantize() output,
// a brute-force clipping search over one-group matrices, a naive float64
// GPTQ (Gauss-Jordan inverse, textbook Cholesky, no lazy batches), and
// properties (never worse than min-max on the objective, GPTQ lowers the
// output error on correlated activations). Fresh random inputs, ragged sizes.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace matquant::numerics;

namespace {

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

struct Dist {
  const char *name;
  std::function<float(std::mt19937 &)> gen;
};

std::vector<Dist> distributions() {
  return {
      {"normal",
       [](std::mt19937 &r) {
         return std::normal_distribution<float>(0, 1)(r);
       }},
      {"uniform",
       [](std::mt19937 &r) {
         return std::uniform_real_distribution<float>(-0.3f, 0.7f)(r);
       }},
      {"student-t3", // heavy tails
       [](std::mt19937 &r) {
         return 0.02f * std::student_t_distribution<float>(3.0f)(r);
       }},
      {"cauchy-ish", // very heavy tails, clipped to stay finite
       [](std::mt19937 &r) {
         float v = std::cauchy_distribution<float>(0.0f, 0.01f)(r);
         return std::max(-50.0f, std::min(50.0f, v));
       }},
      {"outliers", // normal plus 1% outliers of 20 sigma
       [](std::mt19937 &r) {
         float v = std::normal_distribution<float>(0, 0.05f)(r);
         if (std::uniform_real_distribution<float>(0, 1)(r) < 0.01f)
           v *= 20.0f;
         return v;
       }},
      {"positive-skewed",
       [](std::mt19937 &r) {
         return std::exponential_distribution<float>(3.0f)(r) + 0.1f;
       }},
  };
}

std::vector<float> randomMatrix(std::mt19937 &rng, const Dist &d, int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  for (float &v : w)
    v = d.gen(rng);
  return w;
}

struct Shape {
  int64_t rows, cols;
  unsigned axis;
  int64_t group;
};

// Ragged shapes, per channel and grouped, both axes.
const Shape kShapes[] = {
    {13, 40, 0, 8}, {7, 33, 0, 0}, {24, 7, 1, 6},    {5, 300, 0, 0},
    {9, 96, 0, 32}, {31, 5, 1, 0}, {3, 258, 0, 129},
};

std::string describe(const Shape &s) {
  return std::to_string(s.rows) + "x" + std::to_string(s.cols) + " axis " +
         std::to_string(s.axis) + " G " + std::to_string(s.group);
}

MatQuantOptions optionsFor(const Shape &s, unsigned c = 8) {
  MatQuantOptions o;
  o.quant.bits = c;
  o.quant.axis = s.axis;
  o.quant.groupSize = s.group;
  return o;
}

//===----------------------------------------------------------------------===//
// Independent restatements
//===----------------------------------------------------------------------===//

/// Group of element (i, j), restated from docs/Numerics.md section 1.
int64_t refGroup(const QuantizedMatrix &q, int64_t i, int64_t j) {
  int64_t reduce = q.opts.axis == 0 ? q.cols : q.rows;
  int64_t g = q.opts.groupSize ? q.opts.groupSize : reduce;
  if (q.opts.axis == 0)
    return i * (q.cols / g) + j / g;
  return (i / g) * q.cols + j;
}

/// ||W - W_hat_r||^2 per group from dequantize().
std::vector<double> refErrors(const QuantizedMatrix &q, unsigned r,
                              SliceMode mode, const std::vector<float> &w) {
  std::vector<float> hat = dequantize(q, r, mode);
  std::vector<double> err(q.alpha.size(), 0.0);
  for (int64_t i = 0; i < q.rows; ++i)
    for (int64_t j = 0; j < q.cols; ++j) {
      size_t e = static_cast<size_t>(i * q.cols + j);
      double d = double(w[e]) - double(hat[e]);
      err[static_cast<size_t>(refGroup(q, i, j))] += d * d;
    }
  return err;
}

std::vector<double> refObjective(const QuantizedMatrix &q,
                                 const std::vector<float> &w,
                                 const MatQuantOptions &o) {
  std::vector<double> obj(q.alpha.size(), 0.0);
  for (size_t i = 0; i < o.widths.size(); ++i) {
    std::vector<double> e = refErrors(q, o.widths[i], o.mode, w);
    for (size_t g = 0; g < e.size(); ++g)
      obj[g] += o.lambdas[i] * e[g];
  }
  return obj;
}

double total(const std::vector<double> &v) {
  double s = 0.0;
  for (double x : v)
    s += x;
  return s;
}

/// The values of group g in order along the reduction axis.
std::vector<float> groupValues(const std::vector<float> &w, const Shape &s,
                               int64_t g) {
  int64_t reduce = s.axis == 0 ? s.cols : s.rows;
  int64_t glen = s.group ? s.group : reduce;
  std::vector<float> v;
  if (s.axis == 0) {
    int64_t sCols = s.cols / glen;
    int64_t row = g / sCols, start = (g % sCols) * glen;
    for (int64_t t = 0; t < glen; ++t)
      v.push_back(w[static_cast<size_t>(row * s.cols + start + t)]);
  } else {
    int64_t row0 = (g / s.cols) * glen, col = g % s.cols;
    for (int64_t t = 0; t < glen; ++t)
      v.push_back(w[static_cast<size_t>((row0 + t) * s.cols + col)]);
  }
  return v;
}

/// Brute force: quantize the group alone as a 1 x n matrix with each grid
/// pair through quantize(), and return the lowest objective.
double bruteForceBest(const std::vector<float> &v, const MatQuantOptions &o,
                      const std::vector<float> &grid) {
  QuantOptions qo = o.quant;
  qo.axis = 0;
  qo.groupSize = 0;
  double best = std::numeric_limits<double>::infinity();
  for (float g : grid)
    for (float b : grid) {
      QuantizedMatrix q =
          quantize(v.data(), 1, int64_t(v.size()), qo, {g}, {b});
      best = std::min(best, total(refObjective(q, v, o)));
    }
  return best;
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST(Search, WeightErrorMatchesDequantize) {
  std::mt19937 rng(11);
  for (const Shape &s : kShapes)
    for (SliceMode mode : {SliceMode::Clamped, SliceMode::ExtraPrecision,
                           SliceMode::PrefixExact}) {
      SCOPED_TRACE(describe(s));
      std::vector<float> w =
          randomMatrix(rng, distributions()[0], s.rows * s.cols);
      QuantizedMatrix q =
          quantize(w.data(), s.rows, s.cols, optionsFor(s, 6).quant);
      for (unsigned r = 1; r <= 6; ++r) {
        std::vector<double> want = refErrors(q, r, mode, w);
        std::vector<double> got = weightErrorPerGroup(q, r, mode, w.data());
        ASSERT_EQ(got.size(), want.size());
        for (size_t g = 0; g < got.size(); ++g)
          EXPECT_DOUBLE_EQ(got[g], want[g]);
        EXPECT_NEAR(weightError(q, r, mode, w.data()), total(want),
                    1e-12 * total(want));
      }
    }
}

TEST(Search, OutputErrorMatchesNaiveLoops) {
  std::mt19937 rng(12);
  for (const Shape &s : kShapes) {
    SCOPED_TRACE(describe(s));
    std::vector<float> w =
        randomMatrix(rng, distributions()[0], s.rows * s.cols);
    int64_t k = s.axis == 0 ? s.cols : s.rows,
            n = s.axis == 0 ? s.rows : s.cols;
    const int64_t samples = 5;
    std::vector<float> x = randomMatrix(rng, distributions()[1], samples * k);
    QuantizedMatrix q = quantize(w.data(), s.rows, s.cols, optionsFor(s).quant);
    std::vector<float> hat = dequantize(q, 3, SliceMode::Clamped);
    double err = 0, energy = 0;
    for (int64_t b = 0; b < samples; ++b)
      for (int64_t o = 0; o < n; ++o) {
        double y = 0, yh = 0;
        for (int64_t t = 0; t < k; ++t) {
          size_t e = static_cast<size_t>(s.axis == 0 ? o * k + t : t * n + o);
          y += double(x[b * k + t]) * w[e];
          yh += double(x[b * k + t]) * hat[e];
        }
        err += (y - yh) * (y - yh);
        energy += y * y;
      }
    EXPECT_NEAR(
        outputError(q, 3, SliceMode::Clamped, w.data(), x.data(), samples), err,
        1e-9 * err);
    EXPECT_NEAR(
        outputEnergy(w.data(), s.rows, s.cols, s.axis, x.data(), samples),
        energy, 1e-9 * energy);
  }
}

//===----------------------------------------------------------------------===//
// Data-free search
//===----------------------------------------------------------------------===//

TEST(Search, QuantizeCodeEqualsQuantizeValue) {
  // alpha = 1, z = 0 makes t = v exactly: every float within 64 ulps of each
  // integer and each half-integer in [-2, 258], for every c.
  for (unsigned c = 1; c <= 8; ++c) {
    GroupQuant p;
    p.alpha = 1.0f;
    p.z = 0.0f;
    const float levels = float((1u << c) - 1u);
    int64_t checked = 0;
    for (int h = -4; h <= 516; ++h) {
      float v = 0.5f * float(h);
      for (int s = 0; s < 64; ++s) {
        for (float u : {v, -v}) {
          ASSERT_EQ(quantizeCode(u, p.alpha, p.z, levels),
                    quantizeValue(u, p, c))
              << "v=" << u << " c=" << c;
          ++checked;
        }
        v = std::nextafter(v, 1e9f);
      }
    }
    EXPECT_GT(checked, 60000);
    EXPECT_EQ(quantizeCode(std::nanf(""), 1.0f, 0.0f, levels), 0u);
    EXPECT_EQ(quantizeCode(1e30f, 1.0f, 0.0f, levels), uint32_t(levels));
    EXPECT_EQ(quantizeCode(-1e30f, 1.0f, 0.0f, levels), 0u);
  }
  // Random groups and values, in and beyond the range.
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int g = 0; g < 2000; ++g) {
    unsigned c = 1 + g % 8;
    float vals[5];
    for (float &v : vals)
      v = u(rng) * std::ldexp(1.0f, g % 20 - 10);
    GroupQuant p = groupParams(vals, 5, 1, c, 0.8f, 0.9f);
    if (p.alpha == 0.0f)
      continue;
    for (int t = 0; t < 200; ++t) {
      float v = u(rng) * std::ldexp(1.0f, g % 20 - 10);
      ASSERT_EQ(quantizeCode(v, p.alpha, p.z, float((1u << c) - 1u)),
                quantizeValue(v, p, c));
    }
  }
}

TEST(Search, GridValues) {
  MatQuantOptions o;
  std::vector<float> g = clipGrid(o);
  ASSERT_EQ(g.size(), 11u);
  EXPECT_EQ(g.front(), 1.0f);
  EXPECT_EQ(g.back(), 0.5f);
  EXPECT_EQ(g[1], 0.95f);
  o.gridMin = 1.0;
  EXPECT_EQ(clipGrid(o), std::vector<float>{1.0f});
  o.gridMin = 0.3;
  o.gridStep = 0.25;
  EXPECT_EQ(clipGrid(o), (std::vector<float>{1.0f, 0.75f, 0.5f}));
  // Widening factors come after the clipping ones; 1 stays first.
  o.gridMax = 1.6;
  EXPECT_EQ(clipGrid(o), (std::vector<float>{1.0f, 0.75f, 0.5f, 1.25f, 1.5f}));
  o.gridMin = 1.0;
  o.gridStep = 0.05;
  o.gridMax = 1.1;
  EXPECT_EQ(clipGrid(o), (std::vector<float>{1.0f, 1.05f, 1.1f}));
}

TEST(Search, WideningAndNormalizedObjectivesNeverWorseThanMinMax) {
  unsigned seed = 150;
  for (const Dist &d : distributions())
    for (const Shape &s : kShapes)
      for (int variant = 0; variant < 2; ++variant) {
        SCOPED_TRACE(std::string(d.name) + " " + describe(s) + " variant " +
                     std::to_string(variant));
        std::mt19937 rng(seed++);
        std::vector<float> w = randomMatrix(rng, d, s.rows * s.cols);
        MatQuantOptions o = optionsFor(s);
        o.gridMax = 1.3;
        o.normalize = variant == 1;
        QuantizedMatrix mq = quantizeMatQuant(w.data(), s.rows, s.cols, o);
        QuantizedMatrix mm = quantize(w.data(), s.rows, s.cols, o.quant);
        // groupObjective restates each group's objective (normalized by the
        // group's own min-max errors in variant 1); min-max is (1, 1).
        std::vector<float> gamma, beta;
        searchClipping(w.data(), s.rows, s.cols, o, gamma, beta);
        for (size_t g = 0; g < gamma.size(); ++g) {
          std::vector<float> v = groupValues(w, s, int64_t(g));
          double got = groupObjective(v.data(), int64_t(v.size()), 1, gamma[g],
                                      beta[g], o);
          double base =
              groupObjective(v.data(), int64_t(v.size()), 1, 1.0f, 1.0f, o);
          EXPECT_LE(got, base * (1 + 1e-12)) << "group " << g;
        }
        if (variant == 0) {
          std::vector<double> a = refObjective(mq, w, o);
          std::vector<double> b = refObjective(mm, w, o);
          for (size_t g = 0; g < a.size(); ++g)
            EXPECT_LE(a[g], b[g] * (1 + 1e-12)) << "group " << g;
        } else {
          // Normalized: 1 = min-max per width; the searched sum is <= the
          // sum of the lambdas.
          std::vector<double> e8 = refErrors(mq, 8, o.mode, w),
                              e4 = refErrors(mq, 4, o.mode, w),
                              e2 = refErrors(mq, 2, o.mode, w);
          std::vector<double> m8 = refErrors(mm, 8, o.mode, w),
                              m4 = refErrors(mm, 4, o.mode, w),
                              m2 = refErrors(mm, 2, o.mode, w);
          for (size_t g = 0; g < e8.size(); ++g) {
            if (m8[g] == 0 || m4[g] == 0 || m2[g] == 0)
              continue;
            double norm =
                0.1 * e8[g] / m8[g] + 0.1 * e4[g] / m4[g] + 1.0 * e2[g] / m2[g];
            EXPECT_LE(norm, 1.2 * (1 + 1e-9)) << "group " << g;
          }
        }
      }
}

TEST(Search, NeverWorseThanMinMaxOnItsObjective) {
  unsigned seed = 100;
  int cases = 0;
  for (const Dist &d : distributions())
    for (const Shape &s : kShapes)
      for (SliceMode mode : {SliceMode::Clamped, SliceMode::ExtraPrecision,
                             SliceMode::PrefixExact}) {
        SCOPED_TRACE(std::string(d.name) + " " + describe(s) + " " +
                     sliceModeName(mode));
        std::mt19937 rng(seed++);
        std::vector<float> w = randomMatrix(rng, d, s.rows * s.cols);
        MatQuantOptions o = optionsFor(s);
        o.mode = mode;
        if (mode == SliceMode::ExtraPrecision)
          o.lambdas = {1.0, 1.0, 1.0}; // the paper's extra-precision setting
        ASSERT_EQ(validate(s.rows, s.cols, o), "");
        QuantizedMatrix mq = quantizeMatQuant(w.data(), s.rows, s.cols, o);
        QuantizedMatrix mm = quantize(w.data(), s.rows, s.cols, o.quant);
        ASSERT_EQ(mq.codes.size(), mm.codes.size());
        std::vector<double> a = refObjective(mq, w, o);
        std::vector<double> b = refObjective(mm, w, o);
        for (size_t g = 0; g < a.size(); ++g)
          EXPECT_LE(a[g], b[g]) << "group " << g;
        EXPECT_LE(total(a), total(b));
        EXPECT_NEAR(matquantObjective(mq, w.data(), o.widths, o.lambdas, mode),
                    total(a), 1e-9 * total(a));
        ++cases;
      }
  EXPECT_EQ(cases, 6 * 7 * 3);
}

TEST(Search, PrefixExactMatchesBruteForcePerGroup) {
  // The search's fast error loop adds the prefix-exact mid-point offset the
  // way dequantize() does: its choice is the brute-force optimum.
  unsigned seed = 250;
  for (const Dist &d : distributions())
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(std::string(d.name) + " " + describe(s));
      std::mt19937 rng(seed++);
      std::vector<float> w = randomMatrix(rng, d, s.rows * s.cols);
      MatQuantOptions o = optionsFor(s);
      o.mode = SliceMode::PrefixExact;
      o.gridStep = 0.1;
      QuantizedMatrix mq = quantizeMatQuant(w.data(), s.rows, s.cols, o);
      std::vector<double> got = refObjective(mq, w, o);
      std::vector<float> grid = {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
      for (size_t g = 0; g < got.size(); ++g) {
        double want = bruteForceBest(groupValues(w, s, int64_t(g)), o, grid);
        EXPECT_NEAR(got[g], want, 1e-12 * want) << "group " << g;
      }
    }
}

TEST(Search, MatchesBruteForcePerGroup) {
  unsigned seed = 200;
  for (const Dist &d : distributions())
    for (const Shape &s : kShapes) {
      SCOPED_TRACE(std::string(d.name) + " " + describe(s));
      std::mt19937 rng(seed++);
      std::vector<float> w = randomMatrix(rng, d, s.rows * s.cols);
      MatQuantOptions o = optionsFor(s);
      o.gridStep = 0.1; // 6 x 6 pairs keep the brute force quick
      QuantizedMatrix mq = quantizeMatQuant(w.data(), s.rows, s.cols, o);
      std::vector<double> got = refObjective(mq, w, o);
      std::vector<float> grid = {1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
      ASSERT_EQ(clipGrid(o), grid);
      for (size_t g = 0; g < got.size(); ++g) {
        double want = bruteForceBest(groupValues(w, s, int64_t(g)), o, grid);
        EXPECT_NEAR(got[g], want, 1e-12 * want) << "group " << g;
      }
    }
}

TEST(Search, RefineNeverHurts) {
  std::mt19937 rng(300);
  for (const Shape &s : kShapes) {
    SCOPED_TRACE(describe(s));
    std::vector<float> w =
        randomMatrix(rng, distributions()[2], s.rows * s.cols);
    MatQuantOptions o = optionsFor(s);
    QuantizedMatrix a = quantizeMatQuant(w.data(), s.rows, s.cols, o);
    o.refine = true;
    QuantizedMatrix b = quantizeMatQuant(w.data(), s.rows, s.cols, o);
    std::vector<double> ea = refObjective(a, w, o), eb = refObjective(b, w, o);
    for (size_t g = 0; g < ea.size(); ++g)
      EXPECT_LE(eb[g], ea[g]);
  }
}

TEST(Search, Int2SliceMuchBetterThanMinMax) {
  // Per channel, 64 x 512, the paper's lambdas (0.1, 0.1, 1).
  for (const Dist &d : distributions()) {
    SCOPED_TRACE(d.name);
    std::mt19937 rng(400);
    const int64_t rows = 64, cols = 512;
    std::vector<float> w = randomMatrix(rng, d, rows * cols);
    MatQuantOptions o;
    QuantizedMatrix mq = quantizeMatQuant(w.data(), rows, cols, o);
    QuantizedMatrix mm = quantize(w.data(), rows, cols, o.quant);
    double e2q = weightError(mq, 2, o.mode, w.data());
    double e2m = weightError(mm, 2, o.mode, w.data());
    // Clipping scales both ends toward 0 (docs/Numerics.md 2.3), which
    // helps less when every weight is positive.
    // A uniform distribution has no tails to clip.
    std::string name = d.name;
    double factor = name == "positive-skewed" || name == "uniform" ? 1.25 : 1.5;
    EXPECT_LT(e2q * factor, e2m) << "matquant " << e2q << " minmax " << e2m;
  }
}

TEST(Search, SeparateModelIsStoredAtItsWidth) {
  std::mt19937 rng(500);
  for (const Shape &s : kShapes)
    for (unsigned r : {2u, 3u, 4u}) {
      SCOPED_TRACE(describe(s) + " r " + std::to_string(r));
      std::vector<float> w =
          randomMatrix(rng, distributions()[0], s.rows * s.cols);
      MatQuantOptions o = optionsFor(s);
      QuantizedMatrix sep = quantizeSeparate(w.data(), s.rows, s.cols, r, o);
      EXPECT_EQ(sep.opts.bits, r);
      for (uint8_t c : sep.codes)
        ASSERT_LT(c, 1u << r);
      QuantOptions qo = o.quant;
      qo.bits = r;
      QuantizedMatrix mm = quantize(w.data(), s.rows, s.cols, qo);
      EXPECT_LE(weightError(sep, r, o.mode, w.data()),
                weightError(mm, r, o.mode, w.data()));
      // Slices of the int8 min-max model cannot beat it on average.
      QuantizedMatrix mm8 = quantize(w.data(), s.rows, s.cols, o.quant);
      EXPECT_LE(weightError(sep, r, o.mode, w.data()),
                weightError(mm8, r, o.mode, w.data()) * 1.0000001);
    }
}

TEST(Search, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 rng(600);
  const int64_t rows = 97, cols = 256;
  std::vector<float> w = randomMatrix(rng, distributions()[4], rows * cols);
  MatQuantOptions o;
  o.quant.groupSize = 64;
  o.threads = 1;
  QuantizedMatrix a = quantizeMatQuant(w.data(), rows, cols, o);
  o.threads = 3;
  QuantizedMatrix b = quantizeMatQuant(w.data(), rows, cols, o);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.alpha, b.alpha);
  EXPECT_EQ(a.offset, b.offset);
}

TEST(Search, SpecialGroups) {
  // A constant group, a group with a NaN and a group with an Inf: the
  // search must not crash, and falls back to (1, 1) where nothing helps.
  std::vector<float> w = {1,      1,    1,
                          1,      0.5f, std::nanf(""),
                          -0.25f, 2,    std::numeric_limits<float>::infinity(),
                          0,      1,    2};
  MatQuantOptions o;
  o.quant.groupSize = 4;
  std::vector<float> gamma, beta;
  searchClipping(w.data(), 1, 12, o, gamma, beta);
  ASSERT_EQ(gamma.size(), 3u);
  EXPECT_EQ(gamma[0], 1.0f);
  EXPECT_EQ(beta[0], 1.0f);
  EXPECT_EQ(gamma[2], 1.0f);
  EXPECT_EQ(beta[2], 1.0f);
  QuantizedMatrix q = quantizeMatQuant(w.data(), 1, 12, o);
  EXPECT_EQ(q.rows, 1);
  EXPECT_EQ(q.offset[0], 1.0f);
}

TEST(Search, InvalidOptions) {
  MatQuantOptions o;
  EXPECT_EQ(validate(4, 8, o), "");
  o.widths = {8, 4, 9};
  EXPECT_EQ(validate(4, 8, o), "width 9 is not in 1..8 (the storage width)");
  o.widths = {8, 4, 4};
  EXPECT_EQ(validate(4, 8, o), "width 4 is listed twice");
  o.widths = {8, 4};
  EXPECT_EQ(validate(4, 8, o), "expected one lambda per width (2), got 3");
  o.widths = {};
  EXPECT_EQ(validate(4, 8, o), "the list of widths is empty");
  o = MatQuantOptions();
  o.lambdas = {0, 0, 0};
  EXPECT_EQ(validate(4, 8, o), "the lambdas must not all be 0");
  o.lambdas = {1, -1, 0};
  EXPECT_NE(validate(4, 8, o).find("every lambda must be finite and >= 0"),
            std::string::npos);
  o = MatQuantOptions();
  o.gridMin = 0;
  EXPECT_NE(validate(4, 8, o).find("smallest clip factor"), std::string::npos);
  o.gridMin = 0.5;
  o.gridMax = 0.9;
  EXPECT_NE(validate(4, 8, o).find("largest clip factor must be in [1, 4]"),
            std::string::npos);
  o.gridMax = 1.0;
  o.gridMin = 0.5;
  o.gridStep = 0;
  EXPECT_NE(validate(4, 8, o).find("grid step"), std::string::npos);
  o = MatQuantOptions();
  o.quant.groupSize = 3;
  EXPECT_EQ(validate(4, 8, o),
            "group size 3 does not divide the reduction dimension 8");
  std::vector<float> w(32, 1.0f);
  EXPECT_EQ(quantizeMatQuant(w.data(), 4, 8, o).rows, 0);
}

TEST(Search, ParseLists) {
  std::vector<unsigned> u;
  EXPECT_EQ(parseUnsignedList("8,4,2", u), "");
  EXPECT_EQ(u, (std::vector<unsigned>{8, 4, 2}));
  EXPECT_EQ(parseUnsignedList(" 8 , 3 ", u), "");
  EXPECT_EQ(u, (std::vector<unsigned>{8, 3}));
  EXPECT_EQ(parseUnsignedList("8,,2", u), "empty item in the list '8,,2'");
  EXPECT_EQ(parseUnsignedList("", u), "empty item in the list ''");
  EXPECT_EQ(parseUnsignedList("8,-4", u), "'-4' is not an unsigned integer");
  EXPECT_EQ(parseUnsignedList("8,x", u), "'x' is not an unsigned integer");
  EXPECT_EQ(parseUnsignedList("99999999999", u),
            "'99999999999' is not an unsigned integer");
  std::vector<double> d;
  EXPECT_EQ(parseDoubleList("0.1, 0.1,1", d), "");
  EXPECT_EQ(d, (std::vector<double>{0.1, 0.1, 1.0}));
  EXPECT_EQ(parseDoubleList("0.1,abc", d), "'abc' is not a finite number");
  EXPECT_EQ(parseDoubleList("1e999", d), "'1e999' is not a finite number");
  EXPECT_EQ(parseDoubleList("nan", d), "'nan' is not a finite number");
}

//===----------------------------------------------------------------------===//
// Calibrated (GPTQ)
//===----------------------------------------------------------------------===//

/// A source of correlated activations: x = scale * (z A / sqrt(m) + noise)
/// + shift with z normal [m], A [m, K] fixed (m < K), a little noise, and a
/// few high-variance features (as in real LLM activations). Calibration and
/// held-out sets are drawn from the same source.
struct ActivationSource {
  int64_t k, m;
  std::vector<float> a, scale, shift;
  ActivationSource(std::mt19937 &rng, int64_t k)
      : k(k), m(std::max<int64_t>(2, k / 3)) {
    std::normal_distribution<float> nd(0, 1);
    a.resize(static_cast<size_t>(m * k));
    for (float &v : a)
      v = nd(rng);
    for (int64_t t = 0; t < k; ++t) {
      scale.push_back((t % 7 == 0) ? 5.0f : 1.0f);
      shift.push_back(0.3f * nd(rng));
    }
  }
  std::vector<float> sample(std::mt19937 &rng, int64_t samples) const {
    std::normal_distribution<float> nd(0, 1);
    std::vector<float> x(static_cast<size_t>(samples * k));
    std::vector<float> z(static_cast<size_t>(m));
    for (int64_t s = 0; s < samples; ++s) {
      for (float &v : z)
        v = nd(rng);
      for (int64_t t = 0; t < k; ++t) {
        float acc = 0.0f;
        for (int64_t i = 0; i < m; ++i)
          acc += z[i] * a[i * k + t];
        x[s * k + t] =
            scale[t] * (acc / std::sqrt(float(m)) + 0.1f * nd(rng)) + shift[t];
      }
    }
    return x;
  }
};

std::vector<float> correlatedActivations(std::mt19937 &rng, int64_t samples,
                                         int64_t k) {
  return ActivationSource(rng, k).sample(rng, samples);
}

/// Textbook float64 linear algebra for the naive GPTQ.
std::vector<double> naiveInverse(std::vector<double> a, int64_t n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    inv[i * n + i] = 1.0;
  for (int64_t c = 0; c < n; ++c) {
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::fabs(a[r * n + c]) > std::fabs(a[p * n + c]))
        p = r;
    for (int64_t j = 0; j < n; ++j) {
      std::swap(a[c * n + j], a[p * n + j]);
      std::swap(inv[c * n + j], inv[p * n + j]);
    }
    double d = a[c * n + c];
    for (int64_t j = 0; j < n; ++j) {
      a[c * n + j] /= d;
      inv[c * n + j] /= d;
    }
    for (int64_t r = 0; r < n; ++r) {
      if (r == c)
        continue;
      double f = a[r * n + c];
      for (int64_t j = 0; j < n; ++j) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}

/// Upper U with U^T U = a (Cholesky, row by row).
std::vector<double> naiveUpperCholesky(const std::vector<double> &a,
                                       int64_t n) {
  std::vector<double> u(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double s = a[i * n + i];
    for (int64_t k = 0; k < i; ++k)
      s -= u[k * n + i] * u[k * n + i];
    u[i * n + i] = std::sqrt(s);
    for (int64_t j = i + 1; j < n; ++j) {
      double t = a[i * n + j];
      for (int64_t k = 0; k < i; ++k)
        t -= u[k * n + i] * u[k * n + j];
      u[i * n + j] = t / u[i * n + i];
    }
  }
  return u;
}

std::vector<double> naiveHessian(const std::vector<float> &x, int64_t samples,
                                 int64_t k, double damp) {
  std::vector<double> h(static_cast<size_t>(k * k), 0.0);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        h[i * k + j] += 2.0 * double(x[s * k + i]) * double(x[s * k + j]);
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / double(k);
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += damp * mean;
  return h;
}

/// Naive GPTQ, axis 0, float64, one column at a time, no lazy batches.
QuantizedMatrix naiveGptq(std::vector<float> w, int64_t rows, int64_t cols,
                          const std::vector<float> &x, int64_t samples,
                          const MatQuantOptions &o) {
  std::vector<double> u = naiveUpperCholesky(
      naiveInverse(naiveHessian(x, samples, cols, 0.01), cols), cols);
  QuantizedMatrix q;
  q.rows = rows;
  q.cols = cols;
  q.opts = o.quant;
  int64_t glen = o.quant.groupSize ? o.quant.groupSize : cols;
  q.codes.assign(static_cast<size_t>(rows * cols), 0);
  q.alpha.assign(static_cast<size_t>(rows * (cols / glen)), 0);
  q.offset.assign(q.alpha.size(), 0);
  double lsum = 0;
  for (double l : o.lambdas)
    lsum += l;
  const unsigned c = o.quant.bits;
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<double> wr(w.begin() + i * cols, w.begin() + (i + 1) * cols);
    GroupQuant p;
    for (int64_t k = 0; k < cols; ++k) {
      if (k % glen == 0) {
        std::vector<float> g(glen);
        for (int64_t t = 0; t < glen; ++t)
          g[t] = float(wr[k + t]);
        float gamma, beta;
        searchGroupClip(g.data(), glen, 1, o, gamma, beta);
        p = groupParams(g.data(), glen, 1, c, gamma, beta);
        q.alpha[i * (cols / glen) + k / glen] = p.alpha;
        q.offset[i * (cols / glen) + k / glen] = p.offset;
      }
      float wv = float(wr[k]);
      uint8_t code = quantizeValue(wv, p, c);
      q.codes[i * cols + k] = code;
      double e = 0;
      for (size_t j = 0; j < o.widths.size(); ++j)
        e += o.lambdas[j] *
             (double(wv) -
              dequantizeIndex(sliceIndex(code, c, o.widths[j], o.mode), p.alpha,
                              p.offset, c, o.widths[j], o.mode));
      e /= lsum;
      for (int64_t t = k + 1; t < cols; ++t)
        wr[t] -= e * u[k * cols + t] / u[k * cols + k];
    }
  }
  return q;
}

double weightedOutputError(const QuantizedMatrix &q,
                           const std::vector<float> &w,
                           const std::vector<float> &x, int64_t samples,
                           const MatQuantOptions &o) {
  double s = 0;
  for (size_t i = 0; i < o.widths.size(); ++i)
    s += o.lambdas[i] *
         outputError(q, o.widths[i], o.mode, w.data(), x.data(), samples);
  return s;
}

TEST(Calibrated, InverseHessianFactor) {
  std::mt19937 rng(700);
  for (int64_t k : {1, 5, 17, 40}) {
    for (int64_t samples : {3, 64}) {
      SCOPED_TRACE("k " + std::to_string(k) + " samples " +
                   std::to_string(samples));
      std::vector<float> x = correlatedActivations(rng, samples, k);
      std::vector<double> u;
      ASSERT_TRUE(inverseHessianFactor(x.data(), samples, k, 0.01, u));
      std::vector<double> h = naiveHessian(x, samples, k, 0.01);
      // U upper and U^T U H = I.
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < i; ++j)
          ASSERT_EQ(u[i * k + j], 0.0);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          double s = 0;
          for (int64_t a = 0; a < k; ++a) {
            double utu = 0;
            for (int64_t b = 0; b < k; ++b)
              utu += u[b * k + i] * u[b * k + a];
            s += utu * h[a * k + j];
          }
          EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-6);
        }
    }
  }
}

TEST(Calibrated, DiagonalHessianEqualsDataFree) {
  // X = 3 I: H is diagonal, so no error is propagated and GPTQ is the
  // data-free search, bit for bit, for every shape and both axes.
  for (const Shape &s : kShapes) {
    SCOPED_TRACE(describe(s));
    std::mt19937 rng(800);
    std::vector<float> w =
        randomMatrix(rng, distributions()[0], s.rows * s.cols);
    int64_t k = s.axis == 0 ? s.cols : s.rows;
    std::vector<float> x(static_cast<size_t>(k * k), 0.0f);
    for (int64_t i = 0; i < k; ++i)
      x[i * k + i] = 3.0f;
    MatQuantOptions o = optionsFor(s);
    for (bool weighted : {false, true}) {
      // A constant diag(H) weighs every element alike.
      CalibrationOptions calib;
      calib.weightedSearch = weighted;
      std::string err;
      QuantizedMatrix a = quantizeCalibrated(w.data(), s.rows, s.cols, x.data(),
                                             k, o, calib, &err);
      ASSERT_EQ(err, "");
      QuantizedMatrix b = quantizeMatQuant(w.data(), s.rows, s.cols, o);
      EXPECT_EQ(a.codes, b.codes);
      EXPECT_EQ(a.alpha, b.alpha);
      EXPECT_EQ(a.offset, b.offset);
      EXPECT_EQ(a.opts.axis, s.axis);
    }
  }
}

TEST(Calibrated, MatchesNaiveGptq) {
  struct Case {
    int64_t rows, cols, group, block;
  };
  // Ragged sizes; blocks smaller than, equal to and not dividing K.
  const Case cases[] = {{11, 37, 0, 8},
                        {6, 40, 8, 12},
                        {9, 64, 16, 128},
                        {33, 50, 0, 7},
                        {4, 96, 32, 32}};
  unsigned seed = 900;
  for (const Case &cs : cases) {
    SCOPED_TRACE(std::to_string(cs.rows) + "x" + std::to_string(cs.cols) +
                 " G " + std::to_string(cs.group) + " block " +
                 std::to_string(cs.block));
    std::mt19937 rng(seed++);
    std::vector<float> w =
        randomMatrix(rng, distributions()[2], cs.rows * cs.cols);
    const int64_t samples = 48;
    std::vector<float> x = correlatedActivations(rng, samples, cs.cols);
    MatQuantOptions o;
    o.quant.groupSize = cs.group;
    CalibrationOptions calib;
    calib.blockSize = cs.block;
    QuantizedMatrix got = quantizeCalibrated(w.data(), cs.rows, cs.cols,
                                             x.data(), samples, o, calib);
    QuantizedMatrix want = naiveGptq(w, cs.rows, cs.cols, x, samples, o);
    ASSERT_EQ(got.codes.size(), want.codes.size());
    int64_t same = 0;
    for (size_t e = 0; e < got.codes.size(); ++e)
      same += std::abs(int(got.codes[e]) - int(want.codes[e])) <= 1;
    // float32 vs float64 propagation may move a code by one step now and
    // then; the errors must agree closely.
    EXPECT_GE(double(same), 0.97 * double(got.codes.size()));
    double eg = weightedOutputError(got, w, x, samples, o);
    double ew = weightedOutputError(want, w, x, samples, o);
    EXPECT_NEAR(eg, ew, 0.05 * ew);
  }
}

TEST(Calibrated, LowersOutputErrorOnCorrelatedActivations) {
  struct Case {
    int64_t rows, cols, group;
    unsigned axis;
  };
  const Case cases[] = {
      {48, 96, 0, 0}, {40, 128, 32, 0}, {72, 45, 0, 1}, {33, 80, 16, 0}};
  unsigned seed = 1000;
  double logRatio = 0;
  int count = 0;
  for (const Case &cs : cases)
    for (const Dist &d : {distributions()[0], distributions()[4]}) {
      SCOPED_TRACE(std::to_string(cs.rows) + "x" + std::to_string(cs.cols) +
                   " G " + std::to_string(cs.group) + " axis " +
                   std::to_string(cs.axis) + " " + d.name);
      std::mt19937 rng(seed++);
      std::vector<float> w = randomMatrix(rng, d, cs.rows * cs.cols);
      int64_t k = cs.axis == 0 ? cs.cols : cs.rows;
      ActivationSource source(rng, k);
      std::vector<float> xc = source.sample(rng, 256);
      // Held-out activations from the same source.
      std::vector<float> xh = source.sample(rng, 128);
      MatQuantOptions o;
      o.quant.axis = cs.axis;
      o.quant.groupSize = cs.group;
      QuantizedMatrix cal =
          quantizeCalibrated(w.data(), cs.rows, cs.cols, xc.data(), 256, o);
      QuantizedMatrix df = quantizeMatQuant(w.data(), cs.rows, cs.cols, o);
      ASSERT_EQ(cal.rows, cs.rows);
      double ec = weightedOutputError(cal, w, xh, 128, o);
      double ed = weightedOutputError(df, w, xh, 128, o);
      EXPECT_LT(ec, ed) << "calibrated " << ec << " data-free " << ed;
      logRatio += std::log(ec / ed);
      ++count;
      double c2 = outputError(cal, 2, o.mode, w.data(), xh.data(), 128);
      double d2 = outputError(df, 2, o.mode, w.data(), xh.data(), 128);
      EXPECT_LT(c2, d2);
    }
  // On average the calibrated objective is well below the data-free one.
  EXPECT_LT(std::exp(logRatio / count), 0.7);
}

TEST(Calibrated, PropagationLambdasSteerTheCompensation) {
  // Propagating only the int8 error is plain GPTQ for the int8 model on the
  // searched grid: its int8 output error is lower than with the objective's
  // int2-dominated update, and the int2 error is higher.
  std::mt19937 rng(1050);
  const int64_t rows = 64, cols = 96;
  std::vector<float> w = randomMatrix(rng, distributions()[0], rows * cols);
  ActivationSource source(rng, cols);
  std::vector<float> xc = source.sample(rng, 256), xh = source.sample(rng, 128);
  MatQuantOptions o;
  CalibrationOptions only8;
  only8.propagationLambdas = {1, 0, 0};
  QuantizedMatrix a =
      quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o);
  QuantizedMatrix b =
      quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o, only8);
  ASSERT_EQ(b.rows, rows);
  EXPECT_LT(outputError(b, 8, o.mode, w.data(), xh.data(), 128),
            outputError(a, 8, o.mode, w.data(), xh.data(), 128));
  EXPECT_GT(outputError(b, 2, o.mode, w.data(), xh.data(), 128),
            outputError(a, 2, o.mode, w.data(), xh.data(), 128));
  // mu = lambda explicitly is the default.
  CalibrationOptions same;
  same.propagationLambdas = o.lambdas;
  QuantizedMatrix c =
      quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o, same);
  EXPECT_EQ(a.codes, c.codes);
  std::string err;
  CalibrationOptions bad;
  bad.propagationLambdas = {1, 0};
  EXPECT_EQ(
      quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o, bad, &err)
          .rows,
      0);
  EXPECT_EQ(err, "expected one propagation lambda per width (3), got 2");
  bad.propagationLambdas = {0, 0, 0};
  quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o, bad, &err);
  EXPECT_EQ(err, "the propagation lambdas must not all be 0");
  bad.propagationLambdas = {1, -1, 0};
  quantizeCalibrated(w.data(), rows, cols, xc.data(), 256, o, bad, &err);
  EXPECT_EQ(err, "every propagation lambda must be finite and >= 0");
}

TEST(Calibrated, ThreadCountDoesNotChangeTheResult) {
  std::mt19937 rng(1100);
  const int64_t rows = 130, cols = 64;
  std::vector<float> w = randomMatrix(rng, distributions()[0], rows * cols);
  std::vector<float> x = correlatedActivations(rng, 40, cols);
  MatQuantOptions o;
  o.quant.groupSize = 16;
  o.threads = 1;
  QuantizedMatrix a = quantizeCalibrated(w.data(), rows, cols, x.data(), 40, o);
  o.threads = 4;
  QuantizedMatrix b = quantizeCalibrated(w.data(), rows, cols, x.data(), 40, o);
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.alpha, b.alpha);
}

TEST(Calibrated, InvalidInputs) {
  std::vector<float> w(8 * 4, 0.5f), x(3 * 4, 1.0f);
  MatQuantOptions o;
  std::string err;
  EXPECT_EQ(quantizeCalibrated(w.data(), 8, 4, x.data(), 0, o, {}, &err).rows,
            0);
  EXPECT_EQ(err, "calibration needs at least one sample, got 0");
  x[5] = std::nanf("");
  EXPECT_EQ(quantizeCalibrated(w.data(), 8, 4, x.data(), 3, o, {}, &err).rows,
            0);
  EXPECT_EQ(err, "activation element 5 (sample 1) is not finite");
  x[5] = 1.0f;
  w[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(quantizeCalibrated(w.data(), 8, 4, x.data(), 3, o, {}, &err).rows,
            0);
  EXPECT_EQ(err, "weight element 3 is not finite");
  w[3] = 0.5f;
  CalibrationOptions calib;
  calib.damp = -1;
  EXPECT_EQ(
      quantizeCalibrated(w.data(), 8, 4, x.data(), 3, o, calib, &err).rows, 0);
  EXPECT_NE(err.find("dampening"), std::string::npos);
  o.widths = {9};
  o.lambdas = {1};
  EXPECT_EQ(quantizeCalibrated(w.data(), 8, 4, x.data(), 3, o, {}, &err).rows,
            0);
  EXPECT_EQ(err, "width 9 is not in 1..8 (the storage width)");
  // All-zero activations: H = damp I = I, which is fine.
  std::vector<float> zero(3 * 4, 0.0f);
  o = MatQuantOptions();
  EXPECT_EQ(
      quantizeCalibrated(w.data(), 8, 4, zero.data(), 3, o, {}, &err).rows, 8);
}

} // namespace
