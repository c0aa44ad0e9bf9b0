//===- MQToVector.cpp - Vectorized CPU weight-only kernels -------*- C++ -*-===//
//
// Lowers weight-only matvec / matmul to row-parallel vector code on tensors:
// packed weights are read once in wide loads and decoded in registers
// (shift, mask, uitofp, fma); the dequantized weights never reach memory.
// The same loop structure, without decoding, lowers the float baseline
// (linalg.matvec / linalg.matmul with an [N, K] weight).
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/TargetParser/Host.h"

#include <cmath>
#include <numeric>

namespace matquant {
#define GEN_PASS_DEF_CONVERTMQTOVECTORPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

bool matquant::hostHasCPUFeature(StringRef feature) {
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto it = features.find(feature);
  return it != features.end() && it->second;
}

bool matquant::hostHasGfniVbmi() {
  return hostHasCPUFeature("gfni") && hostHasCPUFeature("avx512vbmi");
}

namespace {

struct KernelConfig {
  int64_t vectorWidth;
  int64_t accumulators;
  int64_t batchTile;
  int64_t rowTile;
  /// 8: quantize activations to int8 per block and use AVX-512 VNNI
  /// (W{r}A8); 0: float activations.
  int64_t activationBits = 0;
  /// Float activations: build f32 weights from sub-byte indices with
  /// integer ops under the exponent of 1.0 instead of converting them.
  bool exponentDecode = true;
  /// Bit planes read at a run-time width: a byte permute and
  /// mq.transpose_bits turn r planes into one byte per element.
  bool planeTranspose = false;
  /// Rows tiled in the interleaved layout: each tile's stream is prefetched
  /// this many bytes ahead (0: none).
  int64_t tilePrefetch = 8192;
};

/// The bits of 1.0f: an index k shifted under them reads 1 + k * 2^-bits.
constexpr uint32_t kOneBits = 0x3F800000u;

/// The widest prefix-exact run-time width whose bit planes are
/// exponent-decoded (see planeExponent in emitKernel).
constexpr unsigned kPlaneExponentMaxWidth = 3;

/// W{r}A8 kernels that read less than a cache line per row and block (int3
/// and below at E = 128) prefetch each row's weights this many bytes ahead:
/// measured on the 2-core Zen 4 VM, 4096 x 14336 int2, 2 threads, about 10%
/// faster at 256 - 512 bytes; at int8 the same prefetches cost 10%, at int4
/// they were within the noise.
constexpr int64_t kA8PrefetchBytes = 384;

/// Transposed bit-plane kernels (a width chosen at run time) prefetch each
/// plane of each row this many bytes ahead, once per 128 elements, and
/// take row tiles of up to this many planes in all: measured on the Zen 5
/// VM, 4096 x 14336, group 128, 2 threads, against no prefetch and 8 planes
/// (time over the static kernel's in the same run, median of 3): 4pe 1.11
/// against 1.33, 8pe 1.00 against 1.44.
constexpr int64_t kPlanePrefetchBytes = 2048;
constexpr int64_t kPrefetchedStreams = 16;
/// ... and at most this many rows: each row keeps two decoded 64-byte
/// vectors and its accumulators in registers, and 8 rows spill (1pe, 2
/// threads: 806 - 819 us at 4 rows against 953 - 1010 at 8).
constexpr int64_t kTransposedMaxRows = 4;

Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value cF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}
Value splat(OpBuilder &b, Location loc, VectorType type, Attribute value) {
  return arith::ConstantOp::create(b, loc,
                                   DenseElementsAttr::get(type, value));
}

/// Moves the bits of an integer vector `left` places up (down if negative)
/// and keeps those of `mask`, unless it covers the whole element.
Value moveBits(OpBuilder &b, Location loc, Value v, int left, uint64_t mask) {
  auto type = cast<VectorType>(v.getType());
  Type elem = type.getElementType();
  auto c = [&](uint64_t x) {
    return splat(b, loc, type, b.getIntegerAttr(elem, x));
  };
  if (left > 0)
    v = arith::ShLIOp::create(b, loc, v, c(left));
  else if (left < 0)
    v = arith::ShRUIOp::create(b, loc, v, c(-left));
  unsigned width = elem.getIntOrFloatBitWidth();
  if (mask != (width >= 64 ? ~0ull : (1ull << width) - 1))
    v = arith::AndIOp::create(b, loc, v, c(mask));
  return v;
}

SmallVector<utils::IteratorType> iters(unsigned n, unsigned reduceFrom = ~0u) {
  SmallVector<utils::IteratorType> it(n, utils::IteratorType::parallel);
  for (unsigned i = reduceFrom; i < n; ++i)
    it[i] = utils::IteratorType::reduction;
  return it;
}

/// Activations as f32 [B, Kpad], zero-padded past K.
Value padActivations(OpBuilder &b, Location loc, Value x, int64_t batch,
                     int64_t k, int64_t kPad) {
  MLIRContext *ctx = b.getContext();
  auto xType = cast<RankedTensorType>(x.getType());
  if (xType.getRank() == 1)
    x = tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, k}, xType.getElementType()), x,
        SmallVector<ReassociationIndices>{{0, 1}});
  Type f32 = b.getF32Type();
  if (xType.getElementType() != f32) {
    AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
    Value init = tensor::EmptyOp::create(b, loc, {batch, k}, f32);
    x = linalg::GenericOp::create(
            b, loc, TypeRange{RankedTensorType::get({batch, k}, f32)},
            ValueRange{x}, ValueRange{init}, ArrayRef<AffineMap>{id, id},
            iters(2),
            [&](OpBuilder &nb, Location nl, ValueRange args) {
              Value e = arith::ExtFOp::create(nb, nl, f32, args[0]);
              linalg::YieldOp::create(nb, nl, e);
            })
            .getResult(0);
  }
  if (kPad == k)
    return x;
  SmallVector<OpFoldResult> lo = {b.getIndexAttr(0), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> hi = {b.getIndexAttr(0), b.getIndexAttr(kPad - k)};
  return tensor::PadOp::create(b, loc,
                               RankedTensorType::get({batch, kPad}, f32), x,
                               lo, hi, cF32(b, loc, 0.0f));
}

/// Sum of the activations of each group: [B, NG].
Value groupSums(OpBuilder &b, Location loc, Value xf, int64_t batch,
                int64_t k, int64_t groups) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  // xf is [B, Kpad]; only the first K columns count (the rest are zeros).
  auto xType = cast<RankedTensorType>(xf.getType());
  int64_t kPad = xType.getDimSize(1);
  int64_t g = groups == 1 ? kPad : k / groups;
  Value x3 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({batch, groups, g}, f32), xf,
      SmallVector<ReassociationIndices>{{0}, {1, 2}});
  Value init = linalg::FillOp::create(
                   b, loc, cF32(b, loc, 0.0f),
                   tensor::EmptyOp::create(b, loc, {batch, groups}, f32)
                       .getResult())
                   .getResult(0);
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{RankedTensorType::get({batch, groups}, f32)},
             ValueRange{x3}, ValueRange{init},
             ArrayRef<AffineMap>{id3, id3.dropResult(2)}, iters(3, 2),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value s = arith::AddFOp::create(nb, nl, args[1], args[0]);
               linalg::YieldOp::create(nb, nl, s);
             })
      .getResult(0);
}

/// Activations quantized to int8 per block of `block`: symmetric, scale
/// max|x| / 127 (1 for an all-zero block). Returns (xq [B, Kpad] i8,
/// scales [B, Kpad / block] f32).
std::pair<Value, Value> quantizeActivations(OpBuilder &b, Location loc,
                                            Value xf, int64_t batch,
                                            int64_t kPad, int64_t block) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  int64_t blocks = kPad / block;
  Value x3 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({batch, blocks, block}, f32), xf,
      SmallVector<ReassociationIndices>{{0}, {1, 2}});
  Value zero = linalg::FillOp::create(
                   b, loc, cF32(b, loc, 0.0f),
                   tensor::EmptyOp::create(b, loc, {batch, blocks}, f32)
                       .getResult())
                   .getResult(0);
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap red = id3.dropResult(2);
  auto scaleType = RankedTensorType::get({batch, blocks}, f32);
  Value amax =
      linalg::GenericOp::create(
          b, loc, TypeRange{scaleType}, ValueRange{x3}, ValueRange{zero},
          ArrayRef<AffineMap>{id3, red}, iters(3, 2),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value a = math::AbsFOp::create(nb, nl, args[0]);
            linalg::YieldOp::create(
                nb, nl, arith::MaxNumFOp::create(nb, nl, args[1], a).getResult());
          })
          .getResult(0);
  AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value scales =
      linalg::GenericOp::create(
          b, loc, TypeRange{scaleType}, ValueRange{amax},
          ValueRange{tensor::EmptyOp::create(b, loc, {batch, blocks}, f32)
                         .getResult()},
          ArrayRef<AffineMap>{id2, id2}, iters(2),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value sc = arith::DivFOp::create(nb, nl, args[0],
                                             cF32(nb, nl, 127.0f));
            Value isZero = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OEQ, sc, cF32(nb, nl, 0.0f));
            sc = arith::SelectOp::create(nb, nl, isZero, cF32(nb, nl, 1.0f),
                                         sc);
            linalg::YieldOp::create(nb, nl, sc);
          })
          .getResult(0);
  auto qType = RankedTensorType::get({batch, blocks, block}, b.getI8Type());
  Value q3 =
      linalg::GenericOp::create(
          b, loc, TypeRange{qType}, ValueRange{x3, scales},
          ValueRange{tensor::EmptyOp::create(b, loc, {batch, blocks, block},
                                             b.getI8Type())
                         .getResult()},
          ArrayRef<AffineMap>{id3, red, id3}, iters(3),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value t = arith::DivFOp::create(nb, nl, args[0], args[1]);
            t = math::RoundOp::create(nb, nl, t);
            t = arith::MaximumFOp::create(nb, nl, t, cF32(nb, nl, -127.0f));
            t = arith::MinimumFOp::create(nb, nl, t, cF32(nb, nl, 127.0f));
            Value i = arith::FPToSIOp::create(nb, nl, nb.getI8Type(), t);
            linalg::YieldOp::create(nb, nl, i);
          })
          .getResult(0);
  Value xq = tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({batch, kPad}, b.getI8Type()), q3,
      SmallVector<ReassociationIndices>{{0}, {1, 2}});
  return {xq, scales};
}

/// x[B, Kpad] with every 64-element block transposed from 16 x 4 to 4 x 16:
/// x'[64a + 16c + l] = x[64a + 4l + c], so that lane l of chunk c meets
/// byte c of i32 lane l of a 64-byte vector of elements 64a .. 64a + 63.
Value transposeActivationBlocks(OpBuilder &b, Location loc, Value x,
                                int64_t batch, int64_t kPad) {
  Type f32 = b.getF32Type();
  SmallVector<ReassociationIndices> assoc{{0}, {1, 2, 3}};
  Value x4 = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get({batch, kPad / 64, 16, 4}, f32), x, assoc);
  Value init = tensor::EmptyOp::create(b, loc, {batch, kPad / 64, 4, 16}, f32);
  Value t = linalg::TransposeOp::create(b, loc, x4, init,
                                        ArrayRef<int64_t>{0, 1, 3, 2})
                ->getResult(0);
  return tensor::CollapseShapeOp::create(
      b, loc, RankedTensorType::get({batch, kPad}, f32), t, assoc);
}

/// What the kernel reads for the weight.
struct WeightAccess {
  Value storage; // [N, RB] i8 (quantized) or [N, K] float
  WeightType type; // null for a float weight
  Value scales, offsets;
  /// 0: the weight's own width. Else the stored model (bits = storage, bit
  /// planes) is read at this width (a case of mq.matvec_dynamic).
  unsigned width = 0;
};

/// One masked partial sum of the bit-plane kernel: the activations whose
/// index has every plane of `planes` set, weighted by `weight` (times the
/// effective scale) when the group ends.
struct PlaneTerm {
  SmallVector<unsigned, 9> planes;
  float weight;
};

/// The partial sums that give sum_k x_k * k for a bit-plane weight. A static
/// weight of B-bit indices: plane p with weight 2^(B-1-p). The stored model
/// (c planes) read at width r < c: planes 0..r-1 with weight 2^(r-1-p);
/// in the rounding modes also the rounding bit (plane r, weight 1), and in
/// clamped mode minus the codes whose top r + 1 bits are all set (the
/// rounding carry that the clamp takes back: k = 2^r becomes 2^r - 1).
SmallVector<PlaneTerm> planeTerms(WeightType type, unsigned width) {
  SmallVector<PlaneTerm> terms;
  unsigned bits = type.getLayout().getBits();
  unsigned c = type.getStorageBits();
  if (width == 0 || width == c) {
    for (unsigned p = 0; p < bits; ++p)
      terms.push_back({{p}, static_cast<float>(1u << (bits - 1 - p))});
    return terms;
  }
  for (unsigned p = 0; p < width; ++p)
    terms.push_back({{p}, static_cast<float>(1u << (width - 1 - p))});
  if (type.getMode() == SliceMode::prefix_exact)
    return terms;
  terms.push_back({{width}, 1.0f});
  if (type.getMode() == SliceMode::clamped) {
    PlaneTerm carry{{}, -1.0f};
    for (unsigned p = 0; p <= width; ++p)
      carry.planes.push_back(p);
    terms.push_back(carry);
  }
  return terms;
}

/// The vector width for a quantized weight: the largest power of two <=
/// `vw` that divides every piece's byte count E * w / 8.
int64_t quantizedLanes(WeightType type, int64_t vw) {
  LayoutAttr layout = type.getLayout();
  int64_t e = layout.getBlock();
  int64_t g = 0;
  for (unsigned w : numerics::interleavedPieces(layout.getBits()))
    g = std::gcd(g, e * w / 8);
  int64_t lanes = 1;
  while (lanes * 2 <= vw && g % (lanes * 2) == 0)
    lanes *= 2;
  return lanes;
}

/// Whether the kernel of the stored model `type` read at the run-time width
/// r decodes its planes 128 elements at a time with mq.transpose_bits
/// (transposeBlock in emitKernel): 16 lanes, per channel or groups of a
/// multiple of 128, and the planes read (r, or r + 1 in a rounding mode)
/// plus extra precision's carry bit fit in a byte.
bool transposesPlanes(const KernelConfig &cfg, WeightType type, unsigned r) {
  unsigned c = type.getStorageBits();
  bool rounding = type.getMode() != SliceMode::prefix_exact && r < c;
  unsigned carry = type.getMode() == SliceMode::extra_precision && r < c;
  int64_t groups = type.getNumGroups();
  // One plane (prefix exact, width 1) keeps the masked OR of
  // exponent-decode: 1pe 1.03 - 1.13 times the static kernel, against 1.36
  // - 1.53 transposed (4096 x 14336, 2 threads).
  unsigned planes = r + (rounding ? 1 : 0);
  return cfg.planeTranspose && cfg.vectorWidth == 16 && r >= 1 && r <= c &&
         (groups == 1 || (type.getCols() / groups) % 128 == 0) &&
         planes >= (cfg.exponentDecode ? 2u : 1u) && planes + carry <= 8;
}

/// Emits y[B, N] (f32) = x[B, K] * W^T for one weight.
Value emitKernel(OpBuilder &b, Location loc, const KernelConfig &cfg,
                 Value x, const WeightAccess &w, int64_t batch, int64_t n,
                 int64_t k) {
  Type f32 = b.getF32Type();
  bool quantized = static_cast<bool>(w.type);
  int64_t block = 0, lanes = cfg.vectorWidth, groups = 1, blocksPerGroup = 0;
  unsigned bits = 0;
  std::vector<unsigned> pieces;
  float factor = 1.0f;
  // The offsets are m + alpha * offsetFactor (0: m itself): the mid-point of
  // prefix-exact slices, minus what exponent decoding adds.
  float offsetFactor = 0.0f;
  int64_t kPad;
  bool planes = false;
  int64_t planeBytes = 0, chunkBytes = 0;
  SmallVector<PlaneTerm> terms;
  bool planeIndices = false;        // planes decoded to indices (dynamic width)
  bool transposePlanes = false;     // ... by mq.transpose_bits, 128 at a time
  unsigned transposeShift = 0;      // plane p lands at bit 7 - p - shift
  bool transposeExponent = false;   // ... under the exponent of 1.0
  unsigned transposeFree = 0;       // ... from bit 22 - free down
  bool transposeNibbles = false;    // both halves of 128 in one vector
  SmallVector<unsigned> readPlanes; // the planes the terms need, ascending
  int64_t layoutRows = 1;           // the interleaved layout's row tile
  if (quantized) {
    LayoutAttr layout = w.type.getLayout();
    bits = layout.getBits();
    groups = w.type.getNumGroups();
    unsigned c = w.type.getStorageBits();
    unsigned r = w.width ? w.width : w.type.getBits();
    factor = static_cast<float>(1u << (c - r));
    // Prefix-exact slices reconstruct at the mid-point: the offset becomes
    // m + alpha * 2^(c-r-1) (numerics::sliceOffset).
    if (w.type.getMode() == SliceMode::prefix_exact && r < c)
      offsetFactor = static_cast<float>(1u << (c - r - 1));
    if (layout.getKind() == LayoutKind::planes) {
      // Bit planes: `lanes` elements take lanes / 8 bytes of each plane,
      // used directly as a lane mask.
      planes = true;
      terms = planeTerms(w.type, w.width);
      for (const PlaneTerm &t : terms)
        for (unsigned p : t.planes)
          if (!llvm::is_contained(readPlanes, p))
            readPlanes.push_back(p);
      llvm::sort(readPlanes);
      block = lanes;
      chunkBytes = lanes / 8;
      planeBytes = numerics::planeRowBytes(k);
      // The stored model read at a width: rebuild the r-bit indices of 64
      // elements in byte lanes (8 bytes per plane), then convert and fma
      // as the packed kernels do. Needs whole 64-element blocks per group.
      if (w.width != 0 && lanes >= 8 && lanes <= 64 &&
          (groups == 1 || (k / groups) % 64 == 0)) {
        planeIndices = true;
        block = 64;
        chunkBytes = 8;
        // 128 elements per block: 16 bytes of each plane, transposed to
        // one byte per element, the planes from bit 7 - shift down. Extra
        // precision leaves one more bit free above them for the rounding
        // carry (k = 2^r).
        unsigned carry =
            w.type.getMode() == SliceMode::extra_precision && r < c ? 1 : 0;
        if (transposesPlanes(cfg, w.type, r)) {
          transposePlanes = true;
          transposeExponent = cfg.exponentDecode;
          // Under the exponent, planes that leave bit 7 free start at bit 6:
          // one of the four bytes of an i32 lane then needs no shift (not
          // for clamped rounding, whose saturating add needs bit 7).
          unsigned np = readPlanes.size();
          bool saturates = w.type.getMode() == SliceMode::clamped && r < c;
          transposeShift =
              carry +
              (transposeExponent && !saturates && np + carry < 8 ? 1 : 0);
          block = 128;
          chunkBytes = 16;
          // The byte v is the c-bit slice times 2^(8 - c - shift); under the
          // exponent, v's highest bit 7 - free (free = shift - carry) goes
          // to bit 22 of 1.0f, f = 1 + v * 2^(free - 8), and the offsets
          // take back the 1 (as for exponentDecode below).
          factor = std::ldexp(1.0f, static_cast<int>(c) - 8 +
                                        static_cast<int>(transposeShift));
          // Four planes, no carry and no saturating add: the two halves of
          // the block share one transposed vector, elements 0 - 63 in the
          // high nibbles, 64 - 127 in the low ones (one byte permute and one
          // transpose per 128 elements); the nibble u is the c-bit slice
          // times 2^(4 - c - carry). (Zen 5 VM, 4096 x 14336, 2 threads:
          // 4pe 1085 / 1292 us against 1399 / 1556 with two bytes; 1pe and
          // 2ep were slower in nibbles: 856 / 870 against 668 / 705, and
          // 1149 / 1162 against 1028 / 1308; 2pe and 3pe even.)
          transposeNibbles = !saturates && carry == 0 && np == 4;
          if (transposeNibbles) {
            transposeShift = carry;
            factor =
                std::ldexp(1.0f, static_cast<int>(c + carry) - 4);
          }
          if (transposeExponent) {
            factor = std::ldexp(1.0f, static_cast<int>(c + carry));
            offsetFactor -= factor;
          }
          transposeFree = transposeShift - carry;
        }
      }
      int64_t blocks = (k + block - 1) / block;
      kPad = blocks * block;
      blocksPerGroup = groups == 1 ? blocks : (k / groups) / block;
    } else {
      block = layout.getBlock();
      layoutRows = layout.getRows();
      pieces = numerics::interleavedPieces(bits);
      lanes = quantizedLanes(w.type, cfg.vectorWidth);
      int64_t blocks = (k + block - 1) / block;
      kPad = blocks * block;
      blocksPerGroup = groups == 1 ? blocks : (k / groups) / block;
    }
  } else {
    kPad = (k + lanes - 1) / lanes * lanes;
  }
  Value xf = padActivations(b, loc, x, batch, k, kPad);
  // The activations as the kernel reads them: for transposed planes, each
  // 64-element block as 16 x 4 transposed (see transposeBlock).
  Value xk =
      transposePlanes ? transposeActivationBlocks(b, loc, xf, batch, kPad) : xf;
  // The packed weights as a read-only buffer, for software prefetches (the
  // hardware prefetchers stop at page boundaries and follow demand misses).
  Value wBuffer;
  int64_t prefetchDistance = 0;
  // (Rows tiled in the layout are prefetched per tile instead: see
  // prefetchTiles below.)
  if (quantized && !planes && cfg.activationBits == 8 && block % 64 == 0 &&
      block * bits / 8 < 64 && layoutRows == 1)
    prefetchDistance = kA8PrefetchBytes;
  if (transposePlanes)
    prefetchDistance = kPlanePrefetchBytes;
  if (prefetchDistance > 0) {
    auto st = cast<RankedTensorType>(w.storage.getType());
    if (st.getRank() == 2 || st.getRank() == 3)
      wBuffer = bufferization::ToBufferOp::create(
          b, loc, MemRefType::get(st.getShape(), st.getElementType()),
          w.storage, /*readOnly=*/true);
  }
  /// Prefetches bytes [byteBase + distance, + bytes) of each row of a tile,
  /// one per cache line.
  auto prefetchRows = [&](OpBuilder &ob, Location ol, ArrayRef<Value> rowIdx,
                          Value byteBase, int64_t bytes) {
    if (!wBuffer)
      return;
    for (Value row : rowIdx)
      for (int64_t off = 0; off < std::max<int64_t>(bytes, 1); off += 64) {
        Value pos = arith::AddIOp::create(
            ob, ol, byteBase, cIdx(ob, ol, prefetchDistance + off));
        memref::PrefetchOp::create(ob, ol, wBuffer, ValueRange{row, pos},
                                   /*isWrite=*/false, /*localityHint=*/3,
                                   /*isDataCache=*/true);
      }
  };
  // Rows tiled in the layout (#mq.layout<interleaved, B, block = E,
  // rows = R>): the storage [N, RB] viewed as [N / R, R * RB], one row per
  // tile, in which block b of the tile's row r starts at byte
  // b * R * EB + r * EB (EB = E * bits / 8; numerics::interleavedTiledOffset).
  Value tiledStorage;
  int64_t blockBytesAll = quantized && !planes ? block * bits / 8 : 0;
  if (layoutRows > 1) {
    auto st = cast<RankedTensorType>(w.storage.getType());
    int64_t rb = st.getDimSize(1);
    SmallVector<ReassociationIndices> both = {{0, 1}};
    Value flat = tensor::CollapseShapeOp::create(b, loc, w.storage, both);
    tiledStorage = tensor::ExpandShapeOp::create(
        b, loc,
        RankedTensorType::get({n / layoutRows, layoutRows * rb},
                              st.getElementType()),
        flat, both);
  }
  /// The storage place of bytes [start, ...) of block `blk` of row
  /// `row`, and the tensor to read them from.
  auto weightPlace =
      [&](OpBuilder &ob, Location ol, Value row, Value blk,
          int64_t start) -> std::pair<Value, SmallVector<Value>> {
    if (layoutRows == 1) {
      Value byte = arith::AddIOp::create(
          ob, ol,
          arith::MulIOp::create(ob, ol, blk, cIdx(ob, ol, blockBytesAll)),
          cIdx(ob, ol, start));
      return {w.storage, {row, byte}};
    }
    Value tile = arith::DivUIOp::create(ob, ol, row, cIdx(ob, ol, layoutRows));
    Value inTile =
        arith::RemUIOp::create(ob, ol, row, cIdx(ob, ol, layoutRows));
    Value byte = arith::AddIOp::create(
        ob, ol,
        arith::MulIOp::create(ob, ol, blk,
                              cIdx(ob, ol, layoutRows * blockBytesAll)),
        arith::AddIOp::create(
            ob, ol,
            arith::MulIOp::create(ob, ol, inTile, cIdx(ob, ol, blockBytesAll)),
            cIdx(ob, ol, start)));
    return {tiledStorage, {tile, byte}};
  };
  // Rows tiled in the layout: one read stream per tile, which the
  // hardware prefetchers alone keep too few cache lines ahead of (the
  // kernels wait on memory: without these prefetches the tiled layout was
  // slower than rows apart; with them, on the 2-core Zen 5 VM, 4096 x 14336
  // and 14336 x 4096, group 128, 2 threads, medians of 3 alternated runs:
  // float int8 / int4 / int2 1.0 - 1.3x faster than rows apart at 8 KiB;
  // W{r}A8 int2 1.1 - 1.8x faster, int4 even, int8 5 - 13% slower; 2 KiB
  // was slower than 4 - 8 KiB at int8 and int4). The prefetches run past a
  // tile's end into the next tile, which the same thread reads next.
  Value tileBuffer;
  if (layoutRows > 1 && cfg.tilePrefetch > 0) {
    auto st = cast<RankedTensorType>(tiledStorage.getType());
    tileBuffer = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(st.getShape(), st.getElementType()),
        tiledStorage, /*readOnly=*/true);
  }
  auto prefetchTiles = [&](OpBuilder &ob, Location ol, ArrayRef<Value> rowIdx,
                           Value blk) {
    if (!tileBuffer)
      return;
    int64_t chunk = layoutRows * blockBytesAll;
    for (size_t r = 0; r < rowIdx.size(); r += layoutRows) {
      Value tile =
          arith::DivUIOp::create(ob, ol, rowIdx[r], cIdx(ob, ol, layoutRows));
      Value base = arith::MulIOp::create(ob, ol, blk, cIdx(ob, ol, chunk));
      for (int64_t off = 0; off < chunk; off += 64)
        memref::PrefetchOp::create(
            ob, ol, tileBuffer,
            ValueRange{tile,
                       arith::AddIOp::create(ob, ol, base,
                                             cIdx(ob, ol, cfg.tilePrefetch + off))},
            false, 3, true);
    }
  };
  Value xs = quantized ? groupSums(b, loc, xf, batch, k, groups) : Value();
  // W{r}A8: int8 activations per block, 64 products per vpdpbusd.
  bool a8 = quantized && !planes && cfg.activationBits == 8 &&
            block % 64 == 0;
  Value xq, xScales;
  if (a8) {
    lanes = 16;
    std::tie(xq, xScales) =
        quantizeActivations(b, loc, xf, batch, kPad, block);
  }
  // Exponent decoding (float activations, indices of fewer than 8 bits):
  // each index k goes under the exponent of 1.0, f = 1 + k * 2^-bits in
  // [1, 2), so a shift and a mask replace the conversion to f32. A group
  // then sums x * f = x + 2^-bits * x * k: the dot takes the factor 2^bits,
  // and the offsets give back 2^bits * alpha * (sum of the group's x).
  bool exponentDecode = quantized && !planes && !a8 && cfg.exponentDecode &&
                        bits < 8;
  // The same for the planes of a prefix-exact run-time width r <= 3
  // (AVX-512: the 16-lane mask of a plane is one mask register): each plane
  // sets its bit of the mantissa with one masked OR, f = 1 + k * 2^-r, with
  // no byte lanes and no conversion. One mask load per plane and 16
  // elements: on the Zen 5 VM, 4096 x 14336, 2 threads, faster than the
  // byte lanes at r = 2 (1212 against 1601 us) and 3 (1763 / 1923), equal
  // at 4 and slower at 8; the rounding modes' carry logic on masks was
  // slower at every width, so they keep the byte lanes.
  bool planeExponent = planeIndices && !transposePlanes && cfg.exponentDecode &&
                       lanes == 16 &&
                       w.type.getMode() == SliceMode::prefix_exact &&
                       w.width <= kPlaneExponentMaxWidth;
  if (exponentDecode || planeExponent) {
    float scale = static_cast<float>(1u << (planeExponent ? w.width : bits));
    offsetFactor -= factor * scale;
    factor *= scale;
  }
  auto vecType = VectorType::get({lanes}, f32);
  // At batch > 1 the (row, batch) tiles already give independent chains.
  int64_t accs = batch > 1 ? 1 : std::max<int64_t>(1, cfg.accumulators);

  // Rows of the result are written contiguously: [N, B], transposed later.
  // R rows per iteration share every activation vector.
  // At batch > 1 each row keeps one sum per batch element of the tile:
  // at most 16 sums in all (8 rows x 4 batch elements spill).
  int64_t rowTile = std::max<int64_t>(1, cfg.rowTile);
  if (batch > 1) {
    int64_t batchTile = std::clamp<int64_t>(cfg.batchTile, 1, batch);
    rowTile = std::min(rowTile, std::max<int64_t>(1, 16 / batchTile));
  }
  int64_t rows = 1;
  for (int64_t r = rowTile; r >= 1; r /= 2)
    if (n % r == 0) {
      rows = r;
      break;
    }
  Value out = tensor::EmptyOp::create(b, loc, {n, batch}, f32);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(n / rows)},
      ValueRange{out}, std::nullopt,
      [&](OpBuilder &fb, Location fl, ValueRange args) {
        Value tile = args[0], shared = args[1];
        Value firstRow =
            arith::MulIOp::create(fb, fl, tile, cIdx(fb, fl, rows));
        SmallVector<Value> rowIdx;
        for (int64_t r = 0; r < rows; ++r)
          rowIdx.push_back(
              arith::AddIOp::create(fb, fl, firstRow, cIdx(fb, fl, r)));
        /// `bytes` bytes of bit plane p of row r of the tile, from byte `at`
        /// of the row's plane (bit-plane weights).
        auto readPlane = [&](OpBuilder &ob, Location ol, unsigned p, int64_t r,
                             Value at, int64_t bytes, bool inBounds) -> Value {
          return vector::TransferReadOp::create(
              ob, ol, VectorType::get({bytes}, ob.getI8Type()), w.storage,
              ValueRange{cIdx(ob, ol, p), rowIdx[r], at},
              arith::ConstantIntOp::create(ob, ol, ob.getI8Type(), 0),
              ArrayRef<bool>{inBounds});
        };
        Value zeroVec = splat(fb, fl, vecType, fb.getF32FloatAttr(0.0f));
        // results[r * batch + b]
        SmallVector<Value> results(rows * batch);
        for (int64_t b0 = 0; b0 < batch; b0 += cfg.batchTile) {
          int64_t bn = std::min(cfg.batchTile, batch - b0);
          // Accumulator (r, bi, a) lives at ((r * bn) + bi) * accs + a.
          auto at = [&](int64_t r, int64_t bi, int64_t a) {
            return ((r * bn) + bi) * accs + a;
          };
          auto readX = [&](OpBuilder &ob, Location ol, int64_t bi,
                           Value kpos) -> Value {
            return vector::TransferReadOp::create(
                ob, ol, vecType, xk, ValueRange{cIdx(ob, ol, b0 + bi), kpos},
                cF32(ob, ol, 0.0f), ArrayRef<bool>{true});
          };
          /// acc(r, bi, a) += w_r * x_bi for every row and batch element.
          auto accumulate = [&](OpBuilder &ob, Location ol,
                                SmallVectorImpl<Value> &acc,
                                ArrayRef<Value> wv, Value kpos, int64_t a) {
            SmallVector<Value> xv;
            for (int64_t bi = 0; bi < bn; ++bi)
              xv.push_back(readX(ob, ol, bi, kpos));
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t bi = 0; bi < bn; ++bi)
                acc[at(r, bi, a)] = vector::FMAOp::create(
                    ob, ol, wv[r], xv[bi], acc[at(r, bi, a)]);
          };
          if (!quantized) {
            // Float baseline: rows of K floats, accs chunks per iteration.
            int64_t full = k / lanes, step = accs;
            int64_t mainIters = full / step;
            SmallVector<Value> init(rows * bn * accs, zeroVec);
            auto readW = [&](OpBuilder &ob, Location ol, Value kpos,
                             bool inBounds) {
              SmallVector<Value> wv;
              for (int64_t r = 0; r < rows; ++r)
                wv.push_back(vector::TransferReadOp::create(
                    ob, ol, vecType, w.storage, ValueRange{rowIdx[r], kpos},
                    cF32(ob, ol, 0.0f), ArrayRef<bool>{inBounds}));
              return wv;
            };
            auto loop = scf::ForOp::create(
                fb, fl, cIdx(fb, fl, 0), cIdx(fb, fl, mainIters * step * lanes),
                cIdx(fb, fl, step * lanes), init,
                [&](OpBuilder &lb, Location ll, Value kk, ValueRange acc) {
                  SmallVector<Value> next(acc.begin(), acc.end());
                  for (int64_t a = 0; a < accs; ++a) {
                    Value kpos = arith::AddIOp::create(
                        lb, ll, kk, cIdx(lb, ll, a * lanes));
                    accumulate(lb, ll, next, readW(lb, ll, kpos, true), kpos,
                               a);
                  }
                  scf::YieldOp::create(lb, ll, next);
                });
            SmallVector<Value> acc(loop.getResults().begin(),
                                   loop.getResults().end());
            // Remaining whole chunks and the masked tail.
            for (int64_t c = mainIters * step; c * lanes < k; ++c) {
              Value kpos = cIdx(fb, fl, c * lanes);
              accumulate(fb, fl, acc,
                         readW(fb, fl, kpos, (c + 1) * lanes <= k), kpos, 0);
            }
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t bi = 0; bi < bn; ++bi) {
                Value sum = acc[at(r, bi, 0)];
                for (int64_t a = 1; a < accs; ++a)
                  sum = arith::AddFOp::create(fb, fl, sum, acc[at(r, bi, a)]);
                results[r * batch + b0 + bi] = vector::ReductionOp::create(
                    fb, fl, vector::CombiningKind::ADD, sum,
                    arith::FastMathFlags::reassoc);
              }
            continue;
          }
          // Quantized: loop over groups, then over the blocks of a group.
          // Carried: the scaled vector sums.
          int64_t blockBytes = block * bits / 8;
          int64_t perTile = rows * bn;
          SmallVector<Value> outerInit(perTile, zeroVec);
          /// Ends a group: per row and batch element, the scaled total
          /// takes `scaled(r, bi, alpha, total)`; yields the totals. The
          /// constant 2^(c-r) of the effective scale alpha * 2^(c-r) is
          /// applied once after the last group, and the offset terms
          /// sum_g m_g * (sum of group g's activations) are computed after
          /// the group loop, 16 groups at a time.
          auto finishGroup =
              [&](OpBuilder &gb, Location gl, Value g, ValueRange carried,
                  function_ref<Value(int64_t, int64_t, Value, Value)> scaled) {
                SmallVector<Value> next;
                for (int64_t r = 0; r < rows; ++r) {
                  Value alpha = tensor::ExtractOp::create(
                      gb, gl, w.scales, ValueRange{rowIdx[r], g});
                  for (int64_t bi = 0; bi < bn; ++bi)
                    next.push_back(
                        scaled(r, bi, alpha, carried[r * bn + bi]));
                }
                scf::YieldOp::create(gb, gl, next);
              };
          auto groupLoop = scf::ForOp::create(
              fb, fl, cIdx(fb, fl, 0), cIdx(fb, fl, groups), cIdx(fb, fl, 1),
              outerInit,
              [&](OpBuilder &gb, Location gl, Value g, ValueRange carried) {
                SmallVector<Value> partsInit(rows * bn * accs, zeroVec);
                Value firstBlock = arith::MulIOp::create(
                    gb, gl, g, cIdx(gb, gl, blocksPerGroup));
                Value lastBlock = arith::AddIOp::create(
                    gb, gl, firstBlock, cIdx(gb, gl, blocksPerGroup));
                /// Bit planes: one partial sum per (row, batch, plane) of
                /// the activations whose index bit is set.
                auto planeStep = [&](OpBuilder &bb, Location bl, Value blk,
                                     SmallVectorImpl<Value> &next,
                                     bool inBounds) {
                  Value kpos = arith::MulIOp::create(
                      bb, bl, blk, cIdx(bb, bl, block));
                  Value byte = arith::MulIOp::create(
                      bb, bl, blk, cIdx(bb, bl, chunkBytes));
                  SmallVector<Value> xv;
                  for (int64_t bi = 0; bi < bn; ++bi)
                    xv.push_back(readX(bb, bl, bi, kpos));
                  auto maskBytes =
                      VectorType::get({chunkBytes}, bb.getI8Type());
                  auto maskType = VectorType::get({lanes}, bb.getI1Type());
                  int64_t nt = static_cast<int64_t>(terms.size());
                  for (int64_t r = 0; r < rows; ++r) {
                    // Each plane the terms need, read once per row.
                    DenseMap<unsigned, Value> raws;
                    for (unsigned p : readPlanes)
                      raws[p] = readPlane(bb, bl, p, r, byte,
                                          maskBytes.getNumElements(), inBounds);
                    for (int64_t t = 0; t < nt; ++t) {
                      Value raw = raws[terms[t].planes[0]];
                      for (size_t j = 1; j < terms[t].planes.size(); ++j)
                        raw = arith::AndIOp::create(bb, bl, raw,
                                                    raws[terms[t].planes[j]]);
                      Value mask =
                          vector::BitCastOp::create(bb, bl, maskType, raw);
                      for (int64_t bi = 0; bi < bn; ++bi) {
                        int64_t i = (r * bn + bi) * nt + t;
                        Value sum =
                            arith::AddFOp::create(bb, bl, next[i], xv[bi]);
                        next[i] = arith::SelectOp::create(bb, bl, mask, sum,
                                                          next[i]);
                      }
                    }
                  }
                };
                if (planeIndices) {
                  // k = sum_{p<r} bit_p << (r-1-p) (+ the rounding bit r,
                  // clamped to 2^r - 1 in clamped mode), 64 elements at a
                  // time in i8 lanes, from 8 bytes of each plane.
                  unsigned c = w.type.getStorageBits();
                  unsigned r = w.width;
                  SliceMode mode = w.type.getMode();
                  bool roundBit = mode != SliceMode::prefix_exact && r < c;
                  auto idx64 = VectorType::get({64}, gb.getI8Type());
                  /// The bits of plane p for `n` elements of row `row` from
                  /// byte `at` of the row's plane, as an n-lane mask.
                  auto planeBits = [&](OpBuilder &bb, Location bl, unsigned p,
                                       int64_t row, Value at, int64_t n,
                                       bool inBounds) -> Value {
                    Value raw = readPlane(bb, bl, p, row, at, n / 8, inBounds);
                    return vector::BitCastOp::create(
                        bb, bl, VectorType::get({n}, bb.getI1Type()), raw);
                  };
                  /// Exponent decoding of a prefix-exact width, 16 elements
                  /// at a time: f = 1.0 with bit 22 - p set where plane p
                  /// is (k's bit r - 1 - p), so f = 1 + k * 2^-r.
                  auto exponentBlock = [&](OpBuilder &bb, Location bl,
                                           Value kBase, Value byte,
                                           SmallVectorImpl<Value> &next,
                                           bool inBounds) {
                    auto i32Vec = VectorType::get({16}, bb.getI32Type());
                    int64_t slot = 0;
                    for (int64_t e0 = 0; e0 < 64; e0 += 16) {
                      Value atByte = arith::AddIOp::create(
                          bb, bl, byte, cIdx(bb, bl, e0 / 8));
                      Value kpos = arith::AddIOp::create(bb, bl, kBase,
                                                         cIdx(bb, bl, e0));
                      SmallVector<Value> f;
                      for (int64_t row = 0; row < rows; ++row) {
                        Value bitsV =
                            splat(bb, bl, i32Vec,
                                  bb.getI32IntegerAttr(
                                      static_cast<int32_t>(kOneBits)));
                        for (unsigned p = 0; p < r; ++p) {
                          Value m = planeBits(bb, bl, p, row, atByte, 16,
                                              inBounds);
                          Value set = arith::OrIOp::create(
                              bb, bl, bitsV,
                              splat(bb, bl, i32Vec,
                                    bb.getI32IntegerAttr(1 << (22 - p))));
                          bitsV =
                              arith::SelectOp::create(bb, bl, m, set, bitsV);
                        }
                        f.push_back(
                            vector::BitCastOp::create(bb, bl, vecType, bitsV));
                      }
                      accumulate(bb, bl, next, f, kpos, slot++ % accs);
                    }
                  };
                  /// 128 elements per row: 16 bytes of each plane read (and
                  /// prefetched) and concatenated (planes 0-3, then 4-7 or
                  /// constants), then per 64 elements (per 128 in nibbles)
                  /// one byte permute that gives word j the planes' bytes j
                  /// (plane p in row p + shift) and one mq.transpose_bits:
                  /// byte e holds element e's planes, plane p at bit
                  /// 7 - p - shift. The rounding modes add the rounding
                  /// bit's weight and keep the top r bits: clamped with a
                  /// saturating add (k = 2^r stays 2^r - 1), extra
                  /// precision into its free bit. Per 16 elements a shift
                  /// and a mask then build the f32 lanes (below).
                  auto transposeBlock = [&](OpBuilder &bb, Location bl,
                                            Value blk,
                                            SmallVectorImpl<Value> &next,
                                            bool inBounds) {
                    Value kBase =
                        arith::MulIOp::create(bb, bl, blk, cIdx(bb, bl, 128));
                    Value byte =
                        arith::MulIOp::create(bb, bl, blk, cIdx(bb, bl, 16));
                    auto bytes16 = VectorType::get({16}, bb.getI8Type());
                    int64_t np = static_cast<int64_t>(readPlanes.size());
                    int64_t sh = transposeShift;
                    auto cat = [&](Value a, Value b2) -> Value {
                      int64_t len =
                          2 * cast<VectorType>(a.getType()).getNumElements();
                      return vector::ShuffleOp::create(
                          bb, bl, a, b2,
                          llvm::to_vector(llvm::seq<int64_t>(0, len)));
                    };
                    // A byte of the first missing plane (or of the second
                    // source, if all of it is missing): zero.
                    int64_t zeroAt = np <= 4 ? 64 : 64 + (np - 4) * 16;
                    // Nibbles: half o's planes in rows 4o + shift + p of
                    // one word; else half o's in rows shift + p of its own.
                    // The other rows read zero where a rounding add or a
                    // conversion sees them, and anything (a one-source
                    // permute) where the exponent's mask drops them.
                    bool dontCare = transposeExponent && !roundBit;
                    int64_t outs = transposeNibbles ? 1 : 2;
                    SmallVector<SmallVector<int64_t>> perm(outs);
                    for (int64_t o = 0; o < outs; ++o)
                      for (int64_t j = 0; j < 8; ++j)
                        for (int64_t q = 0; q < 8; ++q) {
                          int64_t half = transposeNibbles ? q / 4 : o;
                          int64_t p = (transposeNibbles ? q % 4 : q) - sh;
                          perm[o].push_back(p >= 0 && p < np
                                                ? p * 16 + 8 * half + j
                                            : dontCare ? 0
                                                       : zeroAt);
                        }
                    // The rounding bit's weight and the bits kept, per
                    // byte (both nibbles).
                    uint8_t halfBits = 0, keepBits = 0;
                    for (int64_t o = 0;
                         roundBit && o < (transposeNibbles ? 2 : 1); ++o) {
                      unsigned top = transposeNibbles ? 7 - 4 * o : 7;
                      unsigned width = transposeNibbles ? 4 : 8;
                      uint8_t half = 1u << (top - sh - r);
                      uint8_t field = ((1u << width) - 1u) << (top + 1 - width);
                      halfBits |= half;
                      keepBits |= field & ~((2u * half) - 1u);
                    }
                    auto bytesOf = [&](VectorType type, uint8_t v) {
                      return splat(bb, bl, type,
                                   bb.getI8IntegerAttr(static_cast<int8_t>(v)));
                    };
                    SmallVector<SmallVector<Value, 2>> kv(rows);
                    for (int64_t row = 0; row < rows; ++row) {
                      SmallVector<Value> pl(8, bytesOf(bytes16, 0));
                      for (int64_t p = 0; p < np; ++p)
                        pl[p] = readPlane(bb, bl, p, row, byte, 16, inBounds);
                      if (wBuffer && inBounds)
                        for (int64_t p = 0; p < np; ++p)
                          memref::PrefetchOp::create(
                              bb, bl, wBuffer,
                              ValueRange{cIdx(bb, bl, p), rowIdx[row],
                                         arith::AddIOp::create(
                                             bb, bl, byte,
                                             cIdx(bb, bl, prefetchDistance))},
                              false, 3, true);
                      Value src0 = cat(cat(pl[0], pl[1]), cat(pl[2], pl[3]));
                      Value src1 = cat(cat(pl[4], pl[5]), cat(pl[6], pl[7]));
                      for (int64_t o = 0; o < outs; ++o) {
                        Value t = vector::ShuffleOp::create(bb, bl, src0, src1,
                                                            perm[o]);
                        t = TransposeBitsOp::create(bb, bl, t.getType(), t);
                        if (roundBit) {
                          Value h = bytesOf(idx64, halfBits);
                          t = mode == SliceMode::clamped
                                  ? LLVM::UAddSat::create(bb, bl, t, h)
                                        .getResult()
                                  : arith::AddIOp::create(bb, bl, t, h)
                                        .getResult();
                          t = arith::AndIOp::create(bb, bl, t,
                                                    bytesOf(idx64, keepBits));
                        }
                        kv[row].push_back(t);
                      }
                    }
                    // Byte c of i32 lane l is element 4l + c of the 64:
                    // chunk c (activations 16c .. 16c + 15 of the block,
                    // transposed to match) moves its bit 7 - free to bit
                    // 22 under the exponent of 1.0, or the byte to bits
                    // 0 - 7 and converts.
                    auto i32Vec = VectorType::get({16}, bb.getI32Type());
                    auto c32 = [&](uint32_t v) {
                      return splat(
                          bb, bl, i32Vec,
                          bb.getI32IntegerAttr(static_cast<int32_t>(v)));
                    };
                    int64_t slot = 0;
                    for (int64_t e0 = 0; e0 < 128; e0 += 16) {
                      int64_t o = e0 / 64, c = (e0 % 64) / 16;
                      // The field of these 16 elements: its top bit in the
                      // byte and its width.
                      int top = transposeNibbles
                                    ? 7 - 4 * static_cast<int>(o)
                                    : 7 - static_cast<int>(transposeFree);
                      int width = transposeNibbles ? 4
                                  : dontCare  ? static_cast<int>(np)
                                              : top + 1;
                      int at = 8 * static_cast<int>(c) + top;
                      uint32_t ones = (1u << width) - 1u;
                      SmallVector<Value> f;
                      for (int64_t row = 0; row < rows; ++row) {
                        Value v = vector::BitCastOp::create(
                            bb, bl, i32Vec,
                            kv[row][transposeNibbles ? 0 : o]);
                        if (transposeExponent) {
                          v = moveBits(bb, bl, v, 22 - at,
                                       ones << (23 - width));
                          v = arith::OrIOp::create(bb, bl, v, c32(kOneBits));
                          f.push_back(
                              vector::BitCastOp::create(bb, bl, vecType, v));
                        } else {
                          int low = at + 1 - width;
                          v = moveBits(bb, bl, v, -low,
                                       low + width == 32 ? 0xFFFFFFFFu : ones);
                          f.push_back(
                              arith::SIToFPOp::create(bb, bl, vecType, v));
                        }
                      }
                      Value kpos = arith::AddIOp::create(bb, bl, kBase,
                                                         cIdx(bb, bl, e0));
                      accumulate(bb, bl, next, f, kpos, slot++ % accs);
                    }
                  };
                  auto blockStep = [&](OpBuilder &bb, Location bl, Value blk,
                                       SmallVectorImpl<Value> &next,
                                       bool inBounds) {
                    if (transposePlanes) {
                      transposeBlock(bb, bl, blk, next, inBounds);
                      return;
                    }
                    Value kBase =
                        arith::MulIOp::create(bb, bl, blk, cIdx(bb, bl, 64));
                    Value byte =
                        arith::MulIOp::create(bb, bl, blk, cIdx(bb, bl, 8));
                    if (planeExponent) {
                      exponentBlock(bb, bl, kBase, byte, next, inBounds);
                      return;
                    }
                    SmallVector<Value> kv;
                    for (int64_t row = 0; row < rows; ++row) {
                      auto plane = [&](unsigned p) -> Value {
                        return arith::ExtUIOp::create(
                            bb, bl, idx64,
                            planeBits(bb, bl, p, row, byte, 64, inBounds));
                      };
                      Value kr;
                      for (unsigned p = 0; p < r; ++p) {
                        Value v = plane(p);
                        if (r - 1 - p > 0)
                          v = arith::ShLIOp::create(
                              bb, bl, v,
                              splat(bb, bl, idx64,
                                    bb.getI8IntegerAttr(r - 1 - p)));
                        kr =
                            kr ? arith::OrIOp::create(bb, bl, kr, v).getResult()
                               : v;
                      }
                      if (roundBit) {
                        kr = arith::AddIOp::create(bb, bl, kr, plane(r));
                        if (mode == SliceMode::clamped)
                          kr = arith::MinUIOp::create(
                              bb, bl, kr,
                              splat(bb, bl, idx64,
                                    bb.getI8IntegerAttr(
                                        static_cast<int8_t>((1u << r) - 1))));
                      }
                      kv.push_back(kr);
                    }
                    int64_t slot = 0;
                    for (int64_t e0 = 0; e0 < 64; e0 += lanes) {
                      SmallVector<Value> f;
                      for (int64_t row = 0; row < rows; ++row) {
                        Value part = vector::ExtractStridedSliceOp::create(
                            bb, bl, kv[row], {e0}, {lanes}, {1});
                        f.push_back(
                            arith::UIToFPOp::create(bb, bl, vecType, part));
                      }
                      Value kpos = arith::AddIOp::create(bb, bl, kBase,
                                                         cIdx(bb, bl, e0));
                      accumulate(bb, bl, next, f, kpos, slot++ % accs);
                    }
                  };
                  int64_t wholeBlocks =
                      groups == 1 ? planeBytes / chunkBytes : blocksPerGroup;
                  Value last =
                      groups == 1 ? cIdx(gb, gl, wholeBlocks) : lastBlock;
                  auto loop = scf::ForOp::create(
                      gb, gl, firstBlock, last, cIdx(gb, gl, 1), partsInit,
                      [&](OpBuilder &bb, Location bl, Value blk,
                          ValueRange parts) {
                        SmallVector<Value> next(parts.begin(), parts.end());
                        blockStep(bb, bl, blk, next, true);
                        scf::YieldOp::create(bb, bl, next);
                      });
                  SmallVector<Value> acc(loop.getResults().begin(),
                                         loop.getResults().end());
                  // A ragged last block (per channel only) reads its plane
                  // bytes masked: past the row they read as 0, and the
                  // activations there are 0.
                  if (groups == 1 && wholeBlocks * chunkBytes < planeBytes)
                    blockStep(gb, gl, cIdx(gb, gl, wholeBlocks), acc, false);
                  finishGroup(
                      gb, gl, g, carried,
                      [&](int64_t row, int64_t bi, Value eff,
                          Value total) -> Value {
                        Value sum = acc[at(row, bi, 0)];
                        for (int64_t a = 1; a < accs; ++a)
                          sum = arith::AddFOp::create(gb, gl, sum,
                                                      acc[at(row, bi, a)]);
                        return vector::FMAOp::create(
                            gb, gl,
                            vector::BroadcastOp::create(gb, gl, vecType, eff),
                            sum, total);
                      });
                  return;
                }
                if (planes) {
                  int64_t nt = static_cast<int64_t>(terms.size());
                  SmallVector<Value> init(rows * bn * nt, zeroVec);
                  // Whole chunks in a loop; a ragged last chunk (per
                  // channel only) reads its plane bytes masked.
                  int64_t wholeBlocks = groups == 1
                                            ? planeBytes / chunkBytes
                                            : blocksPerGroup;
                  Value last = groups == 1
                                   ? cIdx(gb, gl, wholeBlocks)
                                   : lastBlock;
                  auto loop = scf::ForOp::create(
                      gb, gl, firstBlock, last, cIdx(gb, gl, 1), init,
                      [&](OpBuilder &bb, Location bl, Value blk,
                          ValueRange acc) {
                        SmallVector<Value> next(acc.begin(), acc.end());
                        planeStep(bb, bl, blk, next, true);
                        scf::YieldOp::create(bb, bl, next);
                      });
                  SmallVector<Value> acc(loop.getResults().begin(),
                                         loop.getResults().end());
                  if (groups == 1 && wholeBlocks * chunkBytes < planeBytes)
                    planeStep(gb, gl, cIdx(gb, gl, wholeBlocks), acc, false);
                  finishGroup(
                      gb, gl, g, carried,
                      [&](int64_t r, int64_t bi, Value eff, Value total) {
                        for (int64_t t = 0; t < nt; ++t) {
                          Value weight = arith::MulFOp::create(
                              gb, gl, eff, cF32(gb, gl, terms[t].weight));
                          total = vector::FMAOp::create(
                              gb, gl,
                              vector::BroadcastOp::create(gb, gl, vecType,
                                                          weight),
                              acc[(r * bn + bi) * nt + t], total);
                        }
                        return total;
                      });
                  return;
                }
                if (a8) {
                  auto i32Vec = VectorType::get({16}, gb.getI32Type());
                  auto bytes64 = VectorType::get({64}, gb.getI8Type());
                  bool oneBlock = groups > 1 && blocksPerGroup == 1;
                  SmallVector<Value> init(rows * bn, zeroVec);
                  auto loop = scf::ForOp::create(
                      gb, gl, firstBlock, lastBlock, cIdx(gb, gl, 1), init,
                      [&](OpBuilder &bb, Location bl, Value blk,
                          ValueRange acc) {
                        Value byteBase = arith::MulIOp::create(
                            bb, bl, blk, cIdx(bb, bl, blockBytes));
                        Value kBase = arith::MulIOp::create(
                            bb, bl, blk, cIdx(bb, bl, block));
                        prefetchRows(bb, bl, rowIdx, byteBase, blockBytes);
                        prefetchTiles(bb, bl, rowIdx, blk);
                        // Pieces of the block, per row.
                        SmallVector<SmallVector<Value>> data;
                        SmallVector<int64_t> pieceBytes;
                        int64_t start = 0;
                        for (unsigned pw : pieces) {
                          int64_t pb = block * pw / 8;
                          SmallVector<Value> perRow;
                          for (int64_t r = 0; r < rows; ++r) {
                            auto [src, at] =
                                weightPlace(bb, bl, rowIdx[r], blk, start);
                            perRow.push_back(vector::TransferReadOp::create(
                                bb, bl, VectorType::get({pb}, bb.getI8Type()),
                                src, at,
                                arith::ConstantIntOp::create(bb, bl,
                                                             bb.getI8Type(), 0),
                                ArrayRef<bool>{true}));
                          }
                          data.push_back(perRow);
                          pieceBytes.push_back(pb);
                          start += pb;
                        }
                        SmallVector<Value> dots(rows * bn);
                        Value zeroI =
                            splat(bb, bl, i32Vec, bb.getI32IntegerAttr(0));
                        for (Value &d : dots)
                          d = zeroI;
                        /// A piece shorter than 64 bytes (pb bytes hold
                        /// 8 / pw slots of pb elements): its bytes repeated
                        /// 64 / pb times (one broadcast load), each 8-byte
                        /// word rotated by its own slot's shift (one
                        /// vprorvq) and masked: 64 indices in two
                        /// operations.
                        DenseMap<Value, Value> repeated;
                        auto shortChunk = [&](Value bytes, int64_t pb,
                                             unsigned pw, unsigned shift,
                                             int64_t e0) -> Value {
                          Value &rep = repeated[bytes];
                          if (!rep) {
                            SmallVector<int64_t> mask;
                            for (int64_t j = 0; j < 64; ++j)
                              mask.push_back(j % pb);
                            rep = vector::ShuffleOp::create(bb, bl, bytes,
                                                            bytes, mask);
                          }
                          // Rotate each 8-byte word right by its slot's
                          // shift (either sign: the bits kept never cross
                          // a byte), then one mask.
                          SmallVector<int64_t> amounts;
                          for (int64_t q = 0; q < 8; ++q) {
                            int64_t t = e0 / pb + (q * 8) / pb;
                            int64_t sh = t * pw - static_cast<int64_t>(shift);
                            amounts.push_back(((sh % 64) + 64) % 64);
                          }
                          auto words = VectorType::get({8}, bb.getI64Type());
                          Value v =
                              vector::BitCastOp::create(bb, bl, words, rep);
                          Value amt = arith::ConstantOp::create(
                              bb, bl,
                              DenseElementsAttr::get(
                                  words, ArrayRef<int64_t>(amounts)));
                          // All shifts right: a plain per-word shift
                          // (vpsrlvq), which leaves the multiply ports free.
                          bool right = llvm::all_of(
                              amounts, [](int64_t a) { return a < 8; });
                          v = right ? arith::ShRUIOp::create(bb, bl, v, amt)
                                          .getResult()
                                    : LLVM::FshrOp::create(bb, bl, v, v, amt)
                                          .getResult();
                          v = vector::BitCastOp::create(bb, bl, bytes64, v);
                          unsigned mask = ((1u << pw) - 1u) << shift;
                          return arith::AndIOp::create(
                              bb, bl, v,
                              splat(bb, bl, bytes64,
                                    bb.getI8IntegerAttr(
                                        static_cast<int8_t>(mask))));
                        };
                        /// Bytes of one piece for 64 consecutive elements
                        /// from e0, moved to the piece's place and masked.
                        auto pieceChunk = [&](Value bytes, int64_t pb,
                                              unsigned pw, unsigned shift,
                                              int64_t e0) -> Value {
                          auto place = [&](Value v, int64_t t) -> Value {
                            auto vt = cast<VectorType>(v.getType());
                            int sh = static_cast<int>(t * pw) -
                                     static_cast<int>(shift);
                            if (sh > 0)
                              v = arith::ShRUIOp::create(
                                  bb, bl, v,
                                  splat(bb, bl, vt, bb.getI8IntegerAttr(sh)));
                            else if (sh < 0)
                              v = arith::ShLIOp::create(
                                  bb, bl, v,
                                  splat(bb, bl, vt,
                                        bb.getI8IntegerAttr(-sh)));
                            unsigned mask = ((1u << pw) - 1u) << shift;
                            if (mask != 0xFFu)
                              v = arith::AndIOp::create(
                                  bb, bl, v,
                                  splat(bb, bl, vt,
                                        bb.getI8IntegerAttr(
                                            static_cast<int8_t>(mask))));
                            return v;
                          };
                          if (pb >= 64)
                            return place(
                                vector::ExtractStridedSliceOp::create(
                                    bb, bl, bytes, {e0 % pb}, {64}, {1}),
                                e0 / pb);
                          return shortChunk(bytes, pb, pw, shift, e0);
                        };
                        for (int64_t e0 = 0; e0 < block; e0 += 64) {
                          Value kpos = arith::AddIOp::create(
                              bb, bl, kBase, cIdx(bb, bl, e0));
                          SmallVector<Value> xq8;
                          for (int64_t bi = 0; bi < bn; ++bi)
                            xq8.push_back(vector::TransferReadOp::create(
                                bb, bl, bytes64, xq,
                                ValueRange{cIdx(bb, bl, b0 + bi), kpos},
                                arith::ConstantIntOp::create(
                                    bb, bl, bb.getI8Type(), 0),
                                ArrayRef<bool>{true}));
                          for (int64_t r = 0; r < rows; ++r) {
                            Value kv;
                            unsigned shift = bits;
                            for (size_t p = 0; p < pieces.size(); ++p) {
                              shift -= pieces[p];
                              Value c = pieceChunk(data[p][r], pieceBytes[p],
                                                   pieces[p], shift, e0);
                              kv = kv ? arith::OrIOp::create(bb, bl, kv, c)
                                            .getResult()
                                      : c;
                            }
                            for (int64_t bi = 0; bi < bn; ++bi) {
                              Value &d = dots[r * bn + bi];
                              d = Dot4Op::create(bb, bl, i32Vec, d, kv,
                                                 xq8[bi]);
                            }
                          }
                        }
                        // Scale this block's integer dots by the
                        // activations' block scale.
                        SmallVector<Value> next;
                        for (int64_t r = 0; r < rows; ++r)
                          for (int64_t bi = 0; bi < bn; ++bi) {
                            Value f = arith::SIToFPOp::create(
                                bb, bl, vecType, dots[r * bn + bi]);
                            // One block per group: no accumulation across
                            // blocks, the block scale is a multiply (shared
                            // by the rows: a broadcast from memory).
                            Value sx = tensor::ExtractOp::create(
                                bb, bl, xScales,
                                ValueRange{cIdx(bb, bl, b0 + bi), blk});
                            if (oneBlock) {
                              next.push_back(arith::MulFOp::create(
                                  bb, bl,
                                  vector::BroadcastOp::create(bb, bl, vecType,
                                                              sx),
                                  f));
                              continue;
                            }
                            next.push_back(vector::FMAOp::create(
                                bb, bl,
                                vector::BroadcastOp::create(bb, bl, vecType,
                                                            sx),
                                f, acc[r * bn + bi]));
                          }
                        scf::YieldOp::create(bb, bl, next);
                      });
                  finishGroup(gb, gl, g, carried,
                              [&](int64_t r, int64_t bi, Value eff,
                                  Value total) -> Value {
                                return vector::FMAOp::create(
                                    gb, gl,
                                    vector::BroadcastOp::create(gb, gl,
                                                                vecType, eff),
                                    loop.getResult(r * bn + bi), total);
                              });
                  return;
                }
                auto blockLoop = scf::ForOp::create(
                    gb, gl, firstBlock, lastBlock, cIdx(gb, gl, 1), partsInit,
                    [&](OpBuilder &bb, Location bl, Value blk,
                        ValueRange parts) {
                      SmallVector<Value> next(parts.begin(), parts.end());
                      Value byteBase = arith::MulIOp::create(
                          bb, bl, blk, cIdx(bb, bl, blockBytes));
                      Value kBase = arith::MulIOp::create(
                          bb, bl, blk, cIdx(bb, bl, block));
                      prefetchRows(bb, bl, rowIdx, byteBase, blockBytes);
                      prefetchTiles(bb, bl, rowIdx, blk);
                      // Load every piece of the block once per row.
                      struct Piece {
                        unsigned width, shift;
                        int64_t bytes;
                        SmallVector<Value> data; // per row
                      };
                      SmallVector<Piece> loaded;
                      int64_t pieceStart = 0;
                      unsigned shiftPos = bits;
                      for (unsigned pw : pieces) {
                        shiftPos -= pw;
                        Piece piece{pw, shiftPos, block * pw / 8, {}};
                        auto bytesType =
                            VectorType::get({piece.bytes}, bb.getI8Type());
                        for (int64_t r = 0; r < rows; ++r) {
                          auto [src, at] =
                              weightPlace(bb, bl, rowIdx[r], blk, pieceStart);
                          piece.data.push_back(vector::TransferReadOp::create(
                              bb, bl, bytesType, src, at,
                              arith::ConstantIntOp::create(bb, bl,
                                                           bb.getI8Type(), 0),
                              ArrayRef<bool>{true}));
                        }
                        loaded.push_back(std::move(piece));
                        pieceStart += block * pw / 8;
                      }
                      // Per `lanes` consecutive elements e0..: gather each
                      // piece in place (shift, mask), OR them into the
                      // index, convert once, and fma. With exponent
                      // decoding, the bytes are widened to i32 once and
                      // each field is shifted straight under the exponent
                      // of 1.0: f = 1 + k * 2^-bits, no conversion.
                      auto wideType = VectorType::get({lanes}, bb.getI32Type());
                      DenseMap<std::tuple<size_t, int64_t, int64_t>, Value>
                          wide; // (piece, chunk, row) -> i32 lanes
                      // Widened bytes are used up chunk by chunk: all the
                      // fields of the first piece's chunk, then the next,
                      // so that few stay live.
                      SmallVector<int64_t> starts;
                      for (int64_t e0 = 0; e0 < block; e0 += lanes)
                        starts.push_back(e0);
                      if (exponentDecode) {
                        int64_t pb = loaded.front().bytes;
                        llvm::stable_sort(starts, [&](int64_t a, int64_t b) {
                          return std::make_pair(a % pb, a / pb) <
                                 std::make_pair(b % pb, b / pb);
                        });
                      }
                      int64_t slot = 0;
                      for (int64_t e0 : starts) {
                        SmallVector<Value> f;
                        for (int64_t r = 0; r < rows; ++r) {
                          Value k;
                          for (auto [pi, piece] : llvm::enumerate(loaded)) {
                            int64_t chunk = (e0 % piece.bytes) / lanes;
                            int64_t t = e0 / piece.bytes;
                            auto slice = [&]() -> Value {
                              if (lanes == piece.bytes)
                                return piece.data[r];
                              return vector::ExtractStridedSliceOp::create(
                                  bb, bl, piece.data[r], {chunk * lanes},
                                  {lanes}, {1});
                            };
                            if (exponentDecode) {
                              Value &z = wide[{pi, chunk, r}];
                              if (!z)
                                z = arith::ExtUIOp::create(bb, bl, wideType,
                                                           slice());
                              // Field t of each byte (bits t*w ..) to its
                              // place in the mantissa (23 - bits + shift).
                              unsigned at = 23 - bits + piece.shift;
                              Value v = moveBits(
                                  bb, bl, z,
                                  static_cast<int>(at) -
                                      static_cast<int>(t * piece.width),
                                  ((1u << piece.width) - 1u) << at);
                              k = k ? arith::OrIOp::create(bb, bl, k, v)
                                          .getResult()
                                    : v;
                              continue;
                            }
                            // Field t (bits t*w ..) to the piece's place
                            // in the index.
                            Value v = moveBits(
                                bb, bl, slice(),
                                static_cast<int>(piece.shift) -
                                    static_cast<int>(t * piece.width),
                                ((1u << piece.width) - 1u) << piece.shift);
                            k = k ? arith::OrIOp::create(bb, bl, k, v)
                                        .getResult()
                                  : v;
                          }
                          if (exponentDecode)
                            f.push_back(vector::BitCastOp::create(
                                bb, bl, vecType,
                                arith::OrIOp::create(
                                    bb, bl, k,
                                    splat(bb, bl, wideType,
                                          bb.getIntegerAttr(bb.getI32Type(),
                                                            kOneBits)))));
                          else
                            f.push_back(
                                arith::UIToFPOp::create(bb, bl, vecType, k));
                        }
                        Value kpos = arith::AddIOp::create(
                            bb, bl, kBase, cIdx(bb, bl, e0));
                        accumulate(bb, bl, next, f, kpos, slot++ % accs);
                      }
                      scf::YieldOp::create(bb, bl, next);
                    });
                finishGroup(gb, gl, g, carried,
                            [&](int64_t r, int64_t bi, Value eff,
                                Value total) -> Value {
                              Value sum = blockLoop.getResult(at(r, bi, 0));
                              for (int64_t a = 1; a < accs; ++a)
                                sum = arith::AddFOp::create(
                                    gb, gl, sum,
                                    blockLoop.getResult(at(r, bi, a)));
                              return vector::FMAOp::create(
                                  gb, gl,
                                  vector::BroadcastOp::create(gb, gl, vecType,
                                                              eff),
                                  sum, total);
                            });
              });
          // Offset terms: sum_g m'_g * xs_g per row and batch element, with
          // m' = m + alpha * offsetFactor, 16 groups per vector (the tail
          // read masked).
          int64_t lanesV = vecType.getNumElements();
          int64_t chunks = (groups + lanesV - 1) / lanesV;
          auto offsetLoop = scf::ForOp::create(
              fb, fl, cIdx(fb, fl, 0), cIdx(fb, fl, chunks * lanesV),
              cIdx(fb, fl, lanesV), SmallVector<Value>(perTile, zeroVec),
              [&](OpBuilder &ob, Location ol, Value g0, ValueRange acc) {
                bool inBounds = groups % lanesV == 0;
                auto read = [&](Value t, Value row) -> Value {
                  return vector::TransferReadOp::create(
                      ob, ol, vecType, t, ValueRange{row, g0},
                      cF32(ob, ol, 0.0f), ArrayRef<bool>{inBounds});
                };
                SmallVector<Value> xsv;
                for (int64_t bi = 0; bi < bn; ++bi)
                  xsv.push_back(read(xs, cIdx(ob, ol, b0 + bi)));
                SmallVector<Value> next;
                for (int64_t r = 0; r < rows; ++r) {
                  Value m = read(w.offsets, rowIdx[r]);
                  if (offsetFactor != 0.0f)
                    m = vector::FMAOp::create(
                        ob, ol, read(w.scales, rowIdx[r]),
                        splat(ob, ol, vecType,
                              ob.getF32FloatAttr(offsetFactor)),
                        m);
                  for (int64_t bi = 0; bi < bn; ++bi)
                    next.push_back(vector::FMAOp::create(
                        ob, ol, m, xsv[bi], acc[r * bn + bi]));
                }
                scf::YieldOp::create(ob, ol, next);
              });
          // The row's sum: factor * dot + offsets lane by lane, then one
          // reduction in a tree (reassoc), not 16 dependent scalar adds.
          Value factorVec = factor != 1.0f ? splat(fb, fl, vecType,
                                                   fb.getF32FloatAttr(factor))
                                           : Value();
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t bi = 0; bi < bn; ++bi) {
              Value dot = groupLoop.getResult(r * bn + bi);
              Value off = offsetLoop.getResult(r * bn + bi);
              Value lanesSum =
                  factorVec
                      ? vector::FMAOp::create(fb, fl, dot, factorVec, off)
                            .getResult()
                      : arith::AddFOp::create(fb, fl, dot, off).getResult();
              results[r * batch + b0 + bi] = vector::ReductionOp::create(
                  fb, fl, vector::CombiningKind::ADD, lanesSum,
                  arith::FastMathFlags::reassoc);
            }
        }
        Value tileValues = tensor::FromElementsOp::create(
            fb, fl, RankedTensorType::get({rows, batch}, f32), results);
        auto inParallel = scf::InParallelOp::create(fb, fl);
        OpBuilder::InsertionGuard guard(fb);
        fb.setInsertionPointToStart(inParallel.getBody());
        tensor::ParallelInsertSliceOp::create(
            fb, fl, tileValues, shared,
            ArrayRef<OpFoldResult>{firstRow, fb.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{fb.getIndexAttr(rows),
                                   fb.getIndexAttr(batch)},
            ArrayRef<OpFoldResult>{fb.getIndexAttr(1), fb.getIndexAttr(1)});
      });
  Value result = forall.getResult(0);
  if (batch == 1)
    return result;
  Value transposed = tensor::EmptyOp::create(b, loc, {batch, n}, f32);
  return linalg::TransposeOp::create(b, loc, result, transposed,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

/// Casts y[B, N] (f32) to the op's result: collapse for a matvec, convert
/// the element type, and add `init` when given (linalg accumulates).
Value finish(OpBuilder &b, Location loc, Value y, RankedTensorType resultType,
             Value init) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  // A batch of one comes as [N, 1].
  if (resultType.getRank() == 1 ||
      cast<RankedTensorType>(y.getType()).getShape() !=
          resultType.getShape()) {
    y = tensor::CollapseShapeOp::create(
        b, loc,
        RankedTensorType::get({resultType.getNumElements()}, f32), y,
        SmallVector<ReassociationIndices>{{0, 1}});
    if (resultType.getRank() == 2)
      y = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(resultType.getShape(), f32), y,
          SmallVector<ReassociationIndices>{{0, 1}});
  }
  if (!init && resultType.getElementType() == f32)
    return y;
  AffineMap id = AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx);
  SmallVector<Value> ins = {y};
  if (init)
    ins.push_back(init);
  Value out = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                      resultType.getElementType());
  SmallVector<AffineMap> maps(ins.size() + 1, id);
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ins, ValueRange{out}, maps,
             iters(resultType.getRank()),
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value v = args[0];
               Type elt = resultType.getElementType();
               if (init) {
                 Value i = args[1];
                 if (elt != f32)
                   i = arith::ExtFOp::create(nb, nl, f32, i);
                 v = arith::AddFOp::create(nb, nl, v, i);
               }
               if (elt != f32)
                 v = arith::TruncFOp::create(nb, nl, elt, v);
               linalg::YieldOp::create(nb, nl, v);
             })
      .getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

template <typename OpTy>
struct LowerWeightOnly : OpRewritePattern<OpTy> {
  LowerWeightOnly(MLIRContext *ctx, KernelConfig cfg)
      : OpRewritePattern<OpTy>(ctx), cfg(cfg) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    WeightType type = op.getWeight().getType();
    LayoutAttr layout = type.getLayout();
    if (!layout || type.getAxis() != 0)
      return rewriter.notifyMatchFailure(op, "weight not packed on axis 0");
    if (layout.getKind() == LayoutKind::dense)
      return rewriter.notifyMatchFailure(op, "dense layout: not a kernel's");
    if (layout.getKind() == LayoutKind::mma)
      return rewriter.notifyMatchFailure(op, "mma layout: a GPU kernel's");
    // Bit-plane kernels need whole mask chunks per group.
    if (layout.getKind() == LayoutKind::planes &&
        (cfg.vectorWidth < 8 ||
         (type.getGroupSize() != 0 &&
          type.getGroupSize() % cfg.vectorWidth != 0)))
      return rewriter.notifyMatchFailure(op, "groups not whole mask chunks");
    // The weight value is its storage tensor at this level.
    Location loc = op.getLoc();
    auto storage = UnrealizedConversionCastOp::create(
                       rewriter, loc, type.getStorageTensorType(),
                       op.getWeight())
                       .getResult(0);
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t batch = resultType.getRank() == 1 ? 1 : resultType.getDimSize(0);
    WeightAccess access{storage, type, op.getScales(), op.getOffsets()};
    Value y = emitKernel(rewriter, loc, cfg, op.getInput(), access, batch,
                         type.getRows(), type.getCols());
    rewriter.replaceOp(op, finish(rewriter, loc, y, resultType, {}));
    return success();
  }
  KernelConfig cfg;
};

/// mq.matvec_dynamic / mq.matmul_dynamic on the stored model in bit planes:
/// one bit-plane kernel per width r in 1..c, chosen by an scf.index_switch
/// on the run-time width (clamped into [1, c]) once per call. The kernel of
/// width r reads planes 0..r-1, plus plane r for a rounding mode (r < c).
template <typename OpTy> struct LowerDynamicWidth : OpRewritePattern<OpTy> {
  LowerDynamicWidth(MLIRContext *ctx, KernelConfig cfg)
      : OpRewritePattern<OpTy>(ctx), cfg(cfg) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    WeightType type = op.getWeight().getType();
    LayoutAttr layout = type.getLayout();
    if (!layout || layout.getKind() != LayoutKind::planes ||
        type.getAxis() != 0)
      return rewriter.notifyMatchFailure(op, "weight not in planes on axis 0");
    if (cfg.vectorWidth < 8 || (type.getGroupSize() != 0 &&
                                type.getGroupSize() % cfg.vectorWidth != 0))
      return rewriter.notifyMatchFailure(op, "groups not whole mask chunks");
    Location loc = op.getLoc();
    unsigned c = type.getStorageBits();
    Value storage =
        UnrealizedConversionCastOp::create(
            rewriter, loc, type.getStorageTensorType(), op.getWeight())
            .getResult(0);
    Value width = op.getWidth();
    if (!width.getType().isIndex())
      width = arith::IndexCastOp::create(rewriter, loc, rewriter.getIndexType(),
                                         width);
    width =
        arith::MaxSIOp::create(rewriter, loc, width, cIdx(rewriter, loc, 1));
    width =
        arith::MinSIOp::create(rewriter, loc, width, cIdx(rewriter, loc, c));
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t batch = resultType.getRank() == 1 ? 1 : resultType.getDimSize(0);
    int64_t n = type.getRows();
    Type yType =
        RankedTensorType::get(batch == 1 ? SmallVector<int64_t>{n, 1}
                                         : SmallVector<int64_t>{batch, n},
                              rewriter.getF32Type());
    SmallVector<int64_t> cases;
    for (unsigned r = 1; r < c; ++r)
      cases.push_back(r);
    auto sw = scf::IndexSwitchOp::create(rewriter, loc, TypeRange{yType}, width,
                                         cases, cases.size());
    auto emitCase = [&](Region &region, unsigned r) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(&region.emplaceBlock());
      WeightAccess access{storage, type, op.getScales(), op.getOffsets(), r};
      // Every plane of every row in a tile is its own read stream; past
      // about 8 streams the hardware prefetchers fall behind (measured on
      // 4096 x 14336), so wide widths take fewer rows per tile.
      unsigned streams =
          r + (type.getMode() != SliceMode::prefix_exact && r < c ? 1 : 0);
      KernelConfig caseCfg = cfg;
      int64_t rowsFit = 1;
      bool transposed = transposesPlanes(cfg, type, r);
      int64_t maxStreams = transposed ? kPrefetchedStreams : 8;
      while (rowsFit * 2 * streams <= maxStreams &&
             (!transposed || rowsFit * 2 <= kTransposedMaxRows))
        rowsFit *= 2;
      caseCfg.rowTile = std::min<int64_t>(cfg.rowTile, rowsFit);
      Value y = emitKernel(rewriter, loc, caseCfg, op.getInput(), access, batch,
                           n, type.getCols());
      scf::YieldOp::create(rewriter, loc, y);
    };
    for (unsigned r = 1; r < c; ++r)
      emitCase(sw.getCaseRegions()[r - 1], r);
    emitCase(sw.getDefaultRegion(), c); // the clamped width is c
    rewriter.replaceOp(op,
                       finish(rewriter, loc, sw.getResult(0), resultType, {}));
    return success();
  }
  KernelConfig cfg;
};

/// linalg.matvec ins(W[N, K], x[K]) and linalg.matmul with a transposed
/// right-hand side ins(X[B, K], W[N, K]) on f32.
template <typename OpTy>
struct LowerFloat : OpRewritePattern<OpTy> {
  LowerFloat(MLIRContext *ctx, KernelConfig cfg)
      : OpRewritePattern<OpTy>(ctx), cfg(cfg) {}
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not on tensors");
    Value x, w;
    int64_t batch;
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    if constexpr (std::is_same_v<OpTy, linalg::MatvecOp>) {
      w = op.getDpsInputOperand(0)->get();
      x = op.getDpsInputOperand(1)->get();
      batch = 1;
    } else {
      MLIRContext *ctx = op.getContext();
      AffineExpr m, n, k;
      bindDims(ctx, m, n, k);
      auto maps = op.getIndexingMapsArray();
      if (maps.size() != 3 || maps[0] != AffineMap::get(3, 0, {m, k}, ctx) ||
          maps[1] != AffineMap::get(3, 0, {n, k}, ctx) ||
          maps[2] != AffineMap::get(3, 0, {m, n}, ctx))
        return rewriter.notifyMatchFailure(op, "not x * W^T");
      x = op.getDpsInputOperand(0)->get();
      w = op.getDpsInputOperand(1)->get();
      batch = resultType.getDimSize(0);
    }
    auto wType = cast<RankedTensorType>(w.getType());
    auto xType = cast<RankedTensorType>(x.getType());
    if (!wType.hasStaticShape() || !xType.hasStaticShape() ||
        !resultType.hasStaticShape() || !wType.getElementType().isF32() ||
        !xType.getElementType().isF32() || !resultType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "needs static f32 operands");
    WeightAccess access{w, {}, {}, {}};
    Value y = emitKernel(rewriter, op.getLoc(), cfg, x, access, batch,
                         wType.getDimSize(0), wType.getDimSize(1));
    rewriter.replaceOp(op, finish(rewriter, op.getLoc(), y, resultType,
                                  op.getDpsInitOperand(0)->get()));
    return success();
  }
  KernelConfig cfg;
};

bool hostHasVNNI() { return hostHasCPUFeature("avx512vnni"); }

/// 16 f32 lanes with AVX-512, 8 with AVX2, else 4 (SSE, NEON, generic).
int64_t hostVectorWidth() {
  if (hostHasCPUFeature("avx512f"))
    return 16;
  if (hostHasCPUFeature("avx2"))
    return 8;
  return 4;
}

struct ConvertMQToVectorPass
    : matquant::impl::ConvertMQToVectorPassBase<ConvertMQToVectorPass> {
  using Base::Base;
  void runOnOperation() override {
    if (vectorWidth == 0)
      vectorWidth = hostVectorWidth();
    if (vectorWidth < 1 || (vectorWidth & (vectorWidth - 1)) != 0 ||
        accumulators < 1 || batchTile < 1 || rowTile < 1) {
      getOperation().emitError()
          << "convert-mq-to-vector: vector-width must be a power of two and "
             "accumulators, batch-tile, row-tile positive";
      return signalPassFailure();
    }
    if (activationBits != 0 && activationBits != 8) {
      getOperation().emitError()
          << "convert-mq-to-vector: activation-bits must be 0 or 8, got "
          << activationBits;
      return signalPassFailure();
    }
    if (activationBits == 8 && !hostHasVNNI()) {
      getOperation().emitError()
          << "convert-mq-to-vector: activation-bits=8 needs AVX-512 VNNI, "
             "which this CPU does not have";
      return signalPassFailure();
    }
    KernelConfig cfg{vectorWidth,
                     accumulators,
                     batchTile,
                     rowTile,
                     activationBits,
                     exponentDecode,
                     planeTranspose < 0 ? hostHasGfniVbmi()
                                        : planeTranspose != 0,
                     tilePrefetch};
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    patterns.add<LowerWeightOnly<MatvecOp>, LowerWeightOnly<MatmulOp>,
                 LowerDynamicWidth<MatvecDynamicOp>,
                 LowerDynamicWidth<MatmulDynamicOp>>(ctx, cfg);
    if (lowerFloat)
      patterns.add<LowerFloat<linalg::MatvecOp>, LowerFloat<linalg::MatmulOp>>(
          ctx, cfg);
    // One rewrite per op, no folding: walk and apply.
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<MatvecOp, MatmulOp, MatvecDynamicOp, MatmulDynamicOp,
              linalg::MatvecOp, linalg::MatmulOp>(op))
        ops.push_back(op);
    });
    FrozenRewritePatternSet frozen(std::move(patterns));
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    // Ops that do not match stay for the reference lowering.
    (void)applyOpPatternsGreedily(ops, frozen, config);
  }
};

} // namespace
