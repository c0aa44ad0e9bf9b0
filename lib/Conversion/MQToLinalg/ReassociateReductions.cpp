//===- ReassociateReductions.cpp - Vectorizable float reductions -*- C++
//-*-===//
//
// Marks the accumulation of each float reduction of a linalg.generic
// fastmath<reassoc>, so that LLVM may vectorize the loops it becomes.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace matquant {
#define GEN_PASS_DEF_REASSOCIATEREDUCTIONSPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {
struct ReassociateReductionsPass
    : matquant::impl::ReassociateReductionsPassBase<ReassociateReductionsPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation().walk([](linalg::GenericOp op) {
      if (op.getNumReductionLoops() == 0)
        return;
      Block &body = op.getRegion().front();
      auto yield = cast<linalg::YieldOp>(body.getTerminator());
      for (OpOperand &init : op.getDpsInitsMutable()) {
        BlockArgument acc = op.getMatchingBlockArgument(&init);
        unsigned i = init.getOperandNumber() - op.getNumDpsInputs();
        Operation *def = yield.getOperand(i).getDefiningOp();
        // Only the op that combines the accumulator with the new term.
        if (!def ||
            !isa<arith::AddFOp, arith::MaximumFOp, arith::MinimumFOp,
                 arith::MaxNumFOp, arith::MinNumFOp>(def) ||
            !llvm::is_contained(def->getOperands(), Value(acc)))
          continue;
        auto fm = cast<arith::ArithFastMathInterface>(def);
        auto flags = fm.getFastMathFlagsAttr().getValue() |
                     arith::FastMathFlags::reassoc;
        def->setAttr(fm.getFastMathAttrName(),
                     arith::FastMathFlagsAttr::get(op.getContext(), flags));
      }
    });
  }
};
} // namespace
