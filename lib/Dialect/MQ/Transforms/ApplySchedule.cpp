//===- ApplySchedule.cpp - Apply a Mix'n'Match precision schedule -*- C++
//-*-===//
//
// The `mq-apply-schedule` pass: chooses a width for every named layer
// (from a #mq.schedule, or by a policy: uniform, list, JSON file, pyramid,
// or a greedy bit budget), feeds each mq.matmul / mq.matvec its weight
// sliced to that width from the stored model, and reports the effective
// bits per parameter.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Numerics/Search.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

namespace matquant::mq {
#define GEN_PASS_DEF_MQAPPLYSCHEDULEPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;
namespace nm = matquant::numerics;

namespace {

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

/// One weight-only op with a layer name.
struct Site {
  Operation *op;
  /// The stored model the weight is sliced from.
  Value source;
  WeightType type;
};

/// All ops of one layer name, with what the policies need to know.
struct Layer {
  std::string name;
  SmallVector<Site> sites;
  /// Transformer block index from a "layers.<i>." prefix, or -1.
  int64_t index = -1;
  /// Parameters (sum over the sites).
  double params = 0;
  /// The width chosen for the layer.
  unsigned width = 0;
  /// ||W - W_hat_r||^2 for r = 1..c (index r - 1), summed over the sites;
  /// empty when unknown.
  SmallVector<double> errors;
};

/// The block index of "layers.<i>.<...>", or -1.
int64_t layerIndex(StringRef name) {
  if (!name.consume_front("layers."))
    return -1;
  auto [digits, rest] = name.split('.');
  int64_t i;
  if (digits.empty() || digits.getAsInteger(10, i) || i < 0)
    return -1;
  return i;
}

/// Bits one site takes at width r: packed indices plus the f32 scale and
/// offset of every group (what mq.effective_bits counts).
double siteBits(WeightType type, unsigned r) {
  WeightType out = type.withBits(r);
  double n = double(type.getRows()) * double(type.getCols());
  double groups = double(out.getScaleShape()[0]) * out.getScaleShape()[1];
  return n * out.getIndexStorageBits() + groups * 64.0;
}

double layerBits(const Layer &layer, unsigned r) {
  double bits = 0;
  for (const Site &s : layer.sites)
    bits += siteBits(s.type, r);
  return bits;
}

/// The bytes of an i8 elements attribute, or nullopt.
std::optional<std::vector<uint8_t>> readBytes(Attribute attr) {
  if (auto dense = dyn_cast<DenseIntElementsAttr>(attr)) {
    if (!dense.getElementType().isInteger(8))
      return std::nullopt;
    std::vector<uint8_t> out;
    for (const APInt &v : dense.getValues<APInt>())
      out.push_back(static_cast<uint8_t>(v.getZExtValue()));
    return out;
  }
  if (auto blob = dyn_cast<DenseI8ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<int8_t>> data = blob.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    return std::vector<uint8_t>(data->begin(), data->end());
  }
  return std::nullopt;
}

/// The floats of an f32 elements attribute, or nullopt.
std::optional<std::vector<float>> readFloats(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto dense = dyn_cast<DenseFPElementsAttr>(attr)) {
    if (!dense.getElementType().isF32())
      return std::nullopt;
    std::vector<float> out;
    for (float f : dense.getValues<float>())
      out.push_back(f);
    return out;
  }
  if (auto blob = dyn_cast<DenseF32ResourceElementsAttr>(attr)) {
    std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    return std::vector<float>(data->begin(), data->end());
  }
  return std::nullopt;
}

/// ||W_hat_c - W_hat_r||^2 for r = 1..c of a constant stored model: the
/// slicing error relative to the stored model, when the float weights are
/// not known. Empty if the weight or its scales are not constants.
SmallVector<double> errorsFromConstants(Operation *op, const Site &site) {
  auto cst = site.source.getDefiningOp<ConstantOp>();
  if (!cst || site.type.getLayout())
    return {};
  std::optional<std::vector<uint8_t>> codes = readBytes(cst.getValue());
  std::optional<std::vector<float>> scales = readFloats(op->getOperand(2));
  std::optional<std::vector<float>> offsets = readFloats(op->getOperand(3));
  if (!codes || !scales || !offsets)
    return {};
  nm::QuantizedMatrix q;
  q.rows = site.type.getRows();
  q.cols = site.type.getCols();
  q.opts.bits = site.type.getStorageBits();
  q.opts.axis = site.type.getAxis();
  q.opts.groupSize = site.type.getGroupSize();
  q.codes = std::move(*codes);
  q.alpha = std::move(*scales);
  q.offset = std::move(*offsets);
  if (int64_t(q.codes.size()) != q.rows * q.cols ||
      int64_t(q.alpha.size()) != q.scaleRows() * q.scaleCols() ||
      q.offset.size() != q.alpha.size())
    return {};
  nm::SliceMode mode = toNumerics(site.type.getMode());
  std::vector<float> full = nm::dequantize(q, q.opts.bits, mode);
  SmallVector<double> errors;
  for (unsigned r = 1; r <= q.opts.bits; ++r)
    errors.push_back(nm::weightError(q, r, mode, full.data()));
  return errors;
}

//===----------------------------------------------------------------------===//
// Pass
//===----------------------------------------------------------------------===//

struct MQApplySchedulePass
    : matquant::mq::impl::MQApplySchedulePassBase<MQApplySchedulePass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Gathers the named weight-only ops into layers (in IR order).
  LogicalResult collectLayers(SmallVectorImpl<Layer> &layers);
  /// Policy `attr`: the schedule option or the module's attribute.
  LogicalResult scheduleFromAttr(SmallVectorImpl<Layer> &layers);
  /// The other policies.
  LogicalResult scheduleFromPolicy(StringRef kind, StringRef arg,
                                   SmallVectorImpl<Layer> &layers);
  LogicalResult budgetSchedule(double budget, StringRef spelling,
                               SmallVectorImpl<Layer> &layers);
  /// The widths a computed schedule may give `layer`.
  SmallVector<unsigned> allowedFor(const Layer &layer);
  /// Slices every site to its layer's width; sets mq.effective_bits.
  LogicalResult apply(SmallVectorImpl<Layer> &layers);
  void emitReport(ArrayRef<Layer> layers, double effectiveBits);

  /// Errors and remarks about the whole module are reported at its
  /// location, without the module attached as a note.
  InFlightDiagnostic error() {
    return mlir::emitError(getOperation().getLoc()) << "mq-apply-schedule: ";
  }

  std::vector<unsigned> allowed;
};

LogicalResult
MQApplySchedulePass::collectLayers(SmallVectorImpl<Layer> &layers) {
  llvm::StringMap<size_t> byName;
  getOperation().walk([&](Operation *op) {
    if (!isa<MatmulOp, MatvecOp>(op))
      return;
    auto name = op->getAttrOfType<StringAttr>("layer");
    if (!name)
      return;
    Value source = op->getOperand(1);
    while (auto slice = source.getDefiningOp<SliceOp>())
      source = slice.getInput();
    auto [it, inserted] = byName.try_emplace(name.getValue(), layers.size());
    if (inserted) {
      Layer layer;
      layer.name = name.getValue().str();
      layer.index = layerIndex(name.getValue());
      layers.push_back(std::move(layer));
    }
    Layer &layer = layers[it->second];
    Site site{op, source, cast<WeightType>(source.getType())};
    layer.params += double(site.type.getRows()) * double(site.type.getCols());
    layer.sites.push_back(site);
  });
  return success();
}

LogicalResult
MQApplySchedulePass::scheduleFromAttr(SmallVectorImpl<Layer> &layers) {
  ModuleOp module = getOperation();
  ScheduleAttr sched;
  if (!schedule.empty()) {
    Attribute parsed = parseAttribute(schedule, &getContext());
    sched = dyn_cast_or_null<ScheduleAttr>(parsed);
    if (!sched)
      return mlir::emitError(module.getLoc())
             << "option 'schedule' is not a #mq.schedule "
                "attribute: '"
             << schedule << "'";
  } else if (Attribute attr = module->getAttr("mq.schedule")) {
    sched = dyn_cast<ScheduleAttr>(attr);
    if (!sched)
      return mlir::emitError(module.getLoc())
             << "'mq.schedule' must be a #mq.schedule "
                "attribute, got "
             << attr;
  } else {
    return mlir::emitError(module.getLoc())
           << "no schedule: pass the 'schedule' option or set "
              "the module's 'mq.schedule' attribute";
  }
  for (Layer &layer : layers)
    layer.width = sched.getBitsFor(layer.name);
  return success();
}

SmallVector<unsigned> MQApplySchedulePass::allowedFor(const Layer &layer) {
  SmallVector<unsigned> out;
  for (unsigned r : allowed) {
    bool ok = true;
    for (const Site &s : layer.sites) {
      ArrayRef<int64_t> nested = s.type.getWidths();
      if (r > s.type.getStorageBits() ||
          (!nested.empty() && !llvm::is_contained(nested, int64_t(r))))
        ok = false;
    }
    if (ok)
      out.push_back(r);
  }
  return out;
}

LogicalResult
MQApplySchedulePass::scheduleFromPolicy(StringRef kind, StringRef arg,
                                        SmallVectorImpl<Layer> &layers) {
  auto parseWidth = [&](StringRef s, unsigned &r) -> LogicalResult {
    if (s.trim().getAsInteger(10, r) || r < 1 || r > 8)
      return error() << "policy '" << policy << "': '" << s
                     << "' is not a width in 1..8";
    return success();
  };
  // Layers a policy does not cover get the default width (or their stored
  // width).
  auto fallback = [&](Layer &layer) {
    unsigned r = defaultWidth;
    if (r == 0) {
      r = 8;
      for (const Site &s : layer.sites)
        r = std::min(r, s.type.getStorageBits());
    }
    layer.width = r;
  };
  int64_t numBlocks = 0;
  for (const Layer &layer : layers)
    numBlocks = std::max(numBlocks, layer.index + 1);

  if (kind == "uniform") {
    unsigned r;
    if (failed(parseWidth(arg, r)))
      return failure();
    for (Layer &layer : layers)
      layer.width = r;
    return success();
  }
  if (kind == "list") {
    SmallVector<unsigned> widths;
    for (StringRef item : llvm::split(arg, ',')) {
      unsigned r;
      if (failed(parseWidth(item, r)))
        return failure();
      widths.push_back(r);
    }
    if (int64_t(widths.size()) != numBlocks)
      return error() << "policy 'list' gives " << widths.size()
                     << " widths for " << numBlocks
                     << " transformer layers (layers.<i>.*)";
    for (Layer &layer : layers) {
      if (layer.index >= 0)
        layer.width = widths[layer.index];
      else
        fallback(layer);
    }
    return success();
  }
  if (kind == "json") {
    auto buffer = llvm::MemoryBuffer::getFile(arg, /*IsText=*/true);
    if (!buffer)
      return error() << "cannot read schedule file '" << arg
                     << "': " << buffer.getError().message();
    llvm::Expected<llvm::json::Value> json =
        llvm::json::parse((*buffer)->getBuffer());
    if (!json)
      return error() << "schedule file '" << arg
                     << "' is not valid JSON: " << toString(json.takeError());
    const llvm::json::Object *obj = json->getAsObject();
    if (!obj)
      return error() << "schedule file '" << arg
                     << "' must hold an object {\"layer name\": width, ...}";
    llvm::StringMap<unsigned> widths;
    for (const auto &[key, value] : *obj) {
      std::optional<int64_t> r = value.getAsInteger();
      if (!r || *r < 1 || *r > 8)
        return error() << "schedule file '" << arg << "': the width of '"
                       << key.str() << "' must be an integer in 1..8";
      widths[key.str()] = static_cast<unsigned>(*r);
    }
    for (Layer &layer : layers) {
      auto it = widths.find(layer.name);
      if (it != widths.end()) {
        layer.width = it->second;
        widths.erase(it);
      } else {
        fallback(layer);
      }
    }
    if (!widths.empty()) {
      SmallVector<StringRef> unknown;
      for (auto &entry : widths)
        unknown.push_back(entry.getKey());
      llvm::sort(unknown);
      return error() << "schedule file '" << arg
                     << "' names layers that the module does not have: "
                     << llvm::join(unknown, ", ");
    }
    return success();
  }
  if (kind == "pyramid") {
    if (!arg.empty())
      return error() << "policy 'pyramid' takes no value; use the options "
                        "pyramid-edge and pyramid-center";
    if (pyramidEdge < 1 || pyramidEdge > 8 || pyramidCenter < 1 ||
        pyramidCenter > 8)
      return error() << "pyramid-edge and pyramid-center must be in 1..8, "
                        "got "
                     << unsigned(pyramidEdge) << " and "
                     << unsigned(pyramidCenter);
    for (Layer &layer : layers) {
      // t = 0 at both ends, 1 in the middle.
      double t = 0.0;
      if (layer.index >= 0 && numBlocks > 1) {
        double mid = (numBlocks - 1) / 2.0;
        t = 1.0 - std::fabs(layer.index - mid) / mid;
      } else if (layer.index >= 0) {
        t = 1.0;
      }
      double target = pyramidEdge + t * (double(pyramidCenter) - pyramidEdge);
      // The nearest allowed width (ties to the wider).
      SmallVector<unsigned> ok = allowedFor(layer);
      if (ok.empty())
        return layer.sites.front().op->emitOpError()
               << "no allowed width fits layer '" << layer.name << "'";
      unsigned best = ok.front();
      for (unsigned r : ok)
        if (std::fabs(r - target) < std::fabs(best - target) ||
            (std::fabs(r - target) == std::fabs(best - target) && r > best))
          best = r;
      layer.width = best;
    }
    return success();
  }
  if (kind == "budget") {
    double budget;
    if (arg.trim().getAsDouble(budget) || !(budget > 0.0) ||
        !std::isfinite(budget))
      return error() << "policy 'budget': '" << arg
                     << "' is not a positive number of bits per parameter";
    return budgetSchedule(budget, arg.trim(), layers);
  }
  return error() << "unknown policy '" << policy
                 << "'; expected attr, uniform=<r>, list=<r0,r1,...>, "
                    "json=<file>, pyramid or budget=<bits>";
}

LogicalResult
MQApplySchedulePass::budgetSchedule(double budget, StringRef spelling,
                                    SmallVectorImpl<Layer> &layers) {
  // Errors of every layer at every width.
  for (Layer &layer : layers) {
    unsigned c = 8;
    for (const Site &s : layer.sites)
      c = std::min(c, s.type.getStorageBits());
    layer.errors.assign(c, 0.0);
    for (const Site &s : layer.sites) {
      SmallVector<double> e;
      if (auto attr = s.op->getAttrOfType<DenseF64ArrayAttr>("mq.slice_errors"))
        e.assign(attr.asArrayRef().begin(), attr.asArrayRef().end());
      if (e.size() != s.type.getStorageBits())
        e = errorsFromConstants(s.op, s);
      if (e.size() != s.type.getStorageBits())
        return s.op->emitOpError()
               << "policy 'budget' needs the weight error of layer '"
               << layer.name
               << "' at each width: give the op an 'mq.slice_errors' "
                  "array (mq-quantize-weights does) or constant weights";
      for (unsigned r = 1; r <= c; ++r)
        layer.errors[r - 1] += e[r - 1];
    }
  }
  // Start every layer at its lowest allowed width.
  SmallVector<SmallVector<unsigned>> options;
  double bits = 0, params = 0;
  for (Layer &layer : layers) {
    options.push_back(allowedFor(layer));
    if (options.back().empty())
      return layer.sites.front().op->emitOpError()
             << "no allowed width fits layer '" << layer.name << "'";
    layer.width = options.back().front();
    bits += layerBits(layer, layer.width);
    params += layer.params;
  }
  if (params == 0)
    return success();
  if (bits / params > budget + 1e-12)
    return error() << "budget " << spelling
                   << " bits per parameter is below the cheapest schedule ("
                   << llvm::formatv("{0:F4}", bits / params).str() << ")";
  // Greedy: the upgrade with the best error reduction per added bit that
  // still fits the budget, until none fits.
  while (true) {
    int best = -1;
    double bestRatio = -1, bestAdd = 0;
    unsigned bestWidth = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      Layer &layer = layers[i];
      auto it = llvm::find(options[i], layer.width);
      if (std::next(it) == options[i].end())
        continue;
      unsigned next = *std::next(it);
      double add = layerBits(layer, next) - layerBits(layer, layer.width);
      if ((bits + add) / params > budget + 1e-12)
        continue;
      double gain = layer.errors[layer.width - 1] - layer.errors[next - 1];
      double ratio = gain / std::max(add, 1e-30);
      if (ratio > bestRatio) {
        best = int(i);
        bestRatio = ratio;
        bestAdd = add;
        bestWidth = next;
      }
    }
    if (best < 0)
      break;
    layers[best].width = bestWidth;
    bits += bestAdd;
  }
  return success();
}

LogicalResult MQApplySchedulePass::apply(SmallVectorImpl<Layer> &layers) {
  double bits = 0, params = 0;
  for (Layer &layer : layers) {
    unsigned r = layer.width;
    for (Site &site : layer.sites) {
      Operation *op = site.op;
      WeightType type = site.type;
      if (type.getLayout())
        return op->emitOpError()
               << "weight of layer '" << layer.name
               << "' is already packed; apply the schedule before packing";
      if (r > type.getBits())
        return op->emitOpError() << "schedule gives layer '" << layer.name
                                 << "' " << r << " bits, wider than its stored "
                                 << type.getBits() << "-bit model";
      if (!type.getWidths().empty() && !llvm::is_contained(type.getWidths(), r))
        return op->emitOpError()
               << "schedule gives layer '" << layer.name << "' " << r
               << " bits, which is not one of the nested widths of " << type;
      // Keep an operand that already is the stored model's r-bit slice.
      OpOperand &operand = op->getOpOperand(1);
      Value current = operand.get();
      auto direct = current.getDefiningOp<SliceOp>();
      bool isDirect = current == site.source ||
                      (direct && direct.getInput() == site.source);
      Value sliced = site.source;
      if (isDirect && cast<WeightType>(current.getType()).getBits() == r) {
        sliced = current;
      } else if (r != type.getBits()) {
        OpBuilder b(op);
        sliced =
            SliceOp::create(b, op->getLoc(), type.withBits(r), site.source);
      }
      operand.set(sliced);
      bits += siteBits(type, r);
      params += double(type.getRows()) * double(type.getCols());
    }
  }
  if (params > 0) {
    getOperation()->setAttr(
        "mq.effective_bits",
        FloatAttr::get(Float64Type::get(&getContext()), bits / params));
    if (report)
      emitReport(layers, bits / params);
  }
  return success();
}

void MQApplySchedulePass::emitReport(ArrayRef<Layer> layers,
                                     double effectiveBits) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "Mix'n'Match schedule (policy " << policy << "), "
     << llvm::format("%.4f", effectiveBits)
     << " effective bits per parameter\n";
  os << llvm::format("%-36s %10s %5s %10s %14s\n", "layer", "params", "width",
                     "bits/param", "sq. error");
  double totalError = 0;
  bool haveErrors = true;
  for (const Layer &layer : layers) {
    double b = layerBits(layer, layer.width) / layer.params;
    os << llvm::format("%-36s %10.0f %5u %10.4f ", layer.name.c_str(),
                       layer.params, layer.width, b);
    if (layer.width >= 1 && layer.width <= layer.errors.size()) {
      double e = layer.errors[layer.width - 1];
      totalError += e;
      os << llvm::format("%14.6g", e);
    } else {
      haveErrors = false;
      os << llvm::format("%14s", "-");
    }
    os << "\n";
  }
  if (haveErrors)
    os << "total squared weight error: " << llvm::format("%.6g", totalError);
  else
    os << "(weight errors are computed for policy=budget only)";
  mlir::emitRemark(getOperation().getLoc()) << os.str();
}

void MQApplySchedulePass::runOnOperation() {
  ModuleOp module = getOperation();
  std::string err = nm::parseUnsignedList(allowedWidths, allowed);
  if (!err.empty()) {
    error() << "option 'allowed-widths': " << err;
    return signalPassFailure();
  }
  for (unsigned r : allowed)
    if (r < 1 || r > 8) {
      error() << "option 'allowed-widths': width " << r << " is not in 1..8";
      return signalPassFailure();
    }
  llvm::sort(allowed);
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  if (defaultWidth > 8) {
    error() << "option 'default-width' must be in 0..8, got "
            << unsigned(defaultWidth);
    return signalPassFailure();
  }

  SmallVector<Layer> layers;
  if (failed(collectLayers(layers)))
    return signalPassFailure();

  auto [kind, arg] = StringRef(policy).split('=');
  if (kind == "attr") {
    if (!arg.empty()) {
      error() << "policy 'attr' takes no value; pass the schedule with the "
                 "'schedule' option";
      return signalPassFailure();
    }
    if (failed(scheduleFromAttr(layers)))
      return signalPassFailure();
  } else {
    if (!schedule.empty()) {
      error() << "option 'schedule' applies only to policy=attr, got policy '"
              << policy << "'";
      return signalPassFailure();
    }
    if (failed(scheduleFromPolicy(kind, arg, layers)))
      return signalPassFailure();
    // Record the widths that were computed (a builtin dictionary, so that
    // lowered modules stay readable without the mq dialect).
    SmallVector<NamedAttribute> entries;
    Builder b(&getContext());
    for (const Layer &layer : layers)
      entries.push_back(
          b.getNamedAttr(layer.name, b.getI64IntegerAttr(layer.width)));
    module->setAttr("mq.schedule_widths", b.getDictionaryAttr(entries));
  }
  if (failed(apply(layers)))
    return signalPassFailure();
}

} // namespace
