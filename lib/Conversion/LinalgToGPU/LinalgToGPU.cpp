//===- LinalgToGPU.cpp - Host functions onto the GPU ---------------------===//
//
// The passes that put a whole bufferized host function (a decode step) on
// the GPU: every linalg op becomes a generated kernel and a launch
// (convert-linalg-to-gpu-kernels), scalars read from tensors move into the
// ops that use them (mq-sink-tensor-extracts), and the host's buffers
// become views of one workspace argument (mq-gpu-workspace).
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/MQToGPU.h"
#include "matquant/Conversion/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Affine/Utils.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace matquant {
#define GEN_PASS_DEF_CONVERTLINALGTOGPUKERNELSPASS
#define GEN_PASS_DEF_SINKTENSOREXTRACTSPASS
#define GEN_PASS_DEF_GPUWORKSPACEPASS
#define GEN_PASS_DEF_DROPINPLACERESULTSPASS
#define GEN_PASS_DEF_GPUDEPENDENTLAUNCHPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The buffer a view is of (views followed to their source).
Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// `n` floats of workgroup memory for kernel `fn`.
Value addWorkgroupFloats(gpu::GPUFuncOp fn, int64_t n, Location loc) {
  MLIRContext *ctx = fn.getContext();
  auto type = MemRefType::get(
      {n}, Float32Type::get(ctx), MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  return fn.addWorkgroupAttribution(type, loc);
}

/// The op that a fill's buffer is reduced into right after the fill: the
/// next op with memory effects (views and scalar ops skipped) is a linalg
/// op with a reduction loop and the fill's buffer as its only init, and
/// its payload reads that init. Null when there is none.
Operation *reductionInto(linalg::FillOp fill) {
  if (!fill.hasPureBufferSemantics() || fill.getOutputs().size() != 1)
    return nullptr;
  Value buffer = fill.getOutputs()[0];
  for (Operation *op = fill->getNextNode(); op; op = op->getNextNode()) {
    if (isa<memref::ViewOp, memref::SubViewOp, memref::ExpandShapeOp,
            memref::CollapseShapeOp, memref::CastOp>(op) ||
        isPure(op))
      continue;
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || !linalgOp.hasPureBufferSemantics() ||
        linalgOp.getNumDpsInits() != 1 ||
        linalgOp.getDpsInits()[0] != buffer ||
        linalgOp.getNumReductionLoops() == 0 ||
        !linalgOp.payloadUsesValueFromOperand(
            linalgOp.getDpsInitOperand(0)))
      return nullptr;
    // The fill's buffer must not be an input too.
    for (OpOperand *in : linalgOp.getDpsInputOperands())
      if (in->get() == buffer)
        return nullptr;
    return op;
  }
  return nullptr;
}

/// Builds the kernel of one linalg.generic on buffers.
class GenericKernel {
public:
  /// `init`, when set, is the scalar every output starts from (a folded
  /// linalg.fill) instead of the output's contents.
  GenericKernel(linalg::GenericOp op, int64_t threadsPerBlock,
                Value init = Value())
      : op(op), tpb(threadsPerBlock), init(init) {}

  /// Checks the op and classifies it; failure has been reported.
  LogicalResult analyze() {
    SmallVector<int64_t> r = op.getStaticLoopRanges();
    for (int64_t v : r)
      if (ShapedType::isDynamic(v))
        return op.emitOpError(
            "has dynamic loop bounds: a GPU kernel needs static shapes");
    ranges.assign(r.begin(), r.end());
    auto iters = op.getIteratorTypesArray();
    for (unsigned i = 0; i < iters.size(); ++i)
      (iters[i] == utils::IteratorType::parallel ? par : red).push_back(i);
    np = 1;
    nr = 1;
    for (unsigned d : par)
      np *= ranges[d];
    for (unsigned d : red)
      nr *= ranges[d];
    llvm::SetVector<Value> captured;
    getUsedValuesDefinedAbove(op.getRegion(), captured);
    for (Value v : captured)
      if (!v.getType().isIntOrIndexOrFloat() && !isa<MemRefType>(v.getType()))
        return op.emitOpError("uses a value of type ")
               << v.getType() << " defined outside it, which a kernel cannot "
               << "take as an argument";
    args.assign(op->operand_begin(), op->operand_end());
    args.append(captured.begin(), captured.end());
    if (init && !llvm::is_contained(args, init))
      args.push_back(init);
    if (red.empty())
      return success();
    if (nr >= 32 && op.getNumDpsInits() == 1) {
      Block &body = op.getRegion().front();
      BlockArgument out = body.getArgument(op.getNumDpsInputs());
      SmallVector<Operation *> combiners;
      Operation *c = nullptr;
      if (matchReduction({out}, 0, combiners) && combiners.size() == 1)
        c = combiners[0];
      else
        c = maskedCombiner(body, out);
      if (c && out.getType().isF32() && c->getNumOperands() == 2) {
        if (std::optional<TypedAttr> n = arith::getNeutralElement(c)) {
          combiner = c;
          neutral = *n;
        }
      }
    }
    lanesOverPoints = combiner && !blockPerPoint() && streamsOverPoints();
    // Lanes over points: blocks of 32 warps, so that each thread takes few
    // terms of the reduction.
    if (lanesOverPoints)
      tpb = 1024;
    return success();
  }

  /// Whether the largest input (the one that decides the memory traffic)
  /// is contiguous along the fastest parallel loop: its innermost index is
  /// that loop and its innermost stride 1 (attention's p.V reads the V
  /// cache [position, head, dim] for outputs [head, group, dim]). Lanes
  /// striding over the reduction would then read 32 scattered elements per
  /// load; lanes over consecutive points read them in one transaction.
  bool streamsOverPoints() {
    if (par.empty() || ranges[par.back()] < 32)
      return false;
    OpOperand *largest = nullptr;
    int64_t most = 0;
    for (OpOperand *in : op.getDpsInputOperands()) {
      auto t = dyn_cast<MemRefType>(in->get().getType());
      if (!t || !t.hasStaticShape() || t.getRank() == 0)
        continue;
      if (t.getNumElements() > most) {
        most = t.getNumElements();
        largest = in;
      }
    }
    if (!largest)
      return false;
    auto t = cast<MemRefType>(largest->get().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(t.getStridesAndOffset(strides, offset)) || strides.back() != 1)
      return false;
    auto last = dyn_cast<AffineDimExpr>(
        op.getMatchingIndexingMap(largest).getResults().back());
    return last && last.getPosition() == par.back();
  }

  /// The combiner of a masked reduction: the body yields
  /// `select(cond, combiner(out, v), out)` with cond and v independent of
  /// out (attention's causal mask). Run from a partial value p in place of
  /// out, the body still gives p, or p combined with v: a partial
  /// reduction, so lanes can run it on their own slices.
  static Operation *maskedCombiner(Block &body, BlockArgument out) {
    auto select = body.getTerminator()->getOperand(0).getDefiningOp<
        arith::SelectOp>();
    if (!select || select.getFalseValue() != out)
      return nullptr;
    Operation *c = select.getTrueValue().getDefiningOp();
    // combiner(out, v) with v not out itself (out + out doubles: no
    // reduction).
    if (!c || c->getBlock() != &body || c->getNumOperands() != 2 ||
        !c->hasOneUse() ||
        (c->getOperand(0) == out) == (c->getOperand(1) == out))
      return nullptr;
    // out is used by the combiner and the select only.
    for (OpOperand &use : out.getUses())
      if (use.getOwner() != c && use.getOwner() != select.getOperation())
        return nullptr;
    // The condition does not depend on out.
    if (select.getCondition() == out)
      return nullptr;
    return c;
  }

  /// Kernel launch grid (x) for the classification of analyze().
  int64_t gridSize() const {
    if (blockPerPoint())
      return np;
    if (lanesOverPoints)
      return (np + 31) / 32;
    int64_t points = combiner ? np * 32 : np;
    return std::max<int64_t>(1, (points + tpb - 1) / tpb);
  }

  /// Few long reductions (RMSNorm's sum of squares: one point, thousands
  /// of terms): a whole block per point, its warps combined through
  /// workgroup memory.
  bool blockPerPoint() const {
    return combiner && np * 32 < 4 * tpb && nr >= 4 * tpb;
  }

  /// Fills `fn` (arguments: `args`' types) with the kernel.
  void build(gpu::GPUFuncOp fn) {
    Block &entry = fn.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    Location loc = op.getLoc();
    for (auto [v, a] : llvm::zip(args, entry.getArguments()))
      outer.map(v, a);
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    Value bid = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
    Value gid = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, bid, cIdx(b, loc, tpb)), tid);
    if (!combiner) {
      SmallVector<Value> ivs;
      OpBuilder ib = ifInRange(b, loc, gid, ivs);
      emitPoint(ib, loc, ivs);
    } else if (blockPerPoint()) {
      buildBlockReduction(fn, b, loc, tid, bid);
    } else if (lanesOverPoints) {
      buildLanesOverPoints(fn, b, loc, tid, bid);
    } else {
      // One warp per parallel point (the condition is uniform in a warp,
      // so every lane takes part in the shuffles).
      Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
      Value point = arith::DivUIOp::create(b, loc, gid, cIdx(b, loc, 32));
      SmallVector<Value> ivs;
      OpBuilder ib = ifInRange(b, loc, point, ivs);
      reducePointByWarp(ib, loc, lane, ivs);
    }
    gpu::ReturnOp::create(b, loc);
  }

  /// The op at the parallel point of `ivs` by one thread (ops without a
  /// combiner): the payload, or a sequential loop over the reduction
  /// space with the outputs carried.
  void emitPoint(OpBuilder &b, Location loc, ArrayRef<Value> pointIvs) {
    SmallVector<Value> ivs(pointIvs.begin(), pointIvs.end());
    if (red.empty()) {
      SmallVector<Value> outs = loadOutputs(b, loc, ivs, /*onlyUsed=*/true);
      storeOutputs(b, loc, ivs, emitBody(b, loc, ivs, outs));
      return;
    }
    for (unsigned d : red)
      ivs[d] = cIdx(b, loc, 0);
    SmallVector<Value> start = initialOutputs(b, loc, ivs);
    storeOutputs(b, loc, ivs,
                 reductionLoop(b, loc, cIdx(b, loc, 0), 1, start, ivs));
  }

  /// The warp of lane `lane` reduces the point of `ivs`: lanes stride over
  /// the reduction space from the neutral element, shuffles combine them,
  /// and lane 0 stores. Every lane of the warp must call it.
  void reducePointByWarp(OpBuilder &b, Location loc, Value lane,
                         ArrayRef<Value> ivs) {
    Value start = arith::ConstantOp::create(b, loc, neutral);
    Value partial =
        warpCombine(b, loc, reductionLoop(b, loc, lane, 32, start, ivs)[0]);
    SmallVector<Value> pIvs(ivs.begin(), ivs.end());
    OpBuilder sb = ifZero(b, loc, lane);
    storeCombined(sb, loc, pIvs, partial);
  }

  /// An scf.for over the reduction space from `lower` by `step`, carrying
  /// `init`; each iteration runs the payload at its reduction point (the
  /// parallel indices from `ivs`). Returns the carried values at the end.
  SmallVector<Value> reductionLoop(OpBuilder &b, Location loc, Value lower,
                                   int64_t step, ValueRange init,
                                   ArrayRef<Value> ivs) {
    // A thread's terms are `lower`, `lower + step`, ... (lower < step). At
    // most `maxUnroll` of them: unrolled, every load first, so that they
    // are in flight together instead of one memory latency per term; a
    // ragged last term reads a clamped point and is dropped by a select.
    // More: a loop over batches of `maxUnroll` such terms.
    int64_t trips = (nr + step - 1) / step;
    if (trips <= maxUnroll)
      return unrolledTerms(b, loc, lower, step, trips, init, ivs,
                           /*guardAll=*/false);
    if (maxUnroll > 0) {
      int64_t batches = (trips + maxUnroll - 1) / maxUnroll;
      bool ragged = trips % maxUnroll != 0 || nr % step != 0;
      Value zero = cIdx(b, loc, 0);
      Value upper = cIdx(b, loc, batches);
      Value one = cIdx(b, loc, 1);
      auto loop = scf::ForOp::create(b, loc, zero, upper, one, init);
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      Value first = arith::AddIOp::create(
          lb, loc, lower,
          arith::MulIOp::create(lb, loc, loop.getInductionVar(),
                                cIdx(lb, loc, maxUnroll * step)));
      SmallVector<Value> acc(loop.getRegionIterArgs());
      scf::YieldOp::create(lb, loc,
                           unrolledTerms(lb, loc, first, step, maxUnroll, acc,
                                         ivs, /*guardAll=*/ragged));
      return SmallVector<Value>(loop.getResults());
    }
    // (Created in this order: the order of arguments' evaluation is not.)
    Value upper = cIdx(b, loc, nr);
    Value stride = cIdx(b, loc, step);
    auto loop = scf::ForOp::create(b, loc, lower, upper, stride, init);
    OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
    SmallVector<Value> lIvs(ivs.begin(), ivs.end());
    delinearize(lb, loc, loop.getInductionVar(), red, lIvs);
    SmallVector<Value> acc(loop.getRegionIterArgs());
    scf::YieldOp::create(lb, loc, emitBody(lb, loc, lIvs, acc));
    return SmallVector<Value>(loop.getResults());
  }

  /// `count` terms `first`, `first + step`, ... of the reduction, unrolled
  /// with every load first, combined into `init` in order. A term past the
  /// reduction space reads a clamped point and is dropped by a select:
  /// every term when `guardAll`, otherwise only a ragged last one (nr not a
  /// multiple of `step`).
  SmallVector<Value> unrolledTerms(OpBuilder &b, Location loc, Value first,
                                   int64_t step, int64_t count,
                                   ValueRange init, ArrayRef<Value> ivs,
                                   bool guardAll) {
    Terms t = loadTerms(b, loc, first, step, count, ivs, guardAll);
    return combineTerms(b, loc, t, init);
  }

  /// The loaded terms of unrolledTerms, before they are combined.
  struct Terms {
    SmallVector<SmallVector<Value>> ivs, ins;
    SmallVector<Value> keep;
  };

  /// unrolledTerms' loads (and the guards of the terms that may be past
  /// the end).
  Terms loadTerms(OpBuilder &b, Location loc, Value first, int64_t step,
                  int64_t count, ArrayRef<Value> ivs, bool guardAll) {
    bool raggedLast = nr % step != 0;
    Terms t;
    for (int64_t j = 0; j < count; ++j) {
      Value r = arith::AddIOp::create(b, loc, first, cIdx(b, loc, j * step));
      Value inRange;
      if (guardAll || (raggedLast && j == count - 1)) {
        inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, r,
                                        cIdx(b, loc, nr));
        r = arith::MinUIOp::create(b, loc, r, cIdx(b, loc, nr - 1));
      }
      SmallVector<Value> lIvs(ivs.begin(), ivs.end());
      delinearize(b, loc, r, red, lIvs);
      t.ins.push_back(loadInputs(b, loc, lIvs));
      t.ivs.push_back(std::move(lIvs));
      t.keep.push_back(inRange);
    }
    return t;
  }

  /// unrolledTerms' payloads on terms loaded by loadTerms, in order.
  SmallVector<Value> combineTerms(OpBuilder &b, Location loc, const Terms &t,
                                  ValueRange init) {
    SmallVector<Value> acc(init.begin(), init.end());
    for (size_t j = 0; j < t.ivs.size(); ++j) {
      SmallVector<Value> next = emitPayload(b, loc, t.ivs[j], t.ins[j], acc);
      if (t.keep[j])
        for (size_t i = 0; i < next.size(); ++i)
          next[i] = arith::SelectOp::create(b, loc, t.keep[j], next[i], acc[i]);
      acc = std::move(next);
    }
    return acc;
  }

  /// The lanes' values combined across the warp (every lane gets it).
  Value warpCombine(OpBuilder &b, Location loc, Value v) {
    auto width = arith::ConstantIntOp::create(b, loc, 32, 32);
    for (int32_t offset : {16, 8, 4, 2, 1}) {
      auto c = arith::ConstantIntOp::create(b, loc, offset, 32);
      auto shuffle =
          gpu::ShuffleOp::create(b, loc, v, c, width, gpu::ShuffleMode::XOR);
      v = combine(b, loc, v, shuffle.getShuffleResult());
    }
    return v;
  }

  /// Block `bid` reduces point `bid`: threads stride over the reduction
  /// space, each warp combines its lanes, lane 0 of each warp leaves its
  /// value in workgroup memory, and after a barrier the first warp
  /// combines those and thread 0 stores. The grid is exactly np blocks, so
  /// every thread reaches the barrier.
  void buildBlockReduction(gpu::GPUFuncOp fn, OpBuilder &b, Location loc,
                           Value tid, Value bid) {
    Value partials = addWorkgroupFloats(fn, tpb / 32, loc);
    SmallVector<Value> ivs(ranges.size());
    delinearize(b, loc, bid, par, ivs);
    Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    Value warp = arith::DivUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    reducePointByBlock(b, loc, tid, lane, warp, tpb, partials, ivs);
  }

  /// The block of `threads` threads reduces the point of `ivs`: threads
  /// stride over the reduction space, each warp combines its lanes, lane 0
  /// of each warp leaves its value in `partials` (threads / 32 floats of
  /// workgroup memory), and after a barrier the first warp combines those
  /// and thread 0 stores. Every thread of the block must call it.
  void reducePointByBlock(OpBuilder &b, Location loc, Value tid, Value lane,
                          Value warp, int64_t threads, Value partials,
                          ArrayRef<Value> ivs) {
    int64_t warps = threads / 32;
    Value start = arith::ConstantOp::create(b, loc, neutral);
    Value partial =
        warpCombine(b, loc, reductionLoop(b, loc, tid, threads, start, ivs)[0]);
    OpBuilder kb = ifZero(b, loc, lane);
    memref::StoreOp::create(kb, loc, partial, partials, ValueRange{warp});
    gpu::BarrierOp::create(b, loc);
    OpBuilder fb = ifZero(b, loc, warp);
    Value has = arith::CmpIOp::create(fb, loc, arith::CmpIPredicate::ult, lane,
                                      cIdx(fb, loc, warps));
    Value safeLane = arith::SelectOp::create(fb, loc, has, lane,
                                             cIdx(fb, loc, 0));
    Value loaded =
        memref::LoadOp::create(fb, loc, partials, ValueRange{safeLane});
    Value v = arith::SelectOp::create(
        fb, loc, has, loaded, arith::ConstantOp::create(fb, loc, neutral));
    Value total = warpCombine(fb, loc, v);
    SmallVector<Value> pIvs(ivs.begin(), ivs.end());
    OpBuilder sb = ifZero(fb, loc, tid);
    storeCombined(sb, loc, pIvs, total);
  }

  /// Block `bid` reduces the 32 consecutive points from 32 * bid, one per
  /// lane, and its warps split the reduction space: warp w takes the terms
  /// w, w + warps, ... of its lane's point. Each thread leaves its partial
  /// value in workgroup memory; after a barrier the first warp combines the
  /// warps' values of its point and stores. Points past the end take no
  /// terms (every thread reaches the barrier).
  void buildLanesOverPoints(gpu::GPUFuncOp fn, OpBuilder &b, Location loc,
                            Value tid, Value bid) {
    int64_t warps = tpb / 32;
    Type f32 = b.getF32Type();
    Value partials = addWorkgroupFloats(fn, tpb, loc);
    Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    Value warp = arith::DivUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    Value point = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, bid, cIdx(b, loc, 32)), lane);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          point, cIdx(b, loc, np));
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, inRange,
                                  /*withElseRegion=*/true);
    {
      OpBuilder tb = OpBuilder::atBlockBegin(ifOp.thenBlock());
      SmallVector<Value> ivs(ranges.size());
      delinearize(tb, loc, point, par, ivs);
      Value start = arith::ConstantOp::create(tb, loc, neutral);
      Value partial = reductionLoop(tb, loc, warp, warps, start, ivs)[0];
      scf::YieldOp::create(tb, loc, partial);
      OpBuilder eb = OpBuilder::atBlockBegin(ifOp.elseBlock());
      scf::YieldOp::create(eb, loc,
                           Value(arith::ConstantOp::create(eb, loc, neutral)));
    }
    memref::StoreOp::create(b, loc, ifOp.getResult(0), partials,
                            ValueRange{tid});
    gpu::BarrierOp::create(b, loc);
    Value first = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq, warp, cIdx(b, loc, 0));
    Value finish = arith::AndIOp::create(b, loc, first, inRange);
    auto fin = scf::IfOp::create(b, loc, finish, /*withElse=*/false);
    OpBuilder fb = OpBuilder::atBlockBegin(fin.thenBlock());
    Value total = combineEvery32(fb, loc, partials, lane, warps);
    SmallVector<Value> ivs(ranges.size());
    delinearize(fb, loc, point, par, ivs);
    storeCombined(fb, loc, ivs, total);
  }

  /// The `count` values of `partials` (workgroup memory) at `first`,
  /// `first` + 32, ... (one per warp, for one lane's point), combined in
  /// that order from the neutral element.
  Value combineEvery32(OpBuilder &b, Location loc, Value partials,
                       Value first, int64_t count) {
    Value total = arith::ConstantOp::create(b, loc, neutral);
    for (int64_t w = 0; w < count; ++w) {
      Value at = arith::AddIOp::create(b, loc, first, cIdx(b, loc, 32 * w));
      total = combine(b, loc, total,
                      memref::LoadOp::create(b, loc, partials,
                                             ValueRange{at}));
    }
    return total;
  }

  /// `if (point < np)`; `ivs` gets the parallel indices of `point`, built
  /// inside. Returns a builder at the start of the `if`'s body.
  OpBuilder ifInRange(OpBuilder &b, Location loc, Value point,
                      SmallVectorImpl<Value> &ivs) {
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          point, cIdx(b, loc, np));
    auto ifOp = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
    OpBuilder ib = OpBuilder::atBlockBegin(ifOp.thenBlock());
    ivs.assign(ranges.size(), Value());
    delinearize(ib, loc, point, par, ivs);
    return ib;
  }

  /// `if (v == 0)`; returns a builder at the start of its body.
  OpBuilder ifZero(OpBuilder &b, Location loc, Value v) {
    Value zero = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v,
                                       cIdx(b, loc, 0));
    auto ifOp = scf::IfOp::create(b, loc, zero, /*withElse=*/false);
    return OpBuilder::atBlockBegin(ifOp.thenBlock());
  }

  /// The single output at the parallel point of `ivs` becomes its initial
  /// value combined with `total` (the point's whole reduction).
  void storeCombined(OpBuilder &b, Location loc, SmallVectorImpl<Value> &ivs,
                     Value total) {
    for (unsigned d : red)
      ivs[d] = cIdx(b, loc, 0);
    Value initial = initialOutputs(b, loc, ivs)[0];
    Value value = combine(b, loc, initial, total);
    storeOutputs(b, loc, ivs, {value});
    if (epilogue)
      epilogue->emitAsEpilogue(b, loc, *this, ivs, value);
  }

  /// This pointwise op, run as the epilogue of `producer`'s kernel (see
  /// the pass): at the point of the producer's output that the thread has
  /// just stored (`value`, at the producer's loop indices `pIvs`), reading
  /// that value instead of loading it.
  void emitAsEpilogue(OpBuilder &b, Location loc, GenericKernel &producer,
                      ArrayRef<Value> pIvs, Value value) {
    AffineMap outMap =
        producer.op.getMatchingIndexingMap(producer.op.getDpsInitOperand(0));
    SmallVector<Value> ivs(ranges.size());
    for (unsigned l = 0; l < ranges.size(); ++l)
      ivs[l] = pIvs[outMap.getDimPosition(l)];
    Value produced = producer.op.getDpsInits()[0];
    SmallVector<Value> ins;
    for (OpOperand *in : op.getDpsInputOperands()) {
      if (!op.payloadUsesValueFromOperand(in))
        ins.push_back(Value());
      else if (in->get() == produced)
        ins.push_back(value);
      else
        ins.push_back(operandValue(b, loc, *in, ivs));
    }
    SmallVector<Value> outs = loadOutputs(b, loc, ivs, /*onlyUsed=*/true);
    storeOutputs(b, loc, ivs, emitPayload(b, loc, ivs, ins, outs));
  }

  /// A pointwise op run inside this op's kernel, after each store.
  GenericKernel *epilogue = nullptr;

  /// Payload evaluations of one run of the op (its iteration space).
  int64_t work() const { return np * nr; }

  /// In a block of `threads` threads: whether the op takes the whole block
  /// per point (few long combined reductions), through `threads / 32`
  /// floats of workgroup memory.
  bool reducesByBlock(int64_t threads) const {
    return combiner && np < threads / 32;
  }

  /// The kernel argument standing for `v` (one of `args`).
  void bind(Value v, Value arg) { outer.map(v, arg); }

  /// Emits the op as one step of a kernel of a single block of `threads`
  /// threads (a group of small ops, see the pass): the threads stride over
  /// the points. Pointwise ops of at most 16 points per thread are unrolled
  /// with every load before the first store (points are independent, as
  /// between the threads of a launch), so a thread's loads are in flight
  /// together; ragged spaces clamp the last point for the loads and guard
  /// its store. Combined reductions take a warp per point, or, with fewer
  /// points than warps, the whole block per point (`partials`: workgroup
  /// memory of threads / 32 floats). Other reductions are serial per thread.
  void buildInBlock(OpBuilder &b, Location loc, Value tid, int64_t threads,
                    Value partials) {
    Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    Value warp = arith::DivUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    int64_t warps = threads / 32;
    if (lanesInBlock(threads)) {
      buildLanesInBlock(b, loc, lane, warp, threads, partials);
      return;
    }
    if (combiner && !reducesByBlock(threads)) {
      // A warp's few points (at most unroll-terms, with at most 64 terms
      // per lane in all): every point's loads first, then the points.
      int64_t trips = (np + warps - 1) / warps;
      int64_t terms = (nr + 31) / 32;
      if (trips > 1 && trips <= maxUnroll && terms <= maxUnroll &&
          trips * terms <= 64) {
        SmallVector<Terms> loaded;
        SmallVector<SmallVector<Value>> ivsOf;
        Value lastPoint = clampedPoints(
            b, loc, warp, warps, trips, [&](SmallVector<Value> ivs) {
              loaded.push_back(loadTerms(b, loc, lane, 32, terms, ivs,
                                         /*guardAll=*/false));
              ivsOf.push_back(std::move(ivs));
            });
        for (int64_t i = 0; i < trips; ++i) {
          Value start = arith::ConstantOp::create(b, loc, neutral);
          Value partial =
              warpCombine(b, loc, combineTerms(b, loc, loaded[i], start)[0]);
          Value store = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::eq, lane, cIdx(b, loc, 0));
          if (lastPoint && i == trips - 1)
            store = arith::AndIOp::create(
                b, loc, store,
                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                      lastPoint, cIdx(b, loc, np)));
          auto ifOp = scf::IfOp::create(b, loc, store, /*withElse=*/false);
          OpBuilder sb = OpBuilder::atBlockBegin(ifOp.thenBlock());
          storeCombined(sb, loc, ivsOf[i], partial);
        }
        return;
      }
      forPoints(b, loc, warp, warps, [&](OpBuilder &fb, ArrayRef<Value> ivs) {
        reducePointByWarp(fb, loc, lane, ivs);
      });
      return;
    }
    if (combiner) {
      forPoints(b, loc, cIdx(b, loc, 0), 1,
                [&](OpBuilder &fb, ArrayRef<Value> ivs) {
        reducePointByBlock(fb, loc, tid, lane, warp, threads, partials, ivs);
        // The partials are free again for the next point.
        gpu::BarrierOp::create(fb, loc);
      });
      return;
    }
    int64_t trips = (np + threads - 1) / threads;
    if (!red.empty() || trips > maxUnroll) {
      forPoints(b, loc, tid, threads, [&](OpBuilder &fb, ArrayRef<Value> ivs) {
        emitPoint(fb, loc, ivs);
      });
      return;
    }
    SmallVector<SmallVector<Value>> ivsOf, insOf, outsOf;
    Value lastPoint = clampedPoints(
        b, loc, tid, threads, trips, [&](SmallVector<Value> ivs) {
          insOf.push_back(loadInputs(b, loc, ivs));
          outsOf.push_back(loadOutputs(b, loc, ivs, /*onlyUsed=*/true));
          ivsOf.push_back(std::move(ivs));
        });
    SmallVector<SmallVector<Value>> results;
    for (int64_t i = 0; i < trips; ++i)
      results.push_back(emitPayload(b, loc, ivsOf[i], insOf[i], outsOf[i]));
    for (int64_t i = 0; i < trips; ++i) {
      if (lastPoint && i == trips - 1) {
        Value inRange = arith::CmpIOp::create(
            b, loc, arith::CmpIPredicate::ult, lastPoint, cIdx(b, loc, np));
        auto ifOp = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
        OpBuilder ib = OpBuilder::atBlockBegin(ifOp.thenBlock());
        storeOutputs(ib, loc, ivsOf[i], results[i]);
        continue;
      }
      storeOutputs(b, loc, ivsOf[i], results[i]);
    }
  }

  /// In a block of `threads` threads: whether the op's lanes take
  /// consecutive points (a combined reduction that streams over its points,
  /// see streamsOverPoints, with at most one chunk of 32 points per warp).
  bool lanesInBlock(int64_t threads) const {
    return combiner && np >= 32 && (np + 31) / 32 <= threads / 32 &&
           const_cast<GenericKernel *>(this)->streamsOverPoints();
  }

  /// Lanes over points inside a block (buildInBlock): the points in chunks
  /// of 32, one per lane; each chunk's warps (threads / 32 / chunks of
  /// them) split its reduction, warp s of a chunk taking the terms s,
  /// s + S, ...; every thread leaves its partial in `partials` (`threads`
  /// floats of workgroup memory), and after a barrier the chunk's first
  /// warp combines them and stores. A second barrier frees the partials.
  void buildLanesInBlock(OpBuilder &b, Location loc, Value lane, Value warp,
                         int64_t threads, Value partials) {
    int64_t chunks = (np + 31) / 32;
    int64_t perChunk = threads / 32 / chunks;
    Type f32 = b.getF32Type();
    Value chunk = arith::DivUIOp::create(b, loc, warp, cIdx(b, loc, perChunk));
    Value slice = arith::RemUIOp::create(b, loc, warp, cIdx(b, loc, perChunk));
    Value point = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, chunk, cIdx(b, loc, 32)), lane);
    // Warps past the last chunk's (threads / 32 not a multiple of chunks)
    // and lanes past np take no terms.
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          point, cIdx(b, loc, np));
    Value active = arith::AndIOp::create(
        b, loc, inRange,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, chunk,
                              cIdx(b, loc, chunks)));
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, active,
                                  /*withElseRegion=*/true);
    {
      OpBuilder tb = OpBuilder::atBlockBegin(ifOp.thenBlock());
      SmallVector<Value> ivs = pointIvs();
      delinearize(tb, loc, point, par, ivs);
      Value start = arith::ConstantOp::create(tb, loc, neutral);
      scf::YieldOp::create(
          tb, loc, reductionLoop(tb, loc, slice, perChunk, start, ivs)[0]);
      OpBuilder eb = OpBuilder::atBlockBegin(ifOp.elseBlock());
      scf::YieldOp::create(eb, loc,
                           Value(arith::ConstantOp::create(eb, loc, neutral)));
    }
    Value tid = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, warp, cIdx(b, loc, 32)), lane);
    memref::StoreOp::create(b, loc, ifOp.getResult(0), partials,
                            ValueRange{tid});
    gpu::BarrierOp::create(b, loc);
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        slice, cIdx(b, loc, 0));
    auto fin = scf::IfOp::create(b, loc,
                                 arith::AndIOp::create(b, loc, first, active),
                                 /*withElse=*/false);
    OpBuilder fb = OpBuilder::atBlockBegin(fin.thenBlock());
    Value total = combineEvery32(fb, loc, partials, tid, perChunk);
    SmallVector<Value> ivs = pointIvs();
    delinearize(fb, loc, point, par, ivs);
    storeCombined(fb, loc, ivs, total);
    gpu::BarrierOp::create(b, loc);
  }

  /// The points `first`, `first + step`, ... (`trips` of them; the last
  /// read clamped to np - 1 where np is not a multiple of `step`): `each`
  /// gets every point's loop indices, in order. Returns the last point as
  /// it was before clamping when it was clamped (its store must then be
  /// guarded by point < np), else null.
  Value clampedPoints(OpBuilder &b, Location loc, Value first, int64_t step,
                      int64_t trips,
                      function_ref<void(SmallVector<Value>)> each) {
    Value lastPoint;
    for (int64_t i = 0; i < trips; ++i) {
      Value point =
          arith::AddIOp::create(b, loc, first, cIdx(b, loc, i * step));
      if (np % step != 0 && i == trips - 1) {
        lastPoint = point;
        point = arith::MinUIOp::create(b, loc, point, cIdx(b, loc, np - 1));
      }
      SmallVector<Value> ivs = pointIvs();
      delinearize(b, loc, point, par, ivs);
      each(std::move(ivs));
    }
    return lastPoint;
  }

  /// `scf.for point = lower to np step step`, `body` called with the
  /// parallel indices of the point, built inside.
  void forPoints(OpBuilder &b, Location loc, Value lower, int64_t step,
                 function_ref<void(OpBuilder &, ArrayRef<Value>)> body) {
    Value upper = cIdx(b, loc, np);
    Value stride = cIdx(b, loc, step);
    auto loop = scf::ForOp::create(b, loc, lower, upper, stride);
    OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
    SmallVector<Value> ivs = pointIvs();
    delinearize(lb, loc, loop.getInductionVar(), par, ivs);
    body(lb, ivs);
  }

  /// Restricts the op to one partition of its iteration space (a
  /// partitioned run, see the pass): the parallel loops `dims` are fixed
  /// at `values` (the block's partition, computed at the kernel's entry)
  /// and the op's points are those of its other parallel loops.
  void partition(ArrayRef<unsigned> dims, ArrayRef<Value> values) {
    fixed.assign(ranges.size(), Value());
    for (auto [d, v] : llvm::zip_equal(dims, values))
      fixed[d] = v;
    llvm::erase_if(par, [&](unsigned d) { return fixed[d] != Value(); });
    np = 1;
    for (unsigned d : par)
      np *= ranges[d];
  }

  /// Loop indices for a point: the partition's where the op has one (see
  /// partition), the others to be filled in.
  SmallVector<Value> pointIvs() const {
    if (fixed.empty())
      return SmallVector<Value>(ranges.size());
    return fixed;
  }

  linalg::GenericOp op;
  int64_t tpb;
  /// The loop indices fixed by partition(), null elsewhere (empty: none).
  SmallVector<Value> fixed;
  /// Operands (buffers) bound to workgroup memory that holds one partition:
  /// how many leading indices their maps lose.
  DenseMap<Value, unsigned> inWorkgroup;
  SmallVector<int64_t> ranges;
  SmallVector<unsigned> par, red;
  int64_t np = 1, nr = 1;
  SmallVector<Value> args;
  Operation *combiner = nullptr;
  /// The most terms of a reduction (or points of a pointwise op in a fused
  /// kernel) that a thread takes unrolled, loads first.
  int64_t maxUnroll = 16;
  /// A combined reduction whose lanes take consecutive points (see
  /// streamsOverPoints) instead of a warp per point.
  bool lanesOverPoints = false;
  TypedAttr neutral;
  Value init;

private:
  /// What the outputs start from: the folded fill's value, or their
  /// contents.
  SmallVector<Value> initialOutputs(OpBuilder &b, Location loc,
                                    ArrayRef<Value> ivs) {
    if (!init)
      return loadOutputs(b, loc, ivs, false);
    return SmallVector<Value>(op.getNumDpsInits(), outer.lookup(init));
  }

  /// ivs[dims[i]] = the digits of `linear` in the mixed radix of the
  /// dims' ranges (the last dim varies fastest).
  void delinearize(OpBuilder &b, Location loc, Value linear,
                   ArrayRef<unsigned> dims, SmallVectorImpl<Value> &ivs) {
    Value rest = linear;
    for (int i = int(dims.size()) - 1; i >= 0; --i) {
      int64_t r = ranges[dims[i]];
      if (i == 0) {
        ivs[dims[i]] = rest;
        break;
      }
      Value rv = cIdx(b, loc, r);
      ivs[dims[i]] = arith::RemUIOp::create(b, loc, rest, rv);
      rest = arith::DivUIOp::create(b, loc, rest, rv);
    }
  }

  SmallVector<Value> indices(OpBuilder &b, Location loc, OpOperand &operand,
                             ArrayRef<Value> ivs) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    // A buffer in workgroup memory holds the block's partition only: its
    // leading (partition) indices go.
    if (unsigned drop = inWorkgroup.lookup(operand.get()))
      map = map.dropResults(llvm::to_vector(llvm::seq<int64_t>(0, drop)));
    std::optional<SmallVector<Value, 8>> v =
        affine::expandAffineMap(b, loc, map, ivs);
    return SmallVector<Value>(v->begin(), v->end());
  }

  Value operandValue(OpBuilder &b, Location loc, OpOperand &operand,
                     ArrayRef<Value> ivs) {
    Value mapped = outer.lookup(operand.get());
    if (!isa<MemRefType>(mapped.getType()))
      return mapped;
    return memref::LoadOp::create(b, loc, mapped, indices(b, loc, operand, ivs));
  }

  SmallVector<Value> loadOutputs(OpBuilder &b, Location loc,
                                 ArrayRef<Value> ivs, bool onlyUsed) {
    SmallVector<Value> outs;
    for (OpOperand &init : op.getDpsInitsMutable()) {
      if (onlyUsed && !op.payloadUsesValueFromOperand(&init))
        outs.push_back(Value());
      else
        outs.push_back(operandValue(b, loc, init, ivs));
    }
    return outs;
  }

  void storeOutputs(OpBuilder &b, Location loc, ArrayRef<Value> ivs,
                    ValueRange values) {
    for (auto [init, v] : llvm::zip(op.getDpsInitsMutable(), values))
      memref::StoreOp::create(b, loc, v, outer.lookup(init.get()),
                              indices(b, loc, init, ivs));
  }

  /// The op's payload at the point `ivs` with the output block arguments
  /// bound to `outs`; returns the yielded values.
  SmallVector<Value> emitBody(OpBuilder &b, Location loc, ArrayRef<Value> ivs,
                              ArrayRef<Value> outs) {
    return emitPayload(b, loc, ivs, loadInputs(b, loc, ivs), outs);
  }

  /// The inputs the payload reads at the point `ivs` (null for the others).
  SmallVector<Value> loadInputs(OpBuilder &b, Location loc,
                                ArrayRef<Value> ivs) {
    SmallVector<Value> ins;
    for (OpOperand *in : op.getDpsInputOperands())
      ins.push_back(op.payloadUsesValueFromOperand(in)
                        ? operandValue(b, loc, *in, ivs)
                        : Value());
    return ins;
  }

  /// emitBody with the inputs already loaded (`ins`, from loadInputs).
  SmallVector<Value> emitPayload(OpBuilder &b, Location loc,
                                 ArrayRef<Value> ivs, ArrayRef<Value> ins,
                                 ArrayRef<Value> outs) {
    Block &body = op.getRegion().front();
    IRMapping m = outer;
    for (auto [i, v] : llvm::enumerate(ins))
      if (v)
        m.map(body.getArgument(i), v);
    for (auto [i, v] : llvm::enumerate(outs))
      if (v)
        m.map(body.getArgument(op.getNumDpsInputs() + i), v);
    for (Operation &inner : body.without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
        m.map(index.getResult(), ivs[index.getDim()]);
        continue;
      }
      b.clone(inner, m);
    }
    SmallVector<Value> results;
    for (Value v : body.getTerminator()->getOperands())
      results.push_back(m.lookupOrDefault(v));
    return results;
  }

  Value combine(OpBuilder &b, Location loc, Value lhs, Value rhs) {
    OperationState state(loc, combiner->getName());
    state.addOperands({lhs, rhs});
    state.addTypes(lhs.getType());
    state.addAttributes(combiner->getAttrs());
    return b.create(state)->getResult(0);
  }

  IRMapping outer;
};

/// Whether every op strictly between `a` and `b` (in one block, `a` first)
/// may be crossed by moving `a` down to `b`: no memory effects but
/// allocation (views, scalars, allocs).
bool onlyPureBetween(Operation *a, Operation *b) {
  if (a->getBlock() != b->getBlock() || !a->isBeforeInBlock(b))
    return false;
  for (Operation *op = a->getNextNode(); op != b; op = op->getNextNode()) {
    if (isMemoryEffectFree(op))
      continue;
    auto iface = dyn_cast<MemoryEffectOpInterface>(op);
    if (!iface || op->getNumRegions() != 0)
      return false;
    SmallVector<MemoryEffects::EffectInstance> effects;
    iface.getEffects(effects);
    for (auto &e : effects)
      if (!isa<MemoryEffects::Allocate>(e.getEffect()))
        return false;
  }
  return true;
}

struct ConvertLinalgToGPUKernelsPass
    : matquant::impl::ConvertLinalgToGPUKernelsPassBase<
          ConvertLinalgToGPUKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    byText.clear();
    count = 0;
    for (auto [t, name] : {std::pair<int64_t, StringRef>{threadsPerBlock,
                                                          "threads-per-block"},
                           {fusedThreads, "fused-threads"}})
      if (t < 32 || t > 1024 || t % 32 != 0) {
        module.emitError("convert-linalg-to-gpu-kernels: ")
            << name << " must be a multiple of 32 in 32..1024";
        return signalPassFailure();
      }
    if (unrollTerms < 0) {
      module.emitError("convert-linalg-to-gpu-kernels: unroll-terms must be "
                       "0 (never) or positive");
      return signalPassFailure();
    }
    if (fusePartitions < 0) {
      module.emitError("convert-linalg-to-gpu-kernels: fuse-partitions must "
                       "be 0 (off) or positive");
      return signalPassFailure();
    }
    if (fuseSmallOps < 0) {
      module.emitError("convert-linalg-to-gpu-kernels: fuse-small-ops must "
                       "be 0 (off) or positive");
      return signalPassFailure();
    }
    SmallVector<Operation *> work;
    for (auto fn : module.getOps<func::FuncOp>())
      fn.walk([&](Operation *op) {
        if (isa<linalg::LinalgOp, memref::CopyOp>(op))
          work.push_back(op);
      });
    if (work.empty())
      return;
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(module, kernelModule);
    IRRewriter rewriter(&getContext());
    // Every op as a generic with its kernel's classification, in order.
    std::vector<std::unique_ptr<GenericKernel>> items;
    // Fills folded into the reduction that follows them: reduction -> value.
    DenseMap<Operation *, Value> foldedFills;
    for (Operation *op : work) {
      if (auto fill = dyn_cast<linalg::FillOp>(op)) {
        if (Operation *next = reductionInto(fill)) {
          foldedFills[next] = fill.getInputs()[0];
          rewriter.eraseOp(fill);
          continue;
        }
      }
      rewriter.setInsertionPoint(op);
      if (auto copy = dyn_cast<memref::CopyOp>(op)) {
        if (!cast<MemRefType>(copy.getSource().getType()).hasStaticShape()) {
          copy.emitOpError("copies a dynamically shaped buffer: a GPU kernel "
                           "needs static shapes");
          return signalPassFailure();
        }
        op = linalg::CopyOp::create(rewriter, copy.getLoc(), copy.getSource(),
                                    copy.getTarget());
        rewriter.eraseOp(copy);
      }
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (!linalgOp.hasPureBufferSemantics()) {
        op->emitOpError("must work on buffers: run "
                        "convert-linalg-to-gpu-kernels after bufferization");
        return signalPassFailure();
      }
      Value init = foldedFills.lookup(op);
      auto generic = dyn_cast<linalg::GenericOp>(op);
      if (!generic) {
        FailureOr<linalg::GenericOp> g =
            linalg::generalizeNamedOp(rewriter, linalgOp);
        if (failed(g)) {
          op->emitOpError("cannot be generalized into a GPU kernel");
          return signalPassFailure();
        }
        generic = *g;
      }
      items.push_back(
          std::make_unique<GenericKernel>(generic, threadsPerBlock, init));
      items.back()->maxUnroll = unrollTerms;
      if (failed(items.back()->analyze()))
        return signalPassFailure();
    }

    kernelOf.clear();
    for (auto &k : items)
      kernelOf[k->op] = k.get();
    // Runs of consecutive small ops (fuse-small-ops) share one kernel.
    auto small = [&](const GenericKernel &k) {
      return fuseSmallOps > 0 && k.work() <= fuseSmallOps;
    };
    for (size_t i = 0; i < items.size();) {
      size_t j = i + 1;
      if (small(*items[i])) {
        llvm::SetVector<Value> args(items[i]->args.begin(),
                                    items[i]->args.end());
        while (j < items.size() && small(*items[j]) &&
               onlyPureBetween(items[j - 1]->op, items[j]->op) &&
               addArgsWithinLimit(args, *items[j]))
          ++j;
      }
      if (j - i == 1 && fusePartitions > 0) {
        // The longest run from i that partitions (and, for it, the most
        // partition loops).
        size_t end = i + 1;
        unsigned rank = 0;
        llvm::SetVector<Value> args(items[i]->args.begin(),
                                    items[i]->args.end());
        for (size_t e = i + 2; e <= items.size(); ++e) {
          if (!onlyPureBetween(items[e - 2]->op, items[e - 1]->op) ||
              !addArgsWithinLimit(args, *items[e - 1]))
            break;
          SmallVector<GenericKernel *> run;
          for (size_t n = i; n < e; ++n)
            run.push_back(items[n].get());
          unsigned m = partitionRank(run);
          if (m == 0)
            break;
          end = e;
          rank = m;
        }
        if (end - i >= 2) {
          emitGroup(rewriter, kernels,
                    MutableArrayRef<std::unique_ptr<GenericKernel>>(items)
                        .slice(i, end - i),
                    rank);
          i = end;
          continue;
        }
      }
      if (j - i == 1 && i + 1 < items.size() &&
          isEpilogue(*items[i], *items[i + 1])) {
        items[i]->epilogue = items[i + 1].get();
        emitSingle(rewriter, kernels, *items[i]);
        i += 2;
        continue;
      }
      if (j - i == 1)
        emitSingle(rewriter, kernels, *items[i]);
      else
        emitGroup(rewriter, kernels,
                  MutableArrayRef<std::unique_ptr<GenericKernel>>(items).slice(
                      i, j - i));
      i = j;
    }
  }

private:
  /// The bytes of a kernel's parameters for `args` with 64-bit index: a
  /// memref is a descriptor of two pointers, an offset and a size and a
  /// stride per dimension; a scalar takes 8 bytes at most.
  static int64_t paramBytes(ArrayRef<Value> args) {
    int64_t bytes = 0;
    for (Value v : args)
      if (auto m = dyn_cast<MemRefType>(v.getType()))
        bytes += 8 * (3 + 2 * m.getRank());
      else
        bytes += 8;
    return bytes;
  }

  /// Adds `k`'s arguments to a run's `args` when the kernel's parameters
  /// then still fit in 4 KiB (PTX before ISA 8.1 allows 4352 bytes);
  /// otherwise leaves `args` alone and returns false: the run ends before
  /// `k`.
  static bool addArgsWithinLimit(llvm::SetVector<Value> &args,
                                 const GenericKernel &k) {
    llvm::SetVector<Value> more = args;
    more.insert(k.args.begin(), k.args.end());
    if (paramBytes(more.getArrayRef()) > 4096)
      return false;
    args = std::move(more);
    return true;
  }

  /// `fn`, or the kernel already in the module with the same text (the
  /// same shapes, layouts and payload), which `fn` is then erased for.
  gpu::GPUFuncOp dedup(gpu::GPUModuleOp kernels, gpu::GPUFuncOp fn) {
    std::string text;
    llvm::raw_string_ostream os(text);
    fn.print(os);
    auto [it, inserted] = byText.try_emplace(text, fn);
    if (!inserted) {
      fn.erase();
      return it->second;
    }
    // A name no kernel of the module has yet (the pass may run on a module
    // that already has some).
    std::string name;
    do
      name = ("linalg_kernel_" + Twine(count++)).str();
    while (SymbolTable::lookupSymbolIn(kernels, name));
    fn.setName(name);
    return fn;
  }

  gpu::GPUFuncOp newKernel(gpu::GPUModuleOp kernels, Location loc,
                           ArrayRef<Value> args, int64_t threads) {
    OpBuilder kb = OpBuilder::atBlockEnd(kernels.getBody());
    auto fnType =
        FunctionType::get(&getContext(), ValueRange(args).getTypes(), {});
    auto fn = gpu::GPUFuncOp::create(kb, loc, "linalg_kernel", fnType);
    fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), kb.getUnitAttr());
    fn.setKnownBlockSizeAttr(kb.getDenseI32ArrayAttr({int32_t(threads), 1, 1}));
    return fn;
  }

  void launch(IRRewriter &rewriter, Operation *at, gpu::GPUFuncOp kernel,
              int64_t grid, int64_t threads, ArrayRef<Value> args) {
    Location loc = at->getLoc();
    rewriter.setInsertionPoint(at);
    Value one = cIdx(rewriter, loc, 1);
    gpu::LaunchFuncOp::create(
        rewriter, loc, kernel,
        gpu::KernelDim3{cIdx(rewriter, loc, grid), one, one},
        gpu::KernelDim3{cIdx(rewriter, loc, threads), one, one},
        /*dynamicSharedMemorySize=*/Value(), args);
  }

  /// One op, one kernel.
  void emitSingle(IRRewriter &rewriter, gpu::GPUModuleOp kernels,
                  GenericKernel &k) {
    // The op's arguments as they are (build binds them in order, repeated
    // ones included), then those of its epilogue's that are new.
    SmallVector<Value> argList(k.args.begin(), k.args.end());
    if (k.epilogue)
      for (Value v : k.epilogue->args)
        if (!llvm::is_contained(argList, v))
          argList.push_back(v);
    gpu::GPUFuncOp fn = newKernel(kernels, k.op.getLoc(), argList, k.tpb);
    if (k.epilogue) {
      Block &entry = fn.getBody().front();
      for (Value v : k.epilogue->args)
        k.epilogue->bind(v, entry.getArgument(std::distance(
                                argList.begin(), llvm::find(argList, v))));
    }
    k.build(fn);
    Operation *at = k.epilogue ? k.epilogue->op.getOperation()
                               : k.op.getOperation();
    launch(rewriter, at, dedup(kernels, fn), k.gridSize(), k.tpb, argList);
    kernelOf.erase(k.op);
    rewriter.eraseOp(k.op);
    if (k.epilogue) {
      kernelOf.erase(k.epilogue->op);
      rewriter.eraseOp(k.epilogue->op);
    }
  }

  /// Whether `b` (the op after `a`) can run inside `a`'s kernel, each
  /// point right after `a` stores it: `a` is a combined reduction with one
  /// output O (its map a projected permutation), `b` is pointwise over O's
  /// shape, reads no buffer but O, through the identity, and captures
  /// none; its outputs are not views of a buffer `a` touches; nothing but
  /// views, scalar ops and allocations lies between them. Attention's p.V
  /// and the rounding of its output to f16 are such a pair.
  static bool isEpilogue(GenericKernel &a, GenericKernel &b) {
    if (!a.combiner || a.op.getNumDpsInits() != 1 || !b.red.empty() ||
        !onlyPureBetween(a.op, b.op))
      return false;
    AffineMap outMap = a.op.getMatchingIndexingMap(a.op.getDpsInitOperand(0));
    Value o = a.op.getDpsInits()[0];
    auto oType = cast<MemRefType>(o.getType());
    if (!outMap.isProjectedPermutation() ||
        ArrayRef<int64_t>(b.ranges) != oType.getShape())
      return false;
    bool readsO = false;
    for (OpOperand *in : b.op.getDpsInputOperands()) {
      if (!isa<MemRefType>(in->get().getType()))
        continue;
      if (in->get() != o || !b.op.getMatchingIndexingMap(in).isIdentity())
        return false;
      readsO = true;
    }
    for (Value v : b.args)
      if (isa<MemRefType>(v.getType()) &&
          !llvm::is_contained(b.op->getOperands(), v))
        return false;
    for (Value out : b.op.getDpsInits()) {
      if (out == o)
        return false;
      for (Value v : a.args)
        if (isa<MemRefType>(v.getType()) &&
            rootBuffer(v) == rootBuffer(out))
          return false;
    }
    return readsO;
  }

  /// The parallel loops of `k` that index the first `m` dimensions of each
  /// of its outputs, in order (the same loops for every output); empty when
  /// there are none.
  static SmallVector<unsigned> partitionLoops(GenericKernel &k, unsigned m) {
    SmallVector<unsigned> loops;
    auto iters = k.op.getIteratorTypesArray();
    for (OpOperand &init : k.op.getDpsInitsMutable()) {
      AffineMap map = k.op.getMatchingIndexingMap(&init);
      if (map.getNumResults() < m)
        return {};
      SmallVector<unsigned> these;
      for (unsigned i = 0; i < m; ++i) {
        auto d = dyn_cast<AffineDimExpr>(map.getResult(i));
        if (!d || iters[d.getPosition()] != utils::IteratorType::parallel ||
            llvm::is_contained(these, d.getPosition()))
          return {};
        these.push_back(d.getPosition());
      }
      if (loops.empty())
        loops = std::move(these);
      else if (loops != these)
        return {};
    }
    return loops;
  }

  /// Whether the ops of `run` can be one kernel with a block per partition:
  /// each op's outputs are indexed first by `m` parallel loops (`loops`,
  /// per op) of the same `extents` for every op, at least 2 partitions,
  /// and at most fuse-partitions payload evaluations per partition and op;
  /// and every buffer that one op of the run writes and another touches is
  /// accessed by all of them as operands, through one value, with those
  /// loops as the first `m` indices. Block p then runs partition p of each
  /// op, and nothing it reads of such a buffer is written by another block.
  bool partitionable(ArrayRef<GenericKernel *> run, unsigned m,
                     SmallVectorImpl<SmallVector<unsigned>> &loops,
                     SmallVectorImpl<int64_t> &extents) const {
    loops.clear();
    extents.clear();
    for (GenericKernel *k : run) {
      SmallVector<unsigned> l = partitionLoops(*k, m);
      if (l.empty())
        return false;
      SmallVector<int64_t> e;
      for (unsigned d : l)
        e.push_back(k->ranges[d]);
      if (extents.empty())
        extents.assign(e.begin(), e.end());
      else if (ArrayRef<int64_t>(extents) != ArrayRef<int64_t>(e))
        return false;
      loops.push_back(std::move(l));
    }
    int64_t parts = computeProduct(extents);
    if (parts < 2)
      return false;
    for (GenericKernel *k : run)
      if (k->work() / parts > fusePartitions)
        return false;
    struct Access {
      unsigned op;
      Value value;
      OpOperand *operand; // null: captured by the body
      bool write;
    };
    llvm::MapVector<Value, SmallVector<Access>> byRoot;
    for (auto [n, k] : llvm::enumerate(run)) {
      for (OpOperand &o : k->op->getOpOperands())
        if (isa<MemRefType>(o.get().getType()))
          byRoot[rootBuffer(o.get())].push_back(
              {unsigned(n), o.get(), &o, k->op.isDpsInit(&o)});
      for (Value v : k->args)
        if (isa<MemRefType>(v.getType()) &&
            !llvm::is_contained(k->op->getOperands(), v))
          byRoot[rootBuffer(v)].push_back({unsigned(n), v, nullptr, false});
    }
    // A chain: every op but the first touches a buffer that an op before
    // it in the run writes (independent ops gain nothing from sharing
    // blocks, and lose the parallelism of their own grids).
    for (unsigned n = 1; n < run.size(); ++n) {
      bool depends = false;
      for (auto &[root, accesses] : byRoot) {
        bool touches = llvm::any_of(accesses,
                                    [&](auto &a) { return a.op == n; });
        bool writtenBefore = llvm::any_of(
            accesses, [&](auto &a) { return a.op < n && a.write; });
        depends |= touches && writtenBefore;
      }
      if (!depends)
        return false;
    }
    for (auto &[root, accesses] : byRoot) {
      bool written = llvm::any_of(accesses, [](auto &a) { return a.write; });
      bool shared = llvm::any_of(
          accesses, [&](auto &a) { return a.op != accesses[0].op; });
      if (!written || !shared)
        continue;
      for (Access &a : accesses) {
        if (!a.operand || a.value != accesses[0].value)
          return false;
        AffineMap map = run[a.op]->op.getMatchingIndexingMap(a.operand);
        if (map.getNumResults() < m)
          return false;
        for (unsigned i = 0; i < m; ++i) {
          auto d = dyn_cast<AffineDimExpr>(map.getResult(i));
          if (!d || d.getPosition() != loops[a.op][i])
            return false;
        }
      }
    }
    return true;
  }

  /// The threads that the ops of `run` can keep busy in a partition of
  /// `parts` (the most of: a pointwise or serial op's points, a combined
  /// reduction's payload evaluations), at most fused-threads.
  int64_t blockThreads(ArrayRef<GenericKernel *> run, int64_t parts) const {
    int64_t most = 32;
    for (GenericKernel *k : run)
      most = std::max(most, k->combiner ? k->work() / parts : k->np / parts);
    return std::min<int64_t>(fusedThreads, (most + 31) / 32 * 32);
  }

  /// The number of partition loops for `run` (0: it does not partition):
  /// the most that leave it a whole block of fused-threads threads of work
  /// per partition (blockThreads), or the fewest that are valid when none
  /// does.
  unsigned partitionRank(ArrayRef<GenericKernel *> run) const {
    SmallVector<SmallVector<unsigned>> loops;
    SmallVector<int64_t> extents;
    unsigned fewest = 0, best = 0;
    for (unsigned m = 1; m <= run.front()->par.size(); ++m) {
      if (!partitionable(run, m, loops, extents))
        continue;
      if (!fewest)
        fewest = m;
      if (blockThreads(run, computeProduct(extents)) >= fusedThreads)
        best = m;
    }
    return best ? best : fewest;
  }

  /// Whether `k` writes every element of `buffer` without reading any
  /// first: `buffer` is its only operand on that buffer, an output whose
  /// map takes each parallel loop once (every parallel point writes its
  /// element, the loops' ranges the buffer's shape), and the payload does
  /// not read the output (or the output starts from a folded fill).
  static bool writesWhole(GenericKernel &k, Value buffer) {
    OpOperand *out = nullptr;
    for (OpOperand &o : k.op->getOpOperands()) {
      if (!isa<MemRefType>(o.get().getType()) ||
          rootBuffer(o.get()) != rootBuffer(buffer))
        continue;
      if (out || o.get() != buffer || !k.op.isDpsInit(&o))
        return false;
      out = &o;
    }
    for (Value v : k.args)
      if (isa<MemRefType>(v.getType()) &&
          !llvm::is_contained(k.op->getOperands(), v) &&
          rootBuffer(v) == rootBuffer(buffer))
        return false;
    if (!out)
      return false;
    AffineMap map = k.op.getMatchingIndexingMap(out);
    auto type = cast<MemRefType>(buffer.getType());
    if (!map.isProjectedPermutation() ||
        map.getNumResults() != type.getRank())
      return false;
    auto iters = k.op.getIteratorTypesArray();
    for (auto [i, e] : llvm::enumerate(map.getResults())) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      if (iters[d] != utils::IteratorType::parallel ||
          k.ranges[d] != type.getDimSize(i))
        return false;
    }
    return k.init || !k.op.payloadUsesValueFromOperand(out);
  }

  /// Whether `buffer`'s contents are dead when the run of `first` .. `last`
  /// starts and when it ends: the first op of the run that touches it
  /// writes it whole (writesWhole), and the first op after the run in its
  /// block that touches it (through views included) writes it whole too,
  /// or frees it, or there is none; nothing touches it elsewhere. (Decode
  /// steps reuse one allocation for every layer's attention scores.)
  bool deadAround(Value buffer, ArrayRef<GenericKernel *> run) const {
    Block *block = run.front()->op->getBlock();
    for (Operation *user : buffer.getUsers())
      if (user->getBlock() != block &&
          !block->getParentOp()->isProperAncestor(user))
        return false;
    auto touches = [&](Operation *op) {
      bool any = false;
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (isa<MemRefType>(v.getType()) && rootBuffer(v) == buffer)
            any = true;
      });
      return any;
    };
    for (GenericKernel *k : run)
      if (touches(k->op)) {
        if (!writesWhole(*k, buffer))
          return false;
        break;
      }
    for (Operation *op = run.back()->op->getNextNode(); op;
         op = op->getNextNode()) {
      if (isa<ViewLikeOpInterface>(op) || !touches(op))
        continue;
      if (isa<memref::DeallocOp>(op))
        return true;
      GenericKernel *k = kernelOf.lookup(op);
      return k && writesWhole(*k, buffer);
    }
    return true;
  }

  /// Buffers of a partitioned run that can live in workgroup memory, one
  /// partition per block: allocations of the function, static, that ops of
  /// the run (two at least) touch directly, whose contents are dead before
  /// and after the run (deadAround; partitionable made every access in the
  /// run partition-local), at most 16 KiB per block in all.
  SmallVector<Value> blockPrivate(ArrayRef<GenericKernel *> run,
                                  unsigned rank) const {
    SmallVector<Value> found;
    llvm::SetVector<Operation *> ops;
    for (GenericKernel *k : run)
      ops.insert(k->op);
    int64_t bytes = 0;
    llvm::SetVector<Value> seen;
    for (GenericKernel *k : run)
      for (Value v : k->op->getOperands()) {
        auto alloc = v.getDefiningOp<memref::AllocOp>();
        if (!alloc || !seen.insert(v))
          continue;
        auto type = cast<MemRefType>(v.getType());
        if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
            type.getRank() < int64_t(rank) ||
            !type.getElementType().isIntOrFloat() ||
            type.getMemorySpace())
          continue;
        llvm::SmallPtrSet<Operation *, 4> users;
        for (Operation *user : v.getUsers())
          if (ops.contains(user))
            users.insert(user);
        if (users.size() < 2 || !deadAround(v, run))
          continue;
        int64_t slice = type.getElementTypeBitWidth() / 8;
        for (int64_t d : type.getShape().drop_front(rank))
          slice *= d;
        if (bytes + slice > 16384)
          continue;
        bytes += slice;
        found.push_back(v);
      }
    return found;
  }

  /// A run of ops in one kernel, in order, a barrier between two ops (the
  /// block's writes are then visible to all its threads), launched where
  /// the last op was: the ops in between have no memory effects, so the
  /// earlier ops may move down to it. With `rank` = 0, one block (a run of
  /// small ops); otherwise a block per partition of the run's first `rank`
  /// partition loops (see partitionable), each block running its
  /// partition of every op.
  void emitGroup(IRRewriter &rewriter, gpu::GPUModuleOp kernels,
                 MutableArrayRef<std::unique_ptr<GenericKernel>> group,
                 unsigned rank = 0) {
    Operation *last = group.back()->op;
    Location loc = last->getLoc();
    // A partitioned run's blocks have as many threads as its partitions
    // keep busy; a single block has fused-threads.
    SmallVector<GenericKernel *> run;
    for (auto &k : group)
      run.push_back(k.get());
    SmallVector<SmallVector<unsigned>> loops;
    SmallVector<int64_t> extents;
    int64_t threads = fusedThreads;
    SmallVector<Value> private_;
    if (rank) {
      bool ok = partitionable(run, rank, loops, extents);
      assert(ok && "the run was checked");
      (void)ok;
      threads = blockThreads(run, computeProduct(extents));
      private_ = blockPrivate(run, rank);
    }
    // The kernel's arguments: every op's, but the block-private buffers.
    llvm::SetVector<Value> args;
    for (auto &k : group)
      for (Value v : k->args)
        if (!llvm::is_contained(private_, v))
          args.insert(v);
    SmallVector<Value> argList(args.begin(), args.end());
    gpu::GPUFuncOp fn = newKernel(kernels, loc, argList, threads);
    // Block-private buffers: a partition's slice in workgroup memory.
    DenseMap<Value, Value> slices;
    for (Value v : private_) {
      auto type = cast<MemRefType>(v.getType());
      auto sliceType = MemRefType::get(
          type.getShape().drop_front(rank), type.getElementType(),
          MemRefLayoutAttrInterface(),
          gpu::AddressSpaceAttr::get(&getContext(),
                                     gpu::AddressSpace::Workgroup));
      slices[v] = fn.addWorkgroupAttribution(sliceType, loc);
    }
    Block &entry = fn.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&entry);
    Value tid = gpu::ThreadIdOp::create(b, loc, gpu::Dimension::x);
    int64_t grid = rank ? computeProduct(extents) : 1;
    if (rank) {
      // The block's partition: the digits of the block id in the mixed
      // radix of the extents (the last fastest).
      Value rest = gpu::BlockIdOp::create(b, loc, gpu::Dimension::x);
      SmallVector<Value> part(rank);
      for (int i = int(rank) - 1; i >= 0; --i) {
        if (i == 0) {
          part[i] = rest;
          break;
        }
        Value e = cIdx(b, loc, extents[i]);
        part[i] = arith::RemUIOp::create(b, loc, rest, e);
        rest = arith::DivUIOp::create(b, loc, rest, e);
      }
      for (auto [k, l] : llvm::zip_equal(group, loops))
        k->partition(l, part);
    }
    int64_t partialFloats = 0;
    for (auto &k : group) {
      if (k->lanesInBlock(threads))
        partialFloats = threads;
      else if (k->reducesByBlock(threads))
        partialFloats = std::max<int64_t>(partialFloats, threads / 32);
    }
    Value partials;
    if (partialFloats)
      partials = addWorkgroupFloats(fn, partialFloats, loc);
    for (auto [n, k] : llvm::enumerate(group)) {
      for (Value v : k->args) {
        if (Value slice = slices.lookup(v)) {
          k->bind(v, slice);
          k->inWorkgroup[v] = rank;
          continue;
        }
        k->bind(v, entry.getArgument(
                       std::distance(args.begin(), llvm::find(args, v))));
      }
      if (n)
        gpu::BarrierOp::create(b, k->op.getLoc());
      k->buildInBlock(b, k->op.getLoc(), tid, threads, partials);
    }
    gpu::ReturnOp::create(b, loc);
    launch(rewriter, last, dedup(kernels, fn), grid, threads, argList);
    for (auto &k : group) {
      kernelOf.erase(k->op);
      rewriter.eraseOp(k->op);
    }
    // A block-private buffer that nothing else uses goes.
    for (Value v : private_) {
      if (!llvm::all_of(v.getUsers(), [](Operation *user) {
            return isa<memref::DeallocOp>(user);
          }))
        continue;
      for (Operation *user : llvm::make_early_inc_range(v.getUsers()))
        rewriter.eraseOp(user);
      rewriter.eraseOp(v.getDefiningOp());
    }
  }

  llvm::StringMap<gpu::GPUFuncOp> byText;
  int64_t count = 0;
  /// The kernel of each op still to convert (its classification).
  DenseMap<Operation *, GenericKernel *> kernelOf;
};

struct SinkTensorExtractsPass
    : matquant::impl::SinkTensorExtractsPassBase<SinkTensorExtractsPass> {
  void runOnOperation() override {
    // Every accumulation into a fill gets its own fill, right before it.
    SmallVector<linalg::FillOp> fills;
    getOperation()->walk([&](linalg::FillOp f) {
      if (f.hasPureTensorSemantics())
        fills.push_back(f);
    });
    for (linalg::FillOp fill : fills) {
      for (OpOperand &use :
           llvm::make_early_inc_range(fill.getResult(0).getUses())) {
        auto user = dyn_cast<linalg::LinalgOp>(use.getOwner());
        if (!user || !user.isDpsInit(&use) ||
            user->getBlock() != fill->getBlock())
          continue;
        OpBuilder b(user);
        Operation *copy = b.clone(*fill);
        use.set(copy->getResult(0));
      }
      if (fill->use_empty())
        fill->erase();
    }

    SmallVector<linalg::GenericOp> ops;
    getOperation()->walk([&](linalg::GenericOp g) { ops.push_back(g); });
    for (linalg::GenericOp g : ops) {
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(g.getRegion(), captured);
      for (Value v : captured) {
        Operation *def = v.getDefiningOp();
        if (!def || def->getBlock() != g->getBlock())
          continue;
        // The scalar computation in g's block that v comes from.
        BackwardSliceOptions options;
        options.inclusive = true;
        options.filter = [&](Operation *op) {
          return op->getBlock() == g->getBlock() && op->getNumRegions() == 0 &&
                 llvm::all_of(op->getResultTypes(), [](Type t) {
                   return t.isIntOrIndexOrFloat();
                 });
        };
        llvm::SetVector<Operation *> slice;
        if (failed(getBackwardSlice(def, &slice, options)))
          continue;
        if (!llvm::any_of(slice, [](Operation *op) {
              return isa<tensor::ExtractOp>(op);
            }))
          continue;
        Block &body = g.getRegion().front();
        OpBuilder b = OpBuilder::atBlockBegin(&body);
        IRMapping m;
        for (Operation *op : slice)
          b.clone(*op, m);
        Value inside = m.lookup(v);
        v.replaceUsesWithIf(inside, [&](OpOperand &use) {
          return g->isProperAncestor(use.getOwner());
        });
      }
    }
  }
};

struct GPUDependentLaunchPass
    : matquant::impl::GPUDependentLaunchPassBase<GPUDependentLaunchPass> {
  void runOnOperation() override {
    getOperation().walk([](gpu::GPUFuncOp fn) {
      // Kernels that wait already (generated so: the tensor-core GEMVs
      // wait after their first weight loads) are left alone.
      bool waits = false;
      fn.walk([&](NVVM::GriddepcontrolOp) { waits = true; });
      if (!fn.isKernel() || fn.getBody().empty() || waits)
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&fn.getBody().front());
      waitForPrerequisiteGrids(b, fn.getLoc());
    });
  }
};

struct DropInPlaceResultsPass
    : matquant::impl::DropInPlaceResultsPassBase<DropInPlaceResultsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal() || !fn.getBody().hasOneBlock() ||
          !SymbolTable::symbolKnownUseEmpty(fn, module))
        continue;
      auto ret = dyn_cast<func::ReturnOp>(fn.getBody().front().getTerminator());
      if (!ret)
        continue;
      llvm::BitVector drop(fn.getNumResults());
      // Per original result, the argument it returned (-1: kept).
      SmallVector<int64_t> returned(fn.getNumResults(), -1);
      for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
        Value root = v;
        while (auto cast = root.getDefiningOp<memref::CastOp>())
          root = cast.getSource();
        auto arg = dyn_cast<BlockArgument>(root);
        // An argument returned twice keeps its second result.
        if (!arg || arg.getOwner() != &fn.getBody().front() ||
            !isa<MemRefType>(v.getType()) || arg.getType() != v.getType() ||
            llvm::is_contained(returned, int64_t(arg.getArgNumber())))
          continue;
        drop.set(i);
        returned[i] = arg.getArgNumber();
      }
      if (drop.none())
        continue;
      // The caller's ABI changes: which argument each dropped result was.
      fn->setAttr(kInPlaceResultsAttrName,
                  DenseI64ArrayAttr::get(fn.getContext(), returned));
      ret->eraseOperands(drop);
      if (failed(fn.eraseResults(drop)))
        return signalPassFailure();
    }
  }
};

struct GPUWorkspacePass
    : matquant::impl::GPUWorkspacePassBase<GPUWorkspacePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment < 1 || (alignment & (alignment - 1)) != 0) {
      module.emitError("mq-gpu-workspace: alignment must be a power of two");
      return signalPassFailure();
    }
    for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (fn.isExternal() || fn.isPrivate())
        continue;
      if (failed(runOnFunction(module, fn)))
        return signalPassFailure();
    }
  }

  LogicalResult runOnFunction(ModuleOp module, func::FuncOp fn) {
    // The host must not touch the buffers: they live in device memory.
    WalkResult touched = fn.walk([&](Operation *op) {
      auto effects = dyn_cast<MemoryEffectOpInterface>(op);
      if (!effects)
        return WalkResult::advance();
      SmallVector<MemoryEffects::EffectInstance> list;
      effects.getEffects(list);
      for (auto &e : list)
        if (isa<MemoryEffects::Read, MemoryEffects::Write>(e.getEffect()) &&
            e.getValue() && isa<MemRefType>(e.getValue().getType())) {
          op->emitOpError("reads or writes a buffer on the host, where every "
                          "buffer is device memory (run "
                          "convert-linalg-to-gpu-kernels first)");
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (touched.wasInterrupted())
      return failure();
    WalkResult stack = fn.walk([&](memref::AllocaOp a) {
      a.emitOpError("is host stack memory, which GPU kernels cannot reach; "
                    "mq-gpu-workspace places memref.alloc only");
      return WalkResult::interrupt();
    });
    if (stack.wasInterrupted())
      return failure();
    SmallVector<memref::AllocOp> allocs;
    fn.walk([&](memref::AllocOp a) { allocs.push_back(a); });
    if (allocs.empty())
      return success();
    if (!SymbolTable::symbolKnownUseEmpty(fn, module))
      return fn.emitOpError("has callers; mq-gpu-workspace gives each public "
                            "function a new workspace argument");
    int64_t offset = 0;
    SmallVector<int64_t> offsets;
    for (memref::AllocOp a : allocs) {
      MemRefType type = a.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          type.getMemorySpace() || !type.getElementType().isIntOrFloat() ||
          type.getElementTypeBitWidth() % 8 != 0)
        return a.emitOpError("has a dynamic shape, a layout, a memory space "
                             "or an element type that mq-gpu-workspace "
                             "cannot place in the workspace: ")
               << type;
      offset = (offset + alignment - 1) / alignment * alignment;
      offsets.push_back(offset);
      offset += type.getNumElements() * (type.getElementTypeBitWidth() / 8);
    }
    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto wsType = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
    unsigned argIndex = fn.getNumArguments();
    if (failed(fn.insertArgument(
            argIndex, wsType,
            b.getDictionaryAttr(b.getNamedAttr("mq.workspace",
                                               b.getUnitAttr())),
            fn.getLoc())))
      return fn.emitOpError("cannot take a workspace argument");
    Value ws = fn.getArgument(argIndex);
    for (auto [a, off] : llvm::zip(allocs, offsets)) {
      b.setInsertionPoint(a);
      Value view = memref::ViewOp::create(b, a.getLoc(), a.getType(), ws,
                                          cIdx(b, a.getLoc(), off),
                                          ValueRange{});
      a.getResult().replaceAllUsesWith(view);
      a.erase();
    }
    // Deallocations of workspace buffers, directly or through views and
    // casts, go: the workspace is not theirs to free.
    SmallVector<memref::DeallocOp> deallocs;
    fn.walk([&](memref::DeallocOp d) { deallocs.push_back(d); });
    for (memref::DeallocOp d : deallocs)
      if (rootBuffer(d.getMemref()) == ws)
        d.erase();
    fn->setAttr("mq.workspace_bytes", b.getI64IntegerAttr(offset));
    // Also on the module, which keeps it through the lowering to LLVM.
    NamedAttrList sizes;
    if (auto old = module->getAttrOfType<DictionaryAttr>("mq.workspace"))
      sizes.append(old.getValue());
    sizes.set(fn.getSymName(), b.getI64IntegerAttr(offset));
    module->setAttr("mq.workspace", sizes.getDictionary(ctx));
    return success();
  }
};

} // namespace
