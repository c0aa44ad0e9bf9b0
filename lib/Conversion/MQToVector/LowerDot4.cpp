//===- LowerDot4.cpp - x86 kernel ops to intrinsics or vectors -*- C++ -*-===//

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
    SmallVector<TransposeBitsOp> transposes;
    getOperation()->walk([&](TransposeBitsOp op) { transposes.push_back(op); });
    for (TransposeBitsOp op : transposes) {
      OpBuilder b(op);
      Value result = lowerTransposeBits(b, op.getLoc(), op.getInput());
      op.replaceAllUsesWith(result);
      op.erase();
    }
  }

  /// With GFNI, vgf2p8affineqb(x, A, 0): bit t of result byte i of a word
  /// is the parity of (A's byte 7 - t AND x's byte i); with x's byte i =
  /// 1 << i that is bit i of A's byte 7 - t, the op's definition. Otherwise
  /// the rows are reversed (row p becomes 7 - p) and each 64-bit word
  /// transposed by three delta swaps (2 x 2, then 4 x 4, then 8 x 8 blocks).
  Value lowerTransposeBits(OpBuilder &b, Location loc, Value input) {
    auto type = cast<VectorType>(input.getType());
    int64_t bytes = type.getNumElements();
    if (gfni && bytes == 64) {
      SmallVector<int8_t> columns;
      for (int64_t i = 0; i < bytes; ++i)
        columns.push_back(static_cast<int8_t>(1u << (i % 8)));
      Value x = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(type, ArrayRef<int8_t>(columns)));
      Value imm = LLVM::ConstantOp::create(b, loc, b.getI8Type(),
                                           b.getI8IntegerAttr(0));
      return LLVM::CallIntrinsicOp::create(
                 b, loc, type, b.getStringAttr("llvm.x86.vgf2p8affineqb.512"),
                 ValueRange{x, input, imm})
          .getResult(0);
    }
    SmallVector<int64_t> reversed;
    for (int64_t i = 0; i < bytes; ++i)
      reversed.push_back(i / 8 * 8 + 7 - i % 8);
    Value v = vector::ShuffleOp::create(b, loc, input, input, reversed);
    auto words = VectorType::get({bytes / 8}, b.getI64Type());
    v = vector::BitCastOp::create(b, loc, words, v);
    auto c = [&](uint64_t value) -> Value {
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(
              words, b.getI64IntegerAttr(static_cast<int64_t>(value))));
    };
    // Bit (row p, column i) sits at 8p + i; each step swaps the bits at
    // distance `shift` selected by `mask`.
    const std::pair<int64_t, uint64_t> steps[] = {{7, 0x00AA00AA00AA00AAull},
                                                  {14, 0x0000CCCC0000CCCCull},
                                                  {28, 0x00000000F0F0F0F0ull}};
    for (auto [shift, mask] : steps) {
      Value t = arith::ShRUIOp::create(b, loc, v, c(shift));
      t = arith::XOrIOp::create(b, loc, v, t);
      t = arith::AndIOp::create(b, loc, t, c(mask));
      v = arith::XOrIOp::create(b, loc, v, t);
      v = arith::XOrIOp::create(b, loc, v,
                                arith::ShLIOp::create(b, loc, t, c(shift)));
    }
    return vector::BitCastOp::create(b, loc, type, v);
  }
};
} // namespace
