//===- QuantizeWeights.cpp - Quantize constant linear weights ----*- C++
//-*-===//
//
// The `mq-quantize-weights` pass: finds linalg.matvec / linalg.matmul /
// linalg.batch_matmul ops and linalg.generic contractions whose weight
// operand is a float32 constant, quantizes the weight at compile time through
// the numerics library (min-max, the MatQuant clipping search, or with
// calibration activations the calibrated MatQuant quantizer) and rewrites
// the op into mq.constant + scale / offset constants + mq.matvec /
// mq.matmul.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Numerics/Activations.h"
#include "matquant/Numerics/Search.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Threading.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Regex.h"

#include <cmath>
#include <deque>
#include <sstream>

namespace matquant::mq {
#define GEN_PASS_DEF_MQQUANTIZEWEIGHTSPASS
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"
} // namespace matquant::mq

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;
namespace nm = matquant::numerics;

namespace {

//===----------------------------------------------------------------------===//
// Matching
//===----------------------------------------------------------------------===//

/// A weight-stationary linear op found in the IR.
struct LinearSite {
  linalg::LinalgOp op;
  /// The activation (x [K] or X [M, K]), the constant weight and the init.
  Value input, weight, init;
  /// The weight's channel axis: 0 for [N, K], 1 for [K, N].
  unsigned axis = 0;
  bool isMatvec = false;
  /// The activation has several row dimensions (a broadcast-weight
  /// linalg.batch_matmul, or a generic contraction with several m loops):
  /// they are collapsed into one for the mq.matmul and expanded after it.
  bool collapseRows = false;
  std::string layer;
};

/// The f32 elements of a constant weight, row-major, or nullopt if `v` is
/// not an arith.constant holding a readable f32 dense / dense_resource
/// attribute. A view of the attribute's own storage (no copy of a model's
/// weights); only a splat is expanded, into `storage`.
std::optional<ArrayRef<float>> constantWeightData(Value v, bool &isResource,
                                                  std::vector<float> &storage) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  if (!cst)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(cst.getType());
  if (!type || type.getRank() != 2 || !type.getElementType().isF32() ||
      !type.hasStaticShape())
    return std::nullopt;
  Attribute value = cst.getValue();
  if (auto dense = dyn_cast<DenseFPElementsAttr>(value)) {
    isResource = false;
    if (dense.isSplat()) {
      storage.assign(dense.getNumElements(), dense.getSplatValue<float>());
      return ArrayRef<float>(storage);
    }
    ArrayRef<char> raw = dense.getRawData();
    return ArrayRef<float>(reinterpret_cast<const float *>(raw.data()),
                           dense.getNumElements());
  }
  if (auto blob = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<float>> data = blob.tryGetAsArrayRef();
    if (!data)
      return std::nullopt;
    isResource = true;
    return *data;
  }
  return std::nullopt;
}

bool isWeightConstant(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  if (!cst)
    return false;
  auto type = dyn_cast<RankedTensorType>(cst.getType());
  return type && type.getRank() == 2 && type.getElementType().isF32() &&
         type.hasStaticShape() &&
         isa<DenseFPElementsAttr, DenseF32ResourceElementsAttr>(cst.getValue());
}

/// True if `init` is known to be all +0.0 (a linalg.fill or a splat).
bool isPositiveZero(Value init) {
  auto isZero = [](Attribute a) {
    auto f = dyn_cast_or_null<FloatAttr>(a);
    return f && f.getValue().isPosZero();
  };
  if (auto fill = init.getDefiningOp<linalg::FillOp>()) {
    Attribute a;
    return matchPattern(fill.getInputs()[0], m_Constant(&a)) && isZero(a);
  }
  DenseElementsAttr dense;
  if (matchPattern(init, m_Constant(&dense)) && dense.isSplat() &&
      isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().isPosZero();
  return false;
}

/// (m, n, k) -> (m, k), (n, k), (m, n) if `transposedB`, else the default
/// (m, k), (k, n), (m, n).
SmallVector<AffineMap> matmulMaps(MLIRContext *ctx, bool transposedB) {
  AffineExpr m, n, k;
  bindDims(ctx, m, n, k);
  auto map = [&](ArrayRef<AffineExpr> r) {
    return AffineMap::get(3, 0, r, ctx);
  };
  return {map({m, k}), transposedB ? map({n, k}) : map({k, n}), map({m, n})};
}

/// Recognizes a weight-stationary linear op with a constant f32 weight.
std::optional<LinearSite> matchLinalgSite(Operation *op) {
  LinearSite site;
  if (auto mv = dyn_cast<linalg::MatvecOp>(op)) {
    if (!mv.hasPureTensorSemantics() || mv.getInputs().size() != 2 ||
        mv.getOutputs().size() != 1)
      return std::nullopt;
    site.op = mv;
    site.weight = mv.getInputs()[0];
    site.input = mv.getInputs()[1];
    site.init = mv.getOutputs()[0];
    site.axis = 0;
    site.isMatvec = true;
  } else if (auto mm = dyn_cast<linalg::MatmulOp>(op)) {
    if (!mm.hasPureTensorSemantics() || mm.getInputs().size() != 2 ||
        mm.getOutputs().size() != 1)
      return std::nullopt;
    SmallVector<AffineMap> maps = mm.getIndexingMapsArray();
    if (maps == matmulMaps(op->getContext(), /*transposedB=*/true))
      site.axis = 0;
    else if (maps == matmulMaps(op->getContext(), /*transposedB=*/false))
      site.axis = 1;
    else
      return std::nullopt;
    site.op = mm;
    site.input = mm.getInputs()[0];
    site.weight = mm.getInputs()[1];
    site.init = mm.getOutputs()[0];
  } else {
    return std::nullopt;
  }
  if (!isWeightConstant(site.weight))
    return std::nullopt;
  auto inType = dyn_cast<RankedTensorType>(site.input.getType());
  auto outType = dyn_cast<RankedTensorType>(site.init.getType());
  if (!inType || !outType || !inType.getElementType().isF32() ||
      !outType.getElementType().isF32() || !inType.hasStaticShape() ||
      !outType.hasStaticShape())
    return std::nullopt;
  return site;
}

/// True if `v` is an arith.constant f32 tensor of any rank: a weight that
/// does not change at run time.
bool isFloatConstant(Value v) {
  auto cst = v.getDefiningOp<arith::ConstantOp>();
  auto type = cst ? dyn_cast<RankedTensorType>(cst.getType()) : nullptr;
  return type && type.getElementType().isF32();
}

/// True if `body` is exactly `yield(addf(out, mulf(in0, in1)))`, the operands
/// of the mulf and of the addf in either order (both commute exactly).
bool isMulAddBody(Block &body) {
  if (body.getNumArguments() != 3 || !llvm::hasNItems(body, 3))
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add = dyn_cast<arith::AddFOp>(body.front().getNextNode());
  auto yield = dyn_cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !yield || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != add.getResult())
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1),
        c = body.getArgument(2), p = mul.getResult();
  return ((mul.getLhs() == a && mul.getRhs() == b) ||
          (mul.getLhs() == b && mul.getRhs() == a)) &&
         ((add.getLhs() == c && add.getRhs() == p) ||
          (add.getLhs() == p && add.getRhs() == c));
}

/// linalg.batch_matmul and linalg.generic contractions with a constant
/// weight. The loops are classified from the indexing maps: k (reduction,
/// in the activation and the weight), n (the weight and the result), m
/// (the activation and the result) and batch (all three). Rewritten when
/// there is one k and one n loop, no batch loop, the weight is (n, k) or
/// (k, n), the activation (m..., k) and the result (m..., n) with the m
/// loops in the same order: no m loop gives an mq.matvec, one an
/// mq.matmul, several an mq.matmul on the collapsed rows. Any other
/// contraction with a constant f32 weight gets a warning saying why it stays
/// in float; ops that are not multiply-add contractions are not linear ops
/// and are passed over silently.
/// The site of contraction `op` with input `wIdx` as the weight, or why it
/// cannot be rewritten.
FailureOr<LinearSite> contractionSite(linalg::LinalgOp op, int wIdx,
                                      std::string &why) {
  int xIdx = 1 - wIdx;
  auto warn = [&](const Twine &reason) -> FailureOr<LinearSite> {
    why = reason.str();
    return failure();
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  AffineMap xm = maps[xIdx], wm = maps[wIdx], om = maps[2];
  if (!xm.isProjectedPermutation() || !wm.isProjectedPermutation() ||
      !om.isProjectedPermutation())
    return warn("an indexing map is not a projected permutation");
  SmallVector<unsigned> m, n, k, batch;
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    bool inX = xm.isFunctionOfDim(d), inW = wm.isFunctionOfDim(d),
         inO = om.isFunctionOfDim(d);
    bool reduction = iters[d] == utils::IteratorType::reduction;
    if (reduction && inX && inW && !inO)
      k.push_back(d);
    else if (!reduction && inX && inO && !inW)
      m.push_back(d);
    else if (!reduction && inW && inO && !inX)
      n.push_back(d);
    else if (!reduction && inX && inW && inO)
      batch.push_back(d);
    else
      return warn("loop d" + Twine(d) + " is not a contraction loop");
  }
  if (!batch.empty())
    return warn("the weight has a batch dimension (one matrix per batch "
                "element); mq ops take one 2-D weight");
  if (k.size() != 1 || n.size() != 1)
    return warn("it has " + Twine(k.size()) + " reduction and " +
                Twine(n.size()) +
                " output-channel loops; mq ops take one of each");
  MLIRContext *ctx = op->getContext();
  AffineExpr kx = getAffineDimExpr(k[0], ctx), nx = getAffineDimExpr(n[0], ctx);
  LinearSite site;
  site.op = op;
  site.input = op.getDpsInputs()[xIdx];
  site.weight = op.getDpsInputs()[wIdx];
  site.init = op.getDpsInits()[0];
  ArrayRef<AffineExpr> wr = wm.getResults(), xr = xm.getResults(),
                       orr = om.getResults();
  if (wr.size() == 2 && wr[0] == nx && wr[1] == kx)
    site.axis = 0;
  else if (wr.size() == 2 && wr[0] == kx && wr[1] == nx)
    site.axis = 1;
  else
    return warn("the weight is not indexed (n, k) or (k, n)");
  if (xr.back() != kx)
    return warn("the reduction dimension is not the activation's last");
  if (orr.back() != nx || orr.size() != xr.size() ||
      !llvm::equal(xr.drop_back(), orr.drop_back()))
    return warn("the result is not laid out as the activation's rows "
                "followed by the output channels");
  if (!isWeightConstant(site.weight))
    return warn("the weight is not a static 2-D dense or dense_resource f32 "
                "constant");
  auto inType = dyn_cast<RankedTensorType>(site.input.getType());
  auto outType = dyn_cast<RankedTensorType>(site.init.getType());
  if (!inType || !outType || !inType.getElementType().isF32() ||
      !outType.getElementType().isF32() || !inType.hasStaticShape() ||
      !outType.hasStaticShape())
    return warn("the activation and the result must be static f32 tensors");
  site.isMatvec = m.empty();
  site.collapseRows = m.size() >= 2;
  return site;
}

std::optional<LinearSite> matchContraction(linalg::LinalgOp op) {
  bool isBatch = isa<linalg::BatchMatmulOp>(op);
  if (!isBatch && !isa<linalg::GenericOp>(op))
    return std::nullopt;
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op->getNumResults() != 1 ||
      !isMulAddBody(*op.getBlock()))
    return std::nullopt;
  // The weight is a constant input (the right-hand side of batch_matmul;
  // either input of a generic: when both are constant, the first that gives
  // a supported layout).
  std::string firstWhy;
  bool anyConstant = false;
  for (int i = isBatch ? 1 : 0; i < 2; ++i) {
    if (!isFloatConstant(op.getDpsInputs()[i]))
      continue;
    anyConstant = true;
    std::string why;
    FailureOr<LinearSite> site = contractionSite(op, i, why);
    if (succeeded(site))
      return *site;
    if (firstWhy.empty())
      firstWhy = why;
  }
  if (anyConstant)
    op->emitWarning() << "mq-quantize-weights: this contraction with a "
                         "constant weight stays in float: "
                      << firstWhy;
  return std::nullopt;
}

/// A matched site, nothing (not a weight-stationary linear op), or failure
/// after an error was emitted.
FailureOr<std::optional<LinearSite>> matchSite(Operation *op) {
  if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
    if (isa<linalg::BatchMatmulOp, linalg::GenericOp>(op))
      return matchContraction(linalgOp);
  return matchLinalgSite(op);
}

//===----------------------------------------------------------------------===//
// Building
//===----------------------------------------------------------------------===//

/// A quantized weight materialized in the IR (one per constant and axis).
struct QuantizedValues {
  Value codes, scales, offsets;
  /// ||W - W_hat_r||^2 for r = 1..c, and ||W||^2.
  SmallVector<double> sliceErrors;
  double squaredNorm = 0;
};

ElementsAttr makeElements(RankedTensorType type, ArrayRef<char> raw,
                          bool asResource, StringRef blobName) {
  if (!asResource)
    return DenseElementsAttr::getFromRawBuffer(type, raw);
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(float));
  return DenseResourceElementsAttr::get(type, blobName, std::move(blob));
}

/// Replaces the linear op of `site` by the mq op on the quantized weight
/// `qv`; returns the new mq op.
Operation *rewriteSite(LinearSite &site, const QuantizedValues &qv) {
  Operation *op = site.op;
  MLIRContext *ctx = op->getContext();
  OpBuilder b(op);
  Location loc = op->getLoc();
  auto resultType = cast<RankedTensorType>(site.init.getType());
  auto layerAttr = StringAttr::get(ctx, site.layer);
  Value y;
  Operation *mqOp;
  if (site.isMatvec) {
    y = MatvecOp::create(b, loc, resultType, site.input, qv.codes, qv.scales,
                         qv.offsets, layerAttr);
    mqOp = y.getDefiningOp();
  } else if (!site.collapseRows) {
    y = MatmulOp::create(b, loc, resultType, site.input, qv.codes, qv.scales,
                         qv.offsets, layerAttr);
    mqOp = y.getDefiningOp();
  } else {
    // [m1, ..., mj, K] -> [m1 * ... * mj, K], then the result back.
    auto inType = cast<RankedTensorType>(site.input.getType());
    int64_t rank = inType.getRank();
    ReassociationIndices rows;
    for (int64_t i = 0; i < rank - 1; ++i)
      rows.push_back(i);
    SmallVector<ReassociationIndices> re = {rows, {rank - 1}};
    Value x = tensor::CollapseShapeOp::create(b, loc, site.input, re);
    int64_t m = cast<RankedTensorType>(x.getType()).getDimSize(0);
    auto flatType =
        RankedTensorType::get({m, resultType.getShape().back()},
                              resultType.getElementType());
    y = MatmulOp::create(b, loc, flatType, x, qv.codes, qv.scales, qv.offsets,
                         layerAttr);
    mqOp = y.getDefiningOp();
    y = tensor::ExpandShapeOp::create(b, loc, resultType, y, re);
  }
  mqOp->setAttr("mq.slice_errors", DenseF64ArrayAttr::get(ctx, qv.sliceErrors));
  mqOp->setAttr("mq.weight_sq_norm",
                FloatAttr::get(Float64Type::get(ctx), qv.squaredNorm));
  if (!isPositiveZero(site.init)) {
    // result = init + x W^T, as the linalg op accumulates into its init.
    Value empty = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                          resultType.getElementType());
    y = linalg::AddOp::create(b, loc, TypeRange{resultType},
                              ValueRange{site.init, y}, ValueRange{empty})
            .getResult(0);
  }
  op->getResult(0).replaceAllUsesWith(y);
  op->erase();
  return mqOp;
}

/// `v` the way `operator<<` prints a double ("0.5", "-1").
std::string shortDouble(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

struct MQQuantizeWeightsPass
    : matquant::mq::impl::MQQuantizeWeightsPassBase<MQQuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override;

  /// Parses and checks the options; emits an error and returns failure on
  /// bad ones.
  LogicalResult parseOptions(nm::MatQuantOptions &opts,
                             nm::CalibrationOptions &calib, bool &useSearch);
};

LogicalResult MQQuantizeWeightsPass::parseOptions(nm::MatQuantOptions &opts,
                                                  nm::CalibrationOptions &calib,
                                                  bool &useSearch) {
  ModuleOp module = getOperation();
  auto fail = [&](const Twine &msg) {
    mlir::emitError(module.getLoc()) << "mq-quantize-weights: " << msg;
    return failure();
  };
  if (bits < 1 || bits > 8)
    return fail("option 'bits' must be in 1..8, got " + Twine(bits));
  opts.quant.bits = bits;
  if (group < 0)
    return fail("option 'group' must be >= 0, got " + Twine(group));
  opts.quant.groupSize = group;
  std::string err = nm::parseUnsignedList(widths, opts.widths);
  if (!err.empty())
    return fail("option 'widths': " + err);
  err = nm::parseDoubleList(lambdas, opts.lambdas);
  if (!err.empty())
    return fail("option 'lambdas': " + err);
  if (opts.lambdas.size() != opts.widths.size())
    return fail("option 'lambdas' needs one value per width (" +
                Twine(opts.widths.size()) + "), got " +
                Twine(opts.lambdas.size()));
  if (!llvm::is_contained(opts.widths, bits))
    return fail("option 'widths' (" + widths +
                ") must contain the storage width bits = " + Twine(bits));
  if (!nm::parseSliceMode(mode, opts.mode))
    return fail("option 'mode' must be 'clamped', 'extra_precision' or "
                "'prefix_exact', got '" +
                mode + "'");
  if (method == "minmax")
    useSearch = false;
  else if (method == "matquant")
    useSearch = true;
  else
    return fail("option 'method' must be 'minmax' or 'matquant', got '" +
                method + "'");
  opts.gridMin = gridMin;
  opts.gridStep = gridStep;
  opts.refine = refine;
  opts.gridMax = gridMax;
  opts.normalize = normalize;
  // Check everything but the shape on a shape every group size fits.
  err = nm::validate(std::max<int64_t>(group, 1), std::max<int64_t>(group, 1),
                     opts);
  if (!err.empty())
    return fail("bad options: " + err);
  // Calibration options.
  bool calibrated = !calibration.empty();
  if (calibrated && !useSearch)
    return fail("option 'calibration' needs method=matquant (min-max "
                "quantization uses no activations)");
  if (!calibrated && (gptqLambdas != "" || weightedSearch ||
                      damp.getNumOccurrences()))
    return fail("options 'damp', 'gptq-lambdas' and 'weighted-search' need "
                "'calibration'");
  if (!(damp >= 0) || !std::isfinite(damp))
    return fail("option 'damp' must be finite and >= 0, got " + shortDouble(damp));
  calib.damp = damp;
  calib.weightedSearch = weightedSearch;
  if (!gptqLambdas.empty()) {
    err = nm::parseDoubleList(gptqLambdas, calib.propagationLambdas);
    if (!err.empty())
      return fail("option 'gptq-lambdas': " + err);
    if (calib.propagationLambdas.size() != opts.widths.size())
      return fail("option 'gptq-lambdas' needs one value per width (" +
                  Twine(opts.widths.size()) + "), got " +
                  Twine(calib.propagationLambdas.size()));
    double sum = 0;
    for (double l : calib.propagationLambdas) {
      if (!(l >= 0))
        return fail("option 'gptq-lambdas': every value must be >= 0, got " +
                    shortDouble(l));
      sum += l;
    }
    if (!(sum > 0))
      return fail("option 'gptq-lambdas' must not be all 0");
  }
  return success();
}

/// The quantized model of one (weight constant, axis) before it is
/// materialized.
struct PendingWeight {
  Operation *constant = nullptr;
  unsigned axis = 0;
  /// The sites that use it, in walk order.
  SmallVector<LinearSite *> sites;
  bool isResource = false;
  nm::QuantizedMatrix q;
  SmallVector<double> sliceErrors;
  double squaredNorm = 0;
  int64_t calibrationRows = 0;
};

void MQQuantizeWeightsPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  nm::MatQuantOptions opts;
  nm::CalibrationOptions calibOpts;
  bool useSearch = true;
  if (failed(parseOptions(opts, calibOpts, useSearch)))
    return signalPassFailure();

  // Layer selection.
  std::optional<llvm::Regex> regex;
  if (layers != "all" && layers != "ffn") {
    regex.emplace(layers);
    std::string err;
    if (!regex->isValid(err)) {
      mlir::emitError(module.getLoc())
          << "mq-quantize-weights: option 'layers' is not a valid regular "
             "expression: '"
          << layers << "': " << err;
      return signalPassFailure();
    }
  }
  auto selected = [&](StringRef name) {
    if (layers == "all")
      return true;
    if (layers == "ffn")
      return name.contains("feed_forward");
    return regex->match(name);
  };

  // The calibration activations.
  nm::ActivationSet acts;
  bool calibrated = !calibration.empty();
  if (calibrated) {
    std::string err = nm::readActivations(calibration, acts);
    if (!err.empty()) {
      mlir::emitError(module.getLoc())
          << "mq-quantize-weights: calibration file " << err;
      return signalPassFailure();
    }
  }

  // Collect the sites first; names are generated in walk order.
  std::deque<LinearSite> sites;
  llvm::StringSet<> usedNames;
  module.walk([&](Operation *op) {
    if (auto name = op->getAttrOfType<StringAttr>("mq.layer"))
      usedNames.insert(name.getValue());
    if (auto name = op->getAttrOfType<StringAttr>("layer"))
      usedNames.insert(name.getValue());
  });
  // Every linear layer name of the module (selected or not, quantized
  // already or not), for the check of the calibration file.
  llvm::StringSet<> linearNames;
  module.walk([&](Operation *op) {
    if (isa<MatvecOp, MatmulOp>(op))
      if (auto name = op->getAttrOfType<StringAttr>("layer"))
        linearNames.insert(name.getValue());
  });
  int64_t counter = 0;
  bool matchFailed = false;
  module.walk([&](Operation *op) {
    FailureOr<std::optional<LinearSite>> matched = matchSite(op);
    if (failed(matched)) {
      matchFailed = true;
      return;
    }
    std::optional<LinearSite> site = *matched;
    if (!site)
      return;
    if (auto name = op->getAttrOfType<StringAttr>("mq.layer")) {
      site->layer = name.getValue().str();
    } else {
      std::string generated;
      do {
        generated = "linear." + std::to_string(counter++);
      } while (usedNames.contains(generated));
      usedNames.insert(generated);
      site->layer = generated;
    }
    linearNames.insert(site->layer);
    if (selected(site->layer))
      sites.push_back(*site);
  });
  if (matchFailed)
    return signalPassFailure();

  if (calibrated) {
    for (const nm::LayerActivations &l : acts.layers)
      if (!linearNames.contains(l.layer)) {
        mlir::emitError(module.getLoc())
            << "mq-quantize-weights: calibration file " << calibration
            << " has activations for layer '" << l.layer
            << "', which is not a linear layer of this module (a file of "
               "another model?)";
        return signalPassFailure();
      }
  }

  // Group the sites by (constant, axis): each is quantized once.
  std::vector<PendingWeight> pending;
  DenseMap<std::pair<Operation *, unsigned>, size_t> index;
  for (LinearSite &site : sites) {
    auto key = std::make_pair(site.weight.getDefiningOp(), site.axis);
    auto [it, inserted] = index.try_emplace(key, pending.size());
    if (inserted) {
      pending.emplace_back();
      pending.back().constant = key.first;
      pending.back().axis = site.axis;
    }
    pending[it->second].sites.push_back(&site);
  }

  // Quantize everything before changing the IR, so that a failure leaves
  // the module as it was.
  for (PendingWeight &pw : pending) {
    LinearSite &first = *pw.sites.front();
    Operation *op = first.op;
    auto wType = cast<RankedTensorType>(first.weight.getType());
    int64_t rows = wType.getDimSize(0), cols = wType.getDimSize(1);
    std::vector<float> storage;
    std::optional<ArrayRef<float>> w =
        constantWeightData(first.weight, pw.isResource, storage);
    if (!w) {
      op->emitOpError() << "weight of layer '" << first.layer
                        << "' is a resource blob whose data is not loaded";
      return signalPassFailure();
    }
    nm::MatQuantOptions o = opts;
    o.quant.axis = pw.axis;
    std::string err = nm::validate(rows, cols, o);
    if (!err.empty()) {
      op->emitOpError() << "cannot quantize the " << rows << "x" << cols
                        << " weight of layer '" << first.layer << "': " << err;
      return signalPassFailure();
    }
    if (calibrated) {
      // The rows of every layer that uses this weight.
      int64_t k = pw.axis == 0 ? cols : rows;
      std::vector<float> x;
      int64_t samples = 0;
      for (LinearSite *site : pw.sites) {
        const nm::LayerActivations *a = acts.find(site->layer);
        auto diag = [&]() {
          return site->op->emitOpError()
                 << "calibration of layer '" << site->layer << "': ";
        };
        if (!a) {
          diag() << "no activations for it in " << calibration;
          return signalPassFailure();
        }
        if (a->k != k) {
          diag() << "the activations in " << calibration << " have " << a->k
                 << " columns, but the layer's reduction length is " << k;
          return signalPassFailure();
        }
        if (a->samples == 0) {
          diag() << "the activations in " << calibration << " have no rows";
          return signalPassFailure();
        }
        int64_t bad = nm::firstNonFinite(*a);
        if (bad >= 0) {
          diag() << "activation (row " << bad / k << ", column " << bad % k
                 << ") in " << calibration << " is not finite";
          return signalPassFailure();
        }
        x.insert(x.end(), a->data.begin(), a->data.end());
        samples += a->samples;
      }
      pw.q = nm::quantizeCalibrated(w->data(), rows, cols, x.data(), samples,
                                    o, calibOpts, &err);
      if (pw.q.rows == 0) {
        op->emitOpError() << "calibrated quantization of layer '"
                          << first.layer << "' failed: " << err;
        return signalPassFailure();
      }
      pw.calibrationRows = samples;
    }
  }

  // The data-free quantization and every weight's slice errors: independent
  // per weight, on the context's threads.
  parallelForEach(ctx, pending, [&](PendingWeight &pw) {
    LinearSite &first = *pw.sites.front();
    auto wType = cast<RankedTensorType>(first.weight.getType());
    int64_t rows = wType.getDimSize(0), cols = wType.getDimSize(1);
    std::vector<float> storage;
    std::optional<ArrayRef<float>> w =
        constantWeightData(first.weight, pw.isResource, storage);
    nm::MatQuantOptions o = opts;
    o.quant.axis = pw.axis;
    if (!calibrated)
      pw.q = useSearch ? nm::quantizeMatQuant(w->data(), rows, cols, o)
                       : nm::quantize(w->data(), rows, cols, o.quant);
    for (unsigned r = 1; r <= bits; ++r)
      pw.sliceErrors.push_back(nm::weightError(pw.q, r, o.mode, w->data()));
    pw.squaredNorm = nm::squaredNorm(w->data(), rows * cols);
  });

  // Materialize the quantized weights and rewrite the ops.
  for (PendingWeight &pw : pending) {
    Operation *cstOp = pw.constant;
    const LinearSite &first = *pw.sites.front();
    auto wType = cast<RankedTensorType>(first.weight.getType());
    int64_t rows = wType.getDimSize(0), cols = wType.getDimSize(1);
    SmallVector<int64_t> typeWidths;
    if (restrictWidths)
      for (unsigned r : opts.widths)
        typeWidths.push_back(r);
    auto weightType = WeightType::get(
        ctx, {rows, cols}, Float32Type::get(ctx), bits, bits, typeWidths,
        pw.axis, group, fromNumerics(opts.mode), LayoutAttr());
    OpBuilder b(cstOp);
    b.setInsertionPointAfter(cstOp);
    Location loc = cstOp->getLoc();
    std::string base = first.layer;
    std::replace(base.begin(), base.end(), '.', '_');
    auto raw = [](const auto &v) {
      return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                            v.size() * sizeof(v[0]));
    };
    ElementsAttr codes =
        makeElements(weightType.getStorageTensorType(), raw(pw.q.codes),
                     pw.isResource, base + "_codes");
    RankedTensorType scaleType = weightType.getScaleTensorType();
    ElementsAttr scales = makeElements(scaleType, raw(pw.q.alpha),
                                       pw.isResource, base + "_scales");
    ElementsAttr offsets = makeElements(scaleType, raw(pw.q.offset),
                                        pw.isResource, base + "_offsets");
    QuantizedValues qv;
    qv.codes = ConstantOp::create(b, loc, weightType, codes);
    qv.scales =
        arith::ConstantOp::create(b, loc, scaleType, cast<TypedAttr>(scales));
    qv.offsets =
        arith::ConstantOp::create(b, loc, scaleType, cast<TypedAttr>(offsets));
    qv.sliceErrors = pw.sliceErrors;
    qv.squaredNorm = pw.squaredNorm;
    for (LinearSite *site : pw.sites) {
      Operation *newOp = rewriteSite(*site, qv);
      if (calibrated)
        newOp->setAttr("mq.calibration_rows",
                       IntegerAttr::get(IntegerType::get(ctx, 64),
                                        pw.calibrationRows));
    }
  }

  // Drop float weights that no longer have users.
  for (PendingWeight &pw : pending)
    if (pw.constant->use_empty())
      pw.constant->erase();
}

} // namespace
