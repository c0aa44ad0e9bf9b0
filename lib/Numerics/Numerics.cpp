//===- Numerics.cpp - MatQuant numerics -----------------------------------===//
//
// Implements include/matquant/Numerics/Numerics.h. Plain C++17: no MLIR or
// LLVM headers, no exceptions. Bad user input is reported by validate();
// the remaining preconditions (documented in the header) are internal and
// checked with assert.
//
// Floating point: every float32 expression below is written in the order the
// header documents. The library is compiled with -ffp-contract=off so that no
// multiply-add is fused into an FMA, which would change the rounding.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace matquant::numerics {

//===----------------------------------------------------------------------===//
// Slice modes
//===----------------------------------------------------------------------===//

bool parseSliceMode(const std::string &s, SliceMode &mode) {
  if (s == "clamped") {
    mode = SliceMode::Clamped;
    return true;
  }
  if (s == "extra_precision") {
    mode = SliceMode::ExtraPrecision;
    return true;
  }
  if (s == "prefix_exact") {
    mode = SliceMode::PrefixExact;
    return true;
  }
  return false;
}

const char *sliceModeName(SliceMode mode) {
  switch (mode) {
  case SliceMode::Clamped:
    return "clamped";
  case SliceMode::ExtraPrecision:
    return "extra_precision";
  case SliceMode::PrefixExact:
    return "prefix_exact";
  }
  assert(false && "unknown slice mode");
  return "clamped";
}

//===----------------------------------------------------------------------===//
// Slicing
//===----------------------------------------------------------------------===//

uint32_t sliceIndex(uint32_t q, unsigned c, unsigned r, SliceMode mode) {
  assert(c >= 1 && c <= 8 && "storage width must be in 1..8");
  assert(r >= 1 && r <= c && "slice width must be in 1..c");
  // q == 2^c is the top level of an extra-precision grid (a re-slice input).
  assert(q <= (1u << c) && "code out of range");
  if (r == c)
    return q;
  unsigned drop = c - r; // >= 1
  if (mode == SliceMode::PrefixExact)
    return q >> drop; // the top r bits: truncation
  uint32_t k = (q >> drop) + ((q >> (drop - 1)) & 1u);
  if (mode == SliceMode::Clamped) {
    uint32_t top = (1u << r) - 1u;
    if (k > top)
      k = top;
  }
  return k;
}

uint32_t slice(uint32_t q, unsigned c, unsigned r, SliceMode mode) {
  return sliceIndex(q, c, r, mode) << (c - r);
}

uint32_t resliceIndex(uint32_t kIn, unsigned c, unsigned rIn, unsigned rOut,
                      SliceMode mode) {
  assert(c >= 1 && c <= 8 && "storage width must be in 1..8");
  assert(rIn >= 1 && rIn <= c && "input slice width must be in 1..c");
  assert(kIn <= (1u << rIn) && "input index out of range");
  // kIn << (c - rIn) <= 2^c: at most the extra-precision top level.
  return sliceIndex(kIn << (c - rIn), c, rOut, mode);
}

bool sliceChainIsExact(unsigned c, unsigned rMid, unsigned rOut,
                       SliceMode mode) {
  for (uint32_t q = 0; q < (1u << c); ++q) {
    uint32_t direct = sliceIndex(q, c, rOut, mode);
    uint32_t chained =
        resliceIndex(sliceIndex(q, c, rMid, mode), c, rMid, rOut, mode);
    if (direct != chained)
      return false;
  }
  return true;
}

uint32_t maxIndex(unsigned c, unsigned r, SliceMode mode) {
  assert(r >= 1 && r <= c && c <= 8);
  if (mode == SliceMode::ExtraPrecision && r < c)
    return 1u << r;
  return (1u << r) - 1u;
}

unsigned indexStorageBits(unsigned c, unsigned r, SliceMode mode) {
  assert(r >= 1 && r <= c && c <= 8);
  if (mode == SliceMode::ExtraPrecision && r < c)
    return r + 1;
  return r;
}

//===----------------------------------------------------------------------===//
// Quantized matrix geometry
//===----------------------------------------------------------------------===//

int64_t numGroups(int64_t reduce, int64_t groupSize) {
  assert(groupSize >= 0 && reduce >= 0);
  if (groupSize == 0)
    return 1;
  return reduce / groupSize;
}

namespace {
/// The effective group length along the reduction dimension.
int64_t groupLength(int64_t reduce, int64_t groupSize) {
  return groupSize == 0 ? reduce : groupSize;
}
} // namespace

int64_t QuantizedMatrix::scaleRows() const {
  return opts.axis == 0 ? rows : numGroups(rows, opts.groupSize);
}

int64_t QuantizedMatrix::scaleCols() const {
  return opts.axis == 0 ? numGroups(cols, opts.groupSize) : cols;
}

int64_t QuantizedMatrix::groupIndex(int64_t i, int64_t j) const {
  assert(i >= 0 && i < rows && j >= 0 && j < cols);
  if (opts.axis == 0)
    return i * scaleCols() + j / groupLength(cols, opts.groupSize);
  return (i / groupLength(rows, opts.groupSize)) * cols + j;
}

std::string validate(int64_t rows, int64_t cols, const QuantOptions &opts) {
  if (opts.bits < 1 || opts.bits > 8)
    return "bits must be in 1..8, got " + std::to_string(opts.bits);
  if (opts.axis > 1)
    return "axis must be 0 or 1, got " + std::to_string(opts.axis);
  if (rows <= 0 || cols <= 0)
    return "matrix shape must be positive, got " + std::to_string(rows) +
           " x " + std::to_string(cols);
  if (opts.groupSize < 0)
    return "group size must be non-negative, got " +
           std::to_string(opts.groupSize);
  int64_t reduce = opts.axis == 0 ? cols : rows;
  if (opts.groupSize != 0 && reduce % opts.groupSize != 0)
    return "group size " + std::to_string(opts.groupSize) +
           " does not divide the reduction dimension " + std::to_string(reduce);
  return std::string();
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

namespace {

/// The clip factor of group g: 1 (empty), the single value, or the g-th.
/// A vector of any other size is a caller error: asserted, and ignored in
/// builds without assertions.
float clipFactor(const std::vector<float> &v, int64_t g, int64_t numGroups) {
  if (v.empty())
    return 1.0f;
  if (v.size() == 1)
    return v[0];
  assert(static_cast<int64_t>(v.size()) == numGroups &&
         "clip factors: expected 0, 1 or one per group");
  if (static_cast<int64_t>(v.size()) != numGroups)
    return 1.0f;
  return v[static_cast<size_t>(g)];
}

/// Rounds and clamps to [0, qmax] without undefined behaviour for NaN or
/// out-of-range values (NaN maps to 0).
uint8_t roundClamp(float t, float qmax) {
  float v = std::roundf(t);
  if (!(v > 0.0f))
    return 0;
  if (v > qmax)
    v = qmax;
  return static_cast<uint8_t>(v);
}

} // namespace

void groupRange(const float *v, int64_t n, int64_t stride, float &mn,
                float &mx) {
  // NaN elements do not take part.
  mn = std::numeric_limits<float>::infinity();
  mx = -std::numeric_limits<float>::infinity();
  for (int64_t t = 0; t < n; ++t) {
    float x = v[t * stride];
    if (x < mn)
      mn = x;
    if (x > mx)
      mx = x;
  }
  if (mn > mx) // every element is NaN
    mn = mx = std::numeric_limits<float>::quiet_NaN();
}

GroupQuant groupParams(const float *v, int64_t n, int64_t stride,
                       unsigned bits, float gamma, float beta) {
  assert(n >= 1);
  float mn, mx;
  groupRange(v, n, stride, mn, mx);
  return groupParamsFromRange(mn, mx, bits, gamma, beta);
}

GroupQuant groupParamsFromRange(float mn, float mx, unsigned bits, float gamma,
                                float beta) {
  assert(bits >= 1 && bits <= 8);
  GroupQuant g;
  const float levels = static_cast<float>((1u << bits) - 1u);
  if (!(mx > mn)) {
    // Constant group (or all NaN): exact, alpha = 0, m = w, q = 0.
    g.offset = mn;
    return g;
  }

  float hi = gamma * mx;
  float lo = beta * mn;
  if (!(hi > lo)) { // clipping collapsed the range (matquant)
    hi = mx;
    lo = mn;
  }
  float alpha = (hi - lo) / levels;
  if (std::isinf(alpha) && std::isfinite(hi) && std::isfinite(lo)) {
    // hi - lo overflowed float; only reachable near FLT_MAX.
    alpha = hi / levels - lo / levels;
  }
  if (alpha == 0.0f) {
    // hi - lo underflowed (hi, lo within a few subnormal steps): treat
    // as constant; the error is below hi - lo.
    g.offset = lo;
    return g;
  }
  float z = -lo / alpha;
  g.alpha = alpha;
  g.z = z;
  g.offset = -alpha * z;
  return g;
}

uint8_t quantizeValue(float v, const GroupQuant &g, unsigned bits) {
  if (g.alpha == 0.0f)
    return 0;
  const float levels = static_cast<float>((1u << bits) - 1u);
  float t = v / g.alpha + g.z;
  return roundClamp(t, levels);
}

QuantizedMatrix quantize(const float *w, int64_t rows, int64_t cols,
                         const QuantOptions &opts,
                         const std::vector<float> &gamma,
                         const std::vector<float> &beta) {
  QuantizedMatrix out;
  // Invalid options are reported by validate(); here they give an empty
  // matrix rather than undefined behaviour.
  if (!validate(rows, cols, opts).empty())
    return out;

  out.rows = rows;
  out.cols = cols;
  out.opts = opts;
  out.codes.assign(static_cast<size_t>(rows * cols), 0);
  int64_t sRows = out.scaleRows(), sCols = out.scaleCols();
  int64_t nGroups = sRows * sCols;
  out.alpha.assign(static_cast<size_t>(nGroups), 0.0f);
  out.offset.assign(static_cast<size_t>(nGroups), 0.0f);

  const int64_t reduce = opts.axis == 0 ? cols : rows;
  const int64_t glen = groupLength(reduce, opts.groupSize);
  // Distance between consecutive elements of a group in w.
  const int64_t stride = opts.axis == 0 ? 1 : cols;

  // Element t (0 <= t < glen) of group (sr, sc), as a flat index into w.
  auto element = [&](int64_t sr, int64_t sc, int64_t t) -> int64_t {
    if (opts.axis == 0)
      return sr * cols + sc * glen + t;
    return (sr * glen + t) * cols + sc;
  };

  for (int64_t sr = 0; sr < sRows; ++sr) {
    for (int64_t sc = 0; sc < sCols; ++sc) {
      int64_t g = sr * sCols + sc;
      const float *first = w + element(sr, sc, 0);
      GroupQuant p = groupParams(first, glen, stride, opts.bits,
                                 clipFactor(gamma, g, nGroups),
                                 clipFactor(beta, g, nGroups));
      out.alpha[g] = p.alpha;
      out.offset[g] = p.offset;
      if (p.alpha == 0.0f)
        continue; // codes already 0
      for (int64_t t = 0; t < glen; ++t) {
        int64_t e = element(sr, sc, t);
        out.codes[static_cast<size_t>(e)] = quantizeValue(w[e], p, opts.bits);
      }
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Dequantization and the reference matmul
//===----------------------------------------------------------------------===//

float sliceOffset(float alpha, float m, unsigned c, unsigned r,
                  SliceMode mode) {
  assert(r >= 1 && r <= c && c <= 8);
  if (mode != SliceMode::PrefixExact || r == c)
    return m;
  // Mid-point of the 2^(c-r) codes sharing the prefix: k * 2^(c-r) +
  // 2^(c-r-1) on the c-bit grid.
  float half = alpha * static_cast<float>(1u << (c - r - 1));
  return m + half;
}

float dequantizeIndex(uint32_t k, float alpha, float m, unsigned c, unsigned r,
                      SliceMode mode) {
  assert(r >= 1 && r <= c && c <= 8);
  float scale = alpha * static_cast<float>(1u << (c - r));
  float scaled = scale * static_cast<float>(k);
  return scaled + sliceOffset(alpha, m, c, r, mode);
}

std::vector<uint8_t> sliceAll(const QuantizedMatrix &q, unsigned r,
                              SliceMode mode) {
  std::vector<uint8_t> out(q.codes.size());
  for (size_t e = 0; e < q.codes.size(); ++e)
    out[e] = static_cast<uint8_t>(sliceIndex(q.codes[e], q.opts.bits, r, mode));
  return out;
}

std::vector<float> dequantize(const QuantizedMatrix &q, unsigned r,
                              SliceMode mode) {
  std::vector<float> out(static_cast<size_t>(q.rows * q.cols));
  const unsigned c = q.opts.bits;
  for (int64_t i = 0; i < q.rows; ++i) {
    for (int64_t j = 0; j < q.cols; ++j) {
      size_t e = static_cast<size_t>(i * q.cols + j);
      int64_t g = q.groupIndex(i, j);
      uint32_t k = sliceIndex(q.codes[e], c, r, mode);
      out[e] = dequantizeIndex(k, q.alpha[g], q.offset[g], c, r, mode);
    }
  }
  return out;
}

std::vector<double> referenceMatmul(const float *x, int64_t batch,
                                    const QuantizedMatrix &q, unsigned r,
                                    SliceMode mode) {
  assert(batch >= 0);
  std::vector<float> wHat = dequantize(q, r, mode);
  const bool axis0 = q.opts.axis == 0;
  const int64_t n = axis0 ? q.rows : q.cols;
  const int64_t k = axis0 ? q.cols : q.rows;
  std::vector<double> y(static_cast<size_t>(batch * n), 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t o = 0; o < n; ++o) {
      double acc = 0.0;
      for (int64_t t = 0; t < k; ++t) {
        float wv = axis0 ? wHat[static_cast<size_t>(o * k + t)]
                         : wHat[static_cast<size_t>(t * n + o)];
        acc += static_cast<double>(x[b * k + t]) * static_cast<double>(wv);
      }
      y[static_cast<size_t>(b * n + o)] = acc;
    }
  }
  return y;
}

//===----------------------------------------------------------------------===//
// Packed layouts
//===----------------------------------------------------------------------===//

int64_t denseRowBytes(int64_t cols, unsigned bits) {
  assert(cols >= 0 && bits >= 1 && bits <= 8);
  return (cols * static_cast<int64_t>(bits) + 7) / 8;
}

std::vector<uint8_t> packDense(const uint8_t *idx, int64_t rows, int64_t cols,
                               unsigned bits) {
  assert(rows >= 0 && cols >= 0 && bits >= 1 && bits <= 8);
  const int64_t rowBytes = denseRowBytes(cols, bits);
  const uint32_t mask = (1u << bits) - 1u;
  std::vector<uint8_t> out(static_cast<size_t>(rows * rowBytes), 0);
  for (int64_t i = 0; i < rows; ++i) {
    uint8_t *row = out.data() + i * rowBytes;
    for (int64_t j = 0; j < cols; ++j) {
      uint32_t v = idx[i * cols + j];
      assert(v <= mask && "index does not fit in the packed width");
      v &= mask;
      int64_t pos = j * static_cast<int64_t>(bits);
      int64_t byte = pos / 8;
      unsigned shift = static_cast<unsigned>(pos % 8);
      // The element spans at most two bytes (bits <= 8).
      uint32_t spread = v << shift;
      row[byte] = static_cast<uint8_t>(row[byte] | (spread & 0xffu));
      if (shift + bits > 8)
        row[byte + 1] = static_cast<uint8_t>(row[byte + 1] | (spread >> 8));
    }
  }
  return out;
}

std::vector<uint8_t> unpackDense(const uint8_t *packed, int64_t rows,
                                 int64_t cols, unsigned bits) {
  assert(rows >= 0 && cols >= 0 && bits >= 1 && bits <= 8);
  const int64_t rowBytes = denseRowBytes(cols, bits);
  const uint32_t mask = (1u << bits) - 1u;
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols), 0);
  for (int64_t i = 0; i < rows; ++i) {
    const uint8_t *row = packed + i * rowBytes;
    for (int64_t j = 0; j < cols; ++j) {
      int64_t pos = j * static_cast<int64_t>(bits);
      int64_t byte = pos / 8;
      unsigned shift = static_cast<unsigned>(pos % 8);
      uint32_t v = row[byte];
      if (shift + bits > 8)
        v |= static_cast<uint32_t>(row[byte + 1]) << 8;
      out[static_cast<size_t>(i * cols + j)] =
          static_cast<uint8_t>((v >> shift) & mask);
    }
  }
  return out;
}

int64_t planeRowBytes(int64_t cols) {
  assert(cols >= 0);
  return (cols + 7) / 8;
}

std::vector<uint8_t> packPlanes(const uint8_t *idx, int64_t rows, int64_t cols,
                                unsigned bits) {
  assert(rows >= 0 && cols >= 0 && bits >= 1 && bits <= 8);
  const int64_t rowBytes = planeRowBytes(cols);
  const int64_t planeBytes = rows * rowBytes;
  std::vector<uint8_t> out(static_cast<size_t>(bits * planeBytes), 0);
  for (unsigned p = 0; p < bits; ++p) {
    const unsigned bit = bits - 1 - p;
    uint8_t *plane = out.data() + p * planeBytes;
    for (int64_t i = 0; i < rows; ++i) {
      uint8_t *row = plane + i * rowBytes;
      for (int64_t j = 0; j < cols; ++j) {
        assert(idx[i * cols + j] < (1u << bits) &&
               "index does not fit in the packed width");
        if ((idx[i * cols + j] >> bit) & 1u)
          row[j / 8] = static_cast<uint8_t>(row[j / 8] | (1u << (j % 8)));
      }
    }
  }
  return out;
}

std::vector<uint8_t> unpackPlanes(const uint8_t *packed, int64_t rows,
                                  int64_t cols, unsigned bits) {
  assert(rows >= 0 && cols >= 0 && bits >= 1 && bits <= 8);
  const int64_t rowBytes = planeRowBytes(cols);
  const int64_t planeBytes = rows * rowBytes;
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols), 0);
  for (unsigned p = 0; p < bits; ++p) {
    const unsigned bit = bits - 1 - p;
    const uint8_t *plane = packed + p * planeBytes;
    for (int64_t i = 0; i < rows; ++i) {
      const uint8_t *row = plane + i * rowBytes;
      for (int64_t j = 0; j < cols; ++j) {
        if ((row[j / 8] >> (j % 8)) & 1u) {
          size_t e = static_cast<size_t>(i * cols + j);
          out[e] = static_cast<uint8_t>(out[e] | (1u << bit));
        }
      }
    }
  }
  return out;
}
} // namespace matquant::numerics

//===----------------------------------------------------------------------===//
// Interleaved layout
//===----------------------------------------------------------------------===//

namespace matquant::numerics {

std::vector<unsigned> interleavedPieces(unsigned bits) {
  assert(bits >= 1 && bits <= 8 && "index width must be in 1..8");
  if (bits == 8)
    return {8};
  std::vector<unsigned> pieces;
  for (unsigned w : {4u, 2u, 1u})
    if (bits & w)
      pieces.push_back(w);
  return pieces;
}

int64_t interleavedRowBytes(int64_t cols, unsigned bits, int64_t block) {
  assert(block > 0 && block % 8 == 0 && "block must be a multiple of 8");
  int64_t blocks = (cols + block - 1) / block;
  return blocks * block * bits / 8;
}

namespace {
/// Calls fn(j, byteInRow, bitOffset, width, shift) for every piece of every
/// element j (padding included) of one row.
template <typename Fn>
void forEachInterleavedPiece(int64_t cols, unsigned bits, int64_t block,
                             Fn fn) {
  std::vector<unsigned> pieces = interleavedPieces(bits);
  int64_t blocks = (cols + block - 1) / block;
  int64_t blockBytes = block * bits / 8;
  for (int64_t b = 0; b < blocks; ++b) {
    int64_t base = b * blockBytes;
    unsigned shift = bits;
    for (unsigned w : pieces) {
      shift -= w;
      int64_t pieceBytes = block * w / 8;
      for (int64_t e = 0; e < block; ++e)
        fn(b * block + e, base + e % pieceBytes,
           static_cast<unsigned>((e / pieceBytes) * w), w, shift);
      base += pieceBytes;
    }
  }
}
} // namespace

int64_t interleavedRowTile(int64_t rows, int64_t maxTile) {
  for (int64_t t = std::clamp<int64_t>(maxTile, 1, 64); t > 1; t /= 2)
    if (rows % t == 0)
      return t;
  return 1;
}

int64_t interleavedTiledOffset(int64_t row, int64_t byteInRow, int64_t rowBytes,
                               int64_t blockBytes, int64_t rowTile) {
  if (rowTile <= 1)
    return row * rowBytes + byteInRow;
  int64_t tile = row / rowTile, inTile = row % rowTile;
  return tile * rowTile * rowBytes +
         (byteInRow / blockBytes) * rowTile * blockBytes + inTile * blockBytes +
         byteInRow % blockBytes;
}

std::vector<uint8_t> packInterleaved(const uint8_t *idx, int64_t rows,
                                     int64_t cols, unsigned bits, int64_t block,
                                     int64_t rowTile) {
  assert(rowTile >= 1 && rows % rowTile == 0 &&
         "the row tile must divide the rows");
  int64_t rowBytes = interleavedRowBytes(cols, bits, block);
  int64_t blockBytes = block * bits / 8;
  std::vector<uint8_t> out(static_cast<size_t>(rows * rowBytes), 0);
  for (int64_t i = 0; i < rows; ++i) {
    forEachInterleavedPiece(
        cols, bits, block,
        [&](int64_t j, int64_t byte, unsigned off, unsigned w, unsigned s) {
          if (j >= cols)
            return;
          uint32_t k = idx[i * cols + j];
          assert(k < (1u << bits) && "index does not fit the layout width");
          uint32_t piece = (k >> s) & ((1u << w) - 1u);
          uint8_t &dst = out[interleavedTiledOffset(i, byte, rowBytes,
                                                    blockBytes, rowTile)];
          dst = static_cast<uint8_t>(dst | (piece << off));
        });
  }
  return out;
}

std::vector<uint8_t> unpackInterleaved(const uint8_t *packed, int64_t rows,
                                       int64_t cols, unsigned bits,
                                       int64_t block, int64_t rowTile) {
  assert(rowTile >= 1 && rows % rowTile == 0 &&
         "the row tile must divide the rows");
  int64_t rowBytes = interleavedRowBytes(cols, bits, block);
  int64_t blockBytes = block * bits / 8;
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols), 0);
  for (int64_t i = 0; i < rows; ++i) {
    forEachInterleavedPiece(
        cols, bits, block,
        [&](int64_t j, int64_t byte, unsigned off, unsigned w, unsigned s) {
          if (j >= cols)
            return;
          uint8_t src = packed[interleavedTiledOffset(i, byte, rowBytes,
                                                      blockBytes, rowTile)];
          uint32_t piece = (src >> off) & ((1u << w) - 1u);
          out[i * cols + j] = static_cast<uint8_t>(out[i * cols + j] |
                                                   (piece << s));
        });
  }
  return out;
}

bool mmaTileValid(unsigned bits, int64_t kTile) {
  if (bits < 1 || bits > 8 || kTile <= 0 || kTile % 16 != 0)
    return false;
  for (unsigned w : interleavedPieces(bits))
    if ((kTile / 16) * w % 4 != 0)
      return false;
  return true;
}

int64_t mmaPackedBytes(int64_t rows, int64_t cols, unsigned bits,
                       int64_t kTile) {
  assert(mmaTileValid(bits, kTile) && "invalid MMA column tile");
  int64_t rowTiles = (rows + 15) / 16;
  int64_t colTiles = (cols + kTile - 1) / kTile;
  return rowTiles * colTiles * 2 * kTile * bits;
}

namespace {
/// Calls fn(row, col, byte, bitOffset, width, shift) for every piece of
/// every element (padding included) of the MMA-fragment layout. With
/// `rotate` (bit planes), the pairs of a word take the positions of
/// mmaPlanePosition and piece p of every 32-bit word is rotated right by p
/// bits.
template <typename Fn>
void forEachMmaPiece(int64_t rows, int64_t cols, unsigned bits, int64_t kTile,
                     const std::vector<unsigned> &pieces, bool rotate, Fn fn) {
  int64_t rowTiles = (rows + 15) / 16;
  int64_t colTiles = (cols + kTile - 1) / kTile;
  int64_t steps = kTile / 16;
  int64_t tileBytes = 2 * kTile * bits;
  for (int64_t mt = 0; mt < rowTiles; ++mt)
    for (int64_t kt = 0; kt < colTiles; ++kt) {
      int64_t base = (mt * colTiles + kt) * tileBytes;
      unsigned shift = bits;
      for (size_t pi = 0; pi < pieces.size(); ++pi) {
        unsigned w = pieces[pi];
        shift -= w;
        int64_t laneBytes = steps * w;
        int64_t chunk = std::min<int64_t>(16, laneBytes);
        int64_t pairsPerWord = 16 / w;
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t g = lane / 4, t = lane % 4;
          for (int64_t pair = 0; pair < 4 * steps; ++pair) {
            int64_t s = pair / 4, a = pair % 4;
            int64_t word = pair / pairsPerWord, j = pair % pairsPerWord;
            for (int64_t h = 0; h < 2; ++h) {
              int64_t row = mt * 16 + g + 8 * (a & 1);
              int64_t col = kt * kTile + 4 * steps * t + 4 * s + 2 * (a >> 1) + h;
              int64_t bit = 16 * h + j * w;
              if (rotate)
                bit = (16 * h + mmaPlanePosition(j) + 32 -
                       static_cast<int64_t>(pi)) %
                      32;
              int64_t laneByte = word * 4 + bit / 8;
              int64_t byte = base + (laneByte / chunk) * 32 * chunk +
                             lane * chunk + laneByte % chunk;
              fn(row, col, byte, static_cast<unsigned>(bit % 8), w, shift);
            }
          }
        }
        base += 32 * laneBytes;
      }
    }
}
} // namespace

namespace {
std::vector<uint8_t> packMmaWith(const uint8_t *idx, int64_t rows, int64_t cols,
                                 unsigned bits, int64_t kTile,
                                 const std::vector<unsigned> &pieces,
                                 bool rotate) {
  std::vector<uint8_t> out(
      static_cast<size_t>(mmaPackedBytes(rows, cols, bits, kTile)), 0);
  forEachMmaPiece(rows, cols, bits, kTile, pieces, rotate,
                  [&](int64_t i, int64_t j, int64_t byte, unsigned off,
                      unsigned w, unsigned s) {
                    if (i >= rows || j >= cols)
                      return;
                    uint32_t k = idx[i * cols + j];
                    assert(k < (1u << bits) &&
                           "index does not fit the layout width");
                    uint32_t piece = (k >> s) & ((1u << w) - 1u);
                    out[byte] = static_cast<uint8_t>(out[byte] | (piece << off));
                  });
  return out;
}

std::vector<uint8_t> unpackMmaWith(const uint8_t *packed, int64_t rows,
                                   int64_t cols, unsigned bits, int64_t kTile,
                                   const std::vector<unsigned> &pieces,
                                   bool rotate) {
  std::vector<uint8_t> out(static_cast<size_t>(rows * cols), 0);
  forEachMmaPiece(rows, cols, bits, kTile, pieces, rotate,
                  [&](int64_t i, int64_t j, int64_t byte, unsigned off,
                      unsigned w, unsigned s) {
                    if (i >= rows || j >= cols)
                      return;
                    uint32_t piece = (packed[byte] >> off) & ((1u << w) - 1u);
                    out[i * cols + j] =
                        static_cast<uint8_t>(out[i * cols + j] | (piece << s));
                  });
  return out;
}
} // namespace

std::vector<uint8_t> packMma(const uint8_t *idx, int64_t rows, int64_t cols,
                             unsigned bits, int64_t kTile) {
  return packMmaWith(idx, rows, cols, bits, kTile, interleavedPieces(bits),
                     /*rotate=*/false);
}

std::vector<uint8_t> unpackMma(const uint8_t *packed, int64_t rows,
                               int64_t cols, unsigned bits, int64_t kTile) {
  return unpackMmaWith(packed, rows, cols, bits, kTile, interleavedPieces(bits),
                       /*rotate=*/false);
}

int64_t mmaPlanePosition(int64_t pair) {
  return (pair % 4) * 4 + (pair / 4) % 4;
}

std::vector<uint8_t> packMmaPlanes(const uint8_t *idx, int64_t rows,
                                   int64_t cols, unsigned bits,
                                   int64_t kTile) {
  assert(mmaTileValid(1, kTile) && "invalid MMA plane column tile");
  return packMmaWith(idx, rows, cols, bits, kTile,
                     std::vector<unsigned>(bits, 1u), /*rotate=*/true);
}

std::vector<uint8_t> unpackMmaPlanes(const uint8_t *packed, int64_t rows,
                                     int64_t cols, unsigned bits,
                                     int64_t kTile) {
  assert(mmaTileValid(1, kTile) && "invalid MMA plane column tile");
  return unpackMmaWith(packed, rows, cols, bits, kTile,
                       std::vector<unsigned>(bits, 1u), /*rotate=*/true);
}

namespace {
/// Where packMmaScales puts the value of (row, grp).
size_t mmaScaleAt(int64_t row, int64_t grp, int64_t groups) {
  int64_t t = row / 16, g = row % 8, h = (row % 16) / 8;
  return size_t(((t * groups + grp) * 8 + g) * 2 + h);
}
} // namespace

std::vector<float> packMmaScales(const float *values, int64_t rows,
                                 int64_t groups) {
  std::vector<float> out(size_t((rows + 15) / 16 * groups * 16), 0.0f);
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t grp = 0; grp < groups; ++grp)
      out[mmaScaleAt(row, grp, groups)] = values[row * groups + grp];
  return out;
}

std::vector<float> unpackMmaScales(const float *packed, int64_t rows,
                                   int64_t groups) {
  std::vector<float> out(size_t(rows * groups));
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t grp = 0; grp < groups; ++grp)
      out[size_t(row * groups + grp)] = packed[mmaScaleAt(row, grp, groups)];
  return out;
}

} // namespace matquant::numerics
