//===- NumericsTest.cpp - Tests for matquant/Numerics ---------------------===//
//
// Checks the numerics library against independent restatements of
// ../shared/MATQUANT.md written here, not against itself.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace matquant::numerics;

namespace {

const SliceMode kModes[] = {SliceMode::Clamped, SliceMode::ExtraPrecision,
                            SliceMode::PrefixExact};

/// The definition of S restated with floating point: k = floor(q / 2^(c-r) +
/// 0.5) (round half up), then min(k, 2^r - 1) when clamped; k = q for r == c.
/// Prefix exact: k = floor(q / 2^(c-r)) (truncation).
uint32_t referenceSliceIndex(uint32_t q, unsigned c, unsigned r,
                             SliceMode mode) {
  if (r == c)
    return q;
  if (mode == SliceMode::PrefixExact)
    return static_cast<uint32_t>(
        std::floor(static_cast<double>(q) / std::ldexp(1.0, c - r)));
  double k = std::floor(static_cast<double>(q) / std::ldexp(1.0, c - r) + 0.5);
  if (mode == SliceMode::Clamped)
    k = std::min(k, std::ldexp(1.0, r) - 1.0);
  return static_cast<uint32_t>(k);
}

//===----------------------------------------------------------------------===//
// Slicing
//===----------------------------------------------------------------------===//

TEST(Slice, ExhaustiveAgainstDefinition) {
  int64_t checked = 0;
  for (SliceMode mode : kModes) {
    for (unsigned c = 1; c <= 8; ++c) {
      for (unsigned r = 1; r <= c; ++r) {
        for (uint32_t q = 0; q < (1u << c); ++q) {
          uint32_t want = referenceSliceIndex(q, c, r, mode);
          uint32_t k = sliceIndex(q, c, r, mode);
          ASSERT_EQ(k, want) << "c=" << c << " r=" << r << " q=" << q
                             << " mode=" << sliceModeName(mode);
          ASSERT_EQ(slice(q, c, r, mode), want << (c - r));
          ASSERT_LE(k, maxIndex(c, r, mode));
          ASSERT_LT(k, 1u << indexStorageBits(c, r, mode));
          ++checked;
        }
      }
    }
  }
  // sum over c of c * 2^c, once per mode.
  EXPECT_EQ(checked, 3 * (1 * 2 + 2 * 4 + 3 * 8 + 4 * 16 + 5 * 32 + 6 * 64 +
                          7 * 128 + 8 * 256));
}

TEST(Slice, MaxIndexIsReached) {
  for (SliceMode mode : kModes) {
    for (unsigned c = 1; c <= 8; ++c) {
      for (unsigned r = 1; r <= c; ++r) {
        uint32_t top = 0;
        for (uint32_t q = 0; q < (1u << c); ++q)
          top = std::max(top, sliceIndex(q, c, r, mode));
        EXPECT_EQ(top, maxIndex(c, r, mode)) << "c=" << c << " r=" << r;
        bool extra = mode == SliceMode::ExtraPrecision && r < c;
        EXPECT_EQ(maxIndex(c, r, mode), extra ? (1u << r) : (1u << r) - 1);
        EXPECT_EQ(indexStorageBits(c, r, mode), extra ? r + 1 : r);
      }
    }
  }
}

TEST(Slice, NamedInt8Cases) {
  // int8 -> int2: 240 / 64 = 3.75 rounds to 4, clamped to 3 (192).
  EXPECT_EQ(sliceIndex(240, 8, 2, SliceMode::Clamped), 3u);
  EXPECT_EQ(slice(240, 8, 2, SliceMode::Clamped), 192u);
  // 53 / 64 = 0.83 rounds up to 1 (64): not truncation.
  EXPECT_EQ(slice(53, 8, 2, SliceMode::Clamped), 64u);
  EXPECT_EQ(sliceIndex(53, 8, 2, SliceMode::Clamped), 1u);
  // Extra precision keeps index 4, i.e. 256 on the int8 grid.
  EXPECT_EQ(sliceIndex(240, 8, 2, SliceMode::ExtraPrecision), 4u);
  EXPECT_EQ(slice(240, 8, 2, SliceMode::ExtraPrecision), 256u);
  // Round half up: 32 / 64 = 0.5 -> 1; 31 / 64 -> 0.
  EXPECT_EQ(sliceIndex(32, 8, 2, SliceMode::Clamped), 1u);
  EXPECT_EQ(sliceIndex(31, 8, 2, SliceMode::Clamped), 0u);
  // r == c is the identity.
  EXPECT_EQ(sliceIndex(255, 8, 8, SliceMode::Clamped), 255u);
  EXPECT_EQ(sliceIndex(255, 8, 8, SliceMode::ExtraPrecision), 255u);
}

TEST(Slice, Int2Levels) {
  std::set<uint32_t> clamped, extra;
  for (uint32_t q = 0; q < 256; ++q) {
    clamped.insert(slice(q, 8, 2, SliceMode::Clamped));
    extra.insert(slice(q, 8, 2, SliceMode::ExtraPrecision));
  }
  EXPECT_EQ(clamped, (std::set<uint32_t>{0, 64, 128, 192}));
  EXPECT_EQ(extra, (std::set<uint32_t>{0, 64, 128, 192, 256}));
}

TEST(Slice, FourThenTwoDiffersOn24Int8Codes) {
  std::vector<uint32_t> differ;
  for (uint32_t q = 0; q < 256; ++q) {
    uint32_t k4 = sliceIndex(q, 8, 4, SliceMode::Clamped);
    if (resliceIndex(k4, 8, 4, 2, SliceMode::Clamped) !=
        sliceIndex(q, 8, 2, SliceMode::Clamped))
      differ.push_back(q);
  }
  std::vector<uint32_t> want;
  for (uint32_t base : {24u, 88u, 152u})
    for (uint32_t q = base; q < base + 8; ++q)
      want.push_back(q);
  EXPECT_EQ(differ.size(), 24u);
  EXPECT_EQ(differ, want);

  // Without the clamp 216..223 differ too (the chain reaches index 4, the
  // direct slice stays at 3).
  std::vector<uint32_t> differExtra;
  for (uint32_t q = 0; q < 256; ++q) {
    uint32_t k4 = sliceIndex(q, 8, 4, SliceMode::ExtraPrecision);
    if (resliceIndex(k4, 8, 4, 2, SliceMode::ExtraPrecision) !=
        sliceIndex(q, 8, 2, SliceMode::ExtraPrecision))
      differExtra.push_back(q);
  }
  for (uint32_t q = 216; q < 224; ++q)
    want.push_back(q);
  EXPECT_EQ(differExtra, want);
}

TEST(Slice, ChainIsExactOnlyFromFullWidth) {
  int cases = 0;
  for (SliceMode mode : kModes) {
    for (unsigned c = 1; c <= 8; ++c) {
      for (unsigned a = 1; a <= c; ++a) {
        for (unsigned b = 1; b < a; ++b) {
          // Independent decision by enumeration with the reference S.
          bool exact = true;
          for (uint32_t q = 0; q < (1u << c); ++q) {
            uint32_t mid = referenceSliceIndex(q, c, a, mode) << (c - a);
            if (referenceSliceIndex(mid, c, b, mode) !=
                referenceSliceIndex(q, c, b, mode))
              exact = false;
          }
          // A prefix of a prefix is a prefix: every chain is exact.
          bool want = a == c || mode == SliceMode::PrefixExact;
          EXPECT_EQ(exact, want);
          EXPECT_EQ(sliceChainIsExact(c, a, b, mode), want)
              << "c=" << c << " a=" << a << " b=" << b
              << " mode=" << sliceModeName(mode);
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 3 * 84); // sum over c of c(c-1)/2 = 84
}

TEST(Slice, ResliceMatchesDefinition) {
  // resliceIndex(k, c, rIn, rOut) slices the grid value k * 2^(c - rIn),
  // including the extra-precision top level 2^c.
  for (SliceMode mode : kModes) {
    for (unsigned c = 1; c <= 8; ++c) {
      for (unsigned rIn = 1; rIn <= c; ++rIn) {
        for (unsigned rOut = 1; rOut <= c; ++rOut) {
          for (uint32_t k = 0; k <= maxIndex(c, rIn, mode); ++k) {
            uint32_t q = k << (c - rIn);
            ASSERT_EQ(resliceIndex(k, c, rIn, rOut, mode),
                      referenceSliceIndex(q, c, rOut, mode))
                << "c=" << c << " rIn=" << rIn << " rOut=" << rOut
                << " k=" << k;
          }
        }
      }
    }
  }
  // The extra-precision top level 2^c: r < c gives 2^r, r == c keeps 2^c.
  EXPECT_EQ(sliceIndex(256, 8, 8, SliceMode::ExtraPrecision), 256u);
  EXPECT_EQ(sliceIndex(256, 8, 4, SliceMode::ExtraPrecision), 16u);
  EXPECT_EQ(resliceIndex(4, 8, 2, 1, SliceMode::ExtraPrecision), 2u);
  EXPECT_EQ(resliceIndex(4, 8, 2, 8, SliceMode::ExtraPrecision), 256u);
  EXPECT_EQ(resliceIndex(16, 8, 4, 2, SliceMode::ExtraPrecision), 4u);
  EXPECT_EQ(sliceIndex(256, 8, 4, SliceMode::Clamped), 15u);
}

TEST(Slice, ModeNames) {
  SliceMode m = SliceMode::ExtraPrecision;
  EXPECT_TRUE(parseSliceMode("clamped", m));
  EXPECT_EQ(m, SliceMode::Clamped);
  EXPECT_TRUE(parseSliceMode("extra_precision", m));
  EXPECT_EQ(m, SliceMode::ExtraPrecision);
  EXPECT_TRUE(parseSliceMode("prefix_exact", m));
  EXPECT_EQ(m, SliceMode::PrefixExact);
  for (const char *bad : {"", "Clamped", "extra-precision", "extra", "clamp",
                          "prefix", "prefix-exact", "PrefixExact"}) {
    SliceMode before = m;
    EXPECT_FALSE(parseSliceMode(bad, m)) << bad;
    EXPECT_EQ(m, before);
  }
  EXPECT_STREQ(sliceModeName(SliceMode::Clamped), "clamped");
  EXPECT_STREQ(sliceModeName(SliceMode::ExtraPrecision), "extra_precision");
  EXPECT_STREQ(sliceModeName(SliceMode::PrefixExact), "prefix_exact");
  for (SliceMode mode : kModes) {
    SliceMode back;
    ASSERT_TRUE(parseSliceMode(sliceModeName(mode), back));
    EXPECT_EQ(back, mode);
  }
}

//===----------------------------------------------------------------------===//
// Packed layouts
//===----------------------------------------------------------------------===//

const int64_t kCols[] = {1, 3, 7, 8, 13, 31, 65};
const int64_t kRows[] = {1, 2, 5};

std::vector<uint8_t> randomIndices(std::mt19937 &rng, int64_t n,
                                   unsigned bits) {
  std::uniform_int_distribution<int> dist(0, (1 << bits) - 1);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto &x : v)
    x = static_cast<uint8_t>(dist(rng));
  return v;
}

bool getBit(const std::vector<uint8_t> &bytes, int64_t pos) {
  return (bytes[static_cast<size_t>(pos / 8)] >> (pos % 8)) & 1;
}

TEST(Pack, DenseRoundTrip) {
  std::mt19937 rng(20250211);
  int cases = 0;
  for (unsigned bits = 1; bits <= 8; ++bits) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        std::vector<uint8_t> idx = randomIndices(rng, rows * cols, bits);
        int64_t rowBytes = (cols * bits + 7) / 8;
        ASSERT_EQ(denseRowBytes(cols, bits), rowBytes);
        std::vector<uint8_t> packed = packDense(idx.data(), rows, cols, bits);
        ASSERT_EQ(static_cast<int64_t>(packed.size()), rows * rowBytes);
        // Layout, bit by bit: element j of row i is bits [j*bits,
        // (j+1)*bits) of the row, LSB first; padding bits are zero.
        for (int64_t i = 0; i < rows; ++i) {
          for (int64_t p = 0; p < rowBytes * 8; ++p) {
            int64_t j = p / bits;
            bool want =
                j < cols &&
                ((idx[static_cast<size_t>(i * cols + j)] >> (p % bits)) & 1);
            ASSERT_EQ(getBit(packed, i * rowBytes * 8 + p), want)
                << "bits=" << bits << " cols=" << cols << " i=" << i
                << " p=" << p;
          }
        }
        EXPECT_EQ(unpackDense(packed.data(), rows, cols, bits), idx)
            << "bits=" << bits << " rows=" << rows << " cols=" << cols;
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 8 * 3 * 7);
}

TEST(Pack, PlanesRoundTrip) {
  std::mt19937 rng(7);
  int cases = 0;
  for (unsigned bits = 1; bits <= 8; ++bits) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        std::vector<uint8_t> idx = randomIndices(rng, rows * cols, bits);
        int64_t rowBytes = (cols + 7) / 8;
        ASSERT_EQ(planeRowBytes(cols), rowBytes);
        std::vector<uint8_t> packed = packPlanes(idx.data(), rows, cols, bits);
        ASSERT_EQ(static_cast<int64_t>(packed.size()), bits * rows * rowBytes);
        // Plane p holds bit (bits - 1 - p); padding bits are zero.
        for (unsigned p = 0; p < bits; ++p) {
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < rowBytes * 8; ++j) {
              bool want =
                  j < cols &&
                  ((idx[static_cast<size_t>(i * cols + j)] >> (bits - 1 - p)) &
                   1);
              int64_t pos = ((p * rows + i) * rowBytes) * 8 + j;
              ASSERT_EQ(getBit(packed, pos), want)
                  << "bits=" << bits << " cols=" << cols << " p=" << p;
            }
          }
        }
        EXPECT_EQ(unpackPlanes(packed.data(), rows, cols, bits), idx)
            << "bits=" << bits << " rows=" << rows << " cols=" << cols;
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 8 * 3 * 7);
}

TEST(Pack, DenseBits3ByteLayout) {
  // Row 0: 1 2 3 4 5 6 7 0 5 -> bit stream (LSB first, 3 bits each)
  //   byte 0 = bits 0..7  : 1 | 2<<3 | (3&3)<<6          = 0xD1
  //   byte 1 = bits 8..15 : (3>>2) | 4<<1 | 5<<4 | (6&1)<<7 = 0x58
  //   byte 2 = bits 16..23: (6>>1) | 7<<2 | 0<<5           = 0x1F
  //   byte 3 = bits 24..26: 5                              = 0x05
  // Row 1 (nine 7s, 27 one bits) starts on a fresh byte: FF FF FF 07.
  std::vector<uint8_t> idx = {1, 2, 3, 4, 5, 6, 7, 0, 5,
                              7, 7, 7, 7, 7, 7, 7, 7, 7};
  std::vector<uint8_t> want = {0xD1, 0x58, 0x1F, 0x05, 0xFF, 0xFF, 0xFF, 0x07};
  EXPECT_EQ(packDense(idx.data(), 2, 9, 3), want);
  EXPECT_EQ(unpackDense(want.data(), 2, 9, 3), idx);

  // bits = 2 and 4 pack four / two per byte, low element in the low bits.
  std::vector<uint8_t> two = {3, 0, 1, 2, 1};
  EXPECT_EQ(packDense(two.data(), 1, 5, 2), (std::vector<uint8_t>{0x93, 0x01}));
  std::vector<uint8_t> four = {0xA, 0x5, 0xF};
  EXPECT_EQ(packDense(four.data(), 1, 3, 4),
            (std::vector<uint8_t>{0x5A, 0x0F}));
}

TEST(Pack, PlanesByteLayout) {
  // 3 bits, 2 rows x 10 cols: each plane row is 2 bytes.
  //   row 0: 1 2 3 4 5 6 7 0 5 4
  //   row 1: 7 0 0 0 0 0 0 0 0 1
  // plane 0 (bit 2): row 0 has it at j = 3,4,5,6,8,9 -> 0x78 0x03
  //                  row 1 at j = 0                 -> 0x01 0x00
  // plane 1 (bit 1): row 0 at j = 1,2,5,6           -> 0x66 0x00
  //                  row 1 at j = 0                 -> 0x01 0x00
  // plane 2 (bit 0): row 0 at j = 0,2,4,6,8         -> 0x55 0x01
  //                  row 1 at j = 0,9               -> 0x01 0x02
  std::vector<uint8_t> idx = {1, 2, 3, 4, 5, 6, 7, 0, 5, 4,
                              7, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  std::vector<uint8_t> want = {0x78, 0x03, 0x01, 0x00, 0x66, 0x00,
                               0x01, 0x00, 0x55, 0x01, 0x01, 0x02};
  EXPECT_EQ(packPlanes(idx.data(), 2, 10, 3), want);
  EXPECT_EQ(unpackPlanes(want.data(), 2, 10, 3), idx);
}

TEST(Pack, EmptyMatrices) {
  EXPECT_TRUE(packDense(nullptr, 0, 5, 3).empty());
  EXPECT_TRUE(packPlanes(nullptr, 3, 0, 3).empty());
  EXPECT_TRUE(unpackDense(nullptr, 0, 5, 3).empty());
  EXPECT_TRUE(unpackPlanes(nullptr, 3, 0, 3).empty());
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

/// Group (sr, sc) of element (i, j), restated from the header conventions.
struct Geometry {
  int64_t rows, cols;
  unsigned axis;
  int64_t g; // effective group length

  Geometry(int64_t rows, int64_t cols, const QuantOptions &o)
      : rows(rows), cols(cols), axis(o.axis),
        g(o.groupSize ? o.groupSize : (o.axis == 0 ? cols : rows)) {}
  int64_t scaleRows() const { return axis == 0 ? rows : rows / g; }
  int64_t scaleCols() const { return axis == 0 ? cols / g : cols; }
  int64_t group(int64_t i, int64_t j) const {
    return axis == 0 ? i * scaleCols() + j / g : (i / g) * cols + j;
  }
};

using Generator = std::function<float(std::mt19937 &)>;

struct Distribution {
  const char *name;
  Generator gen;
};

std::vector<Distribution> distributions() {
  return {
      {"uniform[-1,1]",
       [](std::mt19937 &rng) {
         return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
       }},
      {"normal(0,0.02)",
       [](std::mt19937 &rng) {
         return std::normal_distribution<float>(0.0f, 0.02f)(rng);
       }},
      {"uniform[1000,1001]", // far from zero: z is large
       [](std::mt19937 &rng) {
         return std::uniform_real_distribution<float>(1000.0f, 1001.0f)(rng);
       }},
      {"positive[0,1e-3]",
       [](std::mt19937 &rng) {
         return std::uniform_real_distribution<float>(0.0f, 1e-3f)(rng);
       }},
      {"heavy-tailed", // student-t like: normal with rare large outliers
       [](std::mt19937 &rng) {
         float v = std::normal_distribution<float>(0.0f, 1.0f)(rng);
         if (std::uniform_int_distribution<int>(0, 49)(rng) == 0)
           v *= 40.0f;
         return v;
       }},
  };
}

std::vector<float> randomMatrix(std::mt19937 &rng, const Generator &gen,
                                int64_t n) {
  std::vector<float> w(static_cast<size_t>(n));
  for (auto &v : w)
    v = gen(rng);
  return w;
}

struct Shape {
  int64_t rows, cols;
  unsigned axis;
  int64_t groupSize;
};

/// Shapes covering per channel and groups on both axes, square and ragged.
const Shape kShapes[] = {
    {12, 24, 0, 0}, {12, 24, 0, 4},  {12, 24, 0, 12}, {12, 24, 1, 0},
    {12, 24, 1, 4}, {12, 24, 1, 12}, {7, 13, 0, 0},   {7, 13, 1, 0},
    {7, 13, 0, 13}, {14, 13, 1, 7},  {1, 1, 0, 0},    {1, 5, 1, 0},
};

const unsigned kBits[] = {2, 3, 4, 8};

/// Per group: the min, max and the element lists, computed independently.
struct GroupStats {
  std::vector<float> mn, mx;
};

GroupStats groupStats(const std::vector<float> &w, const Geometry &geo) {
  int64_t n = geo.scaleRows() * geo.scaleCols();
  GroupStats s{std::vector<float>(n, INFINITY),
               std::vector<float>(n, -INFINITY)};
  for (int64_t i = 0; i < geo.rows; ++i)
    for (int64_t j = 0; j < geo.cols; ++j) {
      int64_t g = geo.group(i, j);
      float v = w[static_cast<size_t>(i * geo.cols + j)];
      s.mn[g] = std::min(s.mn[g], v);
      s.mx[g] = std::max(s.mx[g], v);
    }
  return s;
}

/// Rounding slack for |w - w_hat| <= alpha / 2. In exact arithmetic the error
/// is at most alpha / 2. In float32, w / alpha + z is formed with two roundings
/// and z, m = -alpha * z, alpha * q and alpha * q + m each carry one relative
/// error of at most 2^-24; every intermediate, scaled back by alpha, is
/// bounded by max(|lo|, |hi|) + (hi - lo). So the float result can sit a few
/// ulps of that magnitude beyond alpha / 2 (and the round may pick the other
/// neighbour when w sits within that distance of a midpoint). A sweep over
/// offsets +-2^-20..2^19 and widths 2^-20..2^4 measured at most 1.12 such units
/// beyond alpha / 2; 4 units leave margin while staying far below alpha / 2
/// for every distribution used here.
float slack(float lo, float hi) {
  return 4.0f * FLT_EPSILON *
         (std::max(std::fabs(lo), std::fabs(hi)) + (hi - lo));
}

TEST(Quantize, ErrorBoundCodesAndRange) {
  int matrices = 0;
  int64_t elements = 0;
  unsigned seed = 1;
  for (const Distribution &dist : distributions()) {
    for (const Shape &sh : kShapes) {
      for (unsigned c : kBits) {
        std::mt19937 rng(seed++);
        std::vector<float> w = randomMatrix(rng, dist.gen, sh.rows * sh.cols);
        QuantOptions o;
        o.bits = c;
        o.axis = sh.axis;
        o.groupSize = sh.groupSize;
        ASSERT_EQ(validate(sh.rows, sh.cols, o), "");
        QuantizedMatrix q = quantize(w.data(), sh.rows, sh.cols, o);
        Geometry geo(sh.rows, sh.cols, o);
        SCOPED_TRACE(
            std::string(dist.name) + " rows=" + std::to_string(sh.rows) +
            " cols=" + std::to_string(sh.cols) +
            " axis=" + std::to_string(sh.axis) +
            " G=" + std::to_string(sh.groupSize) + " c=" + std::to_string(c));
        ASSERT_EQ(q.rows, sh.rows);
        ASSERT_EQ(q.cols, sh.cols);
        ASSERT_EQ(q.scaleRows(), geo.scaleRows());
        ASSERT_EQ(q.scaleCols(), geo.scaleCols());
        int64_t nGroups = geo.scaleRows() * geo.scaleCols();
        ASSERT_EQ(static_cast<int64_t>(q.alpha.size()), nGroups);
        ASSERT_EQ(static_cast<int64_t>(q.offset.size()), nGroups);
        ASSERT_EQ(static_cast<int64_t>(q.codes.size()), sh.rows * sh.cols);
        GroupStats st = groupStats(w, geo);
        const float levels = static_cast<float>((1u << c) - 1);
        for (int64_t g = 0; g < nGroups; ++g) {
          if (st.mx[g] == st.mn[g])
            continue; // a 1-element group; constant groups tested below
          // The documented float32 order, restated.
          float alpha = (st.mx[g] - st.mn[g]) / levels;
          float z = -st.mn[g] / alpha;
          EXPECT_EQ(q.alpha[g], alpha) << "group " << g;
          EXPECT_EQ(q.offset[g], -alpha * z) << "group " << g;
        }
        for (int64_t i = 0; i < sh.rows; ++i) {
          for (int64_t j = 0; j < sh.cols; ++j) {
            size_t e = static_cast<size_t>(i * sh.cols + j);
            int64_t g = geo.group(i, j);
            ASSERT_EQ(q.groupIndex(i, j), g);
            uint32_t code = q.codes[e];
            ASSERT_LE(code, (1u << c) - 1);
            float a = q.alpha[g], m = q.offset[g];
            if (st.mx[g] != st.mn[g]) {
              // q = clamp(roundf(w / alpha + z), 0, 2^c - 1), restated.
              float t = std::roundf(w[e] / a + -st.mn[g] / a);
              float want = std::min(std::max(t, 0.0f), levels);
              EXPECT_EQ(static_cast<float>(code), want) << "w=" << w[e];
            }
            ASSERT_TRUE(std::isfinite(a) && std::isfinite(m));
            float wHat = dequantizeIndex(code, a, m, c, c, SliceMode::Clamped);
            EXPECT_LE(std::fabs(w[e] - wHat), a / 2 + slack(st.mn[g], st.mx[g]))
                << "w=" << w[e] << " code=" << code << " alpha=" << a;
            if (st.mx[g] != st.mn[g]) {
              if (w[e] == st.mn[g]) {
                EXPECT_EQ(code, 0u);
              }
              if (w[e] == st.mx[g]) {
                EXPECT_EQ(code, (1u << c) - 1);
              }
            }
            ++elements;
          }
        }
        ++matrices;
      }
    }
  }
  EXPECT_EQ(matrices, 5 * 12 * 4);
  EXPECT_GT(elements, 0);
}

TEST(Quantize, ConstantGroupsAreExact) {
  for (unsigned axis : {0u, 1u}) {
    for (unsigned c : kBits) {
      // 6 x 8, groups of 4 along the reduction axis; each group constant.
      const int64_t rows = 6, cols = 8;
      QuantOptions o;
      o.bits = c;
      o.axis = axis;
      o.groupSize = axis == 0 ? 4 : 3;
      Geometry geo(rows, cols, o);
      const float values[] = {
          0.0f, -0.0f, 3.5f, -1e-20f, 1e30f, -7.25f, 1e-40f /* subnormal */,
          1.0f};
      std::vector<float> w(rows * cols);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          w[i * cols + j] = values[geo.group(i, j) % 8];
      QuantizedMatrix q = quantize(w.data(), rows, cols, o);
      for (int64_t g = 0; g < geo.scaleRows() * geo.scaleCols(); ++g)
        EXPECT_EQ(q.alpha[g], 0.0f);
      for (uint8_t code : q.codes)
        EXPECT_EQ(code, 0u);
      for (SliceMode mode : kModes) {
        for (unsigned r = 1; r <= c; ++r) {
          std::vector<float> d = dequantize(q, r, mode);
          for (size_t e = 0; e < w.size(); ++e) {
            ASSERT_TRUE(std::isfinite(d[e]));
            ASSERT_EQ(d[e], w[e])
                << "axis=" << axis << " c=" << c << " r=" << r << " e=" << e;
          }
        }
      }
    }
  }

  // An all-zero matrix, per channel.
  std::vector<float> zeros(5 * 7, 0.0f);
  QuantOptions o;
  o.bits = 4;
  QuantizedMatrix q = quantize(zeros.data(), 5, 7, o);
  for (float a : q.alpha)
    EXPECT_EQ(a, 0.0f);
  for (float m : q.offset)
    EXPECT_EQ(m, 0.0f);
  for (float v : dequantize(q, 2, SliceMode::ExtraPrecision))
    EXPECT_EQ(v, 0.0f);
}

TEST(Quantize, ClippingSaturates) {
  std::mt19937 rng(99);
  int saturatedLow = 0, saturatedHigh = 0;
  for (const Shape &sh : kShapes) {
    if (sh.rows * sh.cols < 4)
      continue;
    for (unsigned c : kBits) {
      QuantOptions o;
      o.bits = c;
      o.axis = sh.axis;
      o.groupSize = sh.groupSize;
      Geometry geo(sh.rows, sh.cols, o);
      int64_t nGroups = geo.scaleRows() * geo.scaleCols();
      std::vector<float> w(static_cast<size_t>(sh.rows * sh.cols));
      std::uniform_real_distribution<float> u(-1.0f, 1.0f);
      for (auto &v : w)
        v = u(rng);
      // Every group must straddle 0 so that clipping shrinks the range.
      for (int64_t i = 0; i < sh.rows; ++i)
        for (int64_t j = 0; j < sh.cols; ++j) {
          // The first and second element of each group: force -1.5, +1.5.
          int64_t t = sh.axis == 0 ? j % geo.g : i % geo.g;
          if (t == 0)
            w[i * sh.cols + j] = -1.5f;
          if (t == 1)
            w[i * sh.cols + j] = 1.5f;
        }
      if (geo.g < 2)
        continue;
      std::uniform_real_distribution<float> uc(0.5f, 0.95f);
      for (int variant = 0; variant < 2; ++variant) {
        std::vector<float> gamma, beta;
        if (variant == 0) {
          gamma = {0.8f};
          beta = {0.7f};
        } else {
          for (int64_t g = 0; g < nGroups; ++g) {
            gamma.push_back(uc(rng));
            beta.push_back(uc(rng));
          }
        }
        QuantizedMatrix q =
            quantize(w.data(), sh.rows, sh.cols, o, gamma, beta);
        GroupStats st = groupStats(w, geo);
        const float levels = static_cast<float>((1u << c) - 1);
        for (int64_t i = 0; i < sh.rows; ++i) {
          for (int64_t j = 0; j < sh.cols; ++j) {
            int64_t g = geo.group(i, j);
            float gm = gamma.size() == 1 ? gamma[0] : gamma[g];
            float bt = beta.size() == 1 ? beta[0] : beta[g];
            float hi = gm * st.mx[g], lo = bt * st.mn[g];
            ASSERT_LT(lo, hi);
            ASSERT_EQ(q.alpha[g], (hi - lo) / levels);
            size_t e = static_cast<size_t>(i * sh.cols + j);
            uint32_t code = q.codes[e];
            if (w[e] < lo) {
              EXPECT_EQ(code, 0u) << "w=" << w[e] << " lo=" << lo;
              ++saturatedLow;
            } else if (w[e] > hi) {
              EXPECT_EQ(code, (1u << c) - 1) << "w=" << w[e] << " hi=" << hi;
              ++saturatedHigh;
            } else {
              float wHat = dequantizeIndex(code, q.alpha[g], q.offset[g], c, c,
                                           SliceMode::Clamped);
              EXPECT_LE(std::fabs(w[e] - wHat), q.alpha[g] / 2 + slack(lo, hi));
            }
          }
        }
      }
    }
  }
  EXPECT_GT(saturatedLow, 100);
  EXPECT_GT(saturatedHigh, 100);
}

TEST(Quantize, CollapsedClipRangeFallsBackToUnclipped) {
  // One channel in [0.5, 1]: gamma = 0.4 gives hi = 0.4 <= lo = 0.5.
  std::vector<float> w = {0.5f, 0.75f, 1.0f, 0.6f};
  QuantOptions o;
  o.bits = 4;
  QuantizedMatrix q = quantize(w.data(), 1, 4, o, {0.4f}, {1.0f});
  EXPECT_EQ(q.alpha[0], (1.0f - 0.5f) / 15.0f);
  EXPECT_EQ(q.codes[0], 0u);
  EXPECT_EQ(q.codes[2], 15u);
  // hi == lo also falls back: 0.5 * 1 == 1 * 0.5.
  QuantizedMatrix q2 = quantize(w.data(), 1, 4, o, {0.5f}, {});
  EXPECT_EQ(q2.alpha[0], q.alpha[0]);
  EXPECT_EQ(q2.codes, q.codes);
}

TEST(Quantize, NaNWeightsDoNotPoisonTheGroup) {
  // Behaviour chosen by the implementation: NaN takes no part in the range
  // and gets code 0; no undefined behaviour.
  std::vector<float> w = {0.0f, NAN, 1.0f, 0.5f};
  QuantOptions o;
  o.bits = 2;
  QuantizedMatrix q = quantize(w.data(), 1, 4, o);
  EXPECT_EQ(q.alpha[0], 1.0f / 3.0f);
  EXPECT_EQ(q.codes[1], 0u);
  EXPECT_EQ(q.codes[2], 3u);
}

TEST(Quantize, InvalidOptionsGiveEmptyMatrix) {
  std::vector<float> w(12, 1.0f);
  QuantOptions o;
  o.groupSize = 5;
  QuantizedMatrix q = quantize(w.data(), 1, 12, o);
  EXPECT_EQ(q.rows, 0);
  EXPECT_TRUE(q.codes.empty());
  EXPECT_TRUE(q.alpha.empty());
}

TEST(Dequantize, SliceWidthMatchesDefinition) {
  int64_t checked = 0;
  unsigned seed = 500;
  for (const Distribution &dist : distributions()) {
    for (const Shape &sh : kShapes) {
      for (unsigned c : kBits) {
        std::mt19937 rng(seed++);
        std::vector<float> w = randomMatrix(rng, dist.gen, sh.rows * sh.cols);
        QuantOptions o;
        o.bits = c;
        o.axis = sh.axis;
        o.groupSize = sh.groupSize;
        QuantizedMatrix q = quantize(w.data(), sh.rows, sh.cols, o);
        Geometry geo(sh.rows, sh.cols, o);
        for (SliceMode mode : kModes) {
          for (unsigned r = 1; r <= c; ++r) {
            std::vector<float> d = dequantize(q, r, mode);
            std::vector<uint8_t> k = sliceAll(q, r, mode);
            ASSERT_EQ(d.size(), w.size());
            ASSERT_EQ(k.size(), w.size());
            for (int64_t i = 0; i < sh.rows; ++i) {
              for (int64_t j = 0; j < sh.cols; ++j) {
                size_t e = static_cast<size_t>(i * sh.cols + j);
                int64_t g = geo.group(i, j);
                uint32_t kk = referenceSliceIndex(q.codes[e], c, r, mode);
                ASSERT_EQ(k[e], kk);
                // alpha * S(q, r) + m. Scaling alpha by the power of two
                // 2^(c-r) is exact, so alpha * S and (alpha * 2^(c-r)) * k
                // are the same real product rounded once: bit-identical.
                // Prefix exact adds the half step alpha * 2^(c-r-1) (exact)
                // to m first (docs/Numerics.md 3.5).
                float s = static_cast<float>(kk << (c - r));
                float m = q.offset[g];
                if (mode == SliceMode::PrefixExact && r < c)
                  m = m + q.alpha[g] * std::ldexp(1.0f, int(c - r) - 1);
                float want = q.alpha[g] * s + m;
                ASSERT_EQ(d[e], want)
                    << dist.name << " c=" << c << " r=" << r << " e=" << e;
                ASSERT_EQ(
                    dequantizeIndex(kk, q.alpha[g], q.offset[g], c, r, mode),
                    want);
                ++checked;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(Dequantize, IndexFormula) {
  // (alpha * 2^(c-r)) * k + m on representable values.
  const SliceMode C = SliceMode::Clamped, E = SliceMode::ExtraPrecision,
                  P = SliceMode::PrefixExact;
  EXPECT_EQ(dequantizeIndex(3, 0.5f, -1.0f, 8, 2, C),
            0.5f * 64.0f * 3.0f - 1.0f);
  EXPECT_EQ(dequantizeIndex(4, 0.25f, 2.0f, 8, 2, E), 0.25f * 256.0f + 2.0f);
  EXPECT_EQ(dequantizeIndex(7, 0.125f, 0.0f, 4, 4, C), 0.875f);
  EXPECT_EQ(dequantizeIndex(0, 0.0f, 3.5f, 8, 1, C), 3.5f);
  // Prefix exact: index 3 of int2 covers codes 192..255, mid-point 224.
  EXPECT_EQ(dequantizeIndex(3, 0.5f, -1.0f, 8, 2, P), 0.5f * 224.0f - 1.0f);
  EXPECT_EQ(sliceOffset(0.5f, -1.0f, 8, 2, P), 0.5f * 32.0f - 1.0f);
  // r == c has no half step; the rounding modes never have one.
  EXPECT_EQ(dequantizeIndex(7, 0.125f, 0.0f, 4, 4, P), 0.875f);
  EXPECT_EQ(sliceOffset(0.5f, -1.0f, 8, 8, P), -1.0f);
  EXPECT_EQ(sliceOffset(0.5f, -1.0f, 8, 2, C), -1.0f);
  EXPECT_EQ(sliceOffset(0.5f, -1.0f, 8, 2, E), -1.0f);
  // A constant group (alpha = 0) stays exact at every width.
  for (unsigned r = 1; r <= 8; ++r)
    EXPECT_EQ(dequantizeIndex(0, 0.0f, 3.5f, 8, r, P), 3.5f);
}

TEST(Dequantize, PrefixExactAgainstFloat64) {
  // Fresh random (alpha, m, c, r, q): the library's float32 value against
  // alpha * ((q >> s) * 2^s + 2^(s-1)) + m computed in float64 (s = c - r;
  // r == c: alpha * q + m). The float32 order has three roundings (the
  // scaled index, m + alpha * 2^(s-1), the sum), each at most half an ulp
  // of a term bounded by T = |alpha| * 2^c + |m|, so the difference is
  // below 3 * 2^-24 * (T + |result|) plus subnormal slack.
  std::mt19937 rng(20250707);
  std::uniform_real_distribution<float> mant(0.5f, 1.0f);
  std::uniform_int_distribution<int> expo(-30, 10);
  std::uniform_int_distribution<int> sign(0, 1);
  int64_t checked = 0;
  for (int t = 0; t < 200000; ++t) {
    unsigned c = 1 + rng() % 8;
    unsigned r = 1 + rng() % c;
    uint32_t q = rng() % (1u << c);
    float alpha = std::ldexp(mant(rng), expo(rng));
    float m = std::ldexp(mant(rng), expo(rng)) * (sign(rng) ? -1.0f : 1.0f);
    unsigned s = c - r;
    uint32_t k = sliceIndex(q, c, r, SliceMode::PrefixExact);
    ASSERT_EQ(k, q >> s);
    double grid =
        s == 0 ? double(q)
               : double(k) * std::ldexp(1.0, s) + std::ldexp(1.0, int(s) - 1);
    double want = double(alpha) * grid + double(m);
    float got = dequantizeIndex(k, alpha, m, c, r, SliceMode::PrefixExact);
    double bound = 3.0 * std::ldexp(1.0, -24) *
                       (double(alpha) * std::ldexp(1.0, c) + std::fabs(m) +
                        std::fabs(want)) +
                   1e-44;
    ASSERT_LE(std::fabs(double(got) - want), bound)
        << "c=" << c << " r=" << r << " q=" << q << " alpha=" << alpha
        << " m=" << m;
    // The reconstruction is within half a bucket of the code's own value
    // alpha * q + m (the truncation error, centred).
    double full = double(alpha) * q + double(m);
    double halfBucket = s == 0 ? 0.0 : double(alpha) * std::ldexp(1.0, s - 1);
    ASSERT_LE(std::fabs(double(got) - full), halfBucket + bound);
    ++checked;
  }
  EXPECT_EQ(checked, 200000);
}

//===----------------------------------------------------------------------===//
// Reference matmul
//===----------------------------------------------------------------------===//

TEST(ReferenceMatmul, MatchesNaiveLoop) {
  const Shape shapes[] = {
      {7, 13, 0, 0}, {7, 13, 1, 0}, {7, 12, 0, 4}, {14, 13, 1, 7},
      {12, 7, 1, 3}, {1, 1, 0, 0},  {13, 7, 0, 7},
  };
  std::mt19937 rng(1234);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  int cases = 0;
  for (const Shape &sh : shapes) {
    for (unsigned c : {8u, 4u}) {
      QuantOptions o;
      o.bits = c;
      o.axis = sh.axis;
      o.groupSize = sh.groupSize;
      ASSERT_EQ(validate(sh.rows, sh.cols, o), "");
      std::vector<float> w(static_cast<size_t>(sh.rows * sh.cols));
      for (auto &v : w)
        v = nd(rng);
      QuantizedMatrix q = quantize(w.data(), sh.rows, sh.cols, o);
      Geometry geo(sh.rows, sh.cols, o);
      const int64_t n = sh.axis == 0 ? sh.rows : sh.cols;
      const int64_t kDim = sh.axis == 0 ? sh.cols : sh.rows;
      for (int64_t batch : {int64_t(1), int64_t(3)}) {
        std::vector<float> x(static_cast<size_t>(batch * kDim));
        for (auto &v : x)
          v = nd(rng);
        for (SliceMode mode : kModes) {
          for (unsigned r : {c, 2u, 1u}) {
            std::vector<double> y =
                referenceMatmul(x.data(), batch, q, r, mode);
            ASSERT_EQ(static_cast<int64_t>(y.size()), batch * n);
            for (int64_t b = 0; b < batch; ++b) {
              for (int64_t o2 = 0; o2 < n; ++o2) {
                double acc = 0.0, mag = 0.0;
                for (int64_t t = 0; t < kDim; ++t) {
                  // W[o2, t] (axis 0) or W[t, o2] (axis 1).
                  int64_t i = sh.axis == 0 ? o2 : t;
                  int64_t j = sh.axis == 0 ? t : o2;
                  size_t e = static_cast<size_t>(i * sh.cols + j);
                  int64_t g = geo.group(i, j);
                  uint32_t k = referenceSliceIndex(q.codes[e], c, r, mode);
                  float m = q.offset[g];
                  if (mode == SliceMode::PrefixExact && r < c) // mid-point
                    m = m + q.alpha[g] * std::ldexp(1.0f, int(c - r) - 1);
                  float wHat =
                      q.alpha[g] * static_cast<float>(k << (c - r)) + m;
                  double p = double(x[b * kDim + t]) * double(wHat);
                  acc += p;
                  mag += std::fabs(p);
                }
                EXPECT_NEAR(y[b * n + o2], acc, 1e-12 * (1.0 + mag))
                    << "rows=" << sh.rows << " cols=" << sh.cols
                    << " axis=" << sh.axis << " r=" << r;
              }
            }
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 7 * 2 * 2 * 3 * 3); // shapes, c, batch, mode, r
}

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

TEST(Validate, Messages) {
  QuantOptions o;
  EXPECT_EQ(validate(4, 12, o), "");
  o.bits = 0;
  EXPECT_EQ(validate(4, 12, o), "bits must be in 1..8, got 0");
  o.bits = 9;
  EXPECT_EQ(validate(4, 12, o), "bits must be in 1..8, got 9");
  o.bits = 1;
  EXPECT_EQ(validate(4, 12, o), "");
  o.axis = 2;
  EXPECT_EQ(validate(4, 12, o), "axis must be 0 or 1, got 2");
  o.axis = 0;
  o.groupSize = 5;
  EXPECT_EQ(validate(4, 12, o),
            "group size 5 does not divide the reduction dimension 12");
  o.axis = 1; // the reduction dimension is now rows
  EXPECT_EQ(validate(4, 12, o),
            "group size 5 does not divide the reduction dimension 4");
  o.groupSize = 4;
  EXPECT_EQ(validate(4, 12, o), "");
  o.axis = 0;
  EXPECT_EQ(validate(4, 12, o), "");
  o.groupSize = -3;
  EXPECT_EQ(validate(4, 12, o), "group size must be non-negative, got -3");
  o.groupSize = 0;
  EXPECT_EQ(validate(0, 12, o), "matrix shape must be positive, got 0 x 12");
  EXPECT_EQ(validate(4, -1, o), "matrix shape must be positive, got 4 x -1");
  // Messages are lower case.
  o.bits = 9;
  std::string msg = validate(4, 12, o);
  EXPECT_TRUE(std::none_of(msg.begin(), msg.end(),
                           [](char ch) { return ch >= 'A' && ch <= 'Z'; }));
}

TEST(Validate, GroupCounts) {
  EXPECT_EQ(numGroups(12, 0), 1);
  EXPECT_EQ(numGroups(12, 4), 3);
  EXPECT_EQ(numGroups(12, 12), 1);
  EXPECT_EQ(numGroups(12, 1), 12);
  QuantizedMatrix q;
  q.rows = 6;
  q.cols = 8;
  q.opts.groupSize = 2;
  q.opts.axis = 0;
  EXPECT_EQ(q.scaleRows(), 6);
  EXPECT_EQ(q.scaleCols(), 4);
  EXPECT_EQ(q.groupIndex(1, 5), 1 * 4 + 2);
  q.opts.axis = 1;
  EXPECT_EQ(q.scaleRows(), 3);
  EXPECT_EQ(q.scaleCols(), 8);
  EXPECT_EQ(q.groupIndex(5, 3), 2 * 8 + 3);
  q.opts.groupSize = 0;
  EXPECT_EQ(q.scaleRows(), 1);
  EXPECT_EQ(q.groupIndex(5, 3), 3);
}

} // namespace

//===----------------------------------------------------------------------===//
// Interleaved layout
//===----------------------------------------------------------------------===//

TEST(Interleaved, Pieces) {
  using V = std::vector<unsigned>;
  EXPECT_EQ(interleavedPieces(8), V({8}));
  EXPECT_EQ(interleavedPieces(7), V({4, 2, 1}));
  EXPECT_EQ(interleavedPieces(6), V({4, 2}));
  EXPECT_EQ(interleavedPieces(5), V({4, 1}));
  EXPECT_EQ(interleavedPieces(4), V({4}));
  EXPECT_EQ(interleavedPieces(3), V({2, 1}));
  EXPECT_EQ(interleavedPieces(2), V({2}));
  EXPECT_EQ(interleavedPieces(1), V({1}));
  for (unsigned b = 1; b <= 8; ++b) {
    unsigned sum = 0;
    for (unsigned w : interleavedPieces(b))
      sum += w;
    EXPECT_EQ(sum, b);
  }
}

TEST(Interleaved, RoundTripEveryWidthAndRaggedRows) {
  std::mt19937 rng(77);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (int64_t block : {8, 16, 32, 64, 128})
      for (int64_t cols : {1, 7, 8, 13, 64, 100, 129, 300})
        for (int64_t rows : {1, 3}) {
          std::vector<uint8_t> idx(rows * cols);
          for (uint8_t &v : idx)
            v = static_cast<uint8_t>(rng() & ((1u << bits) - 1u));
          std::vector<uint8_t> packed =
              packInterleaved(idx.data(), rows, cols, bits, block);
          ASSERT_EQ(static_cast<int64_t>(packed.size()),
                    rows * interleavedRowBytes(cols, bits, block));
          EXPECT_EQ(interleavedRowBytes(cols, bits, block),
                    (cols + block - 1) / block * block * bits / 8);
          EXPECT_EQ(unpackInterleaved(packed.data(), rows, cols, bits, block),
                    idx)
              << "bits " << bits << " block " << block << " cols " << cols;
        }
}

// Pins the layout itself, restated from its definition: the pieces of
// element e of a block, for a load of B_p bytes and a shift by t * w_p.
TEST(Interleaved, LayoutMatchesDefinition) {
  const int64_t block = 16, cols = 21; // two blocks, the second ragged
  const unsigned bits = 3;             // pieces [2, 1]: shifts 1, 0
  std::vector<uint8_t> idx(cols);
  for (int64_t j = 0; j < cols; ++j)
    idx[j] = static_cast<uint8_t>((j * 5 + 3) % 8);
  std::vector<uint8_t> p = packInterleaved(idx.data(), 1, cols, bits, block);
  ASSERT_EQ(p.size(), 12u); // 2 blocks * (4 bytes of 2-bit + 2 bytes of 1-bit)
  for (int64_t j = 0; j < 2 * block; ++j) {
    int64_t b = j / block, e = j % block;
    uint32_t k = j < cols ? idx[j] : 0;
    // 2-bit piece: B = 4 bytes at offset b * 6.
    uint32_t hi = (p[b * 6 + e % 4] >> ((e / 4) * 2)) & 3u;
    // 1-bit piece: B = 2 bytes after it.
    uint32_t lo = (p[b * 6 + 4 + e % 2] >> (e / 2)) & 1u;
    EXPECT_EQ((hi << 1) | lo, k) << "element " << j;
  }
  // Byte 0 holds the 2-bit pieces of elements 0, 4, 8, 12 at bits 0, 2, 4, 6:
  // idx 3, 7, 3, 7 -> pieces 1, 3, 1, 3 -> 0b11011101.
  EXPECT_EQ(p[0], 0xDD);
}

// Row tiles: for each tile of R rows and each block, the R rows' bytes of
// the block one after the other; the bytes themselves are those of the
// untiled layout (restated here from the definition, not through
// interleavedTiledOffset).
TEST(Interleaved, RowTilesReorderBlocks) {
  std::mt19937 rng(78);
  for (unsigned bits : {1u, 2u, 3u, 4u, 6u, 8u})
    for (int64_t block : {16, 64, 128})
      for (int64_t cols : {13, 128, 300})
        for (int64_t tile : {2, 4, 8}) {
          int64_t rows = 2 * tile;
          std::vector<uint8_t> idx(rows * cols);
          for (uint8_t &v : idx)
            v = static_cast<uint8_t>(rng() & ((1u << bits) - 1u));
          std::vector<uint8_t> flat =
              packInterleaved(idx.data(), rows, cols, bits, block);
          std::vector<uint8_t> tiled =
              packInterleaved(idx.data(), rows, cols, bits, block, tile);
          ASSERT_EQ(tiled.size(), flat.size());
          int64_t rowBytes = interleavedRowBytes(cols, bits, block);
          int64_t blockBytes = block * bits / 8;
          size_t at = 0;
          for (int64_t t = 0; t < rows / tile; ++t)
            for (int64_t b = 0; b < rowBytes / blockBytes; ++b)
              for (int64_t r = 0; r < tile; ++r)
                for (int64_t j = 0; j < blockBytes; ++j)
                  ASSERT_EQ(
                      tiled[at++],
                      flat[(t * tile + r) * rowBytes + b * blockBytes + j])
                      << "bits " << bits << " block " << block << " tile "
                      << tile;
          EXPECT_EQ(
              unpackInterleaved(tiled.data(), rows, cols, bits, block, tile),
              idx);
        }
}

TEST(Interleaved, RowTileAsTheCPULayoutPicksIt) {
  EXPECT_EQ(interleavedRowTile(16, 8), 8);
  EXPECT_EQ(interleavedRowTile(12, 8), 4);
  EXPECT_EQ(interleavedRowTile(6, 8), 2);
  EXPECT_EQ(interleavedRowTile(13, 8), 1);
  EXPECT_EQ(interleavedRowTile(16, 1), 1);
  EXPECT_EQ(interleavedRowTile(16, 0), 1);
  EXPECT_EQ(interleavedRowTile(128, 1000), 64); // the layout's limit
}

TEST(Mma, TileValidity) {
  EXPECT_TRUE(mmaTileValid(4, 64));
  EXPECT_TRUE(mmaTileValid(4, 16));
  EXPECT_TRUE(mmaTileValid(8, 16));
  EXPECT_TRUE(mmaTileValid(2, 32));
  EXPECT_FALSE(mmaTileValid(2, 16)); // 2-bit lane words would be half full
  EXPECT_TRUE(mmaTileValid(3, 64));  // pieces [2, 1]
  EXPECT_FALSE(mmaTileValid(3, 32));
  EXPECT_FALSE(mmaTileValid(1, 48));
  EXPECT_FALSE(mmaTileValid(4, 24));
  EXPECT_FALSE(mmaTileValid(9, 64));
}

TEST(Mma, RoundTripEveryWidthAndRaggedShapes) {
  std::mt19937 rng(91);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (int64_t kTile : {16, 32, 64, 128, 256}) {
      if (!mmaTileValid(bits, kTile))
        continue;
      for (int64_t cols : {1, 15, 16, 70, 257})
        for (int64_t rows : {1, 16, 21}) {
          std::vector<uint8_t> idx(rows * cols);
          for (uint8_t &v : idx)
            v = static_cast<uint8_t>(rng() & ((1u << bits) - 1u));
          std::vector<uint8_t> packed =
              packMma(idx.data(), rows, cols, bits, kTile);
          ASSERT_EQ(static_cast<int64_t>(packed.size()),
                    (rows + 15) / 16 * ((cols + kTile - 1) / kTile) * 16 *
                        kTile * bits / 8);
          EXPECT_EQ(unpackMma(packed.data(), rows, cols, bits, kTile), idx)
              << "bits " << bits << " kTile " << kTile << " cols " << cols;
        }
    }
}

// The kernel's view, restated from the PTX fragment of mma.m16n8k16 (A row
// major: register a of lane l holds row l / 4 + 8 (a & 1), fragment columns
// 8 (a >> 1) + 2 (l % 4) + {0, 1}, which the layout maps to the tile's
// columns 4 S (l % 4) + 4 s + 2 (a >> 1) + {0, 1}): each lane loads its
// chunks, and per register one shift and mask per piece puts both indices
// at bits 0 and 16.
// The 32-bit words of lane `lane` in a piece of `laneBytes` bytes per lane
// at byte `base` of an MMA-fragment buffer (chunks of up to 16 bytes, lane
// after lane).
static std::vector<uint32_t> mmaLaneWords(const std::vector<uint8_t> &p,
                                          int64_t base, int64_t laneBytes,
                                          int64_t lane) {
  int64_t chunk = std::min<int64_t>(16, laneBytes);
  std::vector<uint8_t> bytes;
  for (int64_t c = 0; c < laneBytes / chunk; ++c)
    for (int64_t i = 0; i < chunk; ++i)
      bytes.push_back(p[base + c * 32 * chunk + lane * chunk + i]);
  std::vector<uint32_t> ws(bytes.size() / 4);
  std::memcpy(ws.data(), bytes.data(), bytes.size());
  return ws;
}

TEST(Mma, LaneDecodeGivesTheFragments) {
  std::mt19937 rng(5);
  for (unsigned bits : {2u, 3u, 4u, 6u, 8u}) {
    const int64_t rows = 16, kTile = bits == 3 || bits == 6 ? 64 : 32;
    const int64_t cols = 2 * kTile;
    std::vector<uint8_t> idx(rows * cols);
    for (uint8_t &v : idx)
      v = static_cast<uint8_t>(rng() & ((1u << bits) - 1u));
    std::vector<uint8_t> p = packMma(idx.data(), rows, cols, bits, kTile);
    int64_t steps = kTile / 16;
    for (int64_t kt = 0; kt < 2; ++kt)
      for (int64_t lane = 0; lane < 32; ++lane) {
        // Concatenate the lane's chunks of every piece.
        std::vector<std::vector<uint32_t>> words;
        int64_t base = kt * 2 * kTile * bits;
        for (unsigned w : interleavedPieces(bits)) {
          int64_t laneBytes = steps * w;
          words.push_back(mmaLaneWords(p, base, laneBytes, lane));
          base += 32 * laneBytes;
        }
        for (int64_t s = 0; s < steps; ++s)
          for (int64_t a = 0; a < 4; ++a) {
            int64_t pair = 4 * s + a;
            uint32_t reg = 0;
            unsigned shift = bits, pi = 0;
            for (unsigned w : interleavedPieces(bits)) {
              shift -= w;
              int64_t ppw = 16 / w;
              uint32_t word = words[pi++][pair / ppw];
              int64_t at = (pair % ppw) * w;
              uint32_t v = at >= shift ? word >> (at - shift)
                                       : word << (shift - at);
              reg |= v & (((1u << w) - 1u) << shift) * 0x00010001u;
            }
            int64_t row = lane / 4 + 8 * (a & 1);
            int64_t col =
                kt * kTile + 4 * steps * (lane % 4) + 4 * s + 2 * (a >> 1);
            EXPECT_EQ(reg & 0xFFFFu, idx[row * cols + col]);
            EXPECT_EQ(reg >> 16, idx[row * cols + col + 1]);
          }
      }
  }
}

// The rotated plane layout bit by bit: register a of k-step s (pair
// 4 s + a of a word) sits at bit e = 4 a + s of plane 0, and plane p holds
// bit c - 1 - p of the element at bit (e - p) mod 32, so the top R planes
// of an element (any R) are R contiguous bits, plane 0 highest: one
// rotation brings them to bit 0.
TEST(MmaPlanes, RotatedPlanesGiveContiguousFields) {
  std::mt19937 rng(23);
  const unsigned c = 8;
  for (int64_t kTile : {64, 128, 256}) {
    const int64_t rows = 16, cols = 2 * kTile, steps = kTile / 16;
    std::vector<uint8_t> idx(rows * cols);
    for (uint8_t &v : idx)
      v = static_cast<uint8_t>(rng());
    std::vector<uint8_t> p = packMmaPlanes(idx.data(), rows, cols, c, kTile);
    for (int64_t kt = 0; kt < 2; ++kt)
      for (int64_t lane = 0; lane < 32; ++lane) {
        // words[plane][word]
        std::vector<std::vector<uint32_t>> words;
        for (unsigned pl = 0; pl < c; ++pl)
          words.push_back(mmaLaneWords(p, kt * 2 * kTile * c + pl * 32 * steps,
                                       steps, lane));
        for (int64_t pair = 0; pair < 4 * steps; ++pair) {
          int64_t s = pair / 4, a = pair % 4, w = pair / 16;
          int64_t j = 4 * a + s % 4;
          int64_t row = lane / 4 + 8 * (a & 1);
          int64_t col =
              kt * kTile + 4 * steps * (lane % 4) + 4 * s + 2 * (a >> 1);
          for (unsigned R = 1; R <= c; ++R) {
            uint32_t merged = 0;
            for (unsigned pl = 0; pl < R; ++pl)
              for (int64_t h = 0; h < 2; ++h) {
                int64_t at = (16 * h + j + 32 - pl) % 32;
                merged |= ((words[pl][w] >> at) & 1u) << at;
              }
            int64_t f = (j - int64_t(R) + 1 + 32) % 32;
            uint32_t rot = f ? (merged >> f) | (merged << (32 - f)) : merged;
            uint32_t mask = (1u << R) - 1u;
            ASSERT_EQ(rot & mask, idx[row * cols + col] >> (c - R))
                << "R " << R << " pair " << pair << " lane " << lane;
            ASSERT_EQ((rot >> 16) & mask, idx[row * cols + col + 1] >> (c - R))
                << "R " << R << " pair " << pair << " lane " << lane;
          }
        }
      }
  }
}

// Bit planes in the fragment layout: a round trip, and the prefix property
// the run-time-width kernels rely on: the first r planes of every tile
// (its first r * 32 * S bytes) hold the top r bits of every index.
TEST(MmaPlanes, RoundTripAndPrefixes) {
  std::mt19937 rng(17);
  const unsigned c = 8;
  for (int64_t kTile : {64, 128, 256})
    for (int64_t cols : {5, 128, 300})
      for (int64_t rows : {3, 16, 33}) {
        std::vector<uint8_t> idx(rows * cols);
        for (uint8_t &v : idx)
          v = static_cast<uint8_t>(rng());
        std::vector<uint8_t> p = packMmaPlanes(idx.data(), rows, cols, c, kTile);
        ASSERT_EQ(static_cast<int64_t>(p.size()),
                  mmaPackedBytes(rows, cols, c, kTile));
        EXPECT_EQ(unpackMmaPlanes(p.data(), rows, cols, c, kTile), idx);
        int64_t tileBytes = 2 * kTile * c, planeBytes = 32 * (kTile / 16);
        for (unsigned r = 1; r <= c; ++r) {
          std::vector<uint8_t> cut = p;
          for (size_t b = 0; b < cut.size(); ++b)
            if (int64_t(b) % tileBytes >= int64_t(r) * planeBytes)
              cut[b] = 0;
          std::vector<uint8_t> top =
              unpackMmaPlanes(cut.data(), rows, cols, c, kTile);
          for (size_t e = 0; e < idx.size(); ++e)
            ASSERT_EQ(top[e], (idx[e] >> (c - r)) << (c - r))
                << "r " << r << " kTile " << kTile;
        }
      }
}

TEST(Mma, ScalesFollowTheAccumulatorRows) {
  // Lane l of m16n8k16 accumulates rows l / 4 and l / 4 + 8 of its row tile
  // (registers c0, c1 and c2, c3): its 8-byte load of group grp must give
  // those rows' values, in that order; rows past the last read as 0.
  std::mt19937 rng(11);
  for (int64_t rows : {1, 8, 15, 16, 17, 40, 64})
    for (int64_t groups : {1, 3}) {
      std::vector<float> v(size_t(rows * groups));
      for (float &x : v)
        x = 1.0f + float(rng() % 1000);
      std::vector<float> p = packMmaScales(v.data(), rows, groups);
      int64_t tiles = (rows + 15) / 16;
      ASSERT_EQ(p.size(), size_t(tiles * groups * 16));
      for (int64_t t = 0; t < tiles; ++t)
        for (int64_t grp = 0; grp < groups; ++grp)
          for (int64_t lane = 0; lane < 32; ++lane) {
            const float *load =
                &p[size_t(((t * groups + grp) * 8 + lane / 4) * 2)];
            for (int64_t h = 0; h < 2; ++h) {
              int64_t row = 16 * t + lane / 4 + 8 * h;
              float want = row < rows ? v[size_t(row * groups + grp)] : 0.0f;
              EXPECT_EQ(load[h], want)
                  << "rows " << rows << " groups " << groups << " lane " << lane
                  << " h " << h;
            }
          }
      EXPECT_EQ(unpackMmaScales(p.data(), rows, groups), v);
    }
}
