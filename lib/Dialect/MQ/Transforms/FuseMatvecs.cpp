//===- FuseMatvecs.cpp - mq-fuse-matvecs ----------------------------------===//
//
// Weight-only matvecs that share their input, stacked into one.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "matquant/Dialect/MQ/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"

namespace matquant::mq {
#define GEN_PASS_DEF_MQFUSEMATVECSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant::mq;

namespace {

/// The bytes of a statically shaped constant of `elementBytes`-byte
/// elements, row-major: a view of the attribute's data, or `storage` filled
/// for a splat. None for other attributes.
std::optional<ArrayRef<char>> rawBytes(Attribute attr, int64_t elementBytes,
                                       std::vector<char> &storage) {
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    ArrayRef<char> raw = dense.getRawData();
    if (!dense.isSplat())
      return raw;
    storage.clear();
    for (int64_t i = 0, n = dense.getNumElements(); i < n; ++i)
      storage.insert(storage.end(), raw.begin(), raw.begin() + elementBytes);
    return ArrayRef<char>(storage);
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
  return std::nullopt;
}

/// What must match for two matvecs to be stacked; null when the op cannot
/// take part.
struct Parts {
  MatvecOp op;
  WeightType type;
  ConstantOp weight;
  arith::ConstantOp scales, offsets;
};

std::optional<Parts> partsOf(MatvecOp op) {
  Parts p{op, op.getWeight().getType(), nullptr, nullptr, nullptr};
  p.weight = op.getWeight().getDefiningOp<ConstantOp>();
  p.scales = op.getScales().getDefiningOp<arith::ConstantOp>();
  p.offsets = op.getOffsets().getDefiningOp<arith::ConstantOp>();
  if (!p.weight || !p.scales || !p.offsets || p.type.getAxis() != 0)
    return std::nullopt;
  if (LayoutAttr layout = p.type.getLayout())
    if (layout.getKind() != LayoutKind::interleaved)
      return std::nullopt;
  return p;
}

bool stackable(Parts a, Parts b) {
  WeightType x = a.type, y = b.type;
  return x.getCols() == y.getCols() &&
         x.getElementType() == y.getElementType() &&
         x.getStorageBits() == y.getStorageBits() &&
         x.getBits() == y.getBits() && x.getWidths() == y.getWidths() &&
         x.getGroupSize() == y.getGroupSize() && x.getMode() == y.getMode() &&
         x.getLayout() == y.getLayout() &&
         a.op.getType().getElementType() == b.op.getType().getElementType() &&
         a.scales.getType() == a.offsets.getType() &&
         b.scales.getType() == b.offsets.getType() &&
         cast<RankedTensorType>(a.scales.getType()).getDimSize(1) ==
             cast<RankedTensorType>(b.scales.getType()).getDimSize(1);
}

/// The rows of several constants of type [r_i, cols] x `element`, stacked.
Attribute stack(ArrayRef<Attribute> parts, ArrayRef<int64_t> rows,
                int64_t cols, Type element, int64_t elementBytes,
                StringRef name) {
  int64_t total = 0;
  for (int64_t r : rows)
    total += r;
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(
      size_t(total * cols * elementBytes), /*align=*/64,
      /*dataIsMutable=*/true);
  MutableArrayRef<char> out = blob.getMutableData();
  size_t at = 0;
  std::vector<char> storage;
  for (Attribute a : parts) {
    std::optional<ArrayRef<char>> bytes = rawBytes(a, elementBytes, storage);
    if (!bytes)
      return {};
    std::copy(bytes->begin(), bytes->end(), out.begin() + at);
    at += bytes->size();
  }
  if (at != out.size())
    return {};
  return DenseResourceElementsAttr::get(
      RankedTensorType::get({total, cols}, element), name, std::move(blob));
}

struct MQFuseMatvecsPass
    : matquant::mq::impl::MQFuseMatvecsPassBase<MQFuseMatvecsPass> {
  void runOnOperation() override {
    // Candidates by (block, input), in program order.
    llvm::MapVector<std::pair<Block *, Value>, SmallVector<Parts>> byInput;
    getOperation()->walk([&](MatvecOp op) {
      if (std::optional<Parts> p = partsOf(op))
        byInput[{op->getBlock(), op.getInput()}].push_back(*p);
    });
    for (auto &[key, list] : byInput) {
      SmallVector<Parts> rest = list;
      while (rest.size() >= 2) {
        SmallVector<Parts> group, others;
        group.push_back(rest.front());
        for (size_t i = 1; i < rest.size(); ++i)
          (stackable(rest.front(), rest[i]) ? group : others)
              .push_back(rest[i]);
        if (group.size() >= 2 && failed(fuse(group)))
          return signalPassFailure();
        rest = std::move(others);
      }
    }
  }

  LogicalResult fuse(MutableArrayRef<Parts> group) {
    MatvecOp first = group.front().op;
    WeightType type = group.front().type;
    MLIRContext *ctx = &getContext();
    SmallVector<Attribute> codes, scales, offsets;
    SmallVector<int64_t> rows;
    SmallVector<std::string> layers;
    for (Parts &p : group) {
      codes.push_back(p.weight.getValue());
      scales.push_back(p.scales.getValue());
      offsets.push_back(p.offsets.getValue());
      rows.push_back(p.type.getRows());
      layers.push_back(p.op.getLayer() ? p.op.getLayer()->str()
                                       : std::string("?"));
    }
    auto storageType = type.getStorageTensorType();
    int64_t storageCols = storageType.getDimSize(1);
    int64_t groups =
        cast<RankedTensorType>(group.front().scales.getType()).getDimSize(1);
    std::string name = llvm::join(layers, "+");
    std::string blobName = name;
    std::replace(blobName.begin(), blobName.end(), '.', '_');
    std::replace(blobName.begin(), blobName.end(), '+', '_');
    // Storage rows: one per weight row (axis 0, no layout or interleaved).
    Attribute w = stack(codes, rows, storageCols,
                        IntegerType::get(ctx, 8), 1, blobName + "_codes");
    Attribute s = stack(scales, rows, groups, Float32Type::get(ctx), 4,
                        blobName + "_scales");
    Attribute o = stack(offsets, rows, groups, Float32Type::get(ctx), 4,
                        blobName + "_offsets");
    if (!w || !s || !o)
      return success(); // data not at hand (e.g. elided): leave them
    int64_t total = 0;
    for (int64_t r : rows)
      total += r;
    auto fusedType = WeightType::get(
        ctx, {total, type.getCols()}, type.getElementType(),
        type.getStorageBits(), type.getBits(), type.getWidths(),
        type.getAxis(), type.getGroupSize(), type.getMode(), type.getLayout());
    OpBuilder b(first);
    Location loc = first.getLoc();
    Value wv = ConstantOp::create(b, loc, fusedType, cast<ElementsAttr>(w));
    Value sv = arith::ConstantOp::create(b, loc, cast<TypedAttr>(s));
    Value ov = arith::ConstantOp::create(b, loc, cast<TypedAttr>(o));
    auto resultType = RankedTensorType::get(
        {total}, first.getType().getElementType());
    Value y = MatvecOp::create(b, loc, resultType, first.getInput(), wv, sv, ov,
                               StringAttr::get(ctx, name));
    // The slices right after the merged op (the originals go away).
    b.setInsertionPointAfter(y.getDefiningOp());
    int64_t at = 0;
    for (Parts &p : group) {
      int64_t r = p.type.getRows();
      Value part = tensor::ExtractSliceOp::create(
          b, loc, p.op.getType(), y, ArrayRef<OpFoldResult>{b.getIndexAttr(at)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(r)},
          ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
      p.op.getResult().replaceAllUsesWith(part);
      at += r;
    }
    // Erased last: the builder inserts before one of them.
    for (Parts &p : group)
      p.op.erase();
    return success();
  }
};

} // namespace
