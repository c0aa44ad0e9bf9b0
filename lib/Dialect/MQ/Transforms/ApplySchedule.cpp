//===- ApplySchedule.cpp - Apply a Mix'n'Match precision schedule -*- C++ -*-===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQAPPLYSCHEDULEPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

struct MQApplySchedulePass
    : matquant::mq::impl::MQApplySchedulePassBase<MQApplySchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    ScheduleAttr sched;
    if (!schedule.empty()) {
      Attribute parsed = parseAttribute(schedule, &getContext());
      sched = dyn_cast_or_null<ScheduleAttr>(parsed);
      if (!sched) {
        module.emitError() << "option 'schedule' is not a #mq.schedule "
                              "attribute: '"
                           << schedule << "'";
        return signalPassFailure();
      }
    } else if (Attribute attr = module->getAttr("mq.schedule")) {
      sched = dyn_cast<ScheduleAttr>(attr);
      if (!sched) {
        module.emitError() << "'mq.schedule' must be a #mq.schedule "
                              "attribute, got "
                           << attr;
        return signalPassFailure();
      }
    } else {
      module.emitError() << "no schedule: pass the 'schedule' option or set "
                            "the module's 'mq.schedule' attribute";
      return signalPassFailure();
    }

    double bits = 0, params = 0;
    WalkResult result = module.walk([&](Operation *op) -> WalkResult {
      if (!isa<MatmulOp, MatvecOp>(op))
        return WalkResult::advance();
      auto layer = op->getAttrOfType<StringAttr>("layer");
      if (!layer)
        return WalkResult::advance();
      OpOperand &operand = op->getOpOperand(1);
      Value source = operand.get();
      while (auto slice = source.getDefiningOp<SliceOp>())
        source = slice.getInput();
      auto type = cast<WeightType>(source.getType());
      if (type.getLayout())
        return op->emitOpError()
               << "weight of layer '" << layer.getValue()
               << "' is already packed; apply the schedule before packing";
      unsigned r = sched.getBitsFor(layer.getValue());
      if (r > type.getBits())
        return op->emitOpError()
               << "schedule gives layer '" << layer.getValue() << "' " << r
               << " bits, wider than its stored " << type.getBits()
               << "-bit model";
      if (!type.getWidths().empty() && !llvm::is_contained(type.getWidths(), r))
        return op->emitOpError()
               << "schedule gives layer '" << layer.getValue() << "' " << r
               << " bits, which is not one of the nested widths of "
               << type;
      // Keep an operand that already is the stored model's r-bit slice.
      Value current = operand.get();
      auto direct = current.getDefiningOp<SliceOp>();
      bool isDirect = current == source ||
                      (direct && direct.getInput() == source);
      Value sliced = source;
      if (isDirect && cast<WeightType>(current.getType()).getBits() == r) {
        sliced = current;
      } else if (r != type.getBits()) {
        OpBuilder b(op);
        sliced = SliceOp::create(b, op->getLoc(), type.withBits(r), source);
      }
      operand.set(sliced);
      WeightType out = type.withBits(r);
      double n = double(type.getRows()) * double(type.getCols());
      double groups = double(out.getScaleShape()[0]) * out.getScaleShape()[1];
      bits += n * out.getIndexStorageBits() + groups * 64.0;
      params += n;
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    if (params > 0)
      module->setAttr("mq.effective_bits",
                      FloatAttr::get(Float64Type::get(&getContext()),
                                     bits / params));
  }
};

} // namespace
