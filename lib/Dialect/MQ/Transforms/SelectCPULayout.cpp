//===- SelectCPULayout.cpp - Repack weights for the CPU kernels --*- C++ -*-===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Numerics/Numerics.h"

#include "mlir/IR/Builders.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQSELECTCPULAYOUTPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

/// The block of the interleaved layout for a weight: the largest of
/// 128, 64, 32, 16, 8 dividing the group size (128 per channel), or 0.
unsigned chooseBlock(WeightType type) {
  int64_t g = type.getGroupSize();
  for (unsigned e : {128u, 64u, 32u, 16u, 8u})
    if (g == 0 || g % e == 0)
      return e;
  return 0;
}

struct MQSelectCPULayoutPass
    : matquant::mq::impl::MQSelectCPULayoutPassBase<MQSelectCPULayoutPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation().walk([&](Operation *op) {
      if (!isa<MatmulOp, MatvecOp, MatmulDynamicOp, MatvecDynamicOp>(op))
        return;
      // A run-time width reads the stored model's bit planes.
      bool dynamic = isa<MatmulDynamicOp, MatvecDynamicOp>(op);
      OpOperand &operand = op->getOpOperand(1);
      auto type = cast<WeightType>(operand.get().getType());
      LayoutAttr layout = type.getLayout();
      if (type.getAxis() != 0)
        return;
      unsigned idxBits = type.getIndexStorageBits();
      bool wholeChunks =
          type.getGroupSize() == 0 || type.getGroupSize() % 16 == 0;
      if (dynamic && !wholeChunks)
        return; // The reference lowering runs it.
      bool usePlanes = dynamic || (idxBits <= planesMaxBits && wholeChunks);
      LayoutAttr want;
      if (usePlanes) {
        want = LayoutAttr::get(&getContext(), LayoutKind::planes, idxBits);
      } else {
        unsigned block = chooseBlock(type);
        if (!block)
          return; // No block fits the groups: the reference lowering runs it.
        auto tile = static_cast<unsigned>(numerics::interleavedRowTile(
            type.getRows(), idxBits <= rowTileMaxBits ? rowTile : 1));
        want = LayoutAttr::get(&getContext(), LayoutKind::interleaved, idxBits,
                               block, tile);
      }
      // Already in a kernel layout of this kind (the kernels read any row
      // tile: a weight packed by the caller is not repacked at run time).
      if (layout && layout.getKind() == want.getKind() &&
          layout.getKind() != LayoutKind::dense)
        return;
      OpBuilder b(op);
      Value logical = operand.get();
      if (layout)
        logical = UnpackOp::create(b, op->getLoc(), type.withLayout({}),
                                   logical);
      auto packed = type.withLayout(want);
      operand.set(PackOp::create(b, op->getLoc(), packed, logical));
    });
  }
};

} // namespace
