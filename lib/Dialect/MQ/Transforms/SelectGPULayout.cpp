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
  using Base::Base;

  void runOnOperation() override {
    if (kernel != "auto" && kernel != "simt" && kernel != "mma") {
      getOperation().emitError()
          << "mq-select-gpu-layout: kernel must be auto, simt or mma, got '"
          << kernel << "'";
      return signalPassFailure();
    }
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
      bool f16 = cast<ShapedType>(op->getOperand(0).getType())
                     .getElementType()
                     .isF16();
      // auto: the faster kind measured on an H200 (docs/GPU-results.md):
      // tensor cores for f16 matmuls, and for f16 matvecs below 8 index
      // bits, whose decode is cheaper in f16x2 than the SIMT kernel's.
      bool mma = kernel == "mma" ||
                 (kernel == "auto" && f16 &&
                  (isa<MatmulOp>(op) || idxBits < 8));
      if (mma && !f16) {
        op->emitOpError("tensor-core (mma) kernels need f16 activations");
        return WalkResult::interrupt();
      }
      int64_t tile = gpurt::gpuMmaKTile(idxBits, type.getGroupSize());
      if (mma && tile == 0) {
        if (kernel == "mma") {
          op->emitOpError("no mma layout column tile fits group size ")
              << type.getGroupSize() << " at " << idxBits << " index bits";
          return WalkResult::interrupt();
        }
        mma = false;
      }
      int64_t block = mma ? tile
                          : gpurt::gpuInterleavedBlock(idxBits,
                                                        type.getGroupSize());
      if (block == 0) {
        op->emitOpError("no GPU kernel layout fits group size ")
            << type.getGroupSize() << " at " << idxBits
            << " index bits (the block must divide the group and hold "
               "whole 32-bit words of every piece)";
        return WalkResult::interrupt();
      }
      auto want = LayoutAttr::get(
          &getContext(), mma ? LayoutKind::mma : LayoutKind::interleaved,
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
