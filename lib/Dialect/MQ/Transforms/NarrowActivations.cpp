//===- NarrowActivations.cpp - mq-narrow-activations ----------------------===//
//
// f32 activations of weight-only ops rounded to f16 / bf16; results stay f32.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/DenseMap.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQNARROWACTIVATIONSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant::mq;

namespace {

/// `x` rounded to `narrow` elementwise, right after its definition.
Value roundTensor(OpBuilder &b, Value x, Type narrow) {
  OpBuilder::InsertionGuard guard(b);
  if (Operation *def = x.getDefiningOp())
    b.setInsertionPointAfter(def);
  else
    b.setInsertionPointToStart(cast<BlockArgument>(x).getOwner());
  auto type = cast<RankedTensorType>(x.getType());
  Location loc = x.getLoc();
  SmallVector<Value> dynamic;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d))
      dynamic.push_back(tensor::DimOp::create(b, loc, x, d));
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), narrow, dynamic);
  AffineMap id = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> iters(type.getRank(),
                                         utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{x},
             ValueRange{init}, ArrayRef<AffineMap>{id, id}, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value t = arith::TruncFOp::create(nb, nl, narrow, args[0]);
               linalg::YieldOp::create(nb, nl, t);
             })
      .getResult(0);
}

struct MQNarrowActivationsPass
    : matquant::mq::impl::MQNarrowActivationsPassBase<
          MQNarrowActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    Operation *root = getOperation();
    OpBuilder b(&getContext());
    Type narrow;
    if (type == "f16")
      narrow = b.getF16Type();
    else if (type == "bf16")
      narrow = b.getBF16Type();
    else {
      root->emitError() << "mq-narrow-activations: type must be f16 or bf16, "
                           "got '"
                        << type << "'";
      return signalPassFailure();
    }
    // One rounded copy per activation value, shared by its readers.
    llvm::DenseMap<Value, Value> rounded;
    root->walk([&](Operation *op) {
      if (!isa<MatvecOp, MatmulOp>(op))
        return;
      OpOperand &input = op->getOpOperand(0);
      auto inType = cast<RankedTensorType>(input.get().getType());
      auto outType = cast<RankedTensorType>(op->getResult(0).getType());
      if (!inType.getElementType().isF32() ||
          !outType.getElementType().isF32())
        return;
      if (auto layer = op->getAttrOfType<StringAttr>("layer"))
        if (llvm::is_contained(exclude, layer.getValue()))
          return;
      Value &narrowed = rounded[input.get()];
      if (!narrowed)
        narrowed = roundTensor(b, input.get(), narrow);
      input.set(narrowed);
    });
  }
};

} // namespace
