//===- SelectGPULayout.cpp - Repack weights for the GPU kernels --*- C++ -*-===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Runtime/GpuKernelSpec.h"

#include "mlir/IR/Builders.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQSELECTGPULAYOUTPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

struct MQSelectGPULayoutPass
    : matquant::mq::impl::MQSelectGPULayoutPassBase<MQSelectGPULayoutPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<MatmulOp, MatvecOp>(op))
        return WalkResult::advance();
      OpOperand &operand = op->getOpOperand(1);
      auto type = cast<WeightType>(operand.get().getType());
      if (type.getAxis() != 0) {
        op->emitOpError("GPU kernels need the weight's channel axis 0, got ")
            << type.getAxis();
        return WalkResult::interrupt();
      }
      unsigned idxBits = type.getIndexStorageBits();
      int64_t block = gpurt::gpuInterleavedBlock(idxBits, type.getGroupSize());
      if (block == 0) {
        op->emitOpError("no GPU kernel layout fits group size ")
            << type.getGroupSize() << " at " << idxBits
            << " index bits (the block must divide the group and hold "
               "whole 32-bit words of every piece)";
        return WalkResult::interrupt();
      }
      auto want = LayoutAttr::get(&getContext(), LayoutKind::interleaved,
                                  idxBits, block);
      LayoutAttr layout = type.getLayout();
      if (layout == want)
        return WalkResult::advance();
      OpBuilder b(op);
      Value logical = operand.get();
      if (layout)
        logical = UnpackOp::create(b, op->getLoc(), type.withLayout({}),
                                   logical);
      operand.set(PackOp::create(b, op->getLoc(), type.withLayout(want),
                                 logical));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
