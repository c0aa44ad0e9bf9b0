//===- DynamicWidths.cpp - Layer widths read at run time --------*- C++ -*-===//
//
// mq-dynamic-widths: every named weight-only op becomes its dynamic-width
// form on the stored model, with its width loaded from one public table
// (memref.global @mq_widths) that a runtime writes between calls.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQDYNAMICWIDTHSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

struct MQDynamicWidthsPass
    : matquant::mq::impl::MQDynamicWidthsPassBase<MQDynamicWidthsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (module.lookupSymbol("mq_widths")) {
      module.emitError() << "mq-dynamic-widths: the module already has a "
                            "symbol named 'mq_widths'";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    llvm::StringMap<unsigned> index;
    SmallVector<Attribute> names;
    SmallVector<int32_t> widths;
    bool failed = false;
    module.walk([&](Operation *op) {
      if (!isa<MatvecOp, MatmulOp>(op))
        return;
      auto name = op->getAttrOfType<StringAttr>("layer");
      if (!name)
        return;
      auto type = cast<WeightType>(op->getOperand(1).getType());
      auto [it, inserted] = index.try_emplace(name.getValue(), names.size());
      if (inserted) {
        names.push_back(name);
        widths.push_back(static_cast<int32_t>(type.getBits()));
      } else if (widths[it->second] != static_cast<int32_t>(type.getBits())) {
        op->emitError() << "mq-dynamic-widths: layer '" << name.getValue()
                        << "' has ops at " << widths[it->second] << " and "
                        << type.getBits()
                        << " bits; one table entry cannot "
                           "hold both";
        failed = true;
      }
      ops.push_back(op);
    });
    if (failed)
      return signalPassFailure();
    if (ops.empty())
      return;

    // The table, initialised to the widths the ops have now.
    OpBuilder b(ctx);
    b.setInsertionPointToStart(module.getBody());
    auto tableType =
        MemRefType::get({static_cast<int64_t>(widths.size())}, b.getI32Type());
    auto init = DenseElementsAttr::get(
        RankedTensorType::get(tableType.getShape(), b.getI32Type()),
        ArrayRef<int32_t>(widths));
    memref::GlobalOp::create(b, module.getLoc(), "mq_widths",
                             b.getStringAttr("public"), tableType, init,
                             /*constant=*/false, /*alignment=*/nullptr);
    module->setAttr("mq.dynamic_layers", b.getArrayAttr(names));

    for (Operation *op : ops) {
      Value source = op->getOperand(1);
      while (auto slice = source.getDefiningOp<SliceOp>())
        source = slice.getInput();
      auto storedType = cast<WeightType>(source.getType());
      if (storedType.getBits() != storedType.getStorageBits()) {
        op->emitError() << "mq-dynamic-widths: the weight of layer '"
                        << op->getAttrOfType<StringAttr>("layer").getValue()
                        << "' does not come from a stored model (it traces "
                           "back to a "
                        << storedType.getBits() << "-bit value of a "
                        << storedType.getStorageBits() << "-bit model)";
        return signalPassFailure();
      }
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      auto name = op->getAttrOfType<StringAttr>("layer");
      Value table = memref::GetGlobalOp::create(b, loc, tableType, "mq_widths");
      Value at = arith::ConstantIndexOp::create(b, loc, index[name.getValue()]);
      Value width = memref::LoadOp::create(b, loc, table, ValueRange{at});
      Value x = op->getOperand(0), s = op->getOperand(2), m = op->getOperand(3);
      Operation *repl;
      if (isa<MatvecOp>(op))
        repl = MatvecDynamicOp::create(b, loc, op->getResult(0).getType(), x,
                                       source, s, m, width, name);
      else
        repl = MatmulDynamicOp::create(b, loc, op->getResult(0).getType(), x,
                                       source, s, m, width, name);
      op->replaceAllUsesWith(repl);
      op->erase();
    }
  }
};

} // namespace
