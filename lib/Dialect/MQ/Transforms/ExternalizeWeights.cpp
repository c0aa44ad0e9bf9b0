//===- ExternalizeWeights.cpp - Constants into a run-time arena --*- C++ -*-===//
//
// mq-externalize-weights: after bufferization, the large constant
// memref.globals (a model's weights, packed or not) leave the module. Their
// bytes go into one arena (a dense_resource module attribute, and optionally
// a file); their reads become memref.view ops of a new `memref<?xi8>`
// argument of each function that reads them. The compiled code then holds no
// weights: the caller passes them, as a serving runtime passes parameters.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQEXTERNALIZEWEIGHTSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;

namespace {

/// The bytes of a global's initial value in row-major order, if it is a
/// non-splat dense or an available dense_resource value of byte-sized
/// elements.
std::optional<ArrayRef<char>> constantBytes(memref::GlobalOp global) {
  if (!global.getConstant() || global.isExternal() || global.isUninitialized())
    return std::nullopt;
  auto type = global.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace())
    return std::nullopt;
  Type elt = type.getElementType();
  if (!elt.isIntOrFloat() || elt.getIntOrFloatBitWidth() % 8 != 0)
    return std::nullopt;
  size_t bytes = static_cast<size_t>(type.getNumElements()) *
                 (elt.getIntOrFloatBitWidth() / 8);
  Attribute value = global.getInitialValueAttr();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(value)) {
    if (dense.isSplat() || dense.getRawData().size() != bytes)
      return std::nullopt;
    return dense.getRawData();
  }
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes)
      return std::nullopt;
    return blob->getData();
  }
  return std::nullopt;
}

struct Entry {
  memref::GlobalOp global;
  ArrayRef<char> bytes;
  int64_t offset = 0;
};

struct MQExternalizeWeightsPass
    : matquant::mq::impl::MQExternalizeWeightsPassBase<
          MQExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (alignment <= 0 || (alignment & (alignment - 1)) != 0) {
      module.emitError() << "mq-externalize-weights: alignment must be a "
                            "power of two, got "
                         << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    if (module->hasAttr("mq.arena")) {
      module.emitError()
          << "mq-externalize-weights: the module already has an arena";
      return signalPassFailure();
    }

    // The globals that move, in module order, with their offsets.
    llvm::MapVector<StringAttr, Entry> entries;
    int64_t size = 0;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      std::optional<ArrayRef<char>> bytes = constantBytes(global);
      if (!bytes || static_cast<int64_t>(bytes->size()) < minBytes)
        continue;
      size = llvm::alignTo(size, alignment);
      entries[global.getSymNameAttr()] = {global, *bytes, size};
      size += static_cast<int64_t>(bytes->size());
    }
    if (entries.empty())
      return;

    // Their readers, by function; a read outside a function cannot take an
    // argument.
    llvm::MapVector<func::FuncOp, SmallVector<memref::GetGlobalOp>> readers;
    bool failed = false;
    module.walk([&](memref::GetGlobalOp get) {
      if (!entries.count(get.getNameAttr().getAttr()))
        return;
      auto fn = get->getParentOfType<func::FuncOp>();
      if (!fn) {
        get.emitOpError() << "reads '" << get.getName()
                          << "' outside a function; mq-externalize-weights "
                             "cannot pass it an arena";
        failed = true;
        return;
      }
      readers[fn].push_back(get);
    });
    for (auto &[fn, gets] : readers) {
      std::optional<SymbolTable::UseRange> uses =
          SymbolTable::getSymbolUses(fn, module);
      if (uses && !uses->empty()) {
        InFlightDiagnostic diag =
            fn.emitOpError()
            << "reads weights that mq-externalize-weights moves to an "
               "arena argument, but is called in the module; its callers "
               "would not pass the arena";
        diag.attachNote(uses->begin()->getUser()->getLoc()) << "called here";
        failed = true;
      }
    }
    if (failed)
      return signalPassFailure();

    if (!keepData && !file.empty()) {
      module.emitError("mq-externalize-weights: file= needs keep-data=true");
      return signalPassFailure();
    }
    // The bytes.
    AsmResourceBlob blob;
    if (keepData) {
      blob = HeapAsmResourceBlob::allocate(size, alignment,
                                           /*dataIsMutable=*/true);
      MutableArrayRef<char> data = blob.getMutableData();
      std::fill(data.begin(), data.end(), 0);
      for (auto &[name, e] : entries)
        std::copy(e.bytes.begin(), e.bytes.end(), data.begin() + e.offset);
    }
    if (!file.empty()) {
      MutableArrayRef<char> data = blob.getMutableData();
      std::error_code ec;
      llvm::raw_fd_ostream os(file, ec, llvm::sys::fs::OF_None);
      if (!ec) {
        os.write(data.data(), data.size());
        os.close();
        ec = os.error();
      }
      if (ec) {
        module.emitError() << "mq-externalize-weights: cannot write '" << file
                           << "': " << ec.message();
        return signalPassFailure();
      }
    }

    // The reads: views of the new last argument of each reader.
    auto arenaType = MemRefType::get({ShapedType::kDynamic},
                                     IntegerType::get(ctx, 8));
    for (auto &[fn, gets] : readers) {
      unsigned index = fn.getNumArguments();
      if (llvm::failed(fn.insertArgument(
              index, arenaType,
              DictionaryAttr::get(ctx, {NamedAttribute(
                                           StringAttr::get(ctx, "mq.arena"),
                                           UnitAttr::get(ctx))}),
              fn.getLoc()))) {
        fn.emitOpError() << "mq-externalize-weights: cannot add the arena "
                            "argument";
        return signalPassFailure();
      }
      Value arena = fn.getArgument(index);
      for (memref::GetGlobalOp get : gets) {
        OpBuilder b(get);
        const Entry &e = entries[get.getNameAttr().getAttr()];
        Value offset =
            arith::ConstantIndexOp::create(b, get.getLoc(), e.offset);
        Value view = memref::ViewOp::create(b, get.getLoc(), get.getType(),
                                            arena, offset, ValueRange{});
        get.replaceAllUsesWith(view);
        get.erase();
      }
    }

    // The record, and the bytes as a resource the runtime can take.
    Builder b(ctx);
    SmallVector<Attribute> records;
    for (auto &[name, e] : entries) {
      records.push_back(b.getDictionaryAttr(
          {b.getNamedAttr("name", name),
           b.getNamedAttr("offset", b.getI64IntegerAttr(e.offset)),
           b.getNamedAttr("bytes", b.getI64IntegerAttr(
                                       static_cast<int64_t>(e.bytes.size()))),
           b.getNamedAttr("type", TypeAttr::get(
                                      e.global.getType().getElementType()))}));
    }
    for (auto &[name, e] : entries)
      e.global.erase();
    module->setAttr("mq.arena",
                    b.getDictionaryAttr(
                        {b.getNamedAttr("size", b.getI64IntegerAttr(size)),
                         b.getNamedAttr("alignment",
                                        b.getI64IntegerAttr(alignment)),
                         b.getNamedAttr("entries", b.getArrayAttr(records))}));
    if (keepData)
      module->setAttr("mq.arena_data",
                    DenseResourceElementsAttr::get(
                        RankedTensorType::get({size}, IntegerType::get(ctx, 8)),
                        "mq_arena", std::move(blob)));
  }
};

} // namespace
