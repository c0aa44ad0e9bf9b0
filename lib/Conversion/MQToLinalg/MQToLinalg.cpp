//===- MQToLinalg.cpp - Reference lowering of mq to linalg -------*- C++ -*-===//
//
// Lowers the mq dialect to linalg / tensor / arith / math on tensors. The
// float32 operations mirror the numerics library one for one, so the lowered
// code computes the same bits as the folders.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace matquant {
#define GEN_PASS_DEF_CONVERTMQTOLINALGPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

Value constI32(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
}
Value constIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
Value constF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// An empty tensor of `shape` x `elt`, optionally filled with `fill`.
Value emptyTensor(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                  Type elt, Attribute fill = {}) {
  Value empty = tensor::EmptyOp::create(b, loc, shape, elt);
  if (!fill)
    return empty;
  Value v = arith::ConstantOp::create(b, loc, cast<TypedAttr>(fill));
  return linalg::FillOp::create(b, loc, v, empty).getResult(0);
}

/// The map from the (row, col) iteration space of a weight to its scale /
/// offset tensor: the reduction dimension is divided by the group size.
AffineMap groupMap(WeightType type, MLIRContext *ctx) {
  AffineExpr d0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx);
  AffineExpr zero = getAffineConstantExpr(0, ctx);
  bool perChannel = type.getNumGroups() == 1;
  int64_t g = type.getReductionSize() / type.getNumGroups();
  if (type.getAxis() == 0)
    return AffineMap::get(2, 0, {d0, perChannel ? zero : d1.floorDiv(g)}, ctx);
  return AffineMap::get(2, 0, {perChannel ? zero : d0.floorDiv(g), d1}, ctx);
}

SmallVector<utils::IteratorType> parallel(unsigned n) {
  return SmallVector<utils::IteratorType>(n, utils::IteratorType::parallel);
}

/// Elementwise r_in -> r_out slice of i8 indices (see mq.slice).
Value buildSlice(OpBuilder &b, Location loc, Value idx, WeightType in,
                 WeightType out) {
  MLIRContext *ctx = b.getContext();
  unsigned c = in.getStorageBits(), rIn = in.getBits(), r = out.getBits();
  auto type = cast<RankedTensorType>(idx.getType());
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  Value init = emptyTensor(b, loc, type.getShape(), b.getI8Type());
  bool clamp = in.getMode() == SliceMode::clamped;
  bool prefix = in.getMode() == SliceMode::prefix_exact;
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{idx}, ValueRange{init},
      ArrayRef<AffineMap>{id, id}, parallel(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), args[0]);
        if (c != rIn)
          v = arith::ShLIOp::create(nb, nl, v, constI32(nb, nl, c - rIn));
        unsigned s = c - r;
        Value k = arith::ShRUIOp::create(nb, nl, v, constI32(nb, nl, s));
        if (!prefix) { // rounding: add the bit below the kept ones
          Value half =
              arith::ShRUIOp::create(nb, nl, v, constI32(nb, nl, s - 1));
          half = arith::AndIOp::create(nb, nl, half, constI32(nb, nl, 1));
          k = arith::AddIOp::create(nb, nl, k, half);
        }
        if (clamp)
          k = arith::MinUIOp::create(nb, nl, k,
                                     constI32(nb, nl, (1 << r) - 1));
        Value t = arith::TruncIOp::create(nb, nl, nb.getI8Type(), k);
        linalg::YieldOp::create(nb, nl, t);
      });
  return generic.getResult(0);
}

/// (alpha * 2^(c-r)) * k + m' per element, as a tensor of `resultElt`; m' is
/// numerics::sliceOffset: m, or m + alpha * 2^(c-r-1) for a prefix-exact
/// slice with r < c.
Value buildDequantize(OpBuilder &b, Location loc, Value idx, Value scales,
                      Value offsets, WeightType type, Type resultElt) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap gm = groupMap(type, ctx);
  Value init = emptyTensor(b, loc, type.getShape(), resultElt);
  unsigned c = type.getStorageBits(), r = type.getBits();
  float factor = static_cast<float>(1u << (c - r));
  bool midPoint = type.getMode() == SliceMode::prefix_exact && r < c;
  float halfFactor = midPoint ? static_cast<float>(1u << (c - r - 1)) : 0.0f;
  auto resultType = RankedTensorType::get(type.getShape(), resultElt);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{idx, scales, offsets}, ValueRange{init},
      ArrayRef<AffineMap>{id, gm, gm, id}, parallel(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value eff =
            arith::MulFOp::create(nb, nl, args[1], constF32(nb, nl, factor));
        Value k = arith::UIToFPOp::create(nb, nl, nb.getF32Type(), args[0]);
        Value w = arith::MulFOp::create(nb, nl, eff, k);
        Value m = args[2];
        if (midPoint) {
          Value half = arith::MulFOp::create(nb, nl, args[1],
                                             constF32(nb, nl, halfFactor));
          m = arith::AddFOp::create(nb, nl, m, half);
        }
        w = arith::AddFOp::create(nb, nl, w, m);
        if (resultElt != nb.getF32Type())
          w = arith::TruncFOp::create(nb, nl, resultElt, w);
        linalg::YieldOp::create(nb, nl, w);
      });
  return generic.getResult(0);
}

/// The run-time width `width` (i32 or index) as i32, clamped into [1, c].
Value clampedWidth(OpBuilder &b, Location loc, Value width, unsigned c) {
  if (width.getType().isIndex())
    width = arith::IndexCastOp::create(b, loc, b.getI32Type(), width);
  width = arith::MaxSIOp::create(b, loc, width, constI32(b, loc, 1));
  return arith::MinSIOp::create(b, loc, width, constI32(b, loc, c));
}

/// The dequantized slice of the stored model `type` (bits = storage = c) at
/// the run-time width r = `width` (i32 in [1, c]): per element, with
/// s = c - r, the index k of numerics::sliceIndex in the weight's mode, then
/// (alpha * 2^s) * k + m' with m' = numerics::sliceOffset; the float32
/// operations are those of buildSlice and buildDequantize.
Value buildDequantizeDynamic(OpBuilder &b, Location loc, Value idx,
                             Value scales, Value offsets, WeightType type,
                             Value width) {
  MLIRContext *ctx = b.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap gm = groupMap(type, ctx);
  Type f32 = b.getF32Type();
  unsigned c = type.getStorageBits();
  SliceMode mode = type.getMode();
  Value init = emptyTensor(b, loc, type.getShape(), f32);
  // Per-call values, computed once outside the element loop.
  Value s = arith::SubIOp::create(b, loc, constI32(b, loc, c), width);
  Value cut = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, s,
                                    constI32(b, loc, 0));
  // s - 1 would be -1 at r = c: shift by max(s - 1, 0) and select.
  Value sMinus1 = arith::MaxSIOp::create(
      b, loc, arith::SubIOp::create(b, loc, s, constI32(b, loc, 1)),
      constI32(b, loc, 0));
  Value one = constI32(b, loc, 1);
  Value top = arith::SubIOp::create(
      b, loc, arith::ShLIOp::create(b, loc, one, width), one);
  Value factor = arith::UIToFPOp::create(b, loc, f32,
                                         arith::ShLIOp::create(b, loc, one, s));
  Value halfFactor = arith::UIToFPOp::create(
      b, loc, f32, arith::ShLIOp::create(b, loc, one, sMinus1));
  auto resultType = RankedTensorType::get(type.getShape(), f32);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{idx, scales, offsets}, ValueRange{init},
      ArrayRef<AffineMap>{id, gm, gm, id}, parallel(2),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value q = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), args[0]);
        Value k = arith::ShRUIOp::create(nb, nl, q, s);
        if (mode != SliceMode::prefix_exact) {
          Value half = arith::ShRUIOp::create(nb, nl, q, sMinus1);
          half = arith::AndIOp::create(nb, nl, half, constI32(nb, nl, 1));
          half =
              arith::SelectOp::create(nb, nl, cut, half, constI32(nb, nl, 0));
          k = arith::AddIOp::create(nb, nl, k, half);
          if (mode == SliceMode::clamped)
            k = arith::MinUIOp::create(nb, nl, k, top);
        }
        Value eff = arith::MulFOp::create(nb, nl, args[1], factor);
        Value kf = arith::UIToFPOp::create(nb, nl, f32, k);
        Value w = arith::MulFOp::create(nb, nl, eff, kf);
        Value m = args[2];
        if (mode == SliceMode::prefix_exact) {
          Value h = arith::MulFOp::create(nb, nl, args[1], halfFactor);
          Value mp = arith::AddFOp::create(nb, nl, m, h);
          m = arith::SelectOp::create(nb, nl, cut, mp, m);
        }
        w = arith::AddFOp::create(nb, nl, w, m);
        linalg::YieldOp::create(nb, nl, w);
      });
  return generic.getResult(0);
}

/// Row tiles of the interleaved layout (numerics::interleavedTiledOffset):
/// the storage place [row, byte] of byte `byte` of row `row` in the untiled
/// order ...
SmallVector<Value, 2> tiledPlace(OpBuilder &b, Location loc, Value row,
                                 Value byte, LayoutAttr layout,
                                 int64_t rowBytes) {
  int64_t tile = layout.getRows();
  if (tile == 1)
    return {row, byte};
  int64_t blockBytes = layout.getBlock() * layout.getBits() / 8;
  auto c = [&](int64_t v) { return constIndex(b, loc, v); };
  Value t = arith::DivUIOp::create(b, loc, row, c(tile));
  Value r = arith::RemUIOp::create(b, loc, row, c(tile));
  Value blk = arith::DivUIOp::create(b, loc, byte, c(blockBytes));
  Value j = arith::RemUIOp::create(b, loc, byte, c(blockBytes));
  // flat = t * tile * rowBytes + blk * tile * blockBytes + r * blockBytes + j
  Value flat = arith::AddIOp::create(
      b, loc,
      arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, t, c(tile * rowBytes)),
          arith::MulIOp::create(b, loc, blk, c(tile * blockBytes))),
      arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, r, c(blockBytes)), j));
  return {arith::DivUIOp::create(b, loc, flat, c(rowBytes)),
          arith::RemUIOp::create(b, loc, flat, c(rowBytes))};
}

/// ... and the inverse: the untiled [row, byte] that storage place
/// [srow, sbyte] holds.
std::pair<Value, Value> untiledPlace(OpBuilder &b, Location loc, Value srow,
                                     Value sbyte, LayoutAttr layout,
                                     int64_t rowBytes) {
  int64_t tile = layout.getRows();
  if (tile == 1)
    return {srow, sbyte};
  int64_t blockBytes = layout.getBlock() * layout.getBits() / 8;
  auto c = [&](int64_t v) { return constIndex(b, loc, v); };
  Value flat = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, srow, c(rowBytes)), sbyte);
  Value t = arith::DivUIOp::create(b, loc, flat, c(tile * rowBytes));
  Value inTile = arith::RemUIOp::create(b, loc, flat, c(tile * rowBytes));
  Value blk = arith::DivUIOp::create(b, loc, inTile, c(tile * blockBytes));
  Value inBlock = arith::RemUIOp::create(b, loc, inTile, c(tile * blockBytes));
  Value r = arith::DivUIOp::create(b, loc, inBlock, c(blockBytes));
  Value j = arith::RemUIOp::create(b, loc, inBlock, c(blockBytes));
  Value row = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, t, c(tile)), r);
  Value byte = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, blk, c(blockBytes)), j);
  return {row, byte};
}

/// Packs logical i8 indices into the layout of `packed`.
Value buildPack(OpBuilder &b, Location loc, Value idx, WeightType packed) {
  LayoutAttr layout = packed.getLayout();
  unsigned bits = layout.getBits();
  int64_t cols = packed.getCols();
  RankedTensorType outType = packed.getStorageTensorType();
  auto gen = tensor::GenerateOp::create(
      b, loc, outType, ValueRange{},
      [&](OpBuilder &nb, Location nl, ValueRange ivs) {
        Value acc = constI32(nb, nl, 0);
        Value colsV = constIndex(nb, nl, cols);
        Value zeroIdx = constIndex(nb, nl, 0);
        auto readIndex = [&](Value row, Value j) -> std::pair<Value, Value> {
          // Returns (value as i32, in-bounds flag); reads column min(j, cols-1).
          Value inb = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                            j, colsV);
          Value jc = arith::MinUIOp::create(nb, nl, j,
                                            constIndex(nb, nl, cols - 1));
          Value v = tensor::ExtractOp::create(nb, nl, idx, ValueRange{row, jc});
          v = arith::ExtUIOp::create(nb, nl, nb.getI32Type(), v);
          v = arith::SelectOp::create(nb, nl, inb, v, constI32(nb, nl, 0));
          return {v, inb};
        };
        (void)zeroIdx;
        if (layout.getKind() == LayoutKind::dense) {
          Value row = ivs[0], byte = ivs[1];
          // Elements overlapping byte `byte`: j from floor(8*byte/bits).
          Value bitStart = arith::MulIOp::create(nb, nl, byte,
                                                 constIndex(nb, nl, 8));
          Value first = arith::DivUIOp::create(nb, nl, bitStart,
                                               constIndex(nb, nl, bits));
          unsigned count = (8 + bits - 1) / bits + 1;
          for (unsigned t = 0; t < count; ++t) {
            Value j = arith::AddIOp::create(nb, nl, first,
                                            constIndex(nb, nl, t));
            auto [v, inb] = readIndex(row, j);
            (void)inb;
            // shift = j*bits - 8*byte, possibly negative.
            Value jb = arith::MulIOp::create(nb, nl, j,
                                             constIndex(nb, nl, bits));
            Value shift = arith::SubIOp::create(nb, nl, jb, bitStart);
            shift = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), shift);
            Value zero = constI32(nb, nl, 0);
            Value neg = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                              shift, zero);
            Value negShift = arith::SubIOp::create(nb, nl, zero, shift);
            // Shifts of 32 or more are poison: clamp; the value is < 2^9.
            Value c31 = constI32(nb, nl, 31);
            Value left = arith::ShLIOp::create(
                nb, nl, v, arith::MinSIOp::create(nb, nl, shift, c31));
            Value right = arith::ShRUIOp::create(
                nb, nl, v, arith::MinSIOp::create(nb, nl, negShift, c31));
            Value part = arith::SelectOp::create(nb, nl, neg, right, left);
            acc = arith::OrIOp::create(nb, nl, acc, part);
          }
        } else if (layout.getKind() == LayoutKind::interleaved) {
          int64_t e = layout.getBlock();
          int64_t blockBytes = e * bits / 8;
          // The row and byte of the untiled layout that this storage byte
          // holds (the same place unless the layout tiles rows).
          auto [row, byte] = untiledPlace(nb, nl, ivs[0], ivs[1], layout,
                                          outType.getDimSize(1));
          Value blk = arith::DivUIOp::create(nb, nl, byte,
                                             constIndex(nb, nl, blockBytes));
          Value within = arith::RemUIOp::create(
              nb, nl, byte, constIndex(nb, nl, blockBytes));
          Value first =
              arith::MulIOp::create(nb, nl, blk, constIndex(nb, nl, e));
          int64_t pieceStart = 0;
          unsigned shift = bits;
          for (unsigned w : numerics::interleavedPieces(bits)) {
            shift -= w;
            int64_t pieceBytes = e * w / 8;
            // Is this byte in piece p, and which byte of the piece is it?
            Value lo = constIndex(nb, nl, pieceStart);
            Value hi = constIndex(nb, nl, pieceStart + pieceBytes);
            Value inPiece = arith::AndIOp::create(
                nb, nl,
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::uge,
                                      within, lo),
                arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::ult,
                                      within, hi));
            Value rel = arith::SelectOp::create(
                nb, nl, inPiece, arith::SubIOp::create(nb, nl, within, lo),
                constIndex(nb, nl, 0));
            for (unsigned t = 0; t < 8 / w; ++t) {
              Value j = arith::AddIOp::create(
                  nb, nl, first,
                  arith::AddIOp::create(nb, nl, rel,
                                        constIndex(nb, nl, t * pieceBytes)));
              auto [v, inb] = readIndex(row, j);
              (void)inb;
              Value piece = arith::AndIOp::create(
                  nb, nl,
                  arith::ShRUIOp::create(nb, nl, v, constI32(nb, nl, shift)),
                  constI32(nb, nl, (1 << w) - 1));
              piece = arith::ShLIOp::create(nb, nl, piece,
                                            constI32(nb, nl, t * w));
              piece = arith::SelectOp::create(nb, nl, inPiece, piece,
                                              constI32(nb, nl, 0));
              acc = arith::OrIOp::create(nb, nl, acc, piece);
            }
            pieceStart += pieceBytes;
          }
        } else {
          Value plane = ivs[0], row = ivs[1], byte = ivs[2];
          // Bit (bits - 1 - plane) of each of the 8 elements of this byte.
          Value planeI32 =
              arith::IndexCastOp::create(nb, nl, nb.getI32Type(), plane);
          Value bitPos = arith::SubIOp::create(
              nb, nl, constI32(nb, nl, bits - 1), planeI32);
          Value base = arith::MulIOp::create(nb, nl, byte,
                                             constIndex(nb, nl, 8));
          for (unsigned t = 0; t < 8; ++t) {
            Value j = arith::AddIOp::create(nb, nl, base,
                                            constIndex(nb, nl, t));
            auto [v, inb] = readIndex(row, j);
            (void)inb;
            Value bit = arith::ShRUIOp::create(nb, nl, v, bitPos);
            bit = arith::AndIOp::create(nb, nl, bit, constI32(nb, nl, 1));
            bit = arith::ShLIOp::create(nb, nl, bit, constI32(nb, nl, t));
            acc = arith::OrIOp::create(nb, nl, acc, bit);
          }
        }
        Value out = arith::TruncIOp::create(nb, nl, nb.getI8Type(), acc);
        tensor::YieldOp::create(nb, nl, out);
      });
  return gen.getResult();
}

/// Unpacks the bytes of `packed` into logical i8 indices.
Value buildUnpack(OpBuilder &b, Location loc, Value bytes, WeightType packed) {
  LayoutAttr layout = packed.getLayout();
  unsigned bits = layout.getBits();
  RankedTensorType outType = packed.withLayout({}).getStorageTensorType();
  auto bytesType = cast<RankedTensorType>(bytes.getType());
  auto gen = tensor::GenerateOp::create(
      b, loc, outType, ValueRange{},
      [&](OpBuilder &nb, Location nl, ValueRange ivs) {
        Value row = ivs[0], col = ivs[1];
        auto load = [&](ValueRange at) {
          Value v = tensor::ExtractOp::create(nb, nl, bytes, at);
          return arith::ExtUIOp::create(nb, nl, nb.getI32Type(), v)
              .getResult();
        };
        Value result;
        if (layout.getKind() == LayoutKind::dense) {
          int64_t rowBytes = bytesType.getDimSize(1);
          Value off = arith::MulIOp::create(nb, nl, col,
                                            constIndex(nb, nl, bits));
          Value byte = arith::DivUIOp::create(nb, nl, off,
                                              constIndex(nb, nl, 8));
          Value shift = arith::RemUIOp::create(nb, nl, off,
                                               constIndex(nb, nl, 8));
          Value next = arith::MinUIOp::create(
              nb, nl,
              arith::AddIOp::create(nb, nl, byte, constIndex(nb, nl, 1)),
              constIndex(nb, nl, rowBytes - 1));
          Value lo = load({row, byte});
          Value hi = load({row, next});
          Value word = arith::OrIOp::create(
              nb, nl, lo,
              arith::ShLIOp::create(nb, nl, hi, constI32(nb, nl, 8)));
          shift = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), shift);
          word = arith::ShRUIOp::create(nb, nl, word, shift);
          result = arith::AndIOp::create(nb, nl, word,
                                         constI32(nb, nl, (1 << bits) - 1));
        } else if (layout.getKind() == LayoutKind::interleaved) {
          int64_t e = layout.getBlock();
          int64_t blockBytes = e * bits / 8;
          Value blk = arith::DivUIOp::create(nb, nl, col, constIndex(nb, nl, e));
          Value elt = arith::RemUIOp::create(nb, nl, col, constIndex(nb, nl, e));
          Value base = arith::MulIOp::create(nb, nl, blk,
                                             constIndex(nb, nl, blockBytes));
          result = constI32(nb, nl, 0);
          int64_t pieceStart = 0;
          unsigned shift = bits;
          for (unsigned w : numerics::interleavedPieces(bits)) {
            shift -= w;
            int64_t pieceBytes = e * w / 8;
            Value byte = arith::AddIOp::create(
                nb, nl, base,
                arith::AddIOp::create(
                    nb, nl, constIndex(nb, nl, pieceStart),
                    arith::RemUIOp::create(nb, nl, elt,
                                           constIndex(nb, nl, pieceBytes))));
            Value off = arith::MulIOp::create(
                nb, nl,
                arith::DivUIOp::create(nb, nl, elt,
                                       constIndex(nb, nl, pieceBytes)),
                constIndex(nb, nl, w));
            off = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), off);
            Value v = load(
                tiledPlace(nb, nl, row, byte, layout, bytesType.getDimSize(1)));
            v = arith::ShRUIOp::create(nb, nl, v, off);
            v = arith::AndIOp::create(nb, nl, v, constI32(nb, nl, (1 << w) - 1));
            v = arith::ShLIOp::create(nb, nl, v, constI32(nb, nl, shift));
            result = arith::OrIOp::create(nb, nl, result, v);
            pieceStart += pieceBytes;
          }
        } else {
          Value byte = arith::DivUIOp::create(nb, nl, col,
                                              constIndex(nb, nl, 8));
          Value bit = arith::RemUIOp::create(nb, nl, col,
                                             constIndex(nb, nl, 8));
          bit = arith::IndexCastOp::create(nb, nl, nb.getI32Type(), bit);
          result = constI32(nb, nl, 0);
          for (unsigned p = 0; p < bits; ++p) {
            Value v = load({constIndex(nb, nl, p), row, byte});
            v = arith::ShRUIOp::create(nb, nl, v, bit);
            v = arith::AndIOp::create(nb, nl, v, constI32(nb, nl, 1));
            v = arith::ShLIOp::create(nb, nl, v,
                                      constI32(nb, nl, bits - 1 - p));
            result = arith::OrIOp::create(nb, nl, result, v);
          }
        }
        Value out = arith::TruncIOp::create(nb, nl, nb.getI8Type(), result);
        tensor::YieldOp::create(nb, nl, out);
      });
  return gen.getResult();
}

/// Min-max quantization (see mq.quantize); returns codes, alpha, m.
std::tuple<Value, Value, Value> buildQuantize(OpBuilder &b, Location loc,
                                              Value w, WeightType type,
                                              std::optional<float> gamma,
                                              std::optional<float> beta) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  unsigned axis = type.getAxis();
  int64_t rows = type.getRows(), cols = type.getCols();
  int64_t groups = type.getNumGroups();
  int64_t g = type.getReductionSize() / groups;
  // Split the reduction dimension into (groups, g).
  SmallVector<int64_t, 3> expanded;
  SmallVector<ReassociationIndices> reassoc;
  unsigned redDim;
  if (axis == 0) {
    expanded = {rows, groups, g};
    reassoc = {{0}, {1, 2}};
    redDim = 2;
  } else {
    expanded = {groups, g, cols};
    reassoc = {{0, 1}, {2}};
    redDim = 1;
  }
  auto inType = cast<RankedTensorType>(w.getType());
  Value wx = tensor::ExpandShapeOp::create(
      b, loc, RankedTensorType::get(expanded, inType.getElementType()), w,
      reassoc);
  SmallVector<int64_t, 2> scaleShape = type.getScaleShape();
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap drop = id3.dropResult(redDim);
  AffineMap id2 = AffineMap::getMultiDimIdentityMap(2, ctx);
  auto redIters = parallel(3);
  redIters[redDim] = utils::IteratorType::reduction;
  auto scaleType = RankedTensorType::get(scaleShape, f32);

  Value maxInit = emptyTensor(b, loc, scaleShape, f32,
                              b.getF32FloatAttr(-INFINITY));
  Value minInit = emptyTensor(b, loc, scaleShape, f32,
                              b.getF32FloatAttr(INFINITY));
  auto minmax = linalg::GenericOp::create(
      b, loc, TypeRange{scaleType, scaleType}, ValueRange{wx},
      ValueRange{maxInit, minInit}, ArrayRef<AffineMap>{id3, drop, drop},
      redIters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = args[0];
        if (v.getType() != f32)
          v = arith::ExtFOp::create(nb, nl, f32, v);
        Value mx = arith::MaxNumFOp::create(nb, nl, v, args[1]);
        Value mn = arith::MinNumFOp::create(nb, nl, v, args[2]);
        linalg::YieldOp::create(nb, nl, ValueRange{mx, mn});
      });

  float levels = static_cast<float>((1u << type.getStorageBits()) - 1);
  Value e0 = emptyTensor(b, loc, scaleShape, f32);
  auto params = linalg::GenericOp::create(
      b, loc, TypeRange{scaleType, scaleType, scaleType},
      ValueRange{minmax.getResult(0), minmax.getResult(1)},
      ValueRange{e0, e0, e0}, ArrayRef<AffineMap>(SmallVector<AffineMap>(5, id2)),
      parallel(2), [&](OpBuilder &nb, Location nl, ValueRange args) {
        // Mirrors numerics::quantize case by case (see Numerics.cpp).
        Value mx = args[0], mn = args[1];
        Value zero = constF32(nb, nl, 0.0f);
        Value lv = constF32(nb, nl, levels);
        // A group with a range; else constant (m = w) or all NaN (m = NaN).
        Value ranged =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGT, mx, mn);
        Value hi = mx, lo = mn;
        if (gamma && beta) {
          hi = arith::MulFOp::create(nb, nl, constF32(nb, nl, *gamma), mx);
          lo = arith::MulFOp::create(nb, nl, constF32(nb, nl, *beta), mn);
          Value collapsed = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::ULE, hi, lo);
          hi = arith::SelectOp::create(nb, nl, collapsed, mx, hi);
          lo = arith::SelectOp::create(nb, nl, collapsed, mn, lo);
        }
        Value alpha = arith::SubFOp::create(nb, nl, hi, lo);
        alpha = arith::DivFOp::create(nb, nl, alpha, lv);
        // hi - lo overflowed although both are finite: hi/n - lo/n.
        Value split = arith::SubFOp::create(
            nb, nl, arith::DivFOp::create(nb, nl, hi, lv),
            arith::DivFOp::create(nb, nl, lo, lv));
        Value inf = constF32(nb, nl, INFINITY);
        auto absCmp = [&](arith::CmpFPredicate pred, Value v) -> Value {
          return arith::CmpFOp::create(
              nb, nl, pred, math::AbsFOp::create(nb, nl, v), inf);
        };
        Value overflow = arith::AndIOp::create(
            nb, nl, absCmp(arith::CmpFPredicate::OEQ, alpha),
            arith::AndIOp::create(nb, nl,
                                  absCmp(arith::CmpFPredicate::OLT, hi),
                                  absCmp(arith::CmpFPredicate::OLT, lo)));
        alpha = arith::SelectOp::create(nb, nl, overflow, split, alpha);
        Value negLo = arith::NegFOp::create(nb, nl, lo);
        Value z = arith::DivFOp::create(nb, nl, negLo, alpha);
        Value negAlpha = arith::NegFOp::create(nb, nl, alpha);
        Value m = arith::MulFOp::create(nb, nl, negAlpha, z);
        // hi - lo underflowed to alpha == 0: constant, m = lo.
        Value underflow = arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OEQ, alpha, zero);
        Value scaled = arith::AndIOp::create(
            nb, nl, ranged,
            arith::XOrIOp::create(
                nb, nl, underflow,
                arith::ConstantIntOp::create(nb, nl, nb.getI1Type(), 1)));
        Value nan = constF32(nb, nl, std::numeric_limits<float>::quiet_NaN());
        Value notNaN =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OGE, mx, mn);
        Value constOffset = arith::SelectOp::create(nb, nl, notNaN, mn, nan);
        Value rangedOffset = arith::SelectOp::create(nb, nl, underflow, lo, m);
        Value offset =
            arith::SelectOp::create(nb, nl, ranged, rangedOffset, constOffset);
        alpha = arith::SelectOp::create(nb, nl, scaled, alpha, zero);
        z = arith::SelectOp::create(nb, nl, scaled, z, zero);
        linalg::YieldOp::create(nb, nl, ValueRange{alpha, z, offset});
      });
  Value alpha = params.getResult(0), z = params.getResult(1),
        m = params.getResult(2);

  Value codesInit = emptyTensor(b, loc, expanded, b.getI8Type());
  auto codes = linalg::GenericOp::create(
      b, loc, TypeRange{RankedTensorType::get(expanded, b.getI8Type())},
      ValueRange{wx, alpha, z}, ValueRange{codesInit},
      ArrayRef<AffineMap>{id3, drop, drop, id3}, parallel(3),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = args[0];
        if (v.getType() != f32)
          v = arith::ExtFOp::create(nb, nl, f32, v);
        Value t = arith::DivFOp::create(nb, nl, v, args[1]);
        t = arith::AddFOp::create(nb, nl, t, args[2]);
        t = math::RoundOp::create(nb, nl, t);
        // !(t > 0) -> 0 (NaN included), then clamp to 2^c - 1.
        Value positive = arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OGT, t, constF32(nb, nl, 0.0f));
        t = arith::SelectOp::create(nb, nl, positive, t,
                                    constF32(nb, nl, 0.0f));
        t = arith::MinimumFOp::create(nb, nl, t, constF32(nb, nl, levels));
        Value q = arith::FPToUIOp::create(nb, nl, nb.getI32Type(), t);
        Value isConst = arith::CmpFOp::create(
            nb, nl, arith::CmpFPredicate::OEQ, args[1], constF32(nb, nl, 0));
        q = arith::SelectOp::create(nb, nl, isConst, constI32(nb, nl, 0), q);
        Value q8 = arith::TruncIOp::create(nb, nl, nb.getI8Type(), q);
        linalg::YieldOp::create(nb, nl, q8);
      });
  Value flat = tensor::CollapseShapeOp::create(
      b, loc, type.getStorageTensorType(), codes.getResult(0), reassoc);
  return {flat, alpha, m};
}

/// y = x * W_hat (see mq.matmul); `x` is rank 1 (matvec) or 2 (matmul).
/// With `width`, W_hat is the stored model sliced to that run-time width
/// (mq.matmul_dynamic / mq.matvec_dynamic).
Value buildWeightOnly(OpBuilder &b, Location loc, Value x, Value weight,
                      Value scales, Value offsets, WeightType type,
                      RankedTensorType resultType, Value width = {}) {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  Value idx = weight;
  if (type.getLayout()) {
    idx = buildUnpack(b, loc, weight, type);
    type = type.withLayout({});
  }
  Value w = width ? buildDequantizeDynamic(
                        b, loc, idx, scales, offsets, type,
                        clampedWidth(b, loc, width, type.getStorageBits()))
                  : buildDequantize(b, loc, idx, scales, offsets, type, f32);
  bool isMatvec = resultType.getRank() == 1;
  unsigned nLoops = isMatvec ? 2 : 3;
  // Loops: [b,] n, k.
  AffineExpr n = getAffineDimExpr(nLoops - 2, ctx),
             k = getAffineDimExpr(nLoops - 1, ctx);
  SmallVector<AffineExpr> xExprs, outExprs;
  if (!isMatvec) {
    xExprs.push_back(getAffineDimExpr(0, ctx));
    outExprs.push_back(getAffineDimExpr(0, ctx));
  }
  xExprs.push_back(k);
  outExprs.push_back(n);
  AffineMap xMap = AffineMap::get(nLoops, 0, xExprs, ctx);
  AffineMap wMap = type.getAxis() == 0 ? AffineMap::get(nLoops, 0, {n, k}, ctx)
                                       : AffineMap::get(nLoops, 0, {k, n}, ctx);
  AffineMap outMap = AffineMap::get(nLoops, 0, outExprs, ctx);
  auto iters = parallel(nLoops);
  iters.back() = utils::IteratorType::reduction;
  auto accType = RankedTensorType::get(resultType.getShape(), f32);
  Value init = emptyTensor(b, loc, resultType.getShape(), f32,
                           b.getF32FloatAttr(0.0f));
  auto contract = linalg::GenericOp::create(
      b, loc, TypeRange{accType}, ValueRange{x, w}, ValueRange{init},
      ArrayRef<AffineMap>{xMap, wMap, outMap}, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value xv = args[0];
        if (xv.getType() != f32)
          xv = arith::ExtFOp::create(nb, nl, f32, xv);
        Value p = arith::MulFOp::create(nb, nl, xv, args[1]);
        Value s = arith::AddFOp::create(nb, nl, args[2], p);
        linalg::YieldOp::create(nb, nl, s);
      });
  Value acc = contract.getResult(0);
  if (resultType.getElementType() == f32)
    return acc;
  AffineMap id = AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx);
  Value out = emptyTensor(b, loc, resultType.getShape(),
                          resultType.getElementType());
  auto trunc = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, ValueRange{acc}, ValueRange{out},
      ArrayRef<AffineMap>{id, id}, parallel(resultType.getRank()),
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value t = arith::TruncFOp::create(nb, nl, resultType.getElementType(),
                                          args[0]);
        linalg::YieldOp::create(nb, nl, t);
      });
  return trunc.getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, cast<TypedAttr>(op.getValue()));
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    std::optional<float> gamma, beta;
    if (op.getGamma())
      gamma = op.getGamma()->convertToFloat();
    if (op.getBeta())
      beta = op.getBeta()->convertToFloat();
    auto [codes, alpha, m] =
        buildQuantize(rewriter, op.getLoc(), adaptor.getInput(),
                      op.getCodes().getType(), gamma, beta);
    rewriter.replaceOp(op, ValueRange{codes, alpha, m});
    return success();
  }
};

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    WeightType in = op.getInput().getType(), out = op.getType();
    if (in == out) {
      rewriter.replaceOp(op, adaptor.getInput());
      return success();
    }
    rewriter.replaceOp(
        op, buildSlice(rewriter, op.getLoc(), adaptor.getInput(), in, out));
    return success();
  }
};

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildDequantize(rewriter, op.getLoc(), adaptor.getInput(),
                            adaptor.getScales(), adaptor.getOffsets(),
                            op.getInput().getType(),
                            op.getType().getElementType()));
    return success();
  }
};

struct PackLowering : OpConversionPattern<PackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildPack(rewriter, op.getLoc(), adaptor.getInput(), op.getType()));
    return success();
  }
};

struct UnpackLowering : OpConversionPattern<UnpackOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnpackOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, buildUnpack(rewriter, op.getLoc(),
                                       adaptor.getInput(),
                                       op.getInput().getType()));
    return success();
  }
};

/// mq.pack_scales on values: pad the rows to whole tiles of 16 with 0,
/// split a row into (tile, h, g) (row 16 t + 8 h + g) and transpose to
/// (tile, group, g, h).
struct PackScalesLowering : OpConversionPattern<PackScalesOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackScalesOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType in = op.getInput().getType();
    RankedTensorType out = op.getType();
    int64_t rows = in.getDimSize(0), groups = in.getDimSize(1);
    int64_t tiles = out.getDimSize(0);
    Type f32 = rewriter.getF32Type();
    Value zero =
        arith::ConstantOp::create(rewriter, loc, rewriter.getF32FloatAttr(0));
    auto padded = RankedTensorType::get({16 * tiles, groups}, f32);
    SmallVector<OpFoldResult> lo = {rewriter.getIndexAttr(0),
                                    rewriter.getIndexAttr(0)};
    SmallVector<OpFoldResult> hi = {rewriter.getIndexAttr(16 * tiles - rows),
                                    rewriter.getIndexAttr(0)};
    Value v = tensor::PadOp::create(rewriter, loc, padded, adaptor.getInput(),
                                    lo, hi, zero);
    auto split = RankedTensorType::get({tiles, 2, 8, groups}, f32);
    v = tensor::ExpandShapeOp::create(
        rewriter, loc, split, v,
        ArrayRef<ReassociationIndices>{{0, 1, 2}, {3}});
    Value init = tensor::EmptyOp::create(rewriter, loc, out.getShape(), f32);
    rewriter.replaceOp(
        op, linalg::TransposeOp::create(rewriter, loc, v, init,
                                        ArrayRef<int64_t>{0, 3, 2, 1})
                .getResult());
    return success();
  }
};

/// The kernels of convert-mq-to-vector read a weight's storage through an
/// unrealized cast to its storage tensor: forward the converted value.
struct StorageCastLowering
    : OpConversionPattern<UnrealizedConversionCastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(UnrealizedConversionCastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getNumOperands() != 1 || op.getNumResults() != 1)
      return failure();
    auto type = dyn_cast<WeightType>(op.getOperand(0).getType());
    if (!type || op.getResult(0).getType() != type.getStorageTensorType())
      return failure();
    rewriter.replaceOp(op, adaptor.getOperands()[0]);
    return success();
  }
};

/// arith.select between weights selects between their storage tensors.
struct SelectLowering : OpConversionPattern<arith::SelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(arith::SelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = getTypeConverter()->convertType(op.getType());
    if (!type)
      return failure();
    rewriter.replaceOpWithNewOp<arith::SelectOp>(
        op, type, adaptor.getCondition(), adaptor.getTrueValue(),
        adaptor.getFalseValue());
    return success();
  }
};

template <typename OpTy>
struct WeightOnlyLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpConversionPattern<OpTy>::OpAdaptor;
  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildWeightOnly(rewriter, op.getLoc(), adaptor.getInput(),
                            adaptor.getWeight(), adaptor.getScales(),
                            adaptor.getOffsets(), op.getWeight().getType(),
                            op.getType()));
    return success();
  }
};

template <typename OpTy>
struct DynamicWeightOnlyLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  using OpAdaptor = typename OpConversionPattern<OpTy>::OpAdaptor;
  LogicalResult
  matchAndRewrite(OpTy op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, buildWeightOnly(rewriter, op.getLoc(), adaptor.getInput(),
                            adaptor.getWeight(), adaptor.getScales(),
                            adaptor.getOffsets(), op.getWeight().getType(),
                            op.getType(), adaptor.getWidth()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct ConvertMQToLinalgPass
    : matquant::impl::ConvertMQToLinalgPassBase<ConvertMQToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // The MMA-fragment layout is read by the GPU tensor-core kernels only;
    // its (un)packing folds on constants but has no reference lowering. A
    // constant already in that layout lowers to its bytes (the kernels'
    // launches read them).
    WalkResult mma = getOperation()->walk([&](Operation *op) {
      if (!isa<MQDialect>(op->getDialect()) || isa<ConstantOp>(op))
        return WalkResult::advance();
      for (Type t : llvm::concat<Type>(op->getOperandTypes(),
                                       op->getResultTypes()))
        if (auto w = dyn_cast<WeightType>(t))
          if (w.getLayout() && w.getLayout().getKind() == LayoutKind::mma) {
            op->emitOpError("the mma layout (GPU tensor-core kernels) has no "
                            "reference lowering; pack constants at compile "
                            "time or choose another layout");
            return WalkResult::interrupt();
          }
      return WalkResult::advance();
    });
    if (mma.wasInterrupted())
      return signalPassFailure();
    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    populateMQToLinalgTypeConversion(converter);

    ConversionTarget target(*ctx);
    target.addIllegalDialect<MQDialect>();
    // Kernel building blocks on vectors, lowered by matquant-lower-dot4.
    target.addLegalOp<Dot4Op, TransposeBitsOp>();
    target.addLegalDialect<linalg::LinalgDialect, math::MathDialect,
                           tensor::TensorDialect>();
    // Weights may flow through arith.select and scf control flow.
    target.addDynamicallyLegalDialect<arith::ArithDialect>(
        [&](Operation *op) { return converter.isLegal(op); });
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return converter.isSignatureLegal(op.getFunctionType()) &&
             converter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return converter.isLegal(op); });
    target.markUnknownOpDynamicallyLegal(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    populateMQToLinalgConversionPatterns(converter, patterns);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    scf::populateSCFStructuralTypeConversionsAndLegality(converter, patterns,
                                                         target);
    patterns.add<SelectLowering, StorageCastLowering>(converter, ctx);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void matquant::populateMQToLinalgTypeConversion(TypeConverter &converter) {
  converter.addConversion(
      [](WeightType t) -> Type { return t.getStorageTensorType(); });
}

void matquant::populateMQToLinalgConversionPatterns(
    const TypeConverter &converter, RewritePatternSet &patterns) {
  patterns
      .add<ConstantLowering, QuantizeLowering, SliceLowering,
           DequantizeLowering, PackLowering, UnpackLowering, PackScalesLowering,
           WeightOnlyLowering<MatmulOp>, WeightOnlyLowering<MatvecOp>,
           DynamicWeightOnlyLowering<MatmulDynamicOp>,
           DynamicWeightOnlyLowering<MatvecDynamicOp>>(converter,
                                                       patterns.getContext());
}
