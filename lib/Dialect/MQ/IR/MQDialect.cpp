//===- MQDialect.cpp - MatQuant dialect, types and attributes ---*- C++ -*-===//
//
// Registers the dialect and implements the `!mq.weight` type and the
// `#mq.layout` / `#mq.schedule` attributes: parsing, printing, verification.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

#include "matquant/Dialect/MQ/IR/MQDialect.cpp.inc"
#include "matquant/Dialect/MQ/IR/MQEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "matquant/Dialect/MQ/IR/MQAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "matquant/Dialect/MQ/IR/MQTypes.cpp.inc"

void MQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "matquant/Dialect/MQ/IR/MQOps.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "matquant/Dialect/MQ/IR/MQTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "matquant/Dialect/MQ/IR/MQAttrs.cpp.inc"
      >();
}

Operation *MQDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements)
    return nullptr;
  if (auto weightType = dyn_cast<WeightType>(type)) {
    if (elements.getType() != weightType.getStorageTensorType())
      return nullptr;
    return ConstantOp::create(builder, loc, weightType, elements);
  }
  if (isa<RankedTensorType, VectorType>(type) && elements.getType() == type)
    return arith::ConstantOp::create(builder, loc, cast<TypedAttr>(value));
  return nullptr;
}

numerics::SliceMode matquant::mq::toNumerics(SliceMode mode) {
  switch (mode) {
  case SliceMode::clamped:
    return numerics::SliceMode::Clamped;
  case SliceMode::extra_precision:
    return numerics::SliceMode::ExtraPrecision;
  case SliceMode::prefix_exact:
    return numerics::SliceMode::PrefixExact;
  }
  llvm_unreachable("unknown slice mode");
}

SliceMode matquant::mq::fromNumerics(numerics::SliceMode mode) {
  switch (mode) {
  case numerics::SliceMode::Clamped:
    return SliceMode::clamped;
  case numerics::SliceMode::ExtraPrecision:
    return SliceMode::extra_precision;
  case numerics::SliceMode::PrefixExact:
    return SliceMode::prefix_exact;
  }
  llvm_unreachable("unknown slice mode");
}

//===----------------------------------------------------------------------===//
// LayoutAttr
//===----------------------------------------------------------------------===//

LogicalResult LayoutAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 LayoutKind kind, unsigned bits, unsigned block,
                                 unsigned rows) {
  if (rows == 0 || rows > 64)
    return emitError() << "layout row tile must be in [1, 64], got " << rows;
  if (rows != 1 && kind != LayoutKind::interleaved)
    return emitError() << "only the interleaved layout takes a row tile";
  if (kind == LayoutKind::interleaved) {
    if (block == 0 || block % 8 != 0 || block > 4096)
      return emitError() << "interleaved layout needs a block that is a "
                            "positive multiple of 8 (at most 4096), got "
                         << block;
  } else if (kind == LayoutKind::mma) {
    if (bits >= 1 && bits <= 8 && !numerics::mmaTileValid(bits, block))
      return emitError() << "mma layout needs a column tile that is a "
                            "multiple of 16 giving every piece of a "
                         << bits << "-bit index whole 32-bit lane words, got "
                         << block;
  } else if (block != 0) {
    return emitError() << "only the interleaved and mma layouts take a block";
  }
  // An index needs at most c <= 8 bits (r + 1 <= c for extra precision).
  if (bits < 1 || bits > 8)
    return emitError() << "layout width must be in [1, 8], got " << bits;
  return success();
}

//===----------------------------------------------------------------------===//
// ScheduleAttr
//===----------------------------------------------------------------------===//

LogicalResult
ScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                     unsigned defaultBits, DictionaryAttr layers) {
  if (defaultBits < 1 || defaultBits > 8)
    return emitError() << "schedule default width must be in [1, 8], got "
                       << defaultBits;
  for (NamedAttribute entry : layers) {
    auto width = dyn_cast<IntegerAttr>(entry.getValue());
    if (!width)
      return emitError() << "schedule entry '" << entry.getName().getValue()
                         << "' must be an integer width";
    int64_t bits = width.getInt();
    if (bits < 1 || bits > 8)
      return emitError() << "schedule entry '" << entry.getName().getValue()
                         << "' has width " << bits << ", expected [1, 8]";
  }
  return success();
}

unsigned ScheduleAttr::getBitsFor(StringRef layer) const {
  if (auto width = getLayers().getAs<IntegerAttr>(layer))
    return static_cast<unsigned>(width.getInt());
  return getDefaultBits();
}

//===----------------------------------------------------------------------===//
// WeightType
//===----------------------------------------------------------------------===//

LogicalResult WeightType::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> shape, Type elementType,
                                 unsigned storageBits, unsigned bits,
                                 ArrayRef<int64_t> widths, unsigned axis,
                                 int64_t groupSize, SliceMode mode,
                                 LayoutAttr layout) {
  if (shape.size() != 2)
    return emitError() << "weight must have rank 2, got rank "
                       << shape.size();
  for (int64_t dim : shape)
    if (dim <= 0)
      return emitError() << "weight dimensions must be static and positive";
  if (!isa<Float32Type, Float16Type, BFloat16Type>(elementType))
    return emitError() << "weight element type must be f32, f16 or bf16, got "
                       << elementType;
  if (storageBits < 1 || storageBits > 8)
    return emitError() << "storage width must be in [1, 8], got "
                       << storageBits;
  if (bits < 1 || bits > storageBits)
    return emitError() << "width " << bits
                       << " must be in [1, storage width " << storageBits
                       << "]";
  if (!widths.empty()) {
    llvm::SmallSet<int64_t, 8> seen;
    for (int64_t w : widths) {
      if (w < 1 || w > storageBits)
        return emitError() << "nested width " << w
                           << " must be in [1, storage width " << storageBits
                           << "]";
      if (!seen.insert(w).second)
        return emitError() << "nested width " << w << " is repeated";
    }
    if (!seen.contains(storageBits))
      return emitError() << "nested widths must include the storage width "
                         << storageBits;
    if (!seen.contains(bits))
      return emitError() << "width " << bits
                         << " is not one of the nested widths";
  }
  if (axis > 1)
    return emitError() << "channel axis must be 0 or 1, got " << axis;
  int64_t reduce = shape[1 - axis];
  if (groupSize < 0)
    return emitError() << "group size must be non-negative, got "
                       << groupSize;
  if (groupSize > 0 && reduce % groupSize != 0)
    return emitError() << "group size " << groupSize
                       << " does not divide the reduction dimension "
                       << reduce;
  if (layout) {
    unsigned need = numerics::indexStorageBits(storageBits, bits,
                                               toNumerics(mode));
    if (layout.getBits() != need)
      return emitError() << "layout width " << layout.getBits()
                         << " does not match the index width " << need
                         << " of a " << bits << "-bit "
                         << stringifySliceMode(mode) << " slice";
    if (layout.getKind() == LayoutKind::interleaved ||
        layout.getKind() == LayoutKind::mma) {
      StringRef kind = stringifyLayoutKind(layout.getKind());
      if (axis != 0)
        return emitError() << "the " << kind
                           << " layout needs channel axis 0";
      if (groupSize > 0 && groupSize % layout.getBlock() != 0)
        return emitError() << kind << " block " << layout.getBlock()
                           << " does not divide the group size "
                           << groupSize;
      if (shape[0] % layout.getRows() != 0)
        return emitError() << "interleaved row tile " << layout.getRows()
                           << " does not divide the " << shape[0] << " rows";
    }
  }
  return success();
}

int64_t WeightType::getNumGroups() const {
  return numerics::numGroups(getReductionSize(), getGroupSize());
}

SmallVector<int64_t, 2> WeightType::getScaleShape() const {
  SmallVector<int64_t, 2> shape(getShape());
  shape[1 - getAxis()] = getNumGroups();
  return shape;
}

unsigned WeightType::getIndexStorageBits() const {
  return numerics::indexStorageBits(getStorageBits(), getBits(),
                                    toNumerics(getMode()));
}

uint32_t WeightType::getMaxIndex() const {
  return numerics::maxIndex(getStorageBits(), getBits(),
                            toNumerics(getMode()));
}

WeightType WeightType::withBits(unsigned bits) const {
  return WeightType::get(getContext(), getShape(), getElementType(),
                         getStorageBits(), bits, getWidths(), getAxis(),
                         getGroupSize(), getMode(), getLayout());
}

WeightType WeightType::withLayout(LayoutAttr layout) const {
  return WeightType::get(getContext(), getShape(), getElementType(),
                         getStorageBits(), getBits(), getWidths(), getAxis(),
                         getGroupSize(), getMode(), layout);
}

RankedTensorType WeightType::getStorageTensorType() const {
  auto i8 = IntegerType::get(getContext(), 8);
  LayoutAttr layout = getLayout();
  if (!layout)
    return RankedTensorType::get(getShape(), i8);
  if (layout.getKind() == LayoutKind::dense)
    return RankedTensorType::get(
        {getRows(), numerics::denseRowBytes(getCols(), layout.getBits())}, i8);
  if (layout.getKind() == LayoutKind::interleaved)
    return RankedTensorType::get(
        {getRows(), numerics::interleavedRowBytes(getCols(), layout.getBits(),
                                                  layout.getBlock())},
        i8);
  if (layout.getKind() == LayoutKind::mma) {
    int64_t rowTiles = (getRows() + 15) / 16;
    return RankedTensorType::get(
        {rowTiles, numerics::mmaPackedBytes(getRows(), getCols(),
                                            layout.getBits(),
                                            layout.getBlock()) /
                       rowTiles},
        i8);
  }
  return RankedTensorType::get({static_cast<int64_t>(layout.getBits()),
                                getRows(), numerics::planeRowBytes(getCols())},
                               i8);
}

RankedTensorType WeightType::getScaleTensorType() const {
  return RankedTensorType::get(getScaleShape(),
                               Float32Type::get(getContext()));
}

/// Parses `<RxCxT, storage = c, bits = r [, widths = [..]] [, axis = a]
/// [, group = g] [, mode = m] [, layout = #mq.layout<..>]>`.
Type WeightType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  Type elementType;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/true) ||
      parser.parseType(elementType))
    return {};
  std::optional<unsigned> storage, bits;
  SmallVector<int64_t> widths;
  unsigned axis = 0;
  int64_t group = 0;
  SliceMode mode = SliceMode::clamped;
  LayoutAttr layout;
  llvm::SmallSet<StringRef, 8> seen;
  while (succeeded(parser.parseOptionalComma())) {
    StringRef key;
    SMLoc keyLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second) {
      parser.emitError(keyLoc) << "parameter '" << key << "' is repeated";
      return {};
    }
    auto parseUnsigned = [&](unsigned &out) -> ParseResult {
      int64_t value;
      SMLoc valueLoc = parser.getCurrentLocation();
      if (parser.parseInteger(value))
        return failure();
      if (value < 0 || value > 1024)
        return parser.emitError(valueLoc)
               << "'" << key << "' must be a small non-negative integer";
      out = static_cast<unsigned>(value);
      return success();
    };
    if (key == "storage") {
      unsigned v;
      if (parseUnsigned(v))
        return {};
      storage = v;
    } else if (key == "bits") {
      unsigned v;
      if (parseUnsigned(v))
        return {};
      bits = v;
    } else if (key == "axis") {
      if (parseUnsigned(axis))
        return {};
    } else if (key == "group") {
      if (parser.parseInteger(group))
        return {};
    } else if (key == "widths") {
      if (parser.parseCommaSeparatedList(
              AsmParser::Delimiter::Square, [&]() -> ParseResult {
                int64_t w;
                if (parser.parseInteger(w))
                  return failure();
                widths.push_back(w);
                return success();
              }))
        return {};
    } else if (key == "mode") {
      StringRef name;
      SMLoc modeLoc = parser.getCurrentLocation();
      if (parser.parseKeyword(&name))
        return {};
      std::optional<SliceMode> parsed = symbolizeSliceMode(name);
      if (!parsed) {
        parser.emitError(modeLoc)
            << "unknown slice mode '" << name
            << "', expected 'clamped', 'extra_precision' or 'prefix_exact'";
        return {};
      }
      mode = *parsed;
    } else if (key == "layout") {
      Attribute attr;
      SMLoc attrLoc = parser.getCurrentLocation();
      if (parser.parseAttribute(attr))
        return {};
      layout = dyn_cast<LayoutAttr>(attr);
      if (!layout) {
        parser.emitError(attrLoc) << "expected a #mq.layout attribute";
        return {};
      }
    } else {
      parser.emitError(keyLoc) << "unknown weight parameter '" << key << "'";
      return {};
    }
  }
  if (parser.parseGreater())
    return {};
  if (!storage || !bits) {
    parser.emitError(loc) << "weight type needs 'storage' and 'bits'";
    return {};
  }
  return parser.getChecked<WeightType>(loc, parser.getContext(), shape,
                                       elementType, *storage, *bits, widths,
                                       axis, group, mode, layout);
}

void WeightType::print(AsmPrinter &printer) const {
  printer << "<";
  for (int64_t dim : getShape())
    printer << dim << "x";
  printer << getElementType() << ", storage = " << getStorageBits()
          << ", bits = " << getBits();
  if (!getWidths().empty()) {
    printer << ", widths = [";
    llvm::interleaveComma(getWidths(), printer);
    printer << "]";
  }
  if (getAxis() != 0)
    printer << ", axis = " << getAxis();
  if (getGroupSize() != 0)
    printer << ", group = " << getGroupSize();
  if (getMode() != SliceMode::clamped)
    printer << ", mode = " << stringifySliceMode(getMode());
  if (getLayout())
    printer << ", layout = " << getLayout();
  printer << ">";
}
