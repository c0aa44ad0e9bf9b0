//===- ParallelizeGenerics.cpp - Large linalg ops over threads --*- C++ -*-===//
//
// Splits the first parallel loop of each large linalg.generic on tensors
// into one scf.forall tile per thread; an op of dynamic size is split under
// a run-time test of its size.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace matquant {
#define GEN_PASS_DEF_PARALLELIZEGENERICSPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {
struct ParallelizeGenericsPass
    : matquant::impl::ParallelizeGenericsPassBase<ParallelizeGenericsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (threads < 2)
      return;
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.hasPureTensorSemantics() && !op->getParentOfType<scf::ForallOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      bool dynamic = llvm::any_of(ranges, ShapedType::isDynamic);
      int64_t points = 1;
      for (int64_t r : ranges)
        points *= ShapedType::isDynamic(r) ? 1 : r;
      // A static op below the size stays sequential; a dynamic one is split
      // under a run-time test of its size.
      if (!dynamic && points < minPoints)
        continue;
      SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
      int64_t split = -1;
      for (auto [i, it] : llvm::enumerate(iterators))
        if (it == utils::IteratorType::parallel &&
            !ShapedType::isDynamic(ranges[i]) && ranges[i] >= threads) {
          split = static_cast<int64_t>(i);
          break;
        }
      if (split < 0)
        continue;
      if (dynamic)
        splitWhenLarge(rewriter, op, split);
      else if (FailureOr<SmallVector<Value>> tiled = tile(rewriter, op, split);
               succeeded(tiled))
        rewriter.replaceOp(op, *tiled);
    }
  }

  /// The op's loop `split` in `threads` tiles of an scf.forall, or failure
  /// (the op then stays sequential: still correct).
  FailureOr<SmallVector<Value>> tile(RewriterBase &rewriter,
                                     linalg::GenericOp op, int64_t split) {
    SmallVector<OpFoldResult> numThreads(split + 1, rewriter.getIndexAttr(0));
    numThreads[split] = rewriter.getIndexAttr(threads);
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setNumThreads(numThreads);
    rewriter.setInsertionPoint(op);
    FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
        rewriter, cast<TilingInterface>(op.getOperation()), options);
    if (failed(tiled))
      return failure();
    return tiled->replacements;
  }

  /// An op with dynamic loop ranges (attention over the filled positions of
  /// a KV cache): `scf.if` its iteration count, computed at run time, is at
  /// least min-points, the split op, else the op as it is.
  void splitWhenLarge(RewriterBase &rewriter, linalg::GenericOp op,
                      int64_t split) {
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    // The product of the dynamic sizes, times that of the static ones.
    int64_t known = 1;
    Value points;
    for (Range range : cast<TilingInterface>(op.getOperation())
                           .getIterationDomain(rewriter)) {
      if (std::optional<int64_t> size = getConstantIntValue(range.size)) {
        known *= *size;
        continue;
      }
      Value size = getValueOrCreateConstantIndexOp(rewriter, loc, range.size);
      points =
          points ? arith::MulIOp::create(rewriter, loc, points, size) : size;
    }
    if (known != 1)
      points = arith::MulIOp::create(
          rewriter, loc, points,
          arith::ConstantIndexOp::create(rewriter, loc, known));
    Value large = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::uge, points,
        arith::ConstantIndexOp::create(rewriter, loc, minPoints));
    auto ifOp = scf::IfOp::create(rewriter, loc, op->getResultTypes(), large,
                                  /*addThenBlock=*/true,
                                  /*addElseBlock=*/true);
    rewriter.setInsertionPointToStart(ifOp.thenBlock());
    auto parallel = cast<linalg::GenericOp>(rewriter.clone(*op));
    FailureOr<SmallVector<Value>> tiled = tile(rewriter, parallel, split);
    if (failed(tiled)) {
      rewriter.eraseOp(ifOp);
      return;
    }
    rewriter.setInsertionPointToEnd(ifOp.thenBlock());
    scf::YieldOp::create(rewriter, loc, *tiled);
    rewriter.eraseOp(parallel);
    rewriter.setInsertionPointToStart(ifOp.elseBlock());
    Operation *sequential = rewriter.clone(*op);
    scf::YieldOp::create(rewriter, loc, sequential->getResults());
    rewriter.replaceOp(op, ifOp.getResults());
  }
};
} // namespace
