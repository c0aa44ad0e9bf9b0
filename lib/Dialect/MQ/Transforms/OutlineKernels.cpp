//===- OutlineKernels.cpp - One function per kernel signature ----*- C++ -*-===//
//
// mq-outline-kernels: each weight-only op becomes a call of a private
// function holding it, shared by every op of the same signature, so that the
// code generated for a deep model holds one kernel per distinct layer shape.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/DenseMap.h"

#include <tuple>

namespace matquant::mq {
#define GEN_PASS_DEF_MQOUTLINEKERNELSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant::mq;

namespace {

/// What makes two ops share a kernel: the op name, the kernel's function
/// type (operand and result types), and the op's own attributes other than
/// the layer name. Dialect-prefixed metadata (`mq.slice_errors`,
/// `mq.weight_sq_norm` of mq-quantize-weights: different on every layer)
/// does not change the kernel; it stays on the call.
using KernelKey = std::tuple<const void *, Type, Attribute>;

struct MQOutlineKernelsPass
    : matquant::mq::impl::MQOutlineKernelsPassBase<MQOutlineKernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SymbolTable symbols(module);
    SmallVector<Operation *> ops;
    for (auto fn : module.getOps<func::FuncOp>())
      fn.walk([&](Operation *op) {
        if (isa<MatvecOp, MatmulOp, MatvecDynamicOp, MatmulDynamicOp>(op))
          ops.push_back(op);
      });
    llvm::DenseMap<KernelKey, func::FuncOp> kernels;
    OpBuilder moduleBuilder = OpBuilder::atBlockEnd(module.getBody());
    for (Operation *op : ops) {
      auto type = FunctionType::get(ctx, op->getOperandTypes(),
                                    op->getResultTypes());
      NamedAttrList attrs, metadata;
      Attribute layer;
      for (NamedAttribute attr : op->getAttrs()) {
        if (attr.getName() == "layer")
          layer = attr.getValue();
        else if (attr.getName().strref().contains('.'))
          metadata.push_back(attr);
        else
          attrs.push_back(attr);
      }
      KernelKey key{op->getName().getAsOpaquePointer(), type,
                    attrs.getDictionary(ctx)};
      func::FuncOp &kernel = kernels[key];
      if (!kernel) {
        kernel = func::FuncOp::create(moduleBuilder, op->getLoc(),
                                      "mq_kernel", type);
        kernel.setPrivate();
        // Internal linkage once in LLVM: two object files with kernels of
        // their own link together.
        kernel->setAttr("llvm.linkage",
                        LLVM::LinkageAttr::get(ctx, LLVM::Linkage::Internal));
        // Kept out of line: a call costs nothing next to a kernel, while
        // inlined copies make one function of the whole model again.
        kernel->setAttr("passthrough",
                        ArrayAttr::get(ctx, {StringAttr::get(ctx, "noinline")}));
        symbols.insert(kernel); // renames to a unique mq_kernel_<n>
        Block *body = kernel.addEntryBlock();
        OpBuilder b = OpBuilder::atBlockEnd(body);
        IRMapping map;
        map.map(op->getOperands(), body->getArguments());
        Operation *clone = b.clone(*op, map);
        clone->removeAttr("layer");
        for (NamedAttribute attr : metadata)
          clone->removeAttr(attr.getName());
        func::ReturnOp::create(b, op->getLoc(), clone->getResults());
      }
      OpBuilder b(op);
      auto call = func::CallOp::create(b, op->getLoc(), kernel,
                                       op->getOperands());
      if (layer)
        call->setAttr("mq.layer", layer);
      for (NamedAttribute attr : metadata)
        call->setAttr(attr.getName(), attr.getValue());
      op->replaceAllUsesWith(call.getResults());
      op->erase();
    }
  }
};

} // namespace
