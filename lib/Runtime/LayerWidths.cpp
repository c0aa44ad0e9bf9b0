//===- LayerWidths.cpp - Change layer widths between calls ------*- C++ -*-===//

#include "matquant/Runtime/LayerWidths.h"

#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "llvm/Support/FormatVariadic.h"

using namespace matquant;

llvm::Expected<LayerWidths> LayerWidths::bind(JitModule &jit,
                                              mlir::ModuleOp module) {
  auto list = module->getAttrOfType<mlir::ArrayAttr>("mq.dynamic_layers");
  if (!list)
    return llvm::createStringError(
        "the module has no mq.dynamic_layers (run mq-dynamic-widths)");
  LayerWidths w;
  for (mlir::Attribute a : list) {
    auto name = llvm::dyn_cast<mlir::StringAttr>(a);
    if (!name)
      return llvm::createStringError("mq.dynamic_layers must hold strings");
    w.index[name.getValue()] = w.names.size();
    w.names.push_back(name.getValue().str());
  }
  w.storage.assign(w.names.size(), 0);
  module.walk([&](mlir::Operation *op) {
    if (!llvm::isa<mq::MatvecDynamicOp, mq::MatmulDynamicOp>(op))
      return;
    auto name = op->getAttrOfType<mlir::StringAttr>("layer");
    auto it = name ? w.index.find(name.getValue()) : w.index.end();
    if (it == w.index.end())
      return;
    auto type = llvm::cast<mq::WeightType>(op->getOperand(1).getType());
    w.storage[it->second] = type.getStorageBits();
  });
  for (size_t i = 0; i < w.names.size(); ++i)
    if (w.storage[i] == 0)
      return llvm::createStringError(
          llvm::formatv("layer '{0}' of mq.dynamic_layers has no "
                        "dynamic-width op",
                        w.names[i])
              .str());
  auto addr = jit.lookupSymbol("mq_widths");
  if (!addr)
    return addr.takeError();
  w.table = static_cast<int32_t *>(*addr);
  return w;
}

llvm::Error LayerWidths::set(llvm::StringRef layer, unsigned bits) {
  auto it = index.find(layer);
  if (it == index.end())
    return llvm::createStringError(
        llvm::formatv("unknown layer '{0}'", layer).str());
  unsigned c = storage[it->second];
  if (bits < 1 || bits > c)
    return llvm::createStringError(
        llvm::formatv("layer '{0}': width {1} is not in [1, {2}]", layer, bits,
                      c)
            .str());
  table[it->second] = static_cast<int32_t>(bits);
  return llvm::Error::success();
}

llvm::Error LayerWidths::setAll(unsigned bits) {
  for (size_t i = 0; i < names.size(); ++i)
    if (bits < 1 || bits > storage[i])
      return llvm::createStringError(
          llvm::formatv("layer '{0}': width {1} is not in [1, {2}]", names[i],
                        bits, storage[i])
              .str());
  for (size_t i = 0; i < names.size(); ++i)
    table[i] = static_cast<int32_t>(bits);
  return llvm::Error::success();
}

unsigned LayerWidths::get(llvm::StringRef layer) const {
  auto it = index.find(layer);
  return it == index.end() ? 0 : static_cast<unsigned>(table[it->second]);
}
