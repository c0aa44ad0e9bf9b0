//===- MQOps.cpp - MatQuant operations ---------------------------*- C++ -*-===//
//
// Verifiers, folders and canonicalization patterns of the mq ops. Every
// folder computes through the numerics library, so compile-time results are
// those of the reference semantics.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

#define GET_OP_CLASSES
#include "matquant/Dialect/MQ/IR/MQOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

namespace {

/// Reads the bytes of an i8 elements attribute (dense, splat or a resource
/// blob). Returns std::nullopt if the attribute cannot be read.
std::optional<std::vector<uint8_t>> readBytes(Attribute attr) {
  auto elements = dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements || !elements.getElementType().isInteger(8))
    return std::nullopt;
  int64_t n = elements.getNumElements();
  if (auto dense = dyn_cast<DenseIntElementsAttr>(elements)) {
    if (dense.isSplat())
      return std::vector<uint8_t>(
          n, static_cast<uint8_t>(dense.getSplatValue<APInt>().getZExtValue()));
    ArrayRef<char> raw = dense.getRawData();
    return std::vector<uint8_t>(raw.begin(), raw.end());
  }
  if (auto blob = dyn_cast<DenseI8ResourceElementsAttr>(elements)) {
    std::optional<ArrayRef<int8_t>> data = blob.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    return std::vector<uint8_t>(data->begin(), data->end());
  }
  return std::nullopt;
}

/// Reads a float elements attribute as float32 values.
std::optional<std::vector<float>> readFloats(Attribute attr) {
  auto elements = dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements || !isa<FloatType>(elements.getElementType()))
    return std::nullopt;
  int64_t n = elements.getNumElements();
  if (auto dense = dyn_cast<DenseFPElementsAttr>(elements)) {
    std::vector<float> out;
    out.reserve(n);
    if (dense.getElementType().isF32() && !dense.isSplat()) {
      for (float v : dense.getValues<float>())
        out.push_back(v);
      return out;
    }
    for (APFloat v : dense.getValues<APFloat>()) {
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(v.convertToFloat());
    }
    return out;
  }
  if (auto blob = dyn_cast<DenseF32ResourceElementsAttr>(elements)) {
    std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    return std::vector<float>(data->begin(), data->end());
  }
  return std::nullopt;
}

DenseElementsAttr makeBytes(RankedTensorType type, ArrayRef<uint8_t> bytes) {
  return DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(bytes.data()),
                           bytes.size()));
}

DenseElementsAttr makeFloats(RankedTensorType type, ArrayRef<float> values) {
  if (type.getElementType().isF32())
    return DenseElementsAttr::get(type, values);
  SmallVector<APFloat> converted;
  converted.reserve(values.size());
  auto &semantics = cast<FloatType>(type.getElementType()).getFloatSemantics();
  for (float v : values) {
    APFloat f(v);
    bool lost;
    f.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
    converted.push_back(f);
  }
  return DenseElementsAttr::get(type, converted);
}

/// Checks that `type` is the scale / offset type of `weight`.
LogicalResult verifyScaleType(Operation *op, WeightType weight, Type type,
                              StringRef what) {
  auto expected = weight.getScaleTensorType();
  if (type != expected)
    return op->emitOpError() << what << " type " << type
                             << " does not match the expected " << expected
                             << " for " << weight.getNumGroups()
                             << " group(s) per channel";
  return success();
}

/// Checks that two weight types agree in everything but width and layout.
bool sameQuantization(WeightType a, WeightType b) {
  return a.getShape() == b.getShape() &&
         a.getElementType() == b.getElementType() &&
         a.getStorageBits() == b.getStorageBits() &&
         a.getWidths() == b.getWidths() && a.getAxis() == b.getAxis() &&
         a.getGroupSize() == b.getGroupSize() && a.getMode() == b.getMode();
}

numerics::QuantizedMatrix toMatrix(WeightType type,
                                   std::vector<uint8_t> codes,
                                   std::vector<float> alpha,
                                   std::vector<float> offset) {
  numerics::QuantizedMatrix q;
  q.rows = type.getRows();
  q.cols = type.getCols();
  q.opts.bits = type.getStorageBits();
  q.opts.axis = type.getAxis();
  q.opts.groupSize = type.getGroupSize();
  q.codes = std::move(codes);
  q.alpha = std::move(alpha);
  q.offset = std::move(offset);
  return q;
}

} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  WeightType type = getType();
  auto expected = type.getStorageTensorType();
  if (getValue().getType() != expected)
    return emitOpError() << "value type " << getValue().getType()
                         << " does not match the storage type " << expected
                         << " of " << type;
  if (type.getLayout())
    return success();
  std::optional<std::vector<uint8_t>> bytes = readBytes(getValue());
  if (!bytes)
    return success(); // An unloaded resource blob: nothing to check yet.
  uint32_t maxIndex = type.getMaxIndex();
  for (size_t i = 0, e = bytes->size(); i < e; ++i)
    if ((*bytes)[i] > maxIndex)
      return emitOpError() << "index " << unsigned((*bytes)[i])
                           << " at element " << i
                           << " exceeds the largest index " << maxIndex
                           << " of a " << type.getBits() << "-bit slice";
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  WeightType type = getCodes().getType();
  auto input = getInput().getType();
  if (input.getShape() != type.getShape())
    return emitOpError() << "input shape does not match the weight shape";
  if (input.getElementType() != type.getElementType())
    return emitOpError() << "input element type " << input.getElementType()
                         << " does not match the weight element type "
                         << type.getElementType();
  if (type.getBits() != type.getStorageBits())
    return emitOpError() << "result must hold the full storage width "
                         << type.getStorageBits() << ", got width "
                         << type.getBits() << " (use mq.slice)";
  if (type.getLayout())
    return emitOpError() << "result must not have a layout (use mq.pack)";
  if (getGamma().has_value() != getBeta().has_value())
    return emitOpError() << "clip needs both gamma and beta";
  for (auto [name, value] : {std::make_pair("gamma", getGamma()),
                             std::make_pair("beta", getBeta())}) {
    if (value && !(value->convertToFloat() > 0.0f &&
                   value->convertToFloat() <= 1.0f))
      return emitOpError() << "clip " << name << " must be in (0, 1], got "
                           << value->convertToFloat();
  }
  if (failed(verifyScaleType(*this, type, getScales().getType(), "scales")) ||
      failed(verifyScaleType(*this, type, getOffsets().getType(), "offsets")))
    return failure();
  return success();
}

LogicalResult QuantizeOp::fold(FoldAdaptor adaptor,
                               SmallVectorImpl<OpFoldResult> &results) {
  std::optional<std::vector<float>> w = readFloats(adaptor.getInput());
  if (!w)
    return failure();
  // Non-finite weights have no quantization; leave the op for the lowering.
  for (float v : *w)
    if (!std::isfinite(v))
      return failure();
  WeightType type = getCodes().getType();
  numerics::QuantOptions opts;
  opts.bits = type.getStorageBits();
  opts.axis = type.getAxis();
  opts.groupSize = type.getGroupSize();
  std::vector<float> gamma, beta;
  if (getGamma())
    gamma.push_back(getGamma()->convertToFloat());
  if (getBeta())
    beta.push_back(getBeta()->convertToFloat());
  numerics::QuantizedMatrix q = numerics::quantize(
      w->data(), type.getRows(), type.getCols(), opts, gamma, beta);
  results.push_back(makeBytes(type.getStorageTensorType(), q.codes));
  results.push_back(makeFloats(type.getScaleTensorType(), q.alpha));
  results.push_back(makeFloats(type.getScaleTensorType(), q.offset));
  return success();
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  WeightType type = getInput().getType();
  if (type.getLayout())
    return emitOpError() << "input must be a logical weight without a "
                            "layout (use mq.unpack)";
  auto result = getResult().getType();
  if (result.getShape() != type.getShape())
    return emitOpError() << "result shape does not match the weight shape";
  if (failed(verifyScaleType(*this, type, getScales().getType(), "scales")) ||
      failed(verifyScaleType(*this, type, getOffsets().getType(), "offsets")))
    return failure();
  return success();
}

OpFoldResult DequantizeOp::fold(FoldAdaptor adaptor) {
  std::optional<std::vector<uint8_t>> idx = readBytes(adaptor.getInput());
  std::optional<std::vector<float>> alpha = readFloats(adaptor.getScales());
  std::optional<std::vector<float>> offset = readFloats(adaptor.getOffsets());
  if (!idx || !alpha || !offset)
    return {};
  WeightType type = getInput().getType();
  numerics::QuantizedMatrix q =
      toMatrix(type, std::move(*idx), std::move(*alpha), std::move(*offset));
  std::vector<float> out(q.codes.size());
  unsigned c = type.getStorageBits(), r = type.getBits();
  numerics::SliceMode mode = toNumerics(type.getMode());
  for (int64_t i = 0; i < q.rows; ++i)
    for (int64_t j = 0; j < q.cols; ++j) {
      int64_t g = q.groupIndex(i, j);
      out[i * q.cols + j] = numerics::dequantizeIndex(
          q.codes[i * q.cols + j], q.alpha[g], q.offset[g], c, r, mode);
    }
  return makeFloats(getResult().getType(), out);
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::verify() {
  WeightType in = getInput().getType(), out = getResult().getType();
  if (in.getLayout() || out.getLayout())
    return emitOpError() << "slices logical weights only; unpack a packed "
                            "weight first";
  if (!sameQuantization(in, out))
    return emitOpError() << "result must differ from the input only in its "
                            "width";
  if (out.getBits() > in.getBits())
    return emitOpError() << "cannot slice a " << in.getBits()
                         << "-bit weight to " << out.getBits()
                         << " bits: the slice width must not exceed the "
                            "input width";
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  WeightType in = getInput().getType(), out = getResult().getType();
  if (in == out)
    return getInput();
  std::optional<std::vector<uint8_t>> idx = readBytes(adaptor.getInput());
  if (!idx)
    return {};
  numerics::SliceMode mode = toNumerics(in.getMode());
  for (uint8_t &k : *idx)
    k = static_cast<uint8_t>(numerics::resliceIndex(
        k, in.getStorageBits(), in.getBits(), out.getBits(), mode));
  return makeBytes(out.getStorageTensorType(), *idx);
}

namespace {
/// slice(slice(x, a), b) -> slice(x, b), only where every input index gives
/// the same result both ways (decided by enumerating the indices).
struct MergeExactSlices : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<SliceOp>();
    if (!inner)
      return failure();
    WeightType src = inner.getInput().getType();
    unsigned c = src.getStorageBits(), r0 = src.getBits();
    unsigned mid = inner.getType().getBits(), r = op.getType().getBits();
    numerics::SliceMode mode = toNumerics(src.getMode());
    for (uint32_t k = 0, e = src.getMaxIndex(); k <= e; ++k)
      if (numerics::resliceIndex(numerics::resliceIndex(k, c, r0, mid, mode),
                                 c, mid, r, mode) !=
          numerics::resliceIndex(k, c, r0, r, mode))
        return rewriter.notifyMatchFailure(op, "slice chain is not exact");
    rewriter.modifyOpInPlace(
        op, [&] { op.getInputMutable().assign(inner.getInput()); });
    return success();
  }
};
} // namespace

void SliceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<MergeExactSlices>(context);
}

//===----------------------------------------------------------------------===//
// PackOp / UnpackOp
//===----------------------------------------------------------------------===//

/// Shared verifier: `logical` has no layout, `packed` has one, and they agree
/// otherwise.
static LogicalResult verifyPacking(Operation *op, WeightType logical,
                                   WeightType packed) {
  if (logical.getLayout())
    return op->emitOpError() << "logical side " << logical
                             << " must not have a layout";
  if (!packed.getLayout())
    return op->emitOpError() << "packed side " << packed
                             << " must have a layout";
  if (!sameQuantization(logical, packed) ||
      logical.getBits() != packed.getBits())
    return op->emitOpError()
           << "packed and logical types must differ only in the layout";
  return success();
}

static std::vector<uint8_t> packBytes(WeightType packed,
                                      ArrayRef<uint8_t> idx) {
  LayoutAttr layout = packed.getLayout();
  if (layout.getKind() == LayoutKind::dense)
    return numerics::packDense(idx.data(), packed.getRows(), packed.getCols(),
                               layout.getBits());
  if (layout.getKind() == LayoutKind::interleaved)
    return numerics::packInterleaved(idx.data(), packed.getRows(),
                                     packed.getCols(), layout.getBits(),
                                     layout.getBlock(), layout.getRows());
  if (layout.getKind() == LayoutKind::mma)
    return numerics::packMma(idx.data(), packed.getRows(), packed.getCols(),
                             layout.getBits(), layout.getBlock());
  return numerics::packPlanes(idx.data(), packed.getRows(), packed.getCols(),
                              layout.getBits());
}

static std::vector<uint8_t> unpackBytes(WeightType packed,
                                        ArrayRef<uint8_t> bytes) {
  LayoutAttr layout = packed.getLayout();
  if (layout.getKind() == LayoutKind::dense)
    return numerics::unpackDense(bytes.data(), packed.getRows(),
                                 packed.getCols(), layout.getBits());
  if (layout.getKind() == LayoutKind::interleaved)
    return numerics::unpackInterleaved(bytes.data(), packed.getRows(),
                                       packed.getCols(), layout.getBits(),
                                       layout.getBlock(), layout.getRows());
  if (layout.getKind() == LayoutKind::mma)
    return numerics::unpackMma(bytes.data(), packed.getRows(),
                               packed.getCols(), layout.getBits(),
                               layout.getBlock());
  return numerics::unpackPlanes(bytes.data(), packed.getRows(),
                                packed.getCols(), layout.getBits());
}

LogicalResult PackOp::verify() {
  return verifyPacking(*this, getInput().getType(), getType());
}

OpFoldResult PackOp::fold(FoldAdaptor adaptor) {
  if (auto unpack = getInput().getDefiningOp<UnpackOp>())
    if (unpack.getInput().getType() == getType())
      return unpack.getInput();
  std::optional<std::vector<uint8_t>> idx = readBytes(adaptor.getInput());
  if (!idx)
    return {};
  return makeBytes(getType().getStorageTensorType(),
                   packBytes(getType(), *idx));
}

LogicalResult UnpackOp::verify() {
  return verifyPacking(*this, getType(), getInput().getType());
}

OpFoldResult UnpackOp::fold(FoldAdaptor adaptor) {
  if (auto pack = getInput().getDefiningOp<PackOp>())
    if (pack.getInput().getType() == getType())
      return pack.getInput();
  std::optional<std::vector<uint8_t>> bytes = readBytes(adaptor.getInput());
  if (!bytes)
    return {};
  return makeBytes(getType().getStorageTensorType(),
                   unpackBytes(getInput().getType(), *bytes));
}

//===----------------------------------------------------------------------===//
// MatmulOp / MatvecOp
//===----------------------------------------------------------------------===//

/// Shared verifier: K and N of the activations, weight and result agree.
static LogicalResult verifyWeightOnly(Operation *op, int64_t inK,
                                      int64_t outN, Type inElt, Type outElt,
                                      WeightType weight, Type scales,
                                      Type offsets) {
  unsigned axis = weight.getAxis();
  int64_t n = weight.getShape()[axis], k = weight.getShape()[1 - axis];
  if (inK != k)
    return op->emitOpError() << "activation reduction size " << inK
                             << " does not match the weight's " << k;
  if (outN != n)
    return op->emitOpError() << "result size " << outN
                             << " does not match the weight's " << n
                             << " output channels";
  // Accumulated in f32: the result is rounded to the activation type, or
  // kept in f32.
  if (inElt != outElt && !outElt.isF32())
    return op->emitOpError() << "result element type " << outElt
                             << " must be the activation type " << inElt
                             << " or f32";
  if (failed(verifyScaleType(op, weight, scales, "scales")) ||
      failed(verifyScaleType(op, weight, offsets, "offsets")))
    return failure();
  return success();
}

LogicalResult MatmulOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (in.getDimSize(0) != out.getDimSize(0))
    return emitOpError() << "batch size " << out.getDimSize(0)
                         << " of the result does not match the activations' "
                         << in.getDimSize(0);
  return verifyWeightOnly(*this, in.getDimSize(1), out.getDimSize(1),
                          in.getElementType(), out.getElementType(),
                          getWeight().getType(), getScales().getType(),
                          getOffsets().getType());
}

/// The weight of a dynamic-width op is the stored model: the run-time width
/// slices it.
static LogicalResult verifyStoredModel(Operation *op, WeightType weight) {
  if (weight.getBits() != weight.getStorageBits())
    return op->emitOpError()
           << "weight must be the stored model (bits = storage = "
           << weight.getStorageBits() << "), got a " << weight.getBits()
           << "-bit slice: the width is chosen at run time";
  return success();
}

LogicalResult MatmulDynamicOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (in.getDimSize(0) != out.getDimSize(0))
    return emitOpError() << "batch size " << out.getDimSize(0)
                         << " of the result does not match the activations' "
                         << in.getDimSize(0);
  if (failed(verifyStoredModel(*this, getWeight().getType())))
    return failure();
  return verifyWeightOnly(*this, in.getDimSize(1), out.getDimSize(1),
                          in.getElementType(), out.getElementType(),
                          getWeight().getType(), getScales().getType(),
                          getOffsets().getType());
}

LogicalResult MatvecDynamicOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  if (failed(verifyStoredModel(*this, getWeight().getType())))
    return failure();
  return verifyWeightOnly(*this, in.getDimSize(0), out.getDimSize(0),
                          in.getElementType(), out.getElementType(),
                          getWeight().getType(), getScales().getType(),
                          getOffsets().getType());
}

LogicalResult MatvecOp::verify() {
  auto in = getInput().getType(), out = getResult().getType();
  return verifyWeightOnly(*this, in.getDimSize(0), out.getDimSize(0),
                          in.getElementType(), out.getElementType(),
                          getWeight().getType(), getScales().getType(),
                          getOffsets().getType());
}

//===----------------------------------------------------------------------===//
// Dot4Op
//===----------------------------------------------------------------------===//

LogicalResult Dot4Op::verify() {
  int64_t lanes = getAcc().getType().getNumElements();
  int64_t lhs = getLhs().getType().getNumElements();
  int64_t rhs = getRhs().getType().getNumElements();
  if (lhs != rhs)
    return emitOpError() << "operands have " << lhs << " and " << rhs
                         << " bytes; expected the same number";
  if (lhs != 4 * lanes)
    return emitOpError() << "expected 4 bytes per i32 lane (" << 4 * lanes
                         << "), got " << lhs;
  return success();
}

//===----------------------------------------------------------------------===//
// PackScalesOp
//===----------------------------------------------------------------------===//

RankedTensorType PackScalesOp::resultTypeFor(RankedTensorType input) {
  int64_t rows = input.getDimSize(0);
  int64_t tiles = ShapedType::isDynamic(rows) ? rows : (rows + 15) / 16;
  return RankedTensorType::get({tiles, input.getDimSize(1), 8, 2},
                               input.getElementType());
}

LogicalResult PackScalesOp::verify() {
  RankedTensorType in = getInput().getType();
  if (!in.hasStaticShape())
    return emitOpError("expected statically shaped scales, got ") << in;
  RankedTensorType want = resultTypeFor(in);
  if (getType() != want)
    return emitOpError("expected result type ")
           << want << " for " << in << ", got " << getType();
  return success();
}

OpFoldResult PackScalesOp::fold(FoldAdaptor adaptor) {
  std::optional<std::vector<float>> values = readFloats(adaptor.getInput());
  if (!values)
    return {};
  RankedTensorType in = getInput().getType();
  return makeFloats(getType(),
                    numerics::packMmaScales(values->data(), in.getDimSize(0),
                                            in.getDimSize(1)));
}

//===----------------------------------------------------------------------===//
// TransposeBitsOp
//===----------------------------------------------------------------------===//

LogicalResult TransposeBitsOp::verify() {
  int64_t bytes = getInput().getType().getNumElements();
  if (bytes % 8 != 0)
    return emitOpError() << "expected whole 8-byte words, got " << bytes
                         << " bytes";
  return success();
}

OpFoldResult TransposeBitsOp::fold(FoldAdaptor adaptor) {
  auto input = dyn_cast_if_present<DenseIntElementsAttr>(adaptor.getInput());
  if (!input)
    return {};
  SmallVector<APInt> in(input.getValues<APInt>());
  SmallVector<APInt> out(in.size(), APInt(8, 0));
  for (size_t word = 0; word < in.size(); word += 8)
    for (unsigned i = 0; i < 8; ++i)
      for (unsigned p = 0; p < 8; ++p)
        if (in[word + p][i])
          out[word + i].setBit(7 - p);
  return DenseIntElementsAttr::get(getType(), out);
}
