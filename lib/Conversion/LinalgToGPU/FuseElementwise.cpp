//===- FuseElementwise.cpp - Tensor-level clean-up before GPU kernels -----===//
//
// mq-fuse-elementwise-once: upstream's elementwise fusion patterns, with a
// control that refuses fusions which would compute a producer value once
// per point of a consumer loop the value does not depend on.
// mq-forward-tensor-copies: a linalg.copy of a tensor is its input.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace matquant {
#define GEN_PASS_DEF_FUSEELEMENTWISENORECOMPUTEPASS
#define GEN_PASS_DEF_FORWARDTENSORCOPIESPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {

/// A producer with one use (upstream's condition).
bool singleUseProducer(OpOperand *fused) {
  Operation *producer = fused->get().getDefiningOp();
  return producer && producer->hasOneUse();
}

/// ... and every parallel loop of the consumer appears in the map through
/// which it reads the producer: each producer value is computed for one
/// consumer point at most (reduction loops aside, which read every value
/// once anyway).
bool fusesWithoutRecompute(OpOperand *fused) {
  if (!singleUseProducer(fused))
    return false;
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  if (!consumer)
    return false;
  AffineMap map = consumer.getMatchingIndexingMap(fused);
  for (auto [d, it] : llvm::enumerate(consumer.getIteratorTypesArray()))
    if (it == utils::IteratorType::parallel && !map.isFunctionOfDim(d))
      return false;
  return true;
}

struct FuseElementwiseNoRecomputePass
    : matquant::impl::FuseElementwiseNoRecomputePassBase<
          FuseElementwiseNoRecomputePass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    linalg::populateElementwiseOpsFusionPatterns(patterns,
                                                 fusesWithoutRecompute);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns,
                                                      singleUseProducer);
    tensor::populateBubbleUpExpandShapePatterns(patterns);
    affine::AffineApplyOp::getCanonicalizationPatterns(patterns, ctx);
    linalg::GenericOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::ExpandShapeOp::getCanonicalizationPatterns(patterns, ctx);
    tensor::CollapseShapeOp::getCanonicalizationPatterns(patterns, ctx);
    ctx->getLoadedDialect<linalg::LinalgDialect>()
        ->getCanonicalizationPatterns(patterns);
    linalg::populateConstantFoldLinalgOperations(patterns, singleUseProducer);
    GreedyRewriteConfig config;
    config.setUseTopDownTraversal(true);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns),
                                     config)))
      return signalPassFailure();
  }
};

/// linalg.copy ins(%x) outs(%y) on tensors of one type is %x: the copy
/// overwrites every element of %y.
struct ForwardTensorCopy : OpRewritePattern<linalg::CopyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(linalg::CopyOp copy,
                                PatternRewriter &rewriter) const override {
    if (!copy.hasPureTensorSemantics() || copy.getInputs().size() != 1 ||
        copy->getNumResults() != 1 ||
        copy.getInputs()[0].getType() != copy->getResult(0).getType())
      return failure();
    rewriter.replaceOp(copy, copy.getInputs()[0]);
    return success();
  }
};

struct ForwardTensorCopiesPass
    : matquant::impl::ForwardTensorCopiesPassBase<ForwardTensorCopiesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ForwardTensorCopy>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
