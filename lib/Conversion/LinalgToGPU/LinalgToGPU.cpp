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
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace matquant {
#define GEN_PASS_DEF_CONVERTLINALGTOGPUKERNELSPASS
#define GEN_PASS_DEF_SINKTENSOREXTRACTSPASS
#define GEN_PASS_DEF_GPUWORKSPACEPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant;

namespace {

Value cIdx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
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
    return success();
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
      if (red.empty()) {
        SmallVector<Value> outs = loadOutputs(ib, loc, ivs, /*onlyUsed=*/true);
        storeOutputs(ib, loc, ivs, emitBody(ib, loc, ivs, outs));
      } else {
        // A sequential loop over the reduction space, the outputs carried.
        for (unsigned d : red)
          ivs[d] = cIdx(ib, loc, 0);
        SmallVector<Value> start = initialOutputs(ib, loc, ivs);
        storeOutputs(ib, loc, ivs,
                     reductionLoop(ib, loc, cIdx(ib, loc, 0), 1, start, ivs));
      }
    } else if (blockPerPoint()) {
      buildBlockReduction(fn, b, loc, tid, bid);
    } else {
      // One warp per parallel point (the condition is uniform in a warp,
      // so every lane takes part in the shuffles).
      Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
      Value point = arith::DivUIOp::create(b, loc, gid, cIdx(b, loc, 32));
      SmallVector<Value> ivs;
      OpBuilder ib = ifInRange(b, loc, point, ivs);
      Value start = arith::ConstantOp::create(ib, loc, neutral);
      Value partial = warpCombine(
          ib, loc, reductionLoop(ib, loc, lane, 32, start, ivs)[0]);
      OpBuilder sb = ifZero(ib, loc, lane);
      storeCombined(sb, loc, ivs, partial);
    }
    gpu::ReturnOp::create(b, loc);
  }

  /// An scf.for over the reduction space from `lower` by `step`, carrying
  /// `init`; each iteration runs the payload at its reduction point (the
  /// parallel indices from `ivs`). Returns the carried values at the end.
  SmallVector<Value> reductionLoop(OpBuilder &b, Location loc, Value lower,
                                   int64_t step, ValueRange init,
                                   ArrayRef<Value> ivs) {
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
    int64_t warps = tpb / 32;
    Type f32 = b.getF32Type();
    auto wgType = MemRefType::get(
        {warps}, f32, MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(b.getContext(),
                                   gpu::AddressSpace::Workgroup));
    Value partials = fn.addWorkgroupAttribution(wgType, loc);
    SmallVector<Value> ivs(ranges.size());
    delinearize(b, loc, bid, par, ivs);
    Value start = arith::ConstantOp::create(b, loc, neutral);
    Value partial =
        warpCombine(b, loc, reductionLoop(b, loc, tid, tpb, start, ivs)[0]);
    Value lane = arith::RemUIOp::create(b, loc, tid, cIdx(b, loc, 32));
    Value warp = arith::DivUIOp::create(b, loc, tid, cIdx(b, loc, 32));
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
    OpBuilder sb = ifZero(fb, loc, tid);
    storeCombined(sb, loc, ivs, total);
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
    storeOutputs(b, loc, ivs, {combine(b, loc, initial, total)});
  }

  linalg::GenericOp op;
  int64_t tpb;
  SmallVector<int64_t> ranges;
  SmallVector<unsigned> par, red;
  int64_t np = 1, nr = 1;
  SmallVector<Value> args;
  Operation *combiner = nullptr;
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
    Block &body = op.getRegion().front();
    IRMapping m = outer;
    for (OpOperand *in : op.getDpsInputOperands())
      if (op.payloadUsesValueFromOperand(in))
        m.map(body.getArgument(in->getOperandNumber()),
              operandValue(b, loc, *in, ivs));
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

struct ConvertLinalgToGPUKernelsPass
    : matquant::impl::ConvertLinalgToGPUKernelsPassBase<
          ConvertLinalgToGPUKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (threadsPerBlock < 32 || threadsPerBlock > 1024 ||
        threadsPerBlock % 32 != 0) {
      module.emitError("convert-linalg-to-gpu-kernels: threads-per-block "
                       "must be a multiple of 32 in 32..1024");
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
    llvm::StringMap<gpu::GPUFuncOp> byText;
    int64_t count = 0;
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
      GenericKernel k(generic, threadsPerBlock, init);
      if (failed(k.analyze()))
        return signalPassFailure();
      OpBuilder kb = OpBuilder::atBlockEnd(kernels.getBody());
      auto fnType = FunctionType::get(&getContext(),
                                      ValueRange(k.args).getTypes(), {});
      auto fn = gpu::GPUFuncOp::create(kb, generic.getLoc(), "linalg_kernel",
                                       fnType);
      fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                  kb.getUnitAttr());
      fn.setKnownBlockSizeAttr(
          kb.getDenseI32ArrayAttr({int32_t(threadsPerBlock), 1, 1}));
      k.build(fn);
      // Identical kernels (same shapes, layouts and payload) are emitted
      // once.
      std::string text;
      llvm::raw_string_ostream os(text);
      fn.print(os);
      auto [it, inserted] = byText.try_emplace(text, fn);
      if (inserted) {
        // A name no kernel of the module has yet (the pass may run on a
        // module that already has some).
        std::string name;
        do
          name = ("linalg_kernel_" + Twine(count++)).str();
        while (SymbolTable::lookupSymbolIn(kernels, name));
        fn.setName(name);
      } else {
        fn.erase();
      }
      gpu::GPUFuncOp kernel = it->second;
      Location loc = generic.getLoc();
      rewriter.setInsertionPoint(generic);
      Value one = cIdx(rewriter, loc, 1);
      Value grid = cIdx(rewriter, loc, k.gridSize());
      Value block = cIdx(rewriter, loc, threadsPerBlock);
      gpu::LaunchFuncOp::create(rewriter, loc, kernel,
                                gpu::KernelDim3{grid, one, one},
                                gpu::KernelDim3{block, one, one},
                                /*dynamicSharedMemorySize=*/Value(), k.args);
      rewriter.eraseOp(generic);
    }
  }
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
    for (memref::DeallocOp d : deallocs) {
      Value v = d.getMemref();
      while (auto viewLike = v.getDefiningOp<ViewLikeOpInterface>())
        v = viewLike.getViewSource();
      if (v == ws)
        d.erase();
    }
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
