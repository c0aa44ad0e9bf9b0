//===- FuseCheapElementwise.cpp - mq-fuse-cheap-elementwise ---------------===//
//
// Cheap elementwise linalg ops recomputed in each of their consumers.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace matquant {
#define GEN_PASS_DEF_FUSECHEAPELEMENTWISEPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {

bool isElementwiseGeneric(Operation *op) {
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  return generic && generic.getNumLoops() == generic.getNumParallelLoops() &&
         generic.hasPureTensorSemantics();
}

struct FuseCheapElementwisePass
    : matquant::impl::FuseCheapElementwisePassBase<FuseCheapElementwisePass> {
  using Base::Base;

  /// Whether `producer` may be recomputed in all its users.
  bool recomputable(linalg::GenericOp producer) {
    if (!isElementwiseGeneric(producer) || producer->getNumResults() != 1 ||
        producer->use_empty() || producer->hasOneUse())
      return false;
    if (producer.getBody()->getOperations().size() > maxOps)
      return false;
    for (Value in : producer.getDpsInputs())
      if (isElementwiseGeneric(in.getDefiningOp()))
        return false;
    for (OpOperand &use : producer->getResult(0).getUses())
      if (!isa<linalg::GenericOp>(use.getOwner()) ||
          !linalg::areElementwiseOpsFusable(&use))
        return false;
    return true;
  }

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation()->walk([&](linalg::GenericOp op) {
      if (recomputable(op))
        candidates.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp producer : candidates) {
      // Each user gets a private copy of the producer, which then fuses
      // into it as a single-use producer (no result kept for the others).
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : producer->getResult(0).getUses())
        uses.push_back(&use);
      for (OpOperand *use : uses) {
        Operation *consumer = use->getOwner();
        rewriter.setInsertionPoint(consumer);
        Operation *copy = rewriter.clone(*producer);
        rewriter.modifyOpInPlace(consumer,
                                 [&] { use->set(copy->getResult(0)); });
        FailureOr<linalg::ElementwiseOpFusionResult> fused =
            linalg::fuseElementwiseOps(rewriter, use);
        if (failed(fused)) {
          // Not expected after areElementwiseOpsFusable: undo.
          rewriter.modifyOpInPlace(consumer,
                                   [&] { use->set(producer->getResult(0)); });
          rewriter.eraseOp(copy);
          continue;
        }
        for (auto [from, to] : fused->replacements)
          if (from.getDefiningOp() == consumer)
            rewriter.replaceAllUsesWith(from, to);
        rewriter.eraseOp(consumer);
        rewriter.eraseOp(copy);
      }
      if (producer->use_empty())
        rewriter.eraseOp(producer);
    }
  }
};

} // namespace
