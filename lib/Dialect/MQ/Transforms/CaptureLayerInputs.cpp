//===- CaptureLayerInputs.cpp - Return every linear layer's input -*- C++
//-*-===//
//
// The `mq-capture-layer-inputs` pass: makes a function also return the input
// vector of every named linear layer, concatenated into one tensor, so that
// running it collects calibration activations.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Dominance.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQCAPTURELAYERINPUTSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant::mq;

namespace {

struct MQCaptureLayerInputsPass
    : matquant::mq::impl::MQCaptureLayerInputsPassBase<
          MQCaptureLayerInputsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    if (fn.getSymName() != function || fn.isExternal())
      return;
    if (!fn.getBody().hasOneBlock()) {
      fn.emitError() << "mq-capture-layer-inputs: function '" << function
                     << "' must have a single block";
      return signalPassFailure();
    }
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    DominanceInfo dom(fn);

    // The inputs to capture, in IR order.
    SmallVector<std::pair<std::string, Value>> inputs;
    fn.walk([&](Operation *op) {
      Value x;
      StringAttr name;
      if (auto mv = dyn_cast<linalg::MatvecOp>(op)) {
        name = op->getAttrOfType<StringAttr>("mq.layer");
        if (mv.getInputs().size() == 2)
          x = mv.getInputs()[1];
      } else if (auto mv = dyn_cast<MatvecOp>(op)) {
        name = mv.getLayerAttr();
        x = mv.getInput();
      }
      if (!name || !x)
        return;
      auto type = dyn_cast<RankedTensorType>(x.getType());
      if (!type || type.getRank() != 1 || !type.hasStaticShape() ||
          !type.getElementType().isF32())
        return;
      if (!dom.properlyDominates(x, ret))
        return;
      inputs.push_back({name.getValue().str(), x});
    });

    OpBuilder b(ret);
    Location loc = fn.getLoc();
    int64_t total = 0;
    for (auto &entry : inputs)
      total += cast<RankedTensorType>(entry.second.getType()).getDimSize(0);
    auto outType = RankedTensorType::get({total}, b.getF32Type());
    Value acc = tensor::EmptyOp::create(b, loc, outType.getShape(),
                                        outType.getElementType());
    SmallVector<Attribute> layout;
    int64_t offset = 0;
    for (auto &[name, x] : inputs) {
      int64_t size = cast<RankedTensorType>(x.getType()).getDimSize(0);
      acc = tensor::InsertSliceOp::create(
          b, loc, x, acc, ArrayRef<OpFoldResult>{b.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(size)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      layout.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("layer", b.getStringAttr(name)),
           b.getNamedAttr("offset", b.getI64IntegerAttr(offset)),
           b.getNamedAttr("size", b.getI64IntegerAttr(size))}));
      offset += size;
    }
    ret.getOperandsMutable().append(acc);
    SmallVector<Type> results(fn.getResultTypes());
    results.push_back(outType);
    fn.setFunctionType(b.getFunctionType(fn.getArgumentTypes(), results));
    fn->setAttr("mq.captured_layers", b.getArrayAttr(layout));
  }
};

} // namespace
