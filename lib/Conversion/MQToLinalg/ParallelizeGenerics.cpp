//===- ParallelizeGenerics.cpp - Large linalg ops over threads --*- C++ -*-===//
//
// Splits the first parallel loop of each large linalg.generic on tensors
// into one scf.forall tile per thread.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
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
      // An op of dynamic size (attention over the filled positions of a KV
      // cache) is split when its static loops alone reach min-points / 64,
      // i.e. it reaches min-points from 64 positions on: attention's scores
      // and weighted sums ([kv heads, group, head size] by the positions),
      // not its softmax ([kv heads, group] by the positions). Testing the
      // size at run time instead (an scf.if of both versions) made the JIT
      // compile two to three times slower.
      if (points < (dynamic ? minPoints / 64 : minPoints))
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
      if (FailureOr<SmallVector<Value>> tiled = tile(rewriter, op, split);
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
};
} // namespace
