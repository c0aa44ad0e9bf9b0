//===- MmaKernel.cpp - Tensor-core weight-only GEMV / GEMM kernels --------===//
//
// Builds, from a GemvKernelSpec with `mma` set, a gpu.func that multiplies
// with the tensor cores: nvgpu.mma.sync m16n8k16 (f16 operands, f32
// accumulation), the weights as the A operand (16 output rows by 16 k),
// the activations as B (16 k by 8 batch rows). The weights come in the
// MMA-fragment layout of numerics::packMma, so each lane's coalesced
// 16-byte load holds the A-fragment elements of several k-steps.
//
// - Decoding: per A register (two elements) and piece, one shift and one
//   mask put both indices at bits 0 and 16; an OR with 0x64006400 makes the
//   f16 pair 1024 + k, and one f16x2 subtraction of 1024 + zc leaves
//   k - zc exactly (zc = 2^(B-1)). So about 1.5 instructions per weight,
//   the products themselves exact in the tensor core.
// - The layout permutes k inside a column tile (numerics::packMma): lane
//   t of a quad covers 4 S consecutive columns, so its B fragments come
//   from one contiguous run of activations (one 16-byte load per two
//   k-steps) instead of two 4-byte loads per k-step.
// - A second mma with an all-ones A gives X = sum x per batch row in the
//   accumulator's own layout, so each group adds
//     alpha' D + (m + alpha' (zc + mid)) X,   D = sum x (k - zc),
//   with D and X restarted per group (f32 accumulation throughout).
// - A block's warps share its rows and split K (whole super-tiles of
//   `unroll` column tiles, interleaved); the main loop carries the next
//   super-tile's weights and group scales. LLVM's InstCombine folds the
//   carried weights (a phi of two loads) back into a load at the top of
//   the iteration, so in effect only the scales are a super-tile ahead;
//   guarding the loads so that the weights stay carried measured 3 - 20%
//   slower on an H200 (docs/GPU-results.md, session 22). The batch-1
//   kernels below 8 index bits load the scales in the iteration instead,
//   and tie them and the activation sums to the first mma (loadsAtTop), so
//   that an iteration's loads all start at its top and wait once. The
//   partial sums of the warps meet in shared memory.
// - Ragged N: row tiles past the packed ones are read clamped and never
//   stored. Ragged K (per channel): the last, partial column tile reads its
//   activations with masked loads (the packed padding is index 0).
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/MQToGPU.h"

#include "KernelBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace matquant;
using gpurt::GemvKernelSpec;

namespace {

struct MmaPiece {
  unsigned width;   ///< w_p
  unsigned shift;   ///< s_p
  int64_t offset;   ///< byte offset of the piece inside a tile
  int64_t laneBytes; ///< S * w_p
  int64_t chunk;    ///< bytes per load: min(16, laneBytes)
};

class MmaKernelBuilder : KernelIRBuilder {
public:
  MmaKernelBuilder(OpBuilder &b, Location loc, const GemvKernelSpec &spec)
      : KernelIRBuilder(b, loc), spec(spec) {
    f32 = b.getF32Type();
    f16 = b.getF16Type();
    i32 = b.getI32Type();
    kTile = spec.kTile();
    steps = kTile / 16;
    bits = spec.indexBits();
    // Static kernels read the pieces of the B-bit index; plane kernels the
    // first planes of the stored c-bit model (tiles of c planes).
    unsigned read = spec.planes ? spec.planesRead() : bits;
    std::vector<unsigned> widths =
        spec.planes ? std::vector<unsigned>(read, 1u)
                    : numerics::interleavedPieces(bits);
    tileBytes = 2 * kTile * (spec.planes ? spec.storageBits : bits);
    rounds = spec.planes && read > spec.bits;
    satClamp = rounds && spec.mode == numerics::SliceMode::Clamped;
    unsigned shift = read;
    int64_t offset = 0;
    for (unsigned w : widths) {
      shift -= w;
      MmaPiece p{w, shift, offset, steps * w,
                 std::min<int64_t>(16, steps * w)};
      offset += 32 * p.laneBytes;
      pieces.push_back(p);
    }
    mt = spec.rowsPerWarp / 16;
    single = spec.batchTile == 1;
    nt = single ? 1 : spec.batchTile / 8;
    perGroup = spec.groupSize ? spec.groupSize / kTile : 0;
    scalesTwoAhead = perGroup && bits == 8 && !spec.planes && nt == 1;
    loadsAtTop = single && perGroup && bits < 8 && !spec.planes &&
                 !spec.dependentLaunch && !spec.stages && !spec.prefetch &&
                 !spec.earlyPrefetch;
    if (spec.planes)
      planPlanes(read);
  }

  gpu::GPUFuncOp build(gpu::GPUModuleOp kernels);

private:

  /// The lane's words of column tile `kt` of row tile i: [piece][word].
  using TileWords = SmallVector<SmallVector<Value>>;
  TileWords loadTile(unsigned i, Value kt);
  /// alpha' and m' (offset + alpha' (zc + mid)) of rows g and g + 8 of row
  /// tile i for group `grp`: {aLo, aHi, oLo, oHi}.
  SmallVector<Value> loadScales(unsigned i, Value grp);
  /// The lane's activations of column tile kt for batch tile n, in
  /// loads of up to 8 elements.
  SmallVector<Value> loadX(unsigned n, Value kt, bool ragged);
  /// An n-lane mask of the lanes e < left (left: i32).
  Value lanesBelow(int64_t n, Value left);
  /// Those as B fragments: [step] -> vector<2x2xf16>.
  SmallVector<Value> xFragments(ArrayRef<Value> chunks);
  int64_t xChunk() const { return std::min<int64_t>(8, 4 * steps); }
  /// The A fragment of k-step s of a tile.
  Value decode(const TileWords &words, int64_t s);
  /// decode() of plane kernels.
  Value decodePlanes(const TileWords &words, int64_t s);
  /// The f16 pair of a register whose two fields (with the 0x6400 exponent
  /// bits ORed in) hold index values v at bit `pos` of each half: v - zc.
  Value halvesAt(Value reg, int64_t pos);
  /// Byte permute of 8-bit indices: bytes j and 2 + j of `word` under the
  /// exponent bytes of 0x64006400 (j = 0 or 1).
  Value bytePair(Value word, int64_t j);
  /// An i32 register as an f16 pair, and an f16 pair constant.
  Value asHalves(Value reg);
  Value splatF16(float v);
  /// Plans decodePlanes(): the classes of pairs and each pair's rotation.
  void planPlanes(unsigned read);
  /// Runs the mma of column tile kt (weights words[i]) into d[i * nt + n]
  /// and, unless `single`, ones[n].
  void tileMma(ArrayRef<TileWords> words, Value kt, bool ragged,
               SmallVector<Value> &d, SmallVector<Value> &ones);
  /// acc[(i * nt + n) * 4 + c] += alpha' d + m' ones. In `single` kernels
  /// acc[2 i + hi] += alpha' / 4 d + m' (ones[0] + ones[1]) for rows g
  /// and g + 8: a quarter of alpha' D and the lane's part of X, which the
  /// quad adds up at the end.
  void epilogue(ArrayRef<SmallVector<Value>> sc, ArrayRef<Value> d,
                ArrayRef<Value> ones, SmallVector<Value> &acc);
  /// A single kernel's lane part of X from the accumulator of singleSums.
  Value singlePart(Value ones);
  /// Processes `count` consecutive column tiles from kt0 whose weights
  /// (words[t][i]) and group scales (per group of the run) are loaded.
  /// What a run of tiles from kt0 computes on; the activations are
  /// loaded where they are used (carrying them too measured slower).
  struct Loaded {
    Value kt0;
    bool ragged = false;
    SmallVector<SmallVector<TileWords>> words;       ///< [tile][row tile]
    SmallVector<SmallVector<SmallVector<Value>>> sc; ///< [group][row tile]
  };
  void run(int64_t count, const Loaded &in, SmallVector<Value> &state);
  /// Activation sums of `len` elements from kStart in `single` kernels:
  /// column j of the B operand holds elements 16 j .. 16 j + 15 (lane
  /// (g, t) the four from 16 g + 4 t), so one all-ones mma sums 128
  /// elements, column by column: ones += that, per 128.
  void singleSums(Value kStart, int64_t len, bool ragged, Value &ones);
  /// Loads the weights and group scales of `count` tiles from kt0,
  /// flattened (the loop carries them).
  void fetch(Value kt0, int64_t count, SmallVector<Value> &out);
  /// The weights alone of those tiles (what fetch() appends first).
  void fetchWeights(Value kt0, int64_t count, SmallVector<Value> &out);
  /// The group scales alone of those tiles (what fetch() appends last).
  void fetchScales(Value kt0, int64_t count, SmallVector<Value> &out);
  /// Stages kernels: starts the copies of the weights of `unroll` tiles
  /// from kt0 into ring stage `stage` (cp.async, 16 bytes or less per lane
  /// and piece) as one group; returns its token.
  Value fetchAsync(Value kt0, Value stage);
  /// The words of ring stage `stage`, in fetch()'s order.
  void readStage(Value stage, SmallVector<Value> &out);
  /// Calls f for each 32-lane chunk of a stage with the lane's byte
  /// offset in the ring.
  void forEachStageChunk(
      Value stage,
      function_ref<void(int64_t u, unsigned i, const MmaPiece &p, int64_t c,
                        Value dst)>
          f);
  /// Asks the L2 cache for super-tile `st` of this warp's rows (a line per
  /// lane) when st < `superTiles`.
  void prefetchSuper(Value st, Value superTiles);
  /// Splits what fetch() returned.
  Loaded unflatten(ValueRange vals, int64_t count, Value kt0, bool ragged);

  const GemvKernelSpec &spec;
  Type f32, f16, i32;
  int64_t kTile = 0, steps = 0, tileBytes = 0, perGroup = 0;
  unsigned bits = 0, mt = 1, nt = 1;
  /// Batch tile 1: one batch row per pass (all B columns hold it), and the
  /// activation sums taken 8 k-steps per mma (singleSums) instead of one
  /// all-ones mma per k-step.
  bool single = false;
  /// Where the main loop (weights in registers) loads the group scales;
  /// by default with the weights, one super-tile ahead. scalesTwoAhead:
  /// 8-bit static kernels at batch tiles 1 and 8 load them two super-tiles
  /// ahead (on an H200, batch 1, [N, groups] scales: 4 - 8% faster at
  /// 8192 x 8192, 14336 x 4096 and 4096 x 14336; narrower indices spilled
  /// with it and ran slower).
  bool scalesTwoAhead = false;
  /// Batch-1 kernels in groups below 8 index bits, with the weights in
  /// registers and without dependent launch or prefetches (what was
  /// measured faster): an iteration loads its own scales, and run() ties
  /// them and the activation sums to the first mma, so that all of its
  /// loads are issued at its top.
  bool loadsAtTop = false;
  bool rounds = false; ///< plane kernel reading r + 1 planes
  /// Clamped rounding slices of a plane kernel: the A operand is
  /// t = (K - k) / S (K = 2^r - 1, S = 2^r) from one saturating f16x2 fma,
  /// whose clamp at 0 is the slice's clamp at K; the epilogue takes
  /// -S alpha' and m + alpha' (K + mid) instead of alpha' and m'.
  bool satClamp = false;
  SmallVector<MmaPiece> pieces;
  /// Plane kernels (R planes, the rotated layout of
  /// numerics::packMmaPlanes): the pair at position j of a word has its
  /// R-bit fields at bits [j - R + 1, j] and 16 above (mod 32); planePairs
  /// is indexed by j. The 16 pairs fall into classes whose fields do not
  /// overlap (cyclic distance >= R); one merged word per class and word
  /// takes R - 1 masked selects (one LOP3 each), then a pair needs a
  /// rotation (shared in its class where the fields fit one window), a mask
  /// and an f16x2 fma, as a static index.
  struct PlanePair {
    unsigned cls = 0; ///< its class
    unsigned rot = 0; ///< right rotation of the merged word (0..31)
    int64_t pos = 0;  ///< its field's bit after the rotation
  };
  SmallVector<SmallVector<int64_t>> planeClasses;
  SmallVector<PlanePair> planePairs;
  /// Merged and rotated words of the tile being decoded, by (plane-0 word,
  /// class or 16 + 32 class + rotation); tileMma() clears it.
  llvm::DenseMap<std::pair<Value, int64_t>, Value> planeCache;

  Value lane, g, t, groups, rowTileBytes, tileStart;
  SmallVector<Value> rowTileBase; ///< byte offset of each row tile
  SmallVector<Value> rowTile;     ///< each row tile's index, clamped
  SmallVector<Value> rowLo, rowHi; ///< clamped rows g and g + 8
  SmallVector<SmallVector<Value>> channelScales;
  Value zeroAcc, onesA;
  Value magic; ///< 0x64006400 in a register
  Value weightsAddress; ///< the packed weights' address, i64
  Value ring;           ///< stages kernels: the shared-memory ring (i8)
  Value ringWarp;       ///< byte offset of this warp's stages in it
  int64_t stageBytes = 0; ///< one warp's stage: a super-tile, 32 lanes
};

MmaKernelBuilder::TileWords MmaKernelBuilder::loadTile(unsigned i, Value kt) {
  TileWords words;
  Value base = add(rowTileBase[i], mul(kt, cI(tileBytes)));
  for (const MmaPiece &p : pieces) {
    SmallVector<Value> pw;
    for (int64_t c = 0; c < p.laneBytes / p.chunk; ++c)
      loadWords(add(add(base, cI(p.offset + c * 32 * p.chunk)),
                    mul(lane, cI(p.chunk))),
                p.chunk, p.chunk, pw);
    words.push_back(pw);
  }
  return words;
}

SmallVector<Value> MmaKernelBuilder::loadScales(unsigned i, Value grp) {
  // Single kernels: every lane of a quad holds alpha' D, and the quad's
  // lanes are summed at the end, so they take alpha' / 4 (exact).
  float quarter = single ? 0.25f : 1.0f;
  Value scale = cF(quarter * float(1u << (spec.storageBits - spec.bits)));
  float mid = spec.mode == numerics::SliceMode::PrefixExact &&
                      spec.bits < spec.storageBits
                  ? 0.5f
                  : 0.0f;
  float level = satClamp ? float((1u << spec.bits) - 1u)
                         : float(1u << (bits - 1));
  Value centre = cF((level + mid) / quarter);
  // The raw alpha and m of rows g and g + 8.
  SmallVector<Value> alpha, offset;
  if (spec.packedScales) {
    // numerics::packMmaScales: the two rows' values adjacent, one 8-byte
    // load each (the quad's lanes load the same address; a warp's eight
    // addresses are 64 contiguous bytes).
    Value tileGroup = grp ? add(mul(rowTile[i], groups), grp) : rowTile[i];
    Value at = mul(add(mul(tileGroup, cI(8)), g), cI(2));
    auto pair = VectorType::get({2}, f32);
    auto loadPair = [&](Value src, SmallVector<Value> &dst) {
      Value v =
          vector::LoadOp::create(b, loc, pair, src, ValueRange{ix(at)},
                                 /*nontemporal=*/false, llvm::MaybeAlign(8));
      for (int64_t h = 0; h < 2; ++h)
        dst.push_back(vector::ExtractOp::create(b, loc, v, h));
    };
    loadPair(scales, alpha);
    loadPair(offsets, offset);
  } else {
    for (Value row : {rowLo[i], rowHi[i]}) {
      Value at = grp ? add(mul(row, groups), grp) : row;
      alpha.push_back(
          memref::LoadOp::create(b, loc, scales, ValueRange{ix(at)}));
      offset.push_back(
          memref::LoadOp::create(b, loc, offsets, ValueRange{ix(at)}));
    }
  }
  SmallVector<Value> a, o;
  for (int64_t h = 0; h < 2; ++h) {
    Value s = arith::MulFOp::create(b, loc, alpha[h], scale);
    Value m = offset[h];
    a.push_back(satClamp ? arith::MulFOp::create(
                               b, loc, s, cF(-float(1u << spec.bits)))
                         : s);
    o.push_back(fma(s, centre, m));
  }
  return {a[0], a[1], o[0], o[1]};
}

SmallVector<Value> MmaKernelBuilder::loadX(unsigned bn, Value kt, bool ragged) {
  // Lane (g, t) reads batch row tileStart + 8 bn + g (clamped to nb - 1:
  // columns past nb are computed but never stored), activations
  // [kt kTile + 4 S t, + 4 S): k-step s takes elements 4 s .. 4 s + 3.
  Value row = single ? tileStart
                     : arith::MinUIOp::create(
                           b, loc, add(add(tileStart, cI(8 * bn)), g),
                           arith::SubIOp::create(b, loc, nb, cI(1)));
  Value col = add(mul(kt, cI(kTile)), mul(t, cI(4 * steps)));
  Value base = add(mul(row, ldx), col);
  int64_t chunk = xChunk(); // f16 elements per load
  auto xType = VectorType::get({chunk}, f16);
  SmallVector<Value> elems;
  for (int64_t c = 0; c < 4 * steps; c += chunk) {
    Value at = add(base, cI(c));
    Value v;
    if (!ragged) {
      v = vector::LoadOp::create(b, loc, xType, x, ValueRange{ix(at)},
                                 /*nontemporal=*/false,
                                 llvm::MaybeAlign(2 * chunk));
    } else {
      // Elements at and past K read as zero.
      Value mask = lanesBelow(
          chunk, arith::SubIOp::create(b, loc, k, add(col, cI(c))));
      Value pass = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(xType, b.getZeroAttr(f16)));
      v = vector::MaskedLoadOp::create(b, loc, xType, x, ValueRange{ix(at)},
                                       mask, pass);
    }
    elems.push_back(v);
  }
  return elems;
}

Value MmaKernelBuilder::lanesBelow(int64_t n, Value left) {
  auto idxType = VectorType::get({n}, i32);
  SmallVector<Attribute> iota;
  for (int64_t e = 0; e < n; ++e)
    iota.push_back(b.getI32IntegerAttr(int32_t(e)));
  return arith::CmpIOp::create(
      b, loc, arith::CmpIPredicate::slt,
      arith::ConstantOp::create(b, loc, DenseElementsAttr::get(idxType, iota)),
      vector::BroadcastOp::create(b, loc, idxType, left));
}

SmallVector<Value> MmaKernelBuilder::xFragments(ArrayRef<Value> elems) {
  int64_t chunk = xChunk();
  SmallVector<Value> frags;
  auto bType = VectorType::get({2, 2}, f16);
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(bType, b.getZeroAttr(f16)));
  for (int64_t s = 0; s < steps; ++s) {
    Value src = elems[(4 * s) / chunk];
    int64_t at = (4 * s) % chunk;
    Value frag = zero;
    for (int64_t r = 0; r < 2; ++r) {
      Value pair = vector::ShuffleOp::create(
          b, loc, src, src, ArrayRef<int64_t>{at + 2 * r, at + 2 * r + 1});
      frag = vector::InsertOp::create(b, loc, pair, frag, r);
    }
    frags.push_back(frag);
  }
  return frags;
}

Value MmaKernelBuilder::decode(const TileWords &words, int64_t s) {
  if (!planePairs.empty())
    return decodePlanes(words, s);
  Value a = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({4, 2}, f16), b.getZeroAttr(f16)));
  // One-piece indices (1, 2, 4, 8 bits): a field at bit p < 10 - w + 1 of
  // a half is decoded in place: the mask leaves 2^p k under the exponent
  // bits of 0x6400, the f16 pair is 1024 + 2^p k, and one f16x2 fma by
  // 2^-p with -(1024 2^-p + zc) gives k - zc exactly. So only the fields
  // from bit s0 = w floor(10 / w) on need a shift (one per word) instead of
  // one shift per register.
  if (pieces.size() == 1 && pieces[0].width == 8) {
    // 8-bit indices: one byte permute per register, then minus 1024 + zc.
    for (int64_t r = 0; r < 4; ++r) {
      int64_t pair = 4 * s + r;
      a = vector::InsertOp::create(
          b, loc, halvesAt(bytePair(words[0][pair / 2], pair % 2), 0), a, r);
    }
    return a;
  }
  if (pieces.size() == 1) {
    const MmaPiece &p = pieces[0];
    unsigned w = p.width;
    int64_t perWord = 16 / w, s0 = int64_t(w) * (10 / w);
    llvm::DenseMap<Value, Value> shifted;
    for (int64_t r = 0; r < 4; ++r) {
      int64_t pair = 4 * s + r;
      Value word = words[0][pair / perWord];
      int64_t at = (pair % perWord) * w, pos = at;
      Value src = word;
      if (at >= s0) {
        Value &sh = shifted[word];
        if (!sh)
          sh = arith::ShRUIOp::create(b, loc, word, cI32(s0));
        src = sh;
        pos = at - s0;
      }
      uint32_t m = (((1u << w) - 1u) << pos) * 0x00010001u;
      Value reg = arith::AndIOp::create(b, loc, src, cI32(int32_t(m)));
      reg = arith::OrIOp::create(b, loc, reg, magic);
      a = vector::InsertOp::create(b, loc, halvesAt(reg, pos), a, r);
    }
    return a;
  }
  for (int64_t r = 0; r < 4; ++r) {
    int64_t pair = 4 * s + r;
    Value reg;
    for (unsigned pi = 0; pi < pieces.size(); ++pi) {
      const MmaPiece &p = pieces[pi];
      int64_t perWord = 16 / p.width;
      Value word = words[pi][pair / perWord];
      int64_t at = (pair % perWord) * p.width;
      Value v = word;
      if (at > int64_t(p.shift))
        v = arith::ShRUIOp::create(b, loc, word, cI32(at - p.shift));
      else if (at < int64_t(p.shift))
        v = arith::ShLIOp::create(b, loc, word, cI32(p.shift - at));
      uint32_t m = (((1u << p.width) - 1u) << p.shift) * 0x00010001u;
      v = arith::AndIOp::create(b, loc, v, cI32(int32_t(m)));
      reg = reg ? arith::OrIOp::create(b, loc, reg, v) : v;
    }
    reg = arith::OrIOp::create(b, loc, reg, magic);
    a = vector::InsertOp::create(b, loc, halvesAt(reg, 0), a, r);
  }
  return a;
}

Value MmaKernelBuilder::bytePair(Value word, int64_t j) {
  // Bytes j and 2 + j of the word under the 0x64 bytes of 0x64006400 (its
  // bytes 5 and 7): the f16 pair 1024 + k.
  int32_t selector = int32_t(j | (5 << 4) | ((2 + j) << 8) | (7 << 12));
  return NVVM::PermuteOp::create(b, loc, i32, word, magic, cI32(selector),
                                 NVVM::PermuteMode::DEFAULT);
}

Value MmaKernelBuilder::asHalves(Value reg) {
  return vector::BitCastOp::create(
      b, loc, VectorType::get({2}, f16),
      vector::FromElementsOp::create(b, loc, VectorType::get({1}, i32),
                                     ValueRange{reg}));
}

Value MmaKernelBuilder::splatF16(float v) {
  return arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({2}, f16), b.getF16FloatAttr(v)));
}

Value MmaKernelBuilder::halvesAt(Value reg, int64_t pos) {
  float zc = float(1u << (bits - 1));
  Value half2 = asHalves(reg);
  // The pair is 1024 + 2^pos v (exact below 2048); one f16x2 fma by 2^-pos
  // with -(1024 2^-pos + zc) leaves v - zc exactly.
  if (pos == 0)
    return arith::SubFOp::create(b, loc, half2, splatF16(1024.0f + zc));
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(),
                                                arith::FastMathFlags::contract);
  float scale = 1.0f / float(1u << pos);
  half2 = arith::MulFOp::create(b, loc, half2, splatF16(scale), contract);
  return arith::AddFOp::create(b, loc, half2,
                               splatF16(-(1024.0f * scale + zc)), contract);
}

void MmaKernelBuilder::planPlanes(unsigned read) {
  const int64_t R = read;
  auto cyclic = [](int64_t a, int64_t c) {
    int64_t d = std::abs(a - c);
    return std::min(d, 16 - d);
  };
  // Greedy classes over the positions in a given order.
  auto classify = [&](function_ref<int64_t(int64_t)> order) {
    SmallVector<SmallVector<int64_t>> classes;
    for (int64_t i = 0; i < 16; ++i) {
      int64_t j = order(i);
      auto it = llvm::find_if(classes, [&](const SmallVector<int64_t> &c) {
        return llvm::all_of(c, [&](int64_t m) { return cyclic(j, m) >= R; });
      });
      if (it == classes.end())
        classes.push_back({j});
      else
        it->push_back(j);
    }
    for (SmallVector<int64_t> &c : classes)
      llvm::sort(c);
    return classes;
  };
  // In the order the k-steps use the pairs, a class tends to serve one
  // k-step and few merged words are live at once (R <= 4: a class per
  // k-step); in the order of the positions, the classes are fewer where
  // 16 / R is not a power of two (R = 5: 6 classes instead of 8, each
  // R - 1 selects). The fewer, then the k-step order.
  auto byUse =
      classify([](int64_t i) { return numerics::mmaPlanePosition(i); });
  auto byPosition = classify([](int64_t i) { return i; });
  planeClasses = byPosition.size() < byUse.size() ? byPosition : byUse;
  planePairs.assign(16, PlanePair());
  for (unsigned c = 0; c < planeClasses.size(); ++c)
    for (int64_t j : planeClasses[c])
      planePairs[j].cls = c;
  // The decodable window of a field's bit: pos + R <= 10 (the f16 pair
  // 1024 + 2^pos v), one bit less with the rounding's carry.
  const int64_t window = (rounds ? 9 : 10) - R;
  auto mod32 = [](int64_t v) { return unsigned(((v % 32) + 32) % 32); };
  for (const SmallVector<int64_t> &cls : planeClasses) {
    if (R == 8 && !rounds) {
      // Classes {c, c + 8}: one rotation by c - 7 puts the four bytes in
      // place for a byte permute each.
      for (int64_t m : cls)
        planePairs[m] = {planePairs[m].cls, mod32(cls[0] - 7), m - cls[0]};
      continue;
    }
    SmallVector<bool> done(cls.size(), false);
    for (size_t i = 0; i < cls.size(); ++i) {
      if (done[i])
        continue;
      int64_t f = cls[i] - R + 1;
      int64_t shift = f >= 0 && f <= window ? 0 : f;
      for (size_t k = i; k < cls.size(); ++k) {
        int64_t at = cls[k] - R + 1 - shift;
        if (done[k] || at < 0 || at > window)
          continue;
        done[k] = true;
        planePairs[cls[k]].rot = mod32(shift);
        planePairs[cls[k]].pos = at;
      }
    }
  }
}

Value MmaKernelBuilder::decodePlanes(const TileWords &words, int64_t s) {
  const int64_t R = pieces.size();
  Value a = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({4, 2}, f16), b.getZeroAttr(f16)));
  for (int64_t r = 0; r < 4; ++r) {
    int64_t pair = 4 * s + r, w = pair / 16;
    const PlanePair &pp = planePairs[numerics::mmaPlanePosition(pair % 16)];
    Value key = words[0][w];
    Value merged = planeCache.lookup({key, pp.cls});
    if (!merged) {
      // Take every field bit of the class from its plane: plane p holds
      // the field bit of pair m at (m - p) and (16 + m - p) mod 32.
      merged = key;
      for (int64_t p = 1; p < R; ++p) {
        uint32_t mask = 0;
        for (int64_t m : planeClasses[pp.cls])
          for (int64_t h = 0; h < 2; ++h)
            mask |= 1u << ((16 * h + m - p + 32) % 32);
        Value keep =
            arith::AndIOp::create(b, loc, merged, cI32(int32_t(~mask)));
        Value take =
            arith::AndIOp::create(b, loc, words[p][w], cI32(int32_t(mask)));
        merged = arith::OrIOp::create(b, loc, keep, take);
      }
      planeCache[{key, pp.cls}] = merged;
    }
    Value src = merged;
    if (pp.rot) {
      int64_t code = 16 + 32 * int64_t(pp.cls) + pp.rot;
      src = planeCache.lookup({key, code});
      if (!src) {
        src = LLVM::FshrOp::create(b, loc, merged, merged, cI32(pp.rot));
        planeCache[{key, code}] = src;
      }
    }
    Value half2;
    if (R == 8 && !rounds) {
      half2 = halvesAt(bytePair(src, pp.pos / 8), 0);
    } else {
      uint32_t field = ((1u << R) - 1u) << pp.pos;
      Value reg =
          arith::AndIOp::create(b, loc, src, cI32(int32_t(field * 0x10001u)));
      int64_t pos = pp.pos;
      if (rounds) {
        // The r-bit slice of the r + 1 top bits v: (v + 1) >> 1, the
        // paper's rounding, kept at bit pos + 1 (the low bit cleared).
        reg = arith::AddIOp::create(b, loc, reg,
                                    cI32(int32_t(0x00010001u << pos)));
        uint32_t top = ((1u << R) - 1u) << (pos + 1);
        reg = arith::AndIOp::create(b, loc, reg, cI32(int32_t(top * 0x10001u)));
        ++pos;
      }
      reg = arith::OrIOp::create(b, loc, reg, magic);
      if (satClamp) {
        // The pair is 1024 + 2^pos k (k <= 2^r); one fma.rn.sat.f16x2 by
        // -2^-pos / S with (K + 1024 2^-pos) / S gives (K - k) / S exactly
        // (multiples of 1 / S), and its clamp to [0, 1] turns k = 2^r into
        // K: the slice's clamp for free.
        float S = float(1u << spec.bits), K = S - 1.0f;
        float step = 1.0f / float(1u << pos);
        half2 = LLVM::CallIntrinsicOp::create(
                    b, loc, VectorType::get({2}, f16),
                    b.getStringAttr("llvm.nvvm.fma.rn.sat.f16x2"),
                    ValueRange{asHalves(reg), splatF16(-step / S),
                               splatF16((K + 1024.0f * step) / S)})
                    .getResult(0);
      } else {
        half2 = halvesAt(reg, pos);
      }
    }
    a = vector::InsertOp::create(b, loc, half2, a, r);
  }
  return a;
}

void MmaKernelBuilder::tileMma(ArrayRef<TileWords> words, Value kt,
                               bool ragged, SmallVector<Value> &d,
                               SmallVector<Value> &ones) {
  SmallVector<SmallVector<Value>> xf;
  for (unsigned bn = 0; bn < nt; ++bn)
    xf.push_back(xFragments(loadX(bn, kt, ragged)));
  planeCache.clear();
  for (int64_t s = 0; s < steps; ++s) {
    for (unsigned i = 0; i < mt; ++i) {
      Value a = decode(words[i], s);
      for (unsigned bn = 0; bn < nt; ++bn)
        d[i * nt + bn] = nvgpu::MmaSyncOp::create(
            b, loc, a, xf[bn][s], d[i * nt + bn], ArrayRef<int64_t>{16, 8, 16});
    }
    if (!single)
      for (unsigned bn = 0; bn < nt; ++bn)
        ones[bn] = nvgpu::MmaSyncOp::create(b, loc, onesA, xf[bn][s],
                                            ones[bn],
                                            ArrayRef<int64_t>{16, 8, 16});
  }
}

Value MmaKernelBuilder::singlePart(Value ones) {
  return arith::AddFOp::create(
      b, loc, vector::ExtractOp::create(b, loc, ones, ArrayRef<int64_t>{0, 0}),
      vector::ExtractOp::create(b, loc, ones, ArrayRef<int64_t>{0, 1}));
}

void MmaKernelBuilder::singleSums(Value kStart, int64_t len, bool ragged,
                                  Value &ones) {
  auto quad = VectorType::get({4}, f16);
  auto bType = VectorType::get({2, 2}, f16);
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(quad, b.getZeroAttr(f16)));
  Value rowBase = mul(tileStart, ldx);
  for (int64_t m = 0; m < len; m += 128) {
    // Lane (g, t): elements m + 16 g + 4 t .. + 3 of the run.
    Value at = add(add(kStart, cI(m)), add(mul(g, cI(16)), mul(t, cI(4))));
    int64_t columns = std::min<int64_t>(8, (len - m) / 16);
    Value v;
    if (ragged) {
      // Elements at and past K (and columns past the run) read as zero.
      Value limit = arith::MinSIOp::create(b, loc, k,
                                           add(kStart, cI(m + 16 * columns)));
      Value mask =
          lanesBelow(4, arith::SubIOp::create(b, loc, limit, at));
      v = vector::MaskedLoadOp::create(b, loc, quad, x,
                                       ValueRange{ix(add(rowBase, at))}, mask,
                                       zero);
    } else {
      Value inRun;
      if (columns < 8) {
        // Columns past the run: a clamped load, then zeros.
        inRun = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, g,
                                      cI(columns));
        at = arith::SelectOp::create(b, loc, inRun, at, kStart);
      }
      v = vector::LoadOp::create(b, loc, quad, x,
                                 ValueRange{ix(add(rowBase, at))},
                                 /*nontemporal=*/false, llvm::MaybeAlign(8));
      if (inRun)
        v = arith::SelectOp::create(b, loc, inRun, v, zero);
    }
    // As two 32-bit words: row r of the fragment is word r (rows of the
    // plain 4-vector would fold into a vector.shape_cast, which the NVVM
    // lowering does not take).
    Value words = vector::BitCastOp::create(
        b, loc, VectorType::get({2}, i32), v);
    Value frag = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(bType, b.getZeroAttr(f16)));
    for (int64_t r = 0; r < 2; ++r) {
      Value word = vector::FromElementsOp::create(
          b, loc, VectorType::get({1}, i32),
          ValueRange{vector::ExtractOp::create(b, loc, words, r)});
      frag = vector::InsertOp::create(
          b, loc,
          vector::BitCastOp::create(b, loc, VectorType::get({2}, f16), word),
          frag, r);
    }
    ones = nvgpu::MmaSyncOp::create(b, loc, onesA, frag, ones,
                                    ArrayRef<int64_t>{16, 8, 16});
  }
}

void MmaKernelBuilder::epilogue(ArrayRef<SmallVector<Value>> sc,
                                ArrayRef<Value> d, ArrayRef<Value> ones,
                                SmallVector<Value> &acc) {
  if (single) {
    // ones: the lane's part of X, a scalar (per channel) or singleSums'
    // accumulator (per group).
    Value xs = isa<VectorType>(ones[0].getType()) ? singlePart(ones[0])
                                                  : ones[0];
    for (unsigned i = 0; i < mt; ++i)
      for (int64_t hi = 0; hi < 2; ++hi) {
        Value dv = vector::ExtractOp::create(b, loc, d[i],
                                             ArrayRef<int64_t>{hi, 0});
        Value &a = acc[2 * i + hi];
        a = fma(sc[i][hi], dv, a);
        a = fma(sc[i][2 + hi], xs, a);
      }
    return;
  }
  for (unsigned i = 0; i < mt; ++i)
    for (unsigned bn = 0; bn < nt; ++bn)
      for (int64_t c = 0; c < 4; ++c) {
        int64_t hi = c / 2, col = c % 2;
        Value dv = vector::ExtractOp::create(b, loc, d[i * nt + bn],
                                             ArrayRef<int64_t>{hi, col});
        Value xs = vector::ExtractOp::create(b, loc, ones[bn],
                                             ArrayRef<int64_t>{0, col});
        Value &a = acc[(i * nt + bn) * 4 + c];
        a = fma(sc[i][hi], dv, a);
        a = fma(sc[i][2 + hi], xs, a);
      }
}

void MmaKernelBuilder::run(int64_t count, const Loaded &in,
                           SmallVector<Value> &state) {
  // state: grouped: acc (scalars); per channel: d[mt * nt], ones[nt]
  // (single: the lane's part of X, a scalar).
  if (!perGroup) {
    SmallVector<Value> d(state.begin(), state.begin() + mt * nt);
    SmallVector<Value> ones(state.begin() + mt * nt, state.end());
    for (int64_t u = 0; u < count; ++u)
      tileMma(in.words[u], add(in.kt0, cI(u)), in.ragged, d, ones);
    if (single) {
      Value sums = zeroAcc;
      singleSums(mul(in.kt0, cI(kTile)), count * kTile, in.ragged, sums);
      ones[0] = arith::AddFOp::create(b, loc, ones[0], singlePart(sums));
    }
    state.assign(d.begin(), d.end());
    state.append(ones.begin(), ones.end());
    return;
  }
  for (int64_t g0 = 0; g0 < count; g0 += perGroup) {
    SmallVector<Value> d(mt * nt, zeroAcc), ones(nt, zeroAcc);
    if (single)
      singleSums(mul(add(in.kt0, cI(g0)), cI(kTile)), perGroup * kTile,
                 in.ragged, ones[0]);
    if (loadsAtTop) {
      // The weights' first mma accumulates onto ones * (0 * sum of the
      // group's scales): zero (NaN where a scale or sum is not finite,
      // which the result would be anyway), but a dependence that makes
      // ptxas issue the activation-sum and scale loads with the weights
      // at the top of the iteration instead of sinking them to their use
      // at its end, where their latency, under a full memory stream about
      // that of DRAM, was exposed a second time.
      Value z = cF(0.0f);
      for (unsigned i = 0; i < mt; ++i)
        for (Value v : in.sc[g0 / perGroup][i])
          z = arith::AddFOp::create(b, loc, z, v);
      z = arith::MulFOp::create(b, loc, z, cF(0.0f));
      Value start = arith::MulFOp::create(
          b, loc, ones[0],
          vector::BroadcastOp::create(b, loc, zeroAcc.getType(), z));
      d.assign(mt * nt, start);
    }
    for (int64_t u = g0; u < g0 + perGroup; ++u)
      tileMma(in.words[u], add(in.kt0, cI(u)), in.ragged, d, ones);
    epilogue(in.sc[g0 / perGroup], d, ones, state);
  }
}

void MmaKernelBuilder::forEachStageChunk(
    Value stage,
    function_ref<void(int64_t u, unsigned i, const MmaPiece &p, int64_t c,
                      Value dst)>
        f) {
  // A stage holds, per tile u, row tile i, piece and chunk, the 32 lanes'
  // chunks one after the other, in fetch()'s order.
  Value dst0 = add(ringWarp, mul(stage, cI(stageBytes)));
  int64_t at = 0;
  for (int64_t u = 0; u < spec.unroll; ++u)
    for (unsigned i = 0; i < mt; ++i)
      for (const MmaPiece &p : pieces)
        for (int64_t c = 0; c < p.laneBytes / p.chunk; ++c) {
          f(u, i, p, c, add(add(dst0, cI(at)), mul(lane, cI(p.chunk))));
          at += 32 * p.chunk;
        }
}

Value MmaKernelBuilder::fetchAsync(Value kt0, Value stage) {
  auto token = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  SmallVector<Value> copies;
  forEachStageChunk(stage, [&](int64_t u, unsigned i, const MmaPiece &p,
                               int64_t c, Value dst) {
    Value src = add(add(add(rowTileBase[i], mul(add(kt0, cI(u)),
                                                cI(tileBytes))),
                        cI(p.offset + c * 32 * p.chunk)),
                    mul(lane, cI(p.chunk)));
    copies.push_back(nvgpu::DeviceAsyncCopyOp::create(
        b, loc, token, ring, ValueRange{ix(dst)}, w, ValueRange{ix(src)},
        b.getIndexAttr(p.chunk), /*srcElements=*/Value(),
        p.chunk == 16 ? b.getUnitAttr() : UnitAttr()));
  });
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, loc, token, copies);
}

void MmaKernelBuilder::readStage(Value stage, SmallVector<Value> &out) {
  forEachStageChunk(stage, [&](int64_t, unsigned, const MmaPiece &p, int64_t,
                               Value dst) {
    auto bytesType = VectorType::get({p.chunk}, b.getI8Type());
    auto wordsType = VectorType::get({p.chunk / 4}, i32);
    Value v = vector::LoadOp::create(b, loc, bytesType, ring,
                                     ValueRange{ix(dst)},
                                     /*nontemporal=*/false,
                                     llvm::MaybeAlign(p.chunk));
    Value ws = vector::BitCastOp::create(b, loc, wordsType, v);
    for (int64_t j = 0; j < p.chunk / 4; ++j)
      out.push_back(vector::ExtractOp::create(b, loc, ws, j));
  });
}

void MmaKernelBuilder::fetch(Value kt0, int64_t count,
                             SmallVector<Value> &out) {
  fetchWeights(kt0, count, out);
  fetchScales(kt0, count, out);
}

void MmaKernelBuilder::fetchWeights(Value kt0, int64_t count,
                                    SmallVector<Value> &out) {
  for (int64_t u = 0; u < count; ++u) {
    Value kt = add(kt0, cI(u));
    for (unsigned i = 0; i < mt; ++i)
      for (const SmallVector<Value> &piece : loadTile(i, kt))
        out.append(piece.begin(), piece.end());
  }
}

void MmaKernelBuilder::fetchScales(Value kt0, int64_t count,
                                   SmallVector<Value> &out) {
  if (perGroup)
    for (int64_t g0 = 0; g0 < count; g0 += perGroup) {
      Value grp = arith::DivUIOp::create(b, loc, add(kt0, cI(g0)),
                                         cI(perGroup));
      for (unsigned i = 0; i < mt; ++i) {
        SmallVector<Value> s = loadScales(i, grp);
        out.append(s.begin(), s.end());
      }
    }
}

MmaKernelBuilder::Loaded MmaKernelBuilder::unflatten(ValueRange vals,
                                                     int64_t count, Value kt0,
                                                     bool ragged) {
  Loaded in;
  in.kt0 = kt0;
  in.ragged = ragged;
  auto &words = in.words;
  auto &sc = in.sc;
  size_t at = 0;
  words.assign(count, {});
  for (int64_t u = 0; u < count; ++u) {
    for (unsigned i = 0; i < mt; ++i) {
      TileWords tw;
      for (const MmaPiece &p : pieces) {
        tw.emplace_back(vals.begin() + at, vals.begin() + at + p.laneBytes / 4);
        at += p.laneBytes / 4;
      }
      words[u].push_back(tw);
    }
  }
  if (perGroup)
    for (int64_t g0 = 0; g0 < count; g0 += perGroup) {
      SmallVector<SmallVector<Value>> perRowTile;
      for (unsigned i = 0; i < mt; ++i) {
        perRowTile.emplace_back(vals.begin() + at, vals.begin() + at + 4);
        at += 4;
      }
      sc.push_back(perRowTile);
    }
  else
    sc.assign(1, channelScales);
  return in;
}

void MmaKernelBuilder::prefetchSuper(Value st, Value superTiles) {
  // The super-tile of each row tile is `bytes` contiguous bytes: lane l
  // asks for its 128-byte lines l, l + 32, ... (prefetch.L2, which does
  // not wait; a bulk prefetch of the whole range measured 20x slower: it
  // serialises in the SM).
  int64_t bytes = spec.unroll * tileBytes;
  Value line = mul(lane, cI(128));
  Value cond =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, st, superTiles);
  if (bytes < 32 * 128)
    cond = arith::AndIOp::create(
        b, loc, cond,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, line,
                              cI(bytes)));
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElse=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  Value start = add(mul(st, cI(bytes)), line);
  // A generic pointer (the memref's is one): prefetch.L2 on a generic
  // address; as a .global one it faulted.
  auto ptrType = LLVM::LLVMPointerType::get(b.getContext());
  auto level = NVVM::PrefetchCacheLevelAttr::get(b.getContext(),
                                                 NVVM::PrefetchCacheLevel::L2);
  for (unsigned i = 0; i < mt; ++i)
    for (int64_t c = 0; c < bytes; c += 32 * 128) {
      Value at = arith::ExtUIOp::create(
          b, loc, b.getI64Type(), add(add(rowTileBase[i], start), cI(c)));
      Value address = arith::AddIOp::create(b, loc, weightsAddress, at);
      Value ptr = LLVM::IntToPtrOp::create(b, loc, ptrType, address);
      NVVM::PrefetchOp::create(b, loc, level,
                               NVVM::CacheEvictionPriorityAttr(), ptr,
                               /*predicate=*/Value(), UnitAttr(), UnitAttr(),
                               UnitAttr());
    }
}

gpu::GPUFuncOp MmaKernelBuilder::build(gpu::GPUModuleOp kernels) {
  MLIRContext *ctx = b.getContext();
  OpBuilder::InsertionGuard guard(b);
  auto fn = createKernel(kernels, spec, f16);
  unsigned warps = spec.warpsPerBlock;
  // 4- and 2-bit indices in groups, one row tile and one batch tile (the
  // decode step's GEMVs): at most 64 registers (.minnctapersm = 1024 /
  // threads), so that two blocks of 16 warps share a multiprocessor.
  // ptxas fits the 4-bit kernels in 64 registers without spills; the 2-bit
  // ones spill 16 bytes there and still ran faster (8B int2 decode step
  // 2492 -> 2294 us, H200); unbounded, the 16-warp int4 kernel took 73
  // registers, one block per multiprocessor: the 256 blocks of a 4096-row
  // GEMV in two waves. Other widths, per channel, two tiles or prefetch
  // (4 to 92 bytes of spills at 64) stay unbounded.
  if ((bits == 4 || bits == 2) && !spec.planes && !spec.prefetch &&
      !spec.stages &&
      spec.groupSize && mt == 1 && nt == 1 && spec.threadsPerBlock() <= 1024)
    fn->setAttr("nvvm.minctasm",
                b.getI32IntegerAttr(int32_t(1024 / spec.threadsPerBlock())));
  // Accumulators per lane; single: rows g and g + 8 of each row tile.
  int64_t values = int64_t(mt) * nt * (single ? 2 : 4);
  Value shared;
  if (warps > 1) {
    auto smemType = MemRefType::get(
        {int64_t(warps) * values * 32}, f32, AffineMap(),
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    shared = fn.addWorkgroupAttribution(smemType, loc);
  }
  if (spec.stages) {
    stageBytes = spec.ringBytes() / (int64_t(warps) * spec.stages);
    auto ringType = MemRefType::get(
        {spec.ringBytes()}, b.getI8Type(), AffineMap(),
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
    ring = fn.addWorkgroupAttribution(ringType, loc);
    // 16-byte cp.async and ld.shared.v4 want 16-byte alignment (an i8
    // buffer gets 1 by default).
    fn.setWorkgroupAttributionAttr(fn.getNumWorkgroupAttributions() - 1,
                                   LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  }
  Block &entry = fn.getBody().front();
  b.setInsertionPointToStart(&entry);
  bindArgs(fn);

  Value tid = fromIndex(gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x));
  Value bid = fromIndex(gpu::BlockIdOp::create(b, loc, gpu::Dimension::x));
  Value warp = arith::DivUIOp::create(b, loc, tid, cI(32));
  lane = arith::RemUIOp::create(b, loc, tid, cI(32));
  g = arith::DivUIOp::create(b, loc, lane, cI(4));
  t = arith::RemUIOp::create(b, loc, lane, cI(4));
  Value kTiles = arith::CeilDivUIOp::create(b, loc, k, cI(kTile));
  Value fullTiles = arith::DivUIOp::create(b, loc, k, cI(kTile));
  rowTileBytes = mul(kTiles, cI(tileBytes));
  if (spec.groupSize)
    groups = arith::DivUIOp::create(b, loc, k, cI(spec.groupSize));
  Value lastRowTile = arith::SubIOp::create(
      b, loc, arith::CeilDivUIOp::create(b, loc, n, cI(16)), cI(1));
  Value lastRow = arith::SubIOp::create(b, loc, n, cI(1));
  Value firstRowTile = mul(bid, cI(mt));
  for (unsigned i = 0; i < mt; ++i) {
    Value rt =
        arith::MinUIOp::create(b, loc, add(firstRowTile, cI(i)), lastRowTile);
    rowTile.push_back(rt);
    rowTileBase.push_back(mul(rt, rowTileBytes));
    Value lo = add(mul(rt, cI(16)), g);
    rowLo.push_back(arith::MinUIOp::create(b, loc, lo, lastRow));
    rowHi.push_back(arith::MinUIOp::create(b, loc, add(lo, cI(8)), lastRow));
    if (!spec.groupSize)
      channelScales.push_back(loadScales(i, Value()));
  }
  // 0x64006400 (the f16 pair 1024, 1024), computed so that neither LLVM
  // nor ptxas sees a constant (k < 2^31, so k >> 31 is 0): with one of the
  // two constants of (w & mask) | magic in a register, ptxas fuses the
  // mask and the OR into one LOP3.
  magic = arith::OrIOp::create(
      b, loc, cI32(0x64006400),
      arith::ShRUIOp::create(b, loc, k, cI32(31)));
  zeroAcc = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({2, 2}, f32), b.getZeroAttr(f32)));
  onesA = arith::ConstantOp::create(
      b, loc,
      DenseElementsAttr::get(VectorType::get({4, 2}, f16),
                             b.getF16FloatAttr(1.0f)));

  // Batch rows in tiles of batchTile; the weights are read once per tile.
  auto tiles = scf::ForOp::create(b, loc, cI(0), nb, cI(spec.batchTile));
  OpBuilder::InsertionGuard tileGuard(b);
  b.setInsertionPoint(tiles.getBody()->getTerminator());
  tileStart = tiles.getInductionVar();
  SmallVector<Value> state;
  if (perGroup)
    state.assign(values, cF(0.0f));
  else
    state.assign(mt * nt + nt, zeroAcc);
  if (!perGroup && single)
    state.back() = cF(0.0f);
  size_t nState = state.size();

  // Main loop: super-tiles of `unroll` column tiles, warp w taking
  // super-tiles w, w + W, ...; the next one's loads are carried.
  int64_t unroll = spec.unroll;
  Value superTiles = arith::DivUIOp::create(b, loc, fullTiles, cI(unroll));
  Value lastSuper = arith::SubIOp::create(
      b, loc, arith::MaxUIOp::create(b, loc, superTiles, cI(1)), cI(1));
  // The first column tile of super-tile st, clamped to the last one.
  auto superStart = [&](Value st) {
    Value clamped = arith::MinUIOp::create(b, loc, st, lastSuper);
    return mul(clamped, cI(unroll));
  };
  auto fetchSuper = [&](Value st, SmallVector<Value> &out) {
    fetch(superStart(st), unroll, out);
  };
  if (spec.prefetch || spec.earlyPrefetch) {
    weightsAddress = arith::IndexCastUIOp::create(
        b, loc, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, w));
    // Super-tiles warp + W .. warp + prefetch W, ahead of the registers'
    // first two (warp, and warp + W loaded in the first iteration).
    for (unsigned j = 1; j <= spec.prefetch; ++j)
      prefetchSuper(add(warp, cI(int64_t(j) * warps)), superTiles);
  }
  if (spec.stages) {
    // The ring: stage j of warp w at (w S + j) stageBytes. Stages 0 ..
    // S - 2 start with super-tiles warp, warp + W, ...; iteration j
    // refills the stage read in iteration j - 1 (its words are in
    // registers by then: each lane reads back only what it copied) with
    // super-tile j + S - 1, waits until S - 1 groups are pending, and
    // reads stage j mod S. The group scales stay in registers, one
    // super-tile ahead.
    int64_t nStages = spec.stages;
    ringWarp = mul(warp, cI(nStages * stageBytes));
    Value started;
    for (int64_t j = 0; j + 1 < nStages; ++j)
      started = fetchAsync(superStart(add(warp, cI(j * warps))), cI(j));
    SmallVector<Value> init = state;
    fetchScales(superStart(warp), unroll, init);
    init.push_back(cI(0));
    if (spec.dependentLaunch)
      waitForPrerequisiteGrids(b, loc);
    auto loop = scf::ForOp::create(
        b, loc, warp, superTiles, cI(warps), init,
        [&](OpBuilder &, Location, Value st, ValueRange args) {
          SmallVector<Value> s(args.begin(), args.begin() + nState);
          Value stage = args.back();
          Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              stage, cI(0));
          Value refill = arith::SelectOp::create(
              b, loc, first, cI(nStages - 1),
              arith::SubIOp::create(b, loc, stage, cI(1)));
          Value group = fetchAsync(
              superStart(add(st, cI((nStages - 1) * int64_t(warps)))), refill);
          nvgpu::DeviceAsyncWaitOp::create(
              b, loc, group, b.getI32IntegerAttr(int32_t(nStages - 1)));
          SmallVector<Value> vals;
          readStage(stage, vals);
          ValueRange scalesIn = args.drop_front(nState).drop_back();
          vals.append(scalesIn.begin(), scalesIn.end());
          SmallVector<Value> next;
          fetchScales(superStart(add(st, cI(warps))), unroll, next);
          run(unroll,
              unflatten(vals, unroll, mul(st, cI(unroll)), /*ragged=*/false),
              s);
          s.append(next.begin(), next.end());
          Value last = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             stage, cI(nStages - 1));
          s.push_back(arith::SelectOp::create(
              b, loc, last, cI(0), add(stage, cI(1))));
          scf::YieldOp::create(b, loc, s);
        });
    state.assign(loop.getResults().begin(),
                 loop.getResults().begin() + nState);
    // No copy outlives the loop (the last S - 1 groups refilled clamped
    // super-tiles nobody reads).
    nvgpu::DeviceAsyncWaitOp::create(b, loc, started, b.getI32IntegerAttr(0));
  } else {
    SmallVector<Value> init = state;
    if (loadsAtTop)
      fetchWeights(superStart(warp), unroll, init);
    else
      fetchSuper(warp, init);
    size_t nScales = 0;
    if (scalesTwoAhead) {
      size_t before = init.size();
      fetchScales(superStart(add(warp, cI(warps))), unroll, init);
      nScales = init.size() - before;
    }
    // Before the wait: the L2 cache asked for the warp's next super-tiles
    // (after the `prefetch` ones), so that a GEMV resident early streams
    // its weights while the kernels before it, which leave the memory
    // mostly idle, run.
    for (unsigned j = 1; j <= spec.earlyPrefetch; ++j)
      prefetchSuper(add(warp, cI(int64_t(spec.prefetch + j) * warps)),
                    superTiles);
    // Programmatic dependent launch: the weights and scales just loaded
    // are constants, read while the kernel before this one ends; the
    // activations, and the results, wait for it.
    if (spec.dependentLaunch)
      waitForPrerequisiteGrids(b, loc);
    auto loop = scf::ForOp::create(
        b, loc, warp, superTiles, cI(warps), init,
        [&](OpBuilder &, Location, Value st, ValueRange args) {
          SmallVector<Value> s(args.begin(), args.begin() + nState);
          SmallVector<Value> next;
          if (spec.prefetch)
            prefetchSuper(add(st, cI(int64_t(spec.prefetch + 1) * warps)),
                          superTiles);
          SmallVector<Value> cur(args.drop_front(nState).drop_back(nScales));
          if (loadsAtTop) {
            // Only the weights are carried (and in effect loaded at the
            // top: see the file comment); the scales of st are loaded
            // here, with them.
            fetchWeights(superStart(add(st, cI(warps))), unroll, next);
            fetchScales(superStart(st), unroll, cur);
          } else if (!scalesTwoAhead) {
            fetchSuper(add(st, cI(warps)), next);
          } else {
            // Weights of st + W, the scales of st + W carried, those of
            // st + 2 W loaded.
            fetchWeights(superStart(add(st, cI(warps))), unroll, next);
            ValueRange carried = args.take_back(nScales);
            next.append(carried.begin(), carried.end());
            fetchScales(superStart(add(st, cI(2 * int64_t(warps)))), unroll,
                        next);
          }
          run(unroll,
              unflatten(cur, unroll, mul(st, cI(unroll)), /*ragged=*/false), s);
          s.append(next.begin(), next.end());
          scf::YieldOp::create(b, loc, s);
        });
    state.assign(loop.getResults().begin(),
                 loop.getResults().begin() + nState);
  }
  // Whole tiles after the super-tiles, one unit (a group, or one tile per
  // channel) per warp and iteration.
  int64_t unit = perGroup ? perGroup : 1;
  {
    Value first = arith::DivUIOp::create(b, loc, mul(superTiles, cI(unroll)),
                                         cI(unit));
    Value units = arith::DivUIOp::create(b, loc, fullTiles, cI(unit));
    auto loop = scf::ForOp::create(
        b, loc, add(first, warp), units, cI(warps), state,
        [&](OpBuilder &, Location, Value u, ValueRange args) {
          SmallVector<Value> s(args.begin(), args.end());
          SmallVector<Value> loaded;
          Value kt0 = mul(u, cI(unit));
          fetch(kt0, unit, loaded);
          run(unit, unflatten(loaded, unit, kt0, /*ragged=*/false), s);
          scf::YieldOp::create(b, loc, s);
        });
    state.assign(loop.getResults().begin(), loop.getResults().end());
  }
  // The partial last tile (per channel, K % kTile != 0), on warp 0.
  if (!perGroup) {
    Value cond = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, fullTiles,
                              kTiles),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, warp, cI(0)));
    SmallVector<Type> types;
    for (Value v : state)
      types.push_back(v.getType());
    auto ifOp = scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    SmallVector<Value> s = state, loaded;
    fetch(fullTiles, 1, loaded);
    run(1, unflatten(loaded, 1, fullTiles, /*ragged=*/true), s);
    scf::YieldOp::create(b, loc, s);
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, state);
    b.setInsertionPointAfter(ifOp);
    state.assign(ifOp.getResults().begin(), ifOp.getResults().end());
  }
  // Per channel: one epilogue at the end.
  SmallVector<Value> acc;
  if (perGroup) {
    acc = state;
  } else {
    acc.assign(values, cF(0.0f));
    SmallVector<Value> d(state.begin(), state.begin() + mt * nt);
    SmallVector<Value> ones(state.begin() + mt * nt, state.end());
    epilogue(channelScales, d, ones, acc);
  }
  if (single) {
    // The quad's lanes hold a quarter of alpha' D each and their parts of
    // m' X: their sum is the row's.
    for (Value &a : acc)
      for (int32_t off : {1, 2})
        a = arith::AddFOp::create(
            b, loc, a,
            gpu::ShuffleOp::create(b, loc, a, off, 32, gpu::ShuffleMode::XOR)
                .getShuffleResult());
  }
  // The warps' partial sums meet in shared memory; warp 0 adds and stores.
  if (warps > 1) {
    gpu::BarrierOp::create(b, loc); // the previous batch tile is done
    for (int64_t v = 0; v < values; ++v)
      memref::StoreOp::create(
          b, loc, acc[v], shared,
          ValueRange{ix(add(
              mul(add(mul(warp, cI(values)), cI(v)), cI(32)), lane))});
    gpu::BarrierOp::create(b, loc);
  }
  Value warp0 =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, warp, cI(0));
  auto store = scf::IfOp::create(b, loc, warp0, /*withElse=*/false);
  {
    OpBuilder::InsertionGuard g2(b);
    b.setInsertionPointToStart(store.thenBlock());
    for (unsigned i = 0; i < mt; ++i)
      for (unsigned bn = 0; bn < nt; ++bn)
        for (int64_t c = 0; c < (single ? 2 : 4); ++c) {
          int64_t v = single ? 2 * i + c : (i * nt + bn) * 4 + c;
          Value sum = acc[v];
          for (unsigned ww = 1; ww < warps; ++ww)
            sum = arith::AddFOp::create(
                b, loc, sum,
                memref::LoadOp::create(
                    b, loc, shared,
                    ValueRange{ix(
                        add(cI((int64_t(ww) * values + v) * 32), lane))}));
          // Single: rows g + 8 c of the batch row, stored by lane t = 0.
          Value row = add(add(mul(add(firstRowTile, cI(i)), cI(16)), g),
                          cI(8 * (single ? c : c / 2)));
          Value batch =
              single ? tileStart
                     : add(add(tileStart, cI(8 * bn + c % 2)), mul(t, cI(2)));
          Value ok = arith::AndIOp::create(
              b, loc,
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, n),
              single ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             t, cI(0))
                     : arith::CmpIOp::create(b, loc,
                                             arith::CmpIPredicate::ult, batch,
                                             nb));
          auto guarded = scf::IfOp::create(b, loc, ok, /*withElse=*/false);
          OpBuilder::InsertionGuard g3(b);
          b.setInsertionPointToStart(guarded.thenBlock());
          if (!spec.outF32)
            sum = arith::TruncFOp::create(b, loc, f16, sum);
          memref::StoreOp::create(b, loc, sum, y,
                                  ValueRange{ix(add(mul(batch, n), row))});
        }
  }
  b.setInsertionPointToEnd(&entry);
  gpu::ReturnOp::create(b, loc);
  return fn;
}

} // namespace

gpu::GPUFuncOp matquant::buildMmaGemvKernel(gpu::GPUModuleOp kernels,
                                            const GemvKernelSpec &spec) {
  OpBuilder b(kernels.getContext());
  MmaKernelBuilder builder(b, kernels.getLoc(), spec);
  return builder.build(kernels);
}
