//===- ExpandStridedCopies.cpp - memref.copy without the runtime --*- C++ -*-===//
//
// Rewrites memref.copy ops that would lower to a `memrefCopy` runtime call
// (strided or dynamic operands) into linalg.copy.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Utils/MemRefUtils.h"

namespace matquant {
#define GEN_PASS_DEF_EXPANDSTRIDEDCOPIESPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;

namespace {
struct ExpandStridedCopiesPass
    : matquant::impl::ExpandStridedCopiesPassBase<ExpandStridedCopiesPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp op) {
      // An unranked copy has no loops to become; it stays a memref.copy.
      auto src = dyn_cast<MemRefType>(op.getSource().getType());
      auto dst = dyn_cast<MemRefType>(op.getTarget().getType());
      if (!src || !dst)
        return;
      if (!memref::isStaticShapeAndContiguousRowMajor(src) ||
          !memref::isStaticShapeAndContiguousRowMajor(dst))
        copies.push_back(op);
    });
    for (memref::CopyOp op : copies) {
      OpBuilder b(op);
      linalg::CopyOp::create(b, op.getLoc(), op.getSource(), op.getTarget());
      op.erase();
    }
  }
};
} // namespace
