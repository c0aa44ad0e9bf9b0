//===- mq-calib-check.cpp - Check calibrated mq-quantize-weights --*- C++ -*-===//
//
// Test tool: checks the output of `mq-quantize-weights calibration=FILE`
// against the numerics library called directly.
//
//   mq-calib-check IN.mlir OUT.mlir --calibration=FILE [--held=FILE]
//                  [--widths=8,4,2 --lambdas=... --group=G --mode=M
//                   --grid-max=G --damp=D --gptq-lambdas=... --weighted-search]
//
// For every mq.matvec / mq.matmul of OUT.mlir (the pass's output), finds the
// float weight of the same layer in IN.mlir (the linalg op with that
// `mq.layer`), quantizes it with quantizeCalibrated() on the layer's rows
// of FILE, and compares the codes, scales and offsets of OUT.mlir with
// those, bit for bit. With --held, also prints the relative output error
// on those (held-out) activations of the pass's model and of the data-free
// MatQuant model at each width of --widths, and the total relative output
// error of the pass's model over those layers at every width (the number
// matquant-report gives for the same setting). Exit status 1 on any
// mismatch.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "matquant/Numerics/Activations.h"
#include "matquant/Numerics/Search.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstring>
#include <map>

using namespace mlir;
namespace cl = llvm::cl;
namespace nm = matquant::numerics;

static cl::OptionCategory calibCheckCategory("mq-calib-check options");

static cl::opt<std::string> inFile(cl::Positional, cl::Required,
                                   cl::desc("<input.mlir>"),
                                   cl::cat(calibCheckCategory));
static cl::opt<std::string> outFile(cl::Positional, cl::Required,
                                    cl::desc("<quantized.mlir>"),
                                    cl::cat(calibCheckCategory));
static cl::opt<std::string> calibFile("calibration", cl::Required,
                                      cl::desc("calibration activations"),
                                      cl::cat(calibCheckCategory));
static cl::opt<std::string> heldFile("held", cl::init(""),
                                     cl::desc("held-out activations"),
                                     cl::cat(calibCheckCategory));
static cl::opt<std::string> widthsOpt("widths", cl::init("8,4,2"),
                                      cl::cat(calibCheckCategory));
static cl::opt<std::string> lambdasOpt("lambdas", cl::init("0.1,0.1,1"),
                                       cl::cat(calibCheckCategory));
static cl::opt<std::string> gptqLambdasOpt("gptq-lambdas", cl::init(""),
                                           cl::cat(calibCheckCategory));
static cl::opt<unsigned> groupOpt("group", cl::init(0),
                                  cl::cat(calibCheckCategory));
static cl::opt<std::string> modeOpt("mode", cl::init("clamped"),
                                    cl::cat(calibCheckCategory));
static cl::opt<double> dampOpt("damp", cl::init(0.01),
                               cl::cat(calibCheckCategory));
static cl::opt<bool> weightedSearchOpt("weighted-search", cl::init(false),
                                       cl::cat(calibCheckCategory));
static cl::opt<double> gridMaxOpt("grid-max", cl::init(1.0),
                                  cl::cat(calibCheckCategory));

namespace {

[[noreturn]] void fail(const llvm::Twine &msg) {
  llvm::errs() << "mq-calib-check: error: " << msg << "\n";
  std::exit(2);
}

/// The f32 values of a constant (dense or dense_resource).
std::vector<float> floats(Attribute a) {
  if (auto d = dyn_cast<DenseFPElementsAttr>(a)) {
    std::vector<float> out;
    for (float f : d.getValues<float>())
      out.push_back(f);
    return out;
  }
  if (auto r = dyn_cast<DenseF32ResourceElementsAttr>(a))
    if (auto v = r.tryGetAsArrayRef())
      return std::vector<float>(v->begin(), v->end());
  fail("a constant is neither dense f32 nor a loaded f32 resource");
}

/// The codes of an mq.constant as bytes.
std::vector<uint8_t> codes(Attribute a) {
  if (auto d = dyn_cast<DenseIntElementsAttr>(a)) {
    std::vector<uint8_t> out;
    for (const llvm::APInt &v : d.getValues<llvm::APInt>())
      out.push_back(static_cast<uint8_t>(v.getZExtValue()));
    return out;
  }
  if (auto r = dyn_cast<DenseResourceElementsAttr>(a))
    if (AsmResourceBlob *blob = r.getRawHandle().getBlob()) {
      ArrayRef<char> data = blob->getData();
      return std::vector<uint8_t>(data.begin(), data.end());
    }
  fail("the codes are neither dense integers nor a loaded resource");
}

Attribute constantValue(Value v) {
  Operation *def = v.getDefiningOp();
  if (auto c = dyn_cast_or_null<arith::ConstantOp>(def))
    return c.getValue();
  if (auto c = dyn_cast_or_null<matquant::mq::ConstantOp>(def))
    return c.getValue();
  fail("an operand of a quantized op is not a constant");
}

double relOutputError(const nm::QuantizedMatrix &q, unsigned r,
                      nm::SliceMode mode, const std::vector<float> &w,
                      const nm::LayerActivations &x) {
  double e = nm::outputError(q, r, mode, w.data(), x.data.data(), x.samples);
  double n = nm::outputEnergy(w.data(), q.rows, q.cols, q.opts.axis,
                              x.data.data(), x.samples);
  return std::sqrt(e / n);
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(calibCheckCategory);
  cl::ParseCommandLineOptions(argc, argv, "mq-calib-check\n");
  DialectRegistry registry;
  registry.insert<arith::ArithDialect, func::FuncDialect,
                  linalg::LinalgDialect, tensor::TensorDialect,
                  matquant::mq::MQDialect>();
  MLIRContext ctx(registry);
  llvm::SourceMgr sm;
  SourceMgrDiagnosticHandler handler(sm, &ctx);
  OwningOpRef<ModuleOp> in = parseSourceFile<ModuleOp>(inFile, &ctx);
  OwningOpRef<ModuleOp> out = parseSourceFile<ModuleOp>(outFile, &ctx);
  if (!in || !out)
    fail("cannot parse the modules");

  nm::MatQuantOptions opts;
  std::string err;
  if (!(err = nm::parseUnsignedList(widthsOpt, opts.widths)).empty() ||
      !(err = nm::parseDoubleList(lambdasOpt, opts.lambdas)).empty())
    fail(err);
  if (!nm::parseSliceMode(modeOpt, opts.mode))
    fail("bad --mode");
  opts.quant.groupSize = groupOpt;
  opts.gridMax = gridMaxOpt;
  nm::CalibrationOptions calib;
  calib.damp = dampOpt;
  calib.weightedSearch = weightedSearchOpt;
  if (!gptqLambdasOpt.empty() &&
      !(err = nm::parseDoubleList(gptqLambdasOpt, calib.propagationLambdas))
           .empty())
    fail(err);
  nm::ActivationSet acts, held;
  if (!(err = nm::readActivations(calibFile, acts)).empty())
    fail(err);
  if (!heldFile.empty() && !(err = nm::readActivations(heldFile, held)).empty())
    fail(err);

  // Float weights of the input, by layer.
  std::map<std::string, std::vector<float>> weights;
  in->walk([&](linalg::LinalgOp op) {
    auto name = op->getAttrOfType<StringAttr>("mq.layer");
    if (!name)
      return;
    for (Value v : op.getDpsInputs())
      if (auto c = v.getDefiningOp<arith::ConstantOp>())
        weights[name.getValue().str()] = floats(c.getValue());
  });

  int mismatches = 0, checked = 0;
  // Totals over the layers with held-out activations: width -> (sum of
  // squared output errors of the pass's model, sum of output energies).
  std::map<unsigned, std::pair<double, double>> totals;
  out->walk([&](Operation *op) {
    if (!isa<matquant::mq::MatvecOp, matquant::mq::MatmulOp>(op))
      return;
    auto layerAttr = op->getAttrOfType<StringAttr>("layer");
    if (!layerAttr)
      fail("a quantized op has no layer name");
    std::string layer = layerAttr.getValue().str();
    auto type = cast<matquant::mq::WeightType>(op->getOperand(1).getType());
    auto it = weights.find(layer);
    if (it == weights.end())
      fail("layer '" + layer + "' has no float weight in the input");
    const nm::LayerActivations *x = acts.find(layer);
    if (!x)
      fail("layer '" + layer + "' has no calibration activations");
    nm::MatQuantOptions o = opts;
    o.quant.bits = type.getStorageBits();
    o.quant.axis = type.getAxis();
    nm::QuantizedMatrix ref =
        nm::quantizeCalibrated(it->second.data(), type.getRows(),
                               type.getCols(), x->data.data(), x->samples, o,
                               calib, &err);
    if (ref.rows == 0)
      fail("layer '" + layer + "': " + err);
    std::vector<uint8_t> c = codes(constantValue(op->getOperand(1)));
    std::vector<float> s = floats(constantValue(op->getOperand(2)));
    std::vector<float> m = floats(constantValue(op->getOperand(3)));
    auto countDiff = [](const auto &a, const auto &b) {
      if (a.size() != b.size())
        return int64_t(std::max(a.size(), b.size()));
      int64_t d = 0;
      for (size_t i = 0; i < a.size(); ++i)
        d += std::memcmp(&a[i], &b[i], sizeof(a[i])) != 0;
      return d;
    };
    int64_t dc = countDiff(c, ref.codes), ds = countDiff(s, ref.alpha),
            dm = countDiff(m, ref.offset);
    ++checked;
    llvm::outs() << "layer " << layer << ": " << c.size() << " codes, "
                 << s.size() << " scales, " << m.size() << " offsets: ";
    if (dc || ds || dm) {
      ++mismatches;
      llvm::outs() << "MISMATCH (" << dc << " codes, " << ds << " scales, "
                   << dm << " offsets differ)\n";
    } else {
      llvm::outs() << "identical\n";
    }
    if (const nm::LayerActivations *h = held.find(layer)) {
      // The pass's model, as stored.
      nm::QuantizedMatrix pass = ref;
      pass.codes = c;
      pass.alpha = s;
      pass.offset = m;
      nm::QuantizedMatrix free = nm::quantizeMatQuant(
          it->second.data(), type.getRows(), type.getCols(), o);
      nm::QuantizedMatrix minmax = nm::quantize(
          it->second.data(), type.getRows(), type.getCols(), o.quant);
      double energy = nm::outputEnergy(it->second.data(), pass.rows, pass.cols,
                                       pass.opts.axis, h->data.data(),
                                       h->samples);
      for (unsigned r = 1; r <= o.quant.bits; ++r) {
        totals[r].first += nm::outputError(pass, r, o.mode, it->second.data(),
                                           h->data.data(), h->samples);
        totals[r].second += energy;
      }
      for (unsigned r : opts.widths) {
        double ep = relOutputError(pass, r, o.mode, it->second, *h);
        double ef = relOutputError(free, r, o.mode, it->second, *h);
        double em = relOutputError(minmax, r, o.mode, it->second, *h);
        llvm::outs() << llvm::format(
            "  held-out output error r=%u: calibrated %.5f, data-free %.5f, "
            "min-max %.5f: calibrated %s data-free\n",
            r, ep, ef, em, ep < ef ? "below" : "not below");
      }
    }
  });
  if (!totals.empty()) {
    llvm::outs() << "total held-out relative output error of the pass's model:";
    for (auto &[r, t] : totals)
      llvm::outs() << llvm::format(" r=%u %.5f", r, std::sqrt(t.first / t.second));
    llvm::outs() << "\n";
  }
  llvm::outs() << checked << " layers checked, " << mismatches
               << " mismatched\n";
  if (checked == 0)
    fail("no quantized layer in " + outFile);
  return mismatches ? 1 : 0;
}
