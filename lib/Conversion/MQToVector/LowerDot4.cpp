//===- LowerDot4.cpp - mq.dot4 to VNNI or vector arithmetic ------*- C++ -*-===//

#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace matquant {
#define GEN_PASS_DEF_LOWERDOT4PASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant::mq;

namespace {
struct LowerDot4Pass : matquant::impl::LowerDot4PassBase<LowerDot4Pass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<Dot4Op> ops;
    getOperation()->walk([&](Dot4Op op) { ops.push_back(op); });
    for (Dot4Op op : ops) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto accType = op.getAcc().getType();
      int64_t lanes = accType.getNumElements();
      Value result;
      if (vnni && lanes == 16) {
        result = LLVM::CallIntrinsicOp::create(
                     b, loc, accType,
                     b.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
                     ValueRange{op.getAcc(), op.getLhs(), op.getRhs()})
                     .getResult(0);
      } else {
        auto wide = VectorType::get({4 * lanes}, b.getI32Type());
        Value a = arith::ExtUIOp::create(b, loc, wide, op.getLhs());
        Value c = arith::ExtSIOp::create(b, loc, wide, op.getRhs());
        Value prod = arith::MulIOp::create(b, loc, a, c);
        // Lane i adds products 4i .. 4i + 3: four strided shuffles.
        result = op.getAcc();
        for (int64_t j = 0; j < 4; ++j) {
          SmallVector<int64_t> mask;
          for (int64_t i = 0; i < lanes; ++i)
            mask.push_back(4 * i + j);
          Value part = vector::ShuffleOp::create(b, loc, prod, prod, mask);
          result = arith::AddIOp::create(b, loc, result, part);
        }
      }
      op.replaceAllUsesWith(result);
      op.erase();
    }
  }
};
} // namespace
