//===- GemvKernel.cpp - Weight-only GEMV / GEMM kernels for the GPU ------===//
//
// Builds, from a GemvKernelSpec, a gpu.func in upstream dialects (gpu,
// arith, scf, vector, memref) that convert-gpu-to-nvvm and
// gpu-module-to-binary turn into PTX. The shape of the kernel:
//
// - a warp owns `rowsPerWarp` output rows; its 32 lanes stride over the
//   row's interleaved blocks of E elements (E = gpuInterleavedBlock), so a
//   warp's loads of one block index are consecutive 16-byte loads of
//   consecutive lanes (coalesced);
// - the main loop keeps `unroll` blocks per lane of all rows in flight:
//   each iteration issues the next iteration's loads (carried in
//   registers) before computing on the current ones;
// - each 32-bit word of a piece of width w holds 4 consecutive elements in
//   each of its 8 / w slots: one shift and one mask per piece extract the
//   4 indices into the bytes of a word (SWAR), one byte permutation per
//   element (PRMT) builds the float 2^23 + k and one subtraction of
//   2^23 + zc leaves k - zc exactly (zc = 2^(B-1)): no conversion
//   instruction;
// - the products with the activations accumulate per block
//   (P = sum x (k - zc), X = sum x); per block and row,
//   y += alpha' P + (m + alpha' zc) X with alpha' = alpha 2^(c-r): the
//   centred form of sum x (alpha' k + m), whose two terms do not cancel
//   for centred weights (prefix-exact slices add alpha' / 2 to m);
// - gpu.shuffle (xor) reduces the lanes' partial sums; lane 0 stores.
//
// Ragged K: the packed rows are padded to whole blocks with index 0; the
// last partial block reads its activations with masked loads. Ragged N:
// rows past N are read clamped to N - 1 and never stored.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/MQToGPU.h"

#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

#include <numeric>

using namespace mlir;
using namespace matquant;
using gpurt::GemvKernelSpec;

namespace {

struct Piece {
  unsigned width;    ///< w_p
  unsigned shift;    ///< s_p: bit position in the index
  int64_t offset;    ///< byte offset inside a block
  int64_t bytes;     ///< B_p = E * w_p / 8
  int64_t chunk;     ///< bytes per vector load: min(16, B_p)
  int64_t align;     ///< guaranteed alignment of each load
};

class GemvKernelBuilder : KernelIRBuilder {
public:
  GemvKernelBuilder(OpBuilder &b, Location loc, const GemvKernelSpec &spec)
      : KernelIRBuilder(b, loc), spec(spec) {
    f32 = b.getF32Type();
    i32 = b.getI32Type();
    act = spec.act == gpurt::ActType::F32   ? Type(f32)
          : spec.act == gpurt::ActType::F16 ? Type(b.getF16Type())
                                          : Type(b.getBF16Type());
    block = spec.block();
    unsigned indexBits = spec.indexBits();
    int64_t offset = 0;
    unsigned shift = indexBits;
    for (unsigned w : numerics::interleavedPieces(indexBits)) {
      shift -= w;
      Piece p;
      p.width = w;
      p.shift = shift;
      p.offset = offset;
      p.bytes = block * w / 8;
      p.chunk = std::min<int64_t>(16, p.bytes);
      offset += p.bytes;
      pieces.push_back(p);
    }
    blockBytes = offset;
    for (Piece &p : pieces) {
      int64_t g = std::gcd(std::gcd(blockBytes, p.offset == 0 ? 16 : p.offset),
                           p.chunk);
      p.align = std::min<int64_t>(16, g & -g);
    }
  }

  gpu::GPUFuncOp build(gpu::GPUModuleOp kernels);

private:

  /// The loaded words of one block of one row: words[piece][word].
  using BlockWords = SmallVector<SmallVector<Value>>;

  /// Issues the weight loads of block `kb` of every row.
  SmallVector<BlockWords> loadBlock(Value kb);
  /// Loads the scale (times 2^(c-r)) and offset of block `kb` of each row.
  void loadScales(Value kb, SmallVector<Value> &sc, SmallVector<Value> &of);
  /// Accumulates block `kb` into acc[b * RW + i]; `ragged` masks the
  /// activations at and past K.
  void accumulateBlock(Value kb, ArrayRef<BlockWords> words,
                       ArrayRef<Value> sc, ArrayRef<Value> of,
                       SmallVector<Value> &acc, bool ragged);
  /// One K loop over blocks [lo + lane, hi) with stride 32 * unroll,
  /// `unroll` blocks per iteration.
  SmallVector<Value> blockLoop(Value lo, Value hi, unsigned unroll,
                               ValueRange acc);

  const GemvKernelSpec &spec;
  Type f32, i32, act;
  int64_t block = 0, blockBytes = 0;
  SmallVector<Piece> pieces;

  // Kernel values.
  Value lane, rowBytes, groups, blocksPerGroup, tileStart;
  SmallVector<Value> rowsClamped, rowWeightBase;
  SmallVector<Value> channelScale, channelOffset; // per channel only
};

SmallVector<GemvKernelBuilder::BlockWords>
GemvKernelBuilder::loadBlock(Value kb) {
  SmallVector<BlockWords> all;
  Value blockBase = mul(kb, cI(blockBytes));
  for (unsigned i = 0; i < spec.rowsPerWarp; ++i) {
    BlockWords words;
    Value base = add(rowWeightBase[i], blockBase);
    for (const Piece &p : pieces) {
      SmallVector<Value> pw;
      for (int64_t c = 0; c < p.bytes / p.chunk; ++c)
        loadWords(add(base, cI(p.offset + c * p.chunk)), p.chunk, p.align, pw);
      words.push_back(pw);
    }
    all.push_back(words);
  }
  return all;
}

void GemvKernelBuilder::loadScales(Value kb, SmallVector<Value> &sc,
                                   SmallVector<Value> &of) {
  sc.clear();
  of.clear();
  if (spec.groupSize == 0) {
    sc = channelScale;
    of = channelOffset;
    return;
  }
  Value g = arith::DivUIOp::create(b, loc, kb, blocksPerGroup);
  for (unsigned i = 0; i < spec.rowsPerWarp; ++i) {
    Value at = add(mul(rowsClamped[i], groups), g);
    Value s = memref::LoadOp::create(b, loc, scales, ValueRange{ix(at)});
    sc.push_back(arith::MulFOp::create(
        b, loc, s, cF(float(1u << (spec.storageBits - spec.bits)))));
    of.push_back(memref::LoadOp::create(b, loc, offsets, ValueRange{ix(at)}));
  }
}

void GemvKernelBuilder::accumulateBlock(Value kb, ArrayRef<BlockWords> words,
                                        ArrayRef<Value> sc, ArrayRef<Value> of,
                                        SmallVector<Value> &acc, bool ragged) {
  unsigned rw = spec.rowsPerWarp, bt = spec.batchTile;
  auto x4Type = VectorType::get({4}, act);
  auto f4Type = VectorType::get({4}, f32);
  Value zero = cF(0.0f);
  SmallVector<Value> part(bt * rw, zero), xsum(bt, zero);
  SmallVector<Value> xRow(bt);
  for (unsigned bb = 0; bb < bt; ++bb) {
    // Batch rows past nb read row nb - 1 (in bounds) and are never stored.
    Value row = arith::MinUIOp::create(
        b, loc, add(tileStart, cI(bb)), arith::SubIOp::create(b, loc, nb, cI(1)));
    xRow[bb] = add(mul(row, ldx), mul(kb, cI(block)));
  }
  // Decoding: the 4 indices of a word (one byte each, in every piece) are
  // extracted at once (shift, mask, OR of the pieces: SWAR), then one byte
  // permutation per element (vector.shuffle of bytes: PRMT) builds the
  // bits 0x4B0000kk, the float 2^23 + k, and one subtraction of 2^23 + zc
  // leaves k - zc exactly: 1 + 1 + the multiply-add per element, no
  // int-to-float conversion. Indices are centred on zc = 2^(B-1): a block
  // sums P = sum x (k - zc) and X = sum x, and adds
  //   alpha' P + (m + alpha' zc) X     (alpha' = alpha * 2^(c-r)),
  // which is sum x (alpha' k + m) without the cancellation of two large
  // terms when the weights are centred.
  unsigned indexBits = spec.indexBits();
  float zc = float(1u << (indexBits - 1));
  Value bias = cF(8388608.0f + zc);
  auto bytes4 = VectorType::get({4}, b.getI8Type());
  auto word1 = VectorType::get({1}, i32);
  auto f1 = VectorType::get({1}, f32);
  Value magicHigh = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(
          bytes4, ArrayRef<Attribute>{b.getI8IntegerAttr(0),
                                      b.getI8IntegerAttr(0),
                                      b.getI8IntegerAttr(0),
                                      b.getI8IntegerAttr(0x4B)}));
  Value kbStart = mul(kb, cI(block));
  Value passThru = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(x4Type, b.getZeroAttr(act)));
  // Groups of 4 consecutive elements: in every piece they share one 32-bit
  // word (B_p is a multiple of 4), one byte each, at slot e / B_p.
  auto loadX = [&](unsigned bb, int64_t e0) -> Value {
    Value at = add(xRow[bb], cI(e0));
    if (!ragged)
      return vector::LoadOp::create(
          b, loc, x4Type, x, ValueRange{ix(at)}, /*nontemporal=*/false,
          llvm::MaybeAlign(4 * gpurt::actTypeBytes(spec.act)));
    // Elements left in the row from here, clamped to [0, 4].
    Value left = arith::SubIOp::create(b, loc, k, add(kbStart, cI(e0)));
    Value len = arith::MinSIOp::create(
        b, loc, arith::MaxSIOp::create(b, loc, left, cI(0)), cI(4));
    // lane < len, built with arith (vector.create_mask is not in the NVVM
    // lowering's patterns).
    auto idx4 = VectorType::get({4}, b.getI32Type());
    Value iota = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(idx4, ArrayRef<int32_t>{0, 1, 2, 3}));
    Value mask =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, iota,
                              vector::BroadcastOp::create(b, loc, idx4, len));
    return vector::MaskedLoadOp::create(b, loc, x4Type, x, ValueRange{ix(at)},
                                        mask, passThru);
  };
  for (int64_t e0 = 0; e0 < block; e0 += 4) {
    // The indices of elements e0 .. e0 + 3 of each row, as exact floats.
    SmallVector<SmallVector<Value, 4>> q(rw);
    for (unsigned i = 0; i < rw; ++i) {
      Value index;
      for (unsigned pi = 0; pi < pieces.size(); ++pi) {
        const Piece &p = pieces[pi];
        Value word = words[i][pi][(e0 % p.bytes) / 4];
        int64_t at = (e0 / p.bytes) * p.width; // bit of the piece in each byte
        Value v = word;
        if (at > p.shift)
          v = arith::ShRUIOp::create(b, loc, word, cI32(at - p.shift));
        else if (at < p.shift)
          v = arith::ShLIOp::create(b, loc, word, cI32(p.shift - at));
        uint32_t m = (((1u << p.width) - 1) << p.shift) * 0x01010101u;
        if (p.width < 8)
          v = arith::AndIOp::create(b, loc, v, cI32(int32_t(m)));
        index = index ? arith::OrIOp::create(b, loc, index, v) : v;
      }
      Value idxBytes = vector::BitCastOp::create(
          b, loc, bytes4,
          vector::FromElementsOp::create(b, loc, word1, ValueRange{index}));
      for (unsigned e = 0; e < 4; ++e) {
        // Bytes {k_e, 0, 0, 0x4B}: the float 2^23 + k_e.
        Value f = vector::ShuffleOp::create(
            b, loc, idxBytes, magicHigh,
            ArrayRef<int64_t>{int64_t(e), 4, 4, 7});
        f = vector::BitCastOp::create(b, loc, f1, f);
        f = vector::ExtractOp::create(b, loc, f, 0);
        q[i].push_back(arith::SubFOp::create(b, loc, f, bias));
      }
    }
    for (unsigned bb = 0; bb < bt; ++bb) {
      Value xv = loadX(bb, e0);
      if (act != f32)
        xv = arith::ExtFOp::create(b, loc, f4Type, xv);
      for (unsigned e = 0; e < 4; ++e) {
        Value xe = vector::ExtractOp::create(b, loc, xv, e);
        xsum[bb] = arith::AddFOp::create(b, loc, xsum[bb], xe);
        for (unsigned i = 0; i < rw; ++i)
          part[bb * rw + i] = fma(xe, q[i][e], part[bb * rw + i]);
      }
    }
  }
  // Prefix-exact slices sit half a step above the index: m' = m + alpha'/2
  // (numerics::sliceOffset).
  float mid = spec.mode == numerics::SliceMode::PrefixExact &&
                      spec.bits < spec.storageBits
                  ? 0.5f
                  : 0.0f;
  SmallVector<Value> centredOffset;
  for (unsigned i = 0; i < rw; ++i)
    centredOffset.push_back(fma(sc[i], cF(zc + mid), of[i]));
  for (unsigned bb = 0; bb < bt; ++bb)
    for (unsigned i = 0; i < rw; ++i) {
      Value &a = acc[bb * rw + i];
      a = fma(sc[i], part[bb * rw + i], a);
      a = fma(centredOffset[i], xsum[bb], a);
    }
}

SmallVector<Value> GemvKernelBuilder::blockLoop(Value lo, Value hi,
                                                unsigned unroll,
                                                ValueRange acc) {
  // Software pipelining in registers: an iteration issues the loads of the
  // next one (weights and group scales, carried by the loop) before it computes
  // on the ones the previous iteration loaded, so `unroll` blocks of every
  // row stay in flight however the backend schedules. Prefetch indices
  // past the last whole block are clamped to it (loaded, never used).
  Value step = cI(32 * unroll);
  Value lastBlock = arith::SubIOp::create(
      b, loc, arith::MaxUIOp::create(b, loc, hi, cI(1)), cI(1));
  auto fetch = [&](Value start, SmallVector<Value> &out) {
    for (unsigned u = 0; u < unroll; ++u) {
      Value kb = arith::MinUIOp::create(
          b, loc, add(add(start, lane), cI(32 * u)), lastBlock);
      for (const BlockWords &row : loadBlock(kb))
        for (const SmallVector<Value> &piece : row)
          out.append(piece.begin(), piece.end());
      // Per-channel scales are loop-invariant (loaded once before the
      // loop); only grouped scales travel with the weights.
      if (spec.groupSize != 0) {
        SmallVector<Value> sc, of;
        loadScales(kb, sc, of);
        out.append(sc.begin(), sc.end());
        out.append(of.begin(), of.end());
      }
    }
  };
  SmallVector<Value> init(acc.begin(), acc.end());
  size_t nAcc = init.size();
  fetch(lo, init);
  auto loop = scf::ForOp::create(
      b, loc, lo, hi, step, init,
      [&](OpBuilder &, Location, Value iv, ValueRange args) {
        SmallVector<Value> a(args.begin(), args.begin() + nAcc);
        SmallVector<Value> next;
        fetch(add(iv, step), next);
        // Unpack the carried loads of this iteration.
        size_t at = nAcc;
        for (unsigned u = 0; u < unroll; ++u) {
          SmallVector<BlockWords> words;
          for (unsigned i = 0; i < spec.rowsPerWarp; ++i) {
            BlockWords row;
            for (const Piece &p : pieces) {
              row.emplace_back(args.begin() + at,
                               args.begin() + at + p.bytes / 4);
              at += p.bytes / 4;
            }
            words.push_back(row);
          }
          SmallVector<Value> sc = channelScale, of = channelOffset;
          if (spec.groupSize != 0) {
            sc.assign(args.begin() + at, args.begin() + at + spec.rowsPerWarp);
            at += spec.rowsPerWarp;
            of.assign(args.begin() + at, args.begin() + at + spec.rowsPerWarp);
            at += spec.rowsPerWarp;
          }
          Value kb = add(add(iv, lane), cI(32 * u));
          accumulateBlock(kb, words, sc, of, a, /*ragged=*/false);
        }
        a.append(next.begin(), next.end());
        scf::YieldOp::create(b, loc, a);
      });
  return SmallVector<Value>(loop.getResults().begin(),
                            loop.getResults().begin() + nAcc);
}

gpu::GPUFuncOp GemvKernelBuilder::build(gpu::GPUModuleOp kernels) {
  OpBuilder::InsertionGuard guard(b);
  auto fn = createKernel(kernels, spec, act);
  Block &entry = fn.getBody().front();
  b.setInsertionPointToStart(&entry);
  bindArgs(fn);
  if (spec.dependentLaunch)
    waitForPrerequisiteGrids(b, loc);

  unsigned rw = spec.rowsPerWarp, bt = spec.batchTile;
  Value tid =
      fromIndex(mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x));
  Value bid =
      fromIndex(mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x));
  Value warp = arith::DivUIOp::create(b, loc, tid, cI(32));
  lane = arith::RemUIOp::create(b, loc, tid, cI(32));
  Value rowBase =
      mul(add(mul(bid, cI(spec.warpsPerBlock)), warp), cI(rw));
  Value nBlocks = arith::CeilDivUIOp::create(b, loc, k, cI(block));
  Value fullBlocks = arith::DivUIOp::create(b, loc, k, cI(block));
  rowBytes = mul(nBlocks, cI(blockBytes));
  if (spec.groupSize != 0) {
    groups = arith::DivUIOp::create(b, loc, k, cI(spec.groupSize));
    blocksPerGroup = cI(spec.groupSize / block);
  }
  Value lastRow = arith::SubIOp::create(b, loc, n, cI(1));
  for (unsigned i = 0; i < rw; ++i) {
    Value r = arith::MinUIOp::create(b, loc, add(rowBase, cI(i)), lastRow);
    rowsClamped.push_back(r);
    rowWeightBase.push_back(mul(r, rowBytes));
    if (spec.groupSize == 0) {
      Value s = memref::LoadOp::create(b, loc, scales, ValueRange{ix(r)});
      channelScale.push_back(arith::MulFOp::create(
          b, loc, s, cF(float(1u << (spec.storageBits - spec.bits)))));
      channelOffset.push_back(
          memref::LoadOp::create(b, loc, offsets, ValueRange{ix(r)}));
    }
  }

  // Batch rows in tiles of batchTile: every tile reads the warp's weight
  // rows again (from L1 / L2 after the first), decoding once per tile.
  auto tiles = scf::ForOp::create(b, loc, cI(0), nb, cI(bt));
  OpBuilder::InsertionGuard tileGuard(b);
  b.setInsertionPoint(tiles.getBody()->getTerminator());
  tileStart = tiles.getInductionVar();
  SmallVector<Value> acc(bt * rw, cF(0.0f));
  // Main loop: whole iterations of `unroll` blocks per lane.
  int64_t span = 32 * spec.unroll;
  Value mainEnd = mul(arith::DivUIOp::create(b, loc, fullBlocks, cI(span)),
                      cI(span));
  // The loop runs while iv + span <= mainEnd, i.e. iv < mainEnd.
  acc = blockLoop(cI(0), mainEnd, spec.unroll, acc);
  // Remaining whole blocks, one per lane per iteration.
  {
    auto loop = scf::ForOp::create(
        b, loc, add(mainEnd, lane), fullBlocks, cI(32), acc,
        [&](OpBuilder &, Location, Value kb, ValueRange args) {
          SmallVector<Value> a(args.begin(), args.end());
          SmallVector<BlockWords> words = loadBlock(kb);
          SmallVector<Value> sc, of;
          loadScales(kb, sc, of);
          accumulateBlock(kb, words, sc, of, a, /*ragged=*/false);
          scf::YieldOp::create(b, loc, a);
        });
    acc.assign(loop.getResults().begin(), loop.getResults().end());
  }
  // The partial last block (K % E != 0), on lane 0.
  {
    Value hasTail = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          fullBlocks, nBlocks);
    Value lane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        lane, cI(0));
    Value cond = arith::AndIOp::create(b, loc, hasTail, lane0);
    SmallVector<Type> types(acc.size(), f32);
    auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> a = acc;
      SmallVector<BlockWords> words = loadBlock(fullBlocks);
      SmallVector<Value> sc, of;
      loadScales(fullBlocks, sc, of);
      accumulateBlock(fullBlocks, words, sc, of, a, /*ragged=*/true);
      scf::YieldOp::create(b, loc, a);
      b.setInsertionPointToStart(ifOp.elseBlock());
      scf::YieldOp::create(b, loc, acc);
    }
    acc.assign(ifOp.getResults().begin(), ifOp.getResults().end());
  }
  // Butterfly reduction across the warp.
  for (Value &a : acc)
    for (int32_t off : {16, 8, 4, 2, 1})
      a = arith::AddFOp::create(
          b, loc, a,
          mlir::gpu::ShuffleOp::create(b, loc, a, off, 32,
                                       mlir::gpu::ShuffleMode::XOR)
              .getShuffleResult());
  // Lane 0 stores the rows and batch rows that exist.
  Value lane0 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, cI(0));
  auto store = scf::IfOp::create(b, loc, lane0, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(store.thenBlock());
    for (unsigned bb = 0; bb < bt; ++bb)
      for (unsigned i = 0; i < rw; ++i) {
        Value row = add(rowBase, cI(i));
        Value ok = arith::AndIOp::create(
            b, loc,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, n),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                  add(tileStart, cI(bb)), nb));
        auto guarded = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
        OpBuilder::InsertionGuard g2(b);
        b.setInsertionPointToStart(guarded.thenBlock());
        Value v = acc[bb * rw + i];
        if (act != f32 && !spec.outF32)
          v = arith::TruncFOp::create(b, loc, act, v);
        memref::StoreOp::create(b, loc, v, y,
                                ValueRange{ix(add(
                                    mul(add(tileStart, cI(bb)), n), row))});
      }
  }
  b.setInsertionPointToEnd(&entry);
  mlir::gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

void matquant::waitForPrerequisiteGrids(OpBuilder &b, Location loc) {
  NVVM::GriddepcontrolOp::create(b, loc, NVVM::GridDepActionKind::wait);
  NVVM::GriddepcontrolOp::create(b, loc,
                                 NVVM::GridDepActionKind::launch_dependents);
}

mlir::gpu::GPUModuleOp matquant::getOrCreateKernelModule(ModuleOp module,
                                                         StringRef name) {
  for (auto m : module.getOps<mlir::gpu::GPUModuleOp>())
    if (m.getName() == name)
      return m;
  OpBuilder b(module.getContext());
  b.setInsertionPointToEnd(module.getBody());
  module->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                  b.getUnitAttr());
  return mlir::gpu::GPUModuleOp::create(b, module.getLoc(), name);
}

mlir::gpu::GPUFuncOp
matquant::getOrBuildGemvKernel(mlir::gpu::GPUModuleOp kernels,
                               const GemvKernelSpec &spec) {
  std::string name = spec.name();
  if (auto fn = SymbolTable::lookupNearestSymbolFrom<mlir::gpu::GPUFuncOp>(
          kernels, StringAttr::get(kernels.getContext(), name)))
    return fn;
  if (spec.mma)
    return buildMmaGemvKernel(kernels, spec);
  OpBuilder b(kernels.getContext());
  GemvKernelBuilder builder(b, kernels.getLoc(), spec);
  return builder.build(kernels);
}
