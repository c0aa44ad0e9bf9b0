//===- Numerics.h - MatQuant numerics, the single source of truth -*- C++ -*-===//
//
// Plain C++ (no MLIR types) implementation of the numerics in
// ../shared/MATQUANT.md: min-max quantization, slicing S(q, r) in clamped,
// extra-precision and prefix-exact mode, dequantization in the alpha / m form,
// and the packed layouts (dense r-bit and bit planes). Folders, the reference
// lowering and every kernel test call into this library.
//
// Conventions:
// - A weight matrix is rows x cols, row-major. `axis` is the output-channel
//   axis (0: one channel per row, groups run along a row; 1: one channel per
//   column, groups run down a column). The other axis is the reduction axis.
// - groupSize == 0 means per channel (one group spans the whole reduction axis).
// - Scale / offset tensors have the matrix shape with the reduction dimension
//   replaced by the number of groups: axis 0 -> [rows, cols/G], axis 1 ->
//   [rows/G, cols]. They are stored row-major.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_NUMERICS_NUMERICS_H
#define MATQUANT_NUMERICS_NUMERICS_H

#include <cstdint>
#include <string>
#include <vector>

namespace matquant::numerics {

/// How an r-bit slice of a c-bit code is formed.
enum class SliceMode {
  /// The paper's S(q, r): round half up on the dropped bits, clamp to 2^r - 1.
  Clamped,
  /// The same rounding without the clamp: k in [0, 2^r] (2^r + 1 levels).
  ExtraPrecision,
  /// Truncation (matquant): k = q >> (c-r), the top r bits of q, so that r
  /// bit planes hold the r-bit model; it is reconstructed at the mid-point
  /// of the 2^(c-r) codes that share the prefix (see sliceOffset).
  PrefixExact,
};

/// Parses "clamped" / "extra_precision" / "prefix_exact"; returns false on
/// anything else.
bool parseSliceMode(const std::string &s, SliceMode &mode);
/// Returns "clamped", "extra_precision" or "prefix_exact".
const char *sliceModeName(SliceMode mode);

/// The r-bit index k of the c-bit code q (MATQUANT.md section 2):
/// for r == c, k = q; otherwise k = (q >> (c-r)) + ((q >> (c-r-1)) & 1),
/// clamped to 2^r - 1 in Clamped mode, and k = q >> (c-r) in PrefixExact
/// mode. Requires 1 <= r <= c <= 8 and q < 2^c (q may be 2^c only for an
/// extra-precision input grid value).
uint32_t sliceIndex(uint32_t q, unsigned c, unsigned r, SliceMode mode);

/// S(q, r) = sliceIndex(q, c, r, mode) * 2^(c-r): the slice on the c-bit grid.
/// (In PrefixExact mode the r-bit model sits half a step above it, at
/// S(q, r) + 2^(c-r-1) for r < c: see sliceOffset.)
uint32_t slice(uint32_t q, unsigned c, unsigned r, SliceMode mode);

/// Re-slices an r_in-bit index to r_out bits, both on a c-bit grid: the value
/// k_in * 2^(c - r_in) is sliced to r_out. This is what `mq.slice` does on a
/// value that was already sliced (slice of a slice is NOT a slice of q).
uint32_t resliceIndex(uint32_t kIn, unsigned c, unsigned rIn, unsigned rOut,
                      SliceMode mode);

/// True if slicing c -> rMid -> rOut gives the same index as c -> rOut for
/// every c-bit code, decided by exhaustive enumeration.
bool sliceChainIsExact(unsigned c, unsigned rMid, unsigned rOut,
                       SliceMode mode);

/// The largest index an r-bit slice can take: 2^r - 1 (clamped, prefix
/// exact, or r == c), 2^r (extra precision, r < c).
uint32_t maxIndex(unsigned c, unsigned r, SliceMode mode);

/// Number of bits needed to store every index of an r-bit slice: r, or r + 1
/// for extra precision with r < c.
unsigned indexStorageBits(unsigned c, unsigned r, SliceMode mode);

/// Quantization options.
struct QuantOptions {
  unsigned bits = 8;     ///< storage width c, 1..8
  unsigned axis = 0;     ///< output-channel axis, 0 or 1
  int64_t groupSize = 0; ///< 0: per channel; else G, must divide the reduction dim
};

/// A quantized matrix: c-bit codes and the affine pair per group.
struct QuantizedMatrix {
  int64_t rows = 0, cols = 0;
  QuantOptions opts;
  std::vector<uint8_t> codes; ///< rows * cols codes, row-major
  std::vector<float> alpha;   ///< scales, shape scaleShape()
  std::vector<float> offset;  ///< m = -alpha * z, shape scaleShape()

  /// [rows, cols/G] for axis 0, [rows/G, cols] for axis 1.
  int64_t scaleRows() const;
  int64_t scaleCols() const;
  /// Index into alpha / offset for element (i, j).
  int64_t groupIndex(int64_t i, int64_t j) const;
};

/// Number of groups along the reduction dimension of length `reduce`.
int64_t numGroups(int64_t reduce, int64_t groupSize);

/// Returns an empty string if the options are valid for a rows x cols matrix,
/// otherwise a message saying what is wrong.
std::string validate(int64_t rows, int64_t cols, const QuantOptions &opts);

/// Min-max asymmetric quantization, computed in float32 exactly as
///   alpha = (hi - lo) / (2^c - 1), z = -lo / alpha,
///   q = clamp(roundf(w / alpha + z), 0, 2^c - 1), m = -alpha * z
/// with hi = gamma * max(w), lo = beta * min(w) per group. `gamma` / `beta`
/// are either empty (no clipping), one value for all groups, or one value per
/// group (scale-shape order). A group with max == min quantizes exactly:
/// alpha = 0, m = w, q = 0. If clipping makes hi <= lo the group falls back
/// to its unclipped range (matquant).
/// Options that fail validate() give an empty matrix (rows = cols = 0); a
/// gamma / beta of any other size is an assertion failure (ignored without
/// assertions). NaN weights take no part in the range and get code 0.
QuantizedMatrix quantize(const float *w, int64_t rows, int64_t cols,
                         const QuantOptions &opts,
                         const std::vector<float> &gamma = {},
                         const std::vector<float> &beta = {});

/// The affine parameters of one group as quantize() computes them. alpha == 0
/// marks a group quantized exactly to `offset` (constant, all-NaN or
/// underflowing range): every code is 0.
struct GroupQuant {
  float alpha = 0.0f;  ///< scale
  float z = 0.0f;      ///< -lo / alpha (0 for an exact group)
  float offset = 0.0f; ///< m = -alpha * z
};

/// The parameters quantize() gives a group of n values v[0], v[stride], ...
/// at c = bits with clip factors (gamma, beta): range over the non-NaN
/// values, clipping and its fallback, the overflow and underflow rules of
/// docs/Numerics.md section 2. Requires 1 <= bits <= 8 and n >= 1.
GroupQuant groupParams(const float *v, int64_t n, int64_t stride,
                       unsigned bits, float gamma, float beta);

/// The range (mn, mx) of a group over its non-NaN values; both NaN when
/// every value is NaN.
void groupRange(const float *v, int64_t n, int64_t stride, float &mn,
                float &mx);

/// groupParams() from a range computed by groupRange().
GroupQuant groupParamsFromRange(float mn, float mx, unsigned bits, float gamma,
                                float beta);

/// The c-bit code quantize() gives value v of a group with parameters g:
/// 0 for an exact group, else clamp(roundf(v / alpha + z), 0, 2^c - 1) with
/// NaN mapped to 0. v may lie outside the group's range (it saturates).
uint8_t quantizeValue(float v, const GroupQuant &g, unsigned bits);

/// The offset an r-bit slice adds after the scaled index: m itself, except
/// in PrefixExact mode with r < c, where the reconstruction sits at the
/// mid-point of the truncated codes: m' = m + alpha * 2^(c-r-1), evaluated
/// in float32 as h = alpha * 2^(c-r-1) (exact unless it overflows), then
/// m' = m + h (one rounding). Every consumer (folders, lowerings, kernels,
/// searches) adds this value, so they all agree bit for bit.
float sliceOffset(float alpha, float m, unsigned c, unsigned r, SliceMode mode);

/// Dequantizes one element from its index k at width r:
/// (alpha * 2^(c-r)) * k + sliceOffset(alpha, m, c, r, mode), evaluated in
/// float32 in that order.
float dequantizeIndex(uint32_t k, float alpha, float m, unsigned c, unsigned r,
                      SliceMode mode);

/// All r-bit indices of a quantized matrix, row-major.
std::vector<uint8_t> sliceAll(const QuantizedMatrix &q, unsigned r,
                              SliceMode mode);

/// Dequantized r-bit model of a quantized matrix (float32, row-major).
std::vector<float> dequantize(const QuantizedMatrix &q, unsigned r,
                              SliceMode mode);

/// y[b, n] = sum_k x[b, k] * W_hat_r[n, k] (axis 0) or x[b, k] * W_hat_r[k, n]
/// (axis 1), accumulated in float64: the reference for every kernel.
std::vector<double> referenceMatmul(const float *x, int64_t batch,
                                    const QuantizedMatrix &q, unsigned r,
                                    SliceMode mode);

//===----------------------------------------------------------------------===//
// Packed layouts. Both pack a rows x cols matrix of indices row by row; each
// row starts on a byte boundary.
//===----------------------------------------------------------------------===//

/// Bytes per row of the dense layout: ceil(cols * bits / 8).
int64_t denseRowBytes(int64_t cols, unsigned bits);

/// Dense layout: element j of a row occupies bits [j*bits, (j+1)*bits) of the
/// row's little-endian bit stream (LSB first). bits in 1..8; every index must
/// fit in `bits` bits. Output size rows * denseRowBytes(cols, bits).
std::vector<uint8_t> packDense(const uint8_t *idx, int64_t rows, int64_t cols,
                               unsigned bits);
std::vector<uint8_t> unpackDense(const uint8_t *packed, int64_t rows,
                                 int64_t cols, unsigned bits);

/// Bytes per row of one bit plane: ceil(cols / 8).
int64_t planeRowBytes(int64_t cols);

/// Bit-plane layout: `bits` planes, plane p holds bit (bits - 1 - p) of every
/// index (plane 0 is the most significant), each plane rows x planeRowBytes
/// bytes, element j at bit (j % 8) of byte j / 8. Every index must fit in
/// `bits` bits. Output size bits * rows * planeRowBytes(cols).
std::vector<uint8_t> packPlanes(const uint8_t *idx, int64_t rows, int64_t cols,
                                unsigned bits);
std::vector<uint8_t> unpackPlanes(const uint8_t *packed, int64_t rows,
                                  int64_t cols, unsigned bits);

/// Interleaved layout, the one the CPU kernels read: an index of `bits` bits
/// is split into power-of-two pieces, most significant first (8 -> [8],
/// 7 -> [4, 2, 1], 6 -> [4, 2], 5 -> [4, 1], 3 -> [2, 1], ...; piece p has
/// width w_p and shift s_p, k = sum_p piece_p << s_p). A row is cut into
/// blocks of `block` elements (block a multiple of 8; the ragged tail is
/// padded with index 0). Within a block, piece p takes B_p = block * w_p / 8
/// bytes, after the bytes of the pieces before it; its element e sits in
/// byte e % B_p at bit offset (e / B_p) * w_p. So one load of B_p bytes and
/// one shift by t * w_p give the pieces of the block's elements
/// [t * B_p, (t + 1) * B_p), in order. Output size rows *
/// interleavedRowBytes(cols, bits, block).
///
/// With a row tile R > 1 (R divides rows) the same bytes are ordered by
/// tiles of R rows: for each tile, for each block, the R rows' bytes of
/// that block one after the other (interleavedTiledOffset), so that a
/// kernel walking R rows block by block reads one contiguous stream.
std::vector<unsigned> interleavedPieces(unsigned bits);
int64_t interleavedRowBytes(int64_t cols, unsigned bits, int64_t block);
/// The row tile mq-select-cpu-layout gives a weight of `rows` rows: the
/// largest of maxTile, maxTile / 2, ... (maxTile clamped into [1, 64], the
/// layout's limit) that divides the rows, or 1.
int64_t interleavedRowTile(int64_t rows, int64_t maxTile);
/// Where byte `byteInRow` of row `row` (in the untiled order) lies in the
/// tiled storage; blockBytes = block * bits / 8.
int64_t interleavedTiledOffset(int64_t row, int64_t byteInRow, int64_t rowBytes,
                               int64_t blockBytes, int64_t rowTile);
std::vector<uint8_t> packInterleaved(const uint8_t *idx, int64_t rows,
                                     int64_t cols, unsigned bits, int64_t block,
                                     int64_t rowTile = 1);
std::vector<uint8_t> unpackInterleaved(const uint8_t *packed, int64_t rows,
                                       int64_t cols, unsigned bits,
                                       int64_t block, int64_t rowTile = 1);

/// MMA-fragment layout, the one the GPU tensor-core kernels read: each lane
/// of a warp finds in its own bytes the elements of the A operand it holds
/// in `mma.sync.m16n8k16` (rows = output channels), so one coalesced
/// 16-byte load per lane feeds several k-steps. Rows are padded to whole
/// tiles of 16 and columns to whole tiles of `kTile` (a multiple of 16:
/// S = kTile / 16 k-steps) with index 0. Tiles follow each other in the
/// order (row tile, column tile), each 2 * kTile * bits bytes; within a
/// tile the pieces of interleavedPieces(bits) follow each other, piece p
/// taking 32 lanes x L_p bytes (L_p = S * w_p, a multiple of 4), stored
/// [L_p / C_p][32 lanes][C_p] with C_p = min(16, L_p), so the warp's
/// c-th load of the piece is 32 consecutive C_p-byte chunks. Lane l
/// (g = l / 4, t = l % 4) reads its L_p bytes as little-endian 32-bit
/// words; word u holds the pairs P = u * 16 / w_p + j (j < 16 / w_p),
/// pair element h (0, 1) at bit 16 h + j w_p. Pair P = 4 s + a is
/// register a of k-step s: element (row g + 8 (a & 1), column 4 S t +
/// 4 s + 2 (a >> 1) + h) of the tile. So a shift and a mask per pair and
/// piece place both elements of a register at bits 0 and 16, and the k
/// order inside a tile is permuted (the fragment's columns 2t, 2t + 1,
/// 2t + 8, 2t + 9 of k-step s are the tile's 4 S t + 4 s + 0..3): the
/// activations a lane needs are one contiguous run of 4 S.
/// True when `kTile` is a valid tile for `bits`.
bool mmaTileValid(unsigned bits, int64_t kTile);
int64_t mmaPackedBytes(int64_t rows, int64_t cols, unsigned bits,
                       int64_t kTile);
std::vector<uint8_t> packMma(const uint8_t *idx, int64_t rows, int64_t cols,
                             unsigned bits, int64_t kTile);
std::vector<uint8_t> unpackMma(const uint8_t *packed, int64_t rows,
                               int64_t cols, unsigned bits, int64_t kTile);
/// The same fragment layout with the `bits`-bit index cut into `bits`
/// 1-bit pieces (bit planes), the most significant first: the layout of
/// the GPU kernels whose width is chosen at run time, which read only the
/// first planes of every tile. A lane's 32-bit word of a plane holds 16
/// pairs (register a of k-step s, 4 s + a, of the word's four k-steps):
/// pair i at bit e = mmaPlanePosition(i) (= 4 a + s) and its second element
/// at 16 + e in plane 0, and plane p rotated right by p bits, at
/// (e - p) mod 32 and (16 + e - p) mod 32. So the top R planes of every
/// element are R contiguous bits (plane 0 highest) for any R, the kernels
/// merge planes with one masked select each, and the four pairs of a
/// k-step sit 4 bits apart (their R-bit fields do not overlap for R <= 4).
/// Same size as packMma; needs mmaTileValid(1, kTile).
/// The bit of pair `pair` (0..15) in plane 0 of a packMmaPlanes word.
int64_t mmaPlanePosition(int64_t pair);
std::vector<uint8_t> packMmaPlanes(const uint8_t *idx, int64_t rows,
                                   int64_t cols, unsigned bits, int64_t kTile);
std::vector<uint8_t> unpackMmaPlanes(const uint8_t *packed, int64_t rows,
                                     int64_t cols, unsigned bits,
                                     int64_t kTile);

/// The scales (or offsets) [rows, groups] of a weight in an MMA layout, in
/// the order the tensor-core kernels read them: [ceil(rows / 16), groups,
/// 8, 2], element (t, grp, g, h) the value of row 16 t + 8 h + g (the rows
/// g and g + 8 whose results lane group g of m16n8k16 accumulates) and
/// group grp, 0 past the last row. So a warp's two values per group and
/// row tile are 64 contiguous bytes, one 8-byte load per lane.
std::vector<float> packMmaScales(const float *values, int64_t rows,
                                 int64_t groups);
std::vector<float> unpackMmaScales(const float *packed, int64_t rows,
                                   int64_t groups);

} // namespace matquant::numerics

#endif // MATQUANT_NUMERICS_NUMERICS_H
