//===- matquant-report.cpp - Quality report of MatQuant quantization -*- C++
//-*-===//
//
// Writes a per-layer quality report of quantized linear layers, as text, JSON
// and a plot of error against effective bits.
//
// Checkpoint mode (`matquant-report MODEL.bin`): reads a Llama checkpoint,
// quantizes every selected linear layer with
//   (a) min-max int8, sliced to each width r,
//   (b) a separate model per width r (the same search for r alone, c = r),
//   (c) MatQuant int8, sliced to each width r,
// data-free and, with calibration activations, calibrated (GPTQ), and
// reports the relative weight error ||W - W_hat_r|| / ||W|| and the relative
// output error ||X (W - W_hat_r)^T|| / ||X W^T|| on held-out activations X,
// per layer and in total, plus the uniform and `budget` Mix'n'Match
// schedules of (c) (computed by mq-apply-schedule itself).
//
// The activations come from matquant's own execution path: the imported
// decode step gets `mq-capture-layer-inputs` (it also returns the input of
// every linear layer), is JIT-compiled with the reference pipeline, and runs
// on token sequences sampled from the float model with a fixed seed. The
// first --calib-seqs sequences calibrate; the next --held-seqs are held out.
//
// Module mode (`matquant-report --module Q.mlir`): reads a module after
// mq-quantize-weights (and possibly mq-apply-schedule) and reports each
// layer's width, bytes and relative weight errors from its mq.slice_errors
// and mq.weight_sq_norm attributes.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Import/Llama.h"
#include "matquant/InitAllDialects.h"
#include "matquant/Numerics/Activations.h"
#include "matquant/Numerics/Search.h"
#include "matquant/Runtime/Jit.h"
#include "matquant/Runtime/MemRef.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <map>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;
namespace nm = matquant::numerics;

static cl::OptionCategory cat("matquant-report options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<checkpoint>"),
                                      cl::init(""), cl::cat(cat));
static cl::opt<std::string>
    moduleFile("module",
               cl::desc("Report on a module after mq-quantize-weights "
                        "instead of a checkpoint"),
               cl::init(""), cl::cat(cat));
static cl::opt<std::string> formatOpt("format",
                                      cl::desc("llama2c or safetensors"),
                                      cl::init(""), cl::cat(cat));
static cl::opt<std::string> configOpt("config",
                                      cl::desc("JSON config (safetensors)"),
                                      cl::init(""), cl::cat(cat));
static cl::opt<std::string>
    layersOpt("layers", cl::desc("all, ffn, or a regex on the layer name"),
              cl::init("all"), cl::cat(cat));
static cl::opt<unsigned> groupOpt("group",
                                  cl::desc("group size (0: per channel)"),
                                  cl::init(0), cl::cat(cat));
static cl::opt<std::string> widthsOpt("widths",
                                      cl::desc("nested widths of MatQuant"),
                                      cl::init("8,4,2"), cl::cat(cat));
static cl::opt<std::string> lambdasOpt("lambdas",
                                       cl::desc("one weight per width"),
                                       cl::init("0.1,0.1,1"), cl::cat(cat));
static cl::opt<std::string>
    modeOpt("mode", cl::desc("clamped, extra_precision or prefix_exact"),
            cl::init("clamped"), cl::cat(cat));
static cl::opt<std::string> reportWidthsOpt("report-widths",
                                            cl::desc("widths r to report"),
                                            cl::init("8,6,4,3,2"),
                                            cl::cat(cat));
static cl::opt<std::string>
    budgetsOpt("budgets",
               cl::desc("budget schedules (bits per parameter) to report"),
               cl::init("2.5,3,3.5,4,5,6"), cl::cat(cat));
static cl::opt<int> calibSeqs("calib-seqs",
                              cl::desc("calibration sequences (0: data-free "
                                       "only)"),
                              cl::init(8), cl::cat(cat));
static cl::opt<int> heldSeqs("held-seqs", cl::desc("held-out sequences"),
                             cl::init(4), cl::cat(cat));
static cl::opt<int> seqLen("seq-len", cl::desc("tokens per sequence"),
                           cl::init(64), cl::cat(cat));
static cl::opt<unsigned> seedOpt("seed", cl::desc("sampling seed"),
                                 cl::init(1234), cl::cat(cat));
static cl::opt<double> temperatureOpt("temperature",
                                      cl::desc("sampling temperature"),
                                      cl::init(1.0), cl::cat(cat));
static cl::opt<double> dampOpt("damp",
                               cl::desc("GPTQ dampening (fraction of the "
                                        "mean diagonal)"),
                               cl::init(0.01), cl::cat(cat));
static cl::opt<bool> normalizeOpt(
    "normalize",
    cl::desc("MatQuant objective on errors relative to each width's min-max "
             "error"),
    cl::init(false), cl::cat(cat));
static cl::opt<double> gridMaxOpt(
    "grid-max",
    cl::desc("largest clip factor (> 1 widens the range; default 1)"),
    cl::init(1.0), cl::cat(cat));
static cl::opt<std::string> gptqLambdasOpt(
    "gptq-lambdas",
    cl::desc("weights of the error GPTQ propagates, one per width (default: "
             "--lambdas)"),
    cl::init(""), cl::cat(cat));
static cl::opt<bool> weightedSearchOpt(
    "weighted-search",
    cl::desc("calibrated: weight the clipping search by diag(X^T X)"),
    cl::init(false), cl::cat(cat));
static cl::opt<std::string> writeActivationsOpt(
    "write-activations",
    cl::desc("write the captured activations of the --layers to "
             "PREFIX.calib.mqact and PREFIX.held.mqact (for "
             "mq-quantize-weights calibration=FILE)"),
    cl::value_desc("PREFIX"), cl::init(""), cl::cat(cat));
static cl::opt<bool> captureOnly(
    "capture-only",
    cl::desc("only capture (and write) the activations; no report"),
    cl::init(false), cl::cat(cat));
static cl::opt<unsigned> jobsOpt("jobs", cl::desc("threads (0: all cores)"),
                                 cl::init(0), cl::cat(cat));
static cl::opt<std::string> jsonOut("json", cl::desc("write JSON here"),
                                    cl::init(""), cl::cat(cat));
static cl::opt<std::string> textOut("o",
                                    cl::desc("write the text here "
                                             "(default: stdout)"),
                                    cl::init("-"), cl::cat(cat));
static cl::opt<std::string>
    plotOut("plot",
            cl::desc("write a plot (.svg or .png; needs python3 with "
                     "matplotlib) of error against effective bits"),
            cl::init(""), cl::cat(cat));

namespace {

[[noreturn]] void fail(const llvm::Twine &msg) {
  llvm::errs() << "matquant-report: error: " << msg << "\n";
  std::exit(1);
}

//===----------------------------------------------------------------------===//
// Options and layers
//===----------------------------------------------------------------------===//

struct Options {
  nm::MatQuantOptions mq;
  nm::CalibrationOptions calib;
  std::vector<unsigned> reportWidths;
  std::vector<double> budgets;
};

Options parseOptions() {
  Options o;
  std::string err;
  if (!(err = nm::parseUnsignedList(widthsOpt, o.mq.widths)).empty())
    fail("--widths: " + err);
  if (!(err = nm::parseDoubleList(lambdasOpt, o.mq.lambdas)).empty())
    fail("--lambdas: " + err);
  if (!(err = nm::parseUnsignedList(reportWidthsOpt, o.reportWidths)).empty())
    fail("--report-widths: " + err);
  for (unsigned r : o.reportWidths)
    if (r < 1 || r > 8)
      fail("--report-widths: width " + llvm::Twine(r) + " is not in 1..8");
  if (!budgetsOpt.empty() &&
      !(err = nm::parseDoubleList(budgetsOpt, o.budgets)).empty())
    fail("--budgets: " + err);
  for (double b : o.budgets)
    if (!(b > 0))
      fail("--budgets: every budget must be positive");
  if (!nm::parseSliceMode(modeOpt, o.mq.mode))
    fail("--mode must be clamped, extra_precision or prefix_exact, got '" +
         modeOpt + "'");
  o.mq.quant.bits = 8;
  o.mq.quant.groupSize = groupOpt;
  o.mq.threads = jobsOpt;
  o.mq.normalize = normalizeOpt;
  o.mq.gridMax = gridMaxOpt;
  if (!llvm::is_contained(o.mq.widths, 8u))
    fail("--widths must contain the storage width 8");
  err = nm::validate(1, std::max<int64_t>(1, groupOpt), o.mq);
  if (!err.empty())
    fail("bad options: " + err);
  if (calibSeqs < 0 || heldSeqs < 0 || seqLen <= 0)
    fail("--calib-seqs, --held-seqs must be >= 0 and --seq-len > 0");
  if (calibSeqs > 0 && heldSeqs == 0 && !captureOnly)
    fail("calibration needs held-out sequences (--held-seqs > 0)");
  if (!(temperatureOpt > 0))
    fail("--temperature must be positive");
  if (!(dampOpt >= 0))
    fail("--damp must be >= 0");
  o.calib.damp = dampOpt;
  o.calib.weightedSearch = weightedSearchOpt;
  if (!gptqLambdasOpt.empty()) {
    if (!(err = nm::parseDoubleList(gptqLambdasOpt, o.calib.propagationLambdas))
             .empty())
      fail("--gptq-lambdas: " + err);
    if (o.calib.propagationLambdas.size() != o.mq.widths.size())
      fail("--gptq-lambdas needs one value per width");
  }
  return o;
}

/// A layer selection predicate from --layers.
std::function<bool(llvm::StringRef)> layerFilter() {
  std::string sel = layersOpt;
  if (sel == "all")
    return [](llvm::StringRef) { return true; };
  if (sel == "ffn")
    return [](llvm::StringRef n) { return n.contains("feed_forward"); };
  auto re = std::make_shared<llvm::Regex>(sel);
  std::string err;
  if (!re->isValid(err))
    fail("--layers: not a valid regular expression: '" + sel + "': " + err);
  return [re](llvm::StringRef n) { return re->match(n); };
}

struct Linear {
  std::string name;
  int64_t rows = 0, cols = 0; // [N, K]
  const std::vector<float> *w = nullptr;
};

/// The linear layers of a model in the importer's order.
std::vector<Linear> linearLayers(const matquant::LlamaWeights &m) {
  std::vector<Linear> out;
  auto add = [&](const std::string &name, const matquant::LlamaTensor &t) {
    out.push_back({name, t.shape[0], t.shape[1], &t.data});
  };
  for (size_t i = 0; i < m.layers.size(); ++i) {
    std::string p = "layers." + std::to_string(i) + ".";
    const matquant::LlamaLayerWeights &l = m.layers[i];
    add(p + "attention.wq", l.wq);
    add(p + "attention.wk", l.wk);
    add(p + "attention.wv", l.wv);
    add(p + "attention.wo", l.wo);
    add(p + "feed_forward.w1", l.w1);
    add(p + "feed_forward.w3", l.w3);
    add(p + "feed_forward.w2", l.w2);
  }
  add("output", m.output ? *m.output : m.tokEmbeddings);
  return out;
}

llvm::Expected<matquant::LlamaWeights> readCheckpoint() {
  std::string fmt = formatOpt;
  if (fmt.empty()) {
    if (llvm::StringRef(inputFile).ends_with(".bin"))
      fmt = "llama2c";
    else if (llvm::StringRef(inputFile).ends_with(".safetensors"))
      fmt = "safetensors";
    else
      return llvm::createStringError(
          inputFile + ": cannot tell the checkpoint format from the "
                      "extension; pass --format=llama2c|safetensors");
  }
  if (fmt != "llama2c" && fmt != "safetensors")
    return llvm::createStringError("unknown --format '" + fmt + "'");
  auto buffer = llvm::MemoryBuffer::getFile(inputFile, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        inputFile + ": cannot read: " + buffer.getError().message());
  if (fmt == "llama2c")
    return matquant::readLlama2cCheckpoint(inputFile, **buffer);
  std::string configPath = configOpt;
  if (configPath.empty()) {
    llvm::SmallString<256> sibling(llvm::sys::path::parent_path(inputFile));
    llvm::sys::path::append(sibling, "config.json");
    configPath = std::string(sibling);
  }
  auto configBuffer = llvm::MemoryBuffer::getFile(configPath, true);
  if (!configBuffer)
    return llvm::createStringError(
        configPath + ": cannot read: " + configBuffer.getError().message());
  auto config = matquant::parseLlamaConfigJson(
      configPath, (*configBuffer)->getBuffer(), matquant::RopeStyle::Half);
  if (!config)
    return config.takeError();
  return matquant::readSafetensorsCheckpoint(inputFile, **buffer, *config);
}

//===----------------------------------------------------------------------===//
// Calibration activations through the JIT-compiled decode step
//===----------------------------------------------------------------------===//

using matquant::MemRef;

struct StepResult {
  MemRef<float, 1> logits;
  MemRef<float, 3> k, v;
  MemRef<float, 1> captured;
};
using StepFn = void (*)(StepResult *, int64_t, int64_t, MemRef<float, 3> *,
                        MemRef<float, 3> *);

/// Per layer: the captured input rows of the calibration and held-out runs.
struct Activations {
  std::map<std::string, std::vector<float>> calib, held;
  int64_t calibRows = 0, heldRows = 0;
  std::vector<std::vector<int64_t>> sequences;
};

Activations captureActivations(MLIRContext &ctx,
                               const matquant::LlamaWeights &weights) {
  Activations acts;
  matquant::LlamaImportOptions io;
  io.maxSeqLen = seqLen;
  if (seqLen > weights.config.seqLen)
    fail("--seq-len " + llvm::Twine(int(seqLen)) +
         " exceeds the model's seq_len " + llvm::Twine(weights.config.seqLen));
  auto imported = matquant::importLlama(ctx, weights, io);
  if (!imported)
    fail(llvm::toString(imported.takeError()));
  ModuleOp module = imported->get();
  PassManager pm(&ctx);
  pm.addNestedPass<func::FuncOp>(
      matquant::mq::createMQCaptureLayerInputsPass());
  if (failed(pm.run(module)))
    fail("mq-capture-layer-inputs failed");
  auto fn = module.lookupSymbol<func::FuncOp>("decode_step");
  auto layout = fn->getAttrOfType<ArrayAttr>("mq.captured_layers");
  if (!fn || !layout)
    fail("the imported module has no captured @decode_step");
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
  auto cacheType = cast<RankedTensorType>(fn.getArgumentTypes()[2]);
  int64_t nl = cacheType.getDimSize(0), sl = cacheType.getDimSize(1),
          kv = cacheType.getDimSize(2);
  int64_t vocab = cast<RankedTensorType>(fn.getResultTypes()[0]).getDimSize(0);
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  matquant::JitOptions jo;
  jo.reference = true; // matquant's reference pipeline
  auto jit = matquant::JitModule::compile(text, jo);
  if (!jit)
    fail("JIT: " + llvm::toString(jit.takeError()));
  auto addr = (*jit)->lookup("decode_step");
  if (!addr)
    fail("JIT: " + llvm::toString(addr.takeError()));
  auto step = reinterpret_cast<StepFn>(*addr);

  struct Slot {
    std::string name;
    int64_t offset, size;
  };
  std::vector<Slot> slots;
  for (Attribute a : layout) {
    auto d = cast<DictionaryAttr>(a);
    slots.push_back({cast<StringAttr>(d.get("layer")).getValue().str(),
                     cast<IntegerAttr>(d.get("offset")).getInt(),
                     cast<IntegerAttr>(d.get("size")).getInt()});
  }
  std::mt19937_64 rng(seedOpt);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  for (int s = 0; s < calibSeqs + heldSeqs; ++s) {
    bool isCalib = s < calibSeqs;
    size_t n = static_cast<size_t>(nl * sl * kv);
    float *kd = static_cast<float *>(std::calloc(n, sizeof(float)));
    float *vd = static_cast<float *>(std::calloc(n, sizeof(float)));
    MemRef<float, 3> k{kd, kd, 0, {nl, sl, kv}, {sl * kv, kv, 1}};
    MemRef<float, 3> v{vd, vd, 0, {nl, sl, kv}, {sl * kv, kv, 1}};
    int64_t token = 1; // BOS
    std::vector<int64_t> seq = {token};
    for (int64_t pos = 0; pos < seqLen; ++pos) {
      StepResult r;
      step(&r, token, pos, &k, &v);
      std::free(k.basePtr);
      std::free(v.basePtr);
      k = r.k;
      v = r.v;
      for (const Slot &slot : slots) {
        auto &dst = isCalib ? acts.calib[slot.name] : acts.held[slot.name];
        dst.insert(dst.end(), r.captured.data + slot.offset,
                   r.captured.data + slot.offset + slot.size);
      }
      // Sample the next token from softmax(logits / T).
      double mx = -INFINITY;
      for (int64_t i = 0; i < vocab; ++i)
        mx = std::max(mx, double(r.logits.data[i]));
      std::vector<double> p(vocab);
      double sum = 0;
      for (int64_t i = 0; i < vocab; ++i)
        sum += p[i] =
            std::exp((double(r.logits.data[i]) - mx) / temperatureOpt);
      double u = uni(rng) * sum;
      int64_t next = vocab - 1;
      for (int64_t i = 0; i < vocab; ++i) {
        u -= p[i];
        if (u <= 0) {
          next = i;
          break;
        }
      }
      std::free(r.logits.basePtr);
      std::free(r.captured.basePtr);
      token = next;
      seq.push_back(token);
    }
    std::free(k.basePtr);
    std::free(v.basePtr);
    (isCalib ? acts.calibRows : acts.heldRows) += seqLen;
    acts.sequences.push_back(std::move(seq));
  }
  return acts;
}

//===----------------------------------------------------------------------===//
// Measurements
//===----------------------------------------------------------------------===//

/// Squared errors of one quantized variant at one width.
struct Err {
  double weight = 0, output = 0;
};

struct LayerReport {
  std::string name;
  int64_t rows = 0, cols = 0;
  double params = 0, groups = 0;
  double weightNorm = 0, outputNorm = 0; // ||W||^2, ||X_h W^T||^2
  /// method -> width -> errors.
  std::map<std::string, std::map<unsigned, Err>> err;
};

/// The methods, in report order, and their descriptions.
const std::vector<std::pair<std::string, std::string>> kMethods = {
    {"minmax", "(a) slices of min-max int8"},
    {"separate", "(b) separate model per width, data-free search"},
    {"matquant", "(c) slices of MatQuant int8, data-free"},
    {"separate-cal", "(b) separate model per width, calibrated (GPTQ)"},
    {"matquant-cal", "(c) slices of MatQuant int8, calibrated (GPTQ)"},
};

Err measure(const nm::QuantizedMatrix &q, unsigned r, nm::SliceMode mode,
            const Linear &l, const Activations *acts) {
  Err e;
  e.weight = nm::weightError(q, r, mode, l.w->data());
  if (acts && acts->heldRows)
    e.output = nm::outputError(q, r, mode, l.w->data(),
                               acts->held.at(l.name).data(), acts->heldRows);
  return e;
}

LayerReport evaluate(const Linear &l, const Options &o,
                     const Activations *acts) {
  LayerReport rep;
  rep.name = l.name;
  rep.rows = l.rows;
  rep.cols = l.cols;
  rep.params = double(l.rows) * double(l.cols);
  rep.groups =
      double(l.rows) * double(nm::numGroups(l.cols, o.mq.quant.groupSize));
  rep.weightNorm = nm::squaredNorm(l.w->data(), l.rows * l.cols);
  bool calibrated = acts && acts->calibRows > 0;
  if (acts && acts->heldRows)
    rep.outputNorm =
        nm::outputEnergy(l.w->data(), l.rows, l.cols, 0,
                         acts->held.at(l.name).data(), acts->heldRows);
  std::string qerr = nm::validate(l.rows, l.cols, o.mq);
  if (!qerr.empty())
    fail("layer '" + l.name + "': " + qerr);
  const float *w = l.w->data();
  nm::QuantizedMatrix mm = nm::quantize(w, l.rows, l.cols, o.mq.quant);
  nm::QuantizedMatrix mq = nm::quantizeMatQuant(w, l.rows, l.cols, o.mq);
  nm::QuantizedMatrix mqc;
  nm::CalibrationOptions calib = o.calib;
  const float *xc = calibrated ? acts->calib.at(l.name).data() : nullptr;
  if (calibrated) {
    std::string err;
    mqc = nm::quantizeCalibrated(w, l.rows, l.cols, xc, acts->calibRows, o.mq,
                                 calib, &err);
    if (mqc.rows == 0)
      fail("layer '" + l.name + "': " + err);
  }
  // Every width 1..8 for the slices (the budget schedules need them all).
  for (unsigned r = 1; r <= 8; ++r) {
    rep.err["minmax"][r] = measure(mm, r, o.mq.mode, l, acts);
    rep.err["matquant"][r] = measure(mq, r, o.mq.mode, l, acts);
    if (calibrated)
      rep.err["matquant-cal"][r] = measure(mqc, r, o.mq.mode, l, acts);
  }
  for (unsigned r : o.reportWidths) {
    nm::QuantizedMatrix sep = nm::quantizeSeparate(w, l.rows, l.cols, r, o.mq);
    rep.err["separate"][r] = measure(sep, r, o.mq.mode, l, acts);
    if (calibrated) {
      nm::MatQuantOptions one = o.mq;
      one.quant.bits = r;
      one.widths = {r};
      one.lambdas = {1.0};
      nm::CalibrationOptions calibOne = calib;
      calibOne.propagationLambdas.clear();
      std::string err;
      nm::QuantizedMatrix sc = nm::quantizeCalibrated(
          w, l.rows, l.cols, xc, acts->calibRows, one, calibOne, &err);
      if (sc.rows == 0)
        fail("layer '" + l.name + "': " + err);
      rep.err["separate-cal"][r] = measure(sc, r, o.mq.mode, l, acts);
    }
  }
  return rep;
}

/// Bits of a layer at width r (indices plus f32 scale and offset per group),
/// as mq.effective_bits counts them.
double layerBits(const LayerReport &l, unsigned r, const Options &o) {
  unsigned b = nm::indexStorageBits(8, r, o.mq.mode);
  return l.params * b + l.groups * 64.0;
}

//===----------------------------------------------------------------------===//
// Schedules
//===----------------------------------------------------------------------===//

struct Schedule {
  std::string name, method;
  double bits = 0;
  double weightErr = 0, outputErr = 0; // relative, total
  std::map<std::string, unsigned> widths;
};

/// Relative total errors of `method` with per-layer widths.
void score(Schedule &s, const std::vector<LayerReport> &layers,
           const Options &o) {
  double we = 0, wn = 0, oe = 0, on = 0, bits = 0, params = 0;
  for (const LayerReport &l : layers) {
    unsigned r = s.widths.at(l.name);
    const Err &e = l.err.at(s.method).at(r);
    we += e.weight;
    wn += l.weightNorm;
    oe += e.output;
    on += l.outputNorm;
    // A separate model per width stores r-bit codes: same bit count.
    bits += layerBits(l, r, o);
    params += l.params;
  }
  s.weightErr = std::sqrt(we / wn);
  s.outputErr = on > 0 ? std::sqrt(oe / on) : 0.0;
  s.bits = bits / params;
}

/// Budget schedules computed by mq-apply-schedule on a stand-in module of
/// mq.matvec ops that carry each layer's errors of `method`.
Schedule budgetSchedule(MLIRContext &ctx,
                        const std::vector<LayerReport> &layers,
                        const std::string &method, double budget,
                        const Options &o) {
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  SmallVector<Type> argTypes;
  std::vector<matquant::mq::WeightType> wtypes;
  for (const LayerReport &l : layers) {
    auto wt = matquant::mq::WeightType::get(
        &ctx, {l.rows, l.cols}, b.getF32Type(), 8, 8, {}, 0,
        o.mq.quant.groupSize, matquant::mq::fromNumerics(o.mq.mode),
        matquant::mq::LayoutAttr());
    wtypes.push_back(wt);
    argTypes.push_back(RankedTensorType::get({l.cols}, b.getF32Type()));
    argTypes.push_back(wt);
    argTypes.push_back(wt.getScaleTensorType());
  }
  auto fn =
      func::FuncOp::create(b, loc, "layers", b.getFunctionType(argTypes, {}));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToEnd(body);
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerReport &l = layers[i];
    SmallVector<double> errs;
    for (unsigned r = 1; r <= 8; ++r)
      errs.push_back(l.err.at(method).at(r).weight);
    Value s = body->getArgument(3 * i + 2);
    auto op = matquant::mq::MatvecOp::create(
        b, loc, RankedTensorType::get({l.rows}, b.getF32Type()),
        body->getArgument(3 * i), body->getArgument(3 * i + 1), s, s,
        b.getStringAttr(l.name));
    op->setAttr("mq.slice_errors", DenseF64ArrayAttr::get(&ctx, errs));
  }
  func::ReturnOp::create(b, loc);
  // A budget below the cheapest schedule is reported as a missing row.
  ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
  PassManager pm(&ctx);
  matquant::mq::MQApplySchedulePassOptions po;
  po.policy = llvm::formatv("budget={0}", budget).str();
  std::vector<std::string> allowed;
  for (unsigned r : o.reportWidths)
    allowed.push_back(std::to_string(r));
  po.allowedWidths = llvm::join(allowed, ",");
  pm.addPass(matquant::mq::createMQApplySchedulePass(po));
  Schedule s;
  s.method = method;
  s.name = llvm::formatv("budget={0}", budget).str();
  if (failed(pm.run(*module)))
    return s; // the budget is below the cheapest schedule: left empty
  auto widths = (*module)->getAttrOfType<DictionaryAttr>("mq.schedule_widths");
  for (NamedAttribute a : widths)
    s.widths[a.getName().str()] = cast<IntegerAttr>(a.getValue()).getInt();
  score(s, layers, o);
  return s;
}

//===----------------------------------------------------------------------===//
// Output
//===----------------------------------------------------------------------===//

double rel(double e, double n) { return n > 0 ? std::sqrt(e / n) : 0.0; }

struct Totals {
  double weight = 0, output = 0, wn = 0, on = 0, bits = 0, params = 0;
};

Totals totals(const std::vector<LayerReport> &layers, const std::string &m,
              unsigned r, const Options &o) {
  Totals t;
  for (const LayerReport &l : layers) {
    auto it = l.err.find(m);
    if (it == l.err.end() || !it->second.count(r))
      continue;
    t.weight += it->second.at(r).weight;
    t.output += it->second.at(r).output;
    t.wn += l.weightNorm;
    t.on += l.outputNorm;
    t.bits += layerBits(l, r, o);
    t.params += l.params;
  }
  return t;
}

void writePlot(const llvm::json::Value &data, bool haveOutput) {
  if (plotOut.empty())
    return;
  std::string script = plotOut + ".py";
  std::error_code ec;
  llvm::raw_fd_ostream os(script, ec, llvm::sys::fs::OF_Text);
  if (ec)
    fail("cannot write " + script + ": " + ec.message());
  os << "# Written by matquant-report; rerun with python3 to redraw.\n"
     << "import json\nimport matplotlib\nmatplotlib.use('Agg')\n"
     << "import matplotlib.pyplot as plt\n"
     << "data = json.loads(r'''" << llvm::formatv("{0}", data) << "''')\n"
     << "panels = [('rel_weight_err', 'relative weight error')]\n"
     << (haveOutput ? "panels.append(('rel_output_err', 'relative output error "
                      "(held-out)'))\n"
                    : "")
     << "fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), "
        "4.8), squeeze=False)\n"
     << "for ax, (key, title) in zip(axes[0], panels):\n"
     << "    for s in data['series']:\n"
     << "        pts = sorted((p['bits'], p[key]) for p in s['points'] "
        "if p[key] is not None)\n"
     << "        if not pts: continue\n"
     << "        ax.plot([p[0] for p in pts], [p[1] for p in pts], "
        "s.get('style', 'o-'), label=s['label'])\n"
     << "    ax.set_xlabel('effective bits per parameter (indices + scales)')\n"
     << "    ax.set_ylabel(title)\n    ax.set_yscale('log')\n"
     << "    ax.grid(True, which='both', alpha=0.3)\n"
     << "    ax.set_title(data['title'] + ': ' + title, fontsize=9)\n"
     << "axes[0][0].legend(fontsize=7)\nfig.tight_layout()\n"
     << "fig.savefig(" << llvm::formatv("r'{0}'", plotOut) << ")\n";
  os.close();
  // Debian's python3 (where python3-matplotlib lives) first.
  auto python = llvm::sys::findProgramByName("python3", {"/usr/bin"});
  if (!python)
    python = llvm::sys::findProgramByName("python3");
  if (!python) {
    llvm::errs() << "matquant-report: warning: python3 not found; wrote "
                 << script << " but no plot\n";
    return;
  }
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*python, {*python, script}, std::nullopt,
                                     {}, 0, 0, &err);
  if (rc != 0)
    llvm::errs() << "matquant-report: warning: " << script
                 << " failed (is python3-matplotlib installed?)"
                 << (err.empty() ? "" : ": " + err) << "\n";
}

int checkpointMode() {
  Options o = parseOptions();
  auto filter = layerFilter();
  auto weights = readCheckpoint();
  if (!weights)
    fail(llvm::toString(weights.takeError()));
  DialectRegistry registry;
  matquant::registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  std::unique_ptr<Activations> acts;
  if (calibSeqs > 0 || heldSeqs > 0)
    acts = std::make_unique<Activations>(captureActivations(ctx, *weights));

  if (!writeActivationsOpt.empty()) {
    if (!acts)
      fail("--write-activations needs --calib-seqs or --held-seqs > 0");
    auto write = [&](const std::map<std::string, std::vector<float>> &byLayer,
                     int64_t rows, const std::string &path) {
      nm::ActivationSet set;
      for (const Linear &l : linearLayers(*weights)) {
        auto it = byLayer.find(l.name);
        if (it == byLayer.end() || !filter(l.name))
          continue;
        set.layers.push_back({l.name, rows, rows ? l.cols : 0, it->second});
      }
      std::string err = nm::writeActivations(path, set);
      if (!err.empty())
        fail(err);
    };
    if (acts->calibRows)
      write(acts->calib, acts->calibRows, writeActivationsOpt + ".calib.mqact");
    if (acts->heldRows)
      write(acts->held, acts->heldRows, writeActivationsOpt + ".held.mqact");
  }
  if (captureOnly) {
    if (writeActivationsOpt.empty())
      fail("--capture-only needs --write-activations");
    return 0;
  }

  std::vector<LayerReport> layers;
  for (const Linear &l : linearLayers(*weights))
    if (filter(l.name))
      layers.push_back(evaluate(l, o, acts.get()));
  if (layers.empty())
    fail("--layers selects no layer");
  bool haveOutput = acts && acts->heldRows > 0;
  bool calibrated = acts && acts->calibRows > 0;

  std::vector<std::string> methods = {"minmax", "separate", "matquant"};
  if (calibrated) {
    methods.push_back("separate-cal");
    methods.push_back("matquant-cal");
  }
  // Schedules: uniform slices and budgets of (c).
  std::vector<std::string> schedMethods = {"matquant"};
  if (calibrated)
    schedMethods.push_back("matquant-cal");
  std::vector<Schedule> schedules;
  for (const std::string &m : schedMethods) {
    for (unsigned r : o.reportWidths) {
      Schedule s;
      s.method = m;
      s.name = "uniform=" + std::to_string(r);
      for (const LayerReport &l : layers)
        s.widths[l.name] = r;
      score(s, layers, o);
      schedules.push_back(s);
    }
    for (double bgt : o.budgets) {
      Schedule s = budgetSchedule(ctx, layers, m, bgt, o);
      if (!s.widths.empty())
        schedules.push_back(s);
    }
  }

  // Text.
  std::error_code ec;
  llvm::raw_fd_ostream file(textOut, ec, llvm::sys::fs::OF_Text);
  if (ec)
    fail("cannot write " + textOut + ": " + ec.message());
  llvm::raw_ostream &os = file;
  os << "matquant-report: " << inputFile << ", " << layers.size()
     << " linear layers (" << layersOpt << "), storage 8 bits, "
     << (o.mq.quant.groupSize ? "group " + std::to_string(o.mq.quant.groupSize)
                              : std::string("per channel"))
     << ", " << nm::sliceModeName(o.mq.mode) << " slices\n";
  os << "MatQuant objective: widths (" << widthsOpt << "), lambdas ("
     << lambdasOpt << "), clip grid {1, 0.95, ..., 0.5}^2\n";
  if (acts)
    os << "activations: decode step JIT-compiled with the reference pipeline, "
       << calibSeqs << " calibration + " << heldSeqs << " held-out sequences x "
       << int(seqLen) << " tokens sampled from the float model (seed "
       << unsigned(seedOpt) << ", temperature " << double(temperatureOpt)
       << "): " << acts->calibRows << " calibration rows, " << acts->heldRows
       << " held-out rows per layer; GPTQ dampening " << double(dampOpt)
       << "\n";
  os << "\nTotal relative weight error sqrt(sum ||W - W_hat_r||^2 / sum "
        "||W||^2)";
  if (haveOutput)
    os << " | relative output error sqrt(sum ||X(W - W_hat_r)^T||^2 / sum "
          "||X W^T||^2), held-out X";
  os << "\n";
  os << llvm::format("%-14s", "method");
  for (unsigned r : o.reportWidths)
    os << llvm::format(" %9s", ("w r=" + std::to_string(r)).c_str());
  if (haveOutput)
    for (unsigned r : o.reportWidths)
      os << llvm::format(" %9s", ("out r=" + std::to_string(r)).c_str());
  os << "\n";
  for (const std::string &m : methods) {
    os << llvm::format("%-14s", m.c_str());
    for (unsigned r : o.reportWidths) {
      Totals t = totals(layers, m, r, o);
      os << llvm::format(" %9.5f", rel(t.weight, t.wn));
    }
    if (haveOutput)
      for (unsigned r : o.reportWidths) {
        Totals t = totals(layers, m, r, o);
        os << llvm::format(" %9.5f", rel(t.output, t.on));
      }
    os << "\n";
  }
  for (auto &[m, desc] : kMethods)
    if (llvm::is_contained(methods, m))
      os << "  " << m << ": " << desc << "\n";

  os << "\nSchedules of (c): effective bits per parameter (indices + f32 scale "
        "and offset per group) and total relative errors\n";
  os << llvm::format("%-14s %-12s %8s %10s %10s\n", "method", "schedule",
                     "bits", "weight", "output");
  for (const Schedule &s : schedules)
    os << llvm::format(
        "%-14s %-12s %8.4f %10.5f %10s\n", s.method.c_str(), s.name.c_str(),
        s.bits, s.weightErr,
        haveOutput ? llvm::formatv("{0:F5}", s.outputErr).str().c_str() : "-");

  std::string perLayer = calibrated ? "matquant-cal" : "matquant";
  os << "\nPer layer, (c) " << perLayer
     << ": relative weight error at each width";
  if (haveOutput)
    os << " | relative output error (held-out)";
  os << "\n" << llvm::format("%-28s %8s %9s", "layer", "params", "bytes@8");
  for (unsigned r : o.reportWidths)
    os << llvm::format(" %7s", ("w" + std::to_string(r)).c_str());
  if (haveOutput)
    for (unsigned r : o.reportWidths)
      os << llvm::format(" %7s", ("o" + std::to_string(r)).c_str());
  os << "\n";
  for (const LayerReport &l : layers) {
    os << llvm::format("%-28s %8.0f %9.0f", l.name.c_str(), l.params,
                       layerBits(l, 8, o) / 8);
    for (unsigned r : o.reportWidths)
      os << llvm::format(" %7.4f",
                         rel(l.err.at(perLayer).at(r).weight, l.weightNorm));
    if (haveOutput)
      for (unsigned r : o.reportWidths)
        os << llvm::format(" %7.4f",
                           rel(l.err.at(perLayer).at(r).output, l.outputNorm));
    os << "\n";
  }

  // JSON.
  llvm::json::Array jl;
  for (const LayerReport &l : layers) {
    llvm::json::Object errs;
    for (auto &[m, byWidth] : l.err) {
      llvm::json::Object w;
      for (auto &[r, e] : byWidth)
        w[std::to_string(r)] = llvm::json::Object{
            {"rel_weight_err", rel(e.weight, l.weightNorm)},
            {"rel_output_err",
             haveOutput ? llvm::json::Value(rel(e.output, l.outputNorm))
                        : llvm::json::Value(nullptr)},
            {"sq_weight_err", e.weight},
            {"sq_output_err", e.output}};
      errs[m] = std::move(w);
    }
    jl.push_back(llvm::json::Object{{"layer", l.name},
                                    {"rows", l.rows},
                                    {"cols", l.cols},
                                    {"params", l.params},
                                    {"bytes_at_8", layerBits(l, 8, o) / 8},
                                    {"sq_weight_norm", l.weightNorm},
                                    {"sq_output_norm", l.outputNorm},
                                    {"errors", std::move(errs)}});
  }
  llvm::json::Array js;
  for (const Schedule &s : schedules) {
    llvm::json::Object w;
    for (auto &[n, r] : s.widths)
      w[n] = r;
    js.push_back(llvm::json::Object{
        {"method", s.method},
        {"schedule", s.name},
        {"bits", s.bits},
        {"rel_weight_err", s.weightErr},
        {"rel_output_err", haveOutput ? llvm::json::Value(s.outputErr)
                                      : llvm::json::Value(nullptr)},
        {"widths", std::move(w)}});
  }
  llvm::json::Object summary;
  for (const std::string &m : methods) {
    llvm::json::Object w;
    for (unsigned r : o.reportWidths) {
      Totals t = totals(layers, m, r, o);
      w[std::to_string(r)] = llvm::json::Object{
          {"bits", t.bits / t.params},
          {"rel_weight_err", rel(t.weight, t.wn)},
          {"rel_output_err", haveOutput ? llvm::json::Value(rel(t.output, t.on))
                                        : llvm::json::Value(nullptr)}};
    }
    summary[m] = std::move(w);
  }
  llvm::json::Object root{
      {"checkpoint", inputFile},
      {"layers_selected", layersOpt},
      {"group", int64_t(o.mq.quant.groupSize)},
      {"mode", nm::sliceModeName(o.mq.mode)},
      {"widths", widthsOpt},
      {"lambdas", lambdasOpt},
      {"calibration", acts ? llvm::json::Value(llvm::json::Object{
                                 {"calib_sequences", int(calibSeqs)},
                                 {"held_sequences", int(heldSeqs)},
                                 {"seq_len", int(seqLen)},
                                 {"seed", unsigned(seedOpt)},
                                 {"temperature", double(temperatureOpt)},
                                 {"calib_rows", acts->calibRows},
                                 {"held_rows", acts->heldRows},
                                 {"damp", double(dampOpt)}})
                           : llvm::json::Value(nullptr)},
      {"summary", std::move(summary)},
      {"schedules", std::move(js)},
      {"layers", std::move(jl)}};
  if (!jsonOut.empty()) {
    llvm::raw_fd_ostream jos(jsonOut, ec, llvm::sys::fs::OF_Text);
    if (ec)
      fail("cannot write " + jsonOut + ": " + ec.message());
    jos << llvm::formatv("{0:2}", llvm::json::Value(std::move(root))) << "\n";
  }

  // Plot data: uniform slices of each method, and budget schedules.
  llvm::json::Array series;
  auto uniformSeries = [&](const std::string &m, const std::string &label,
                           const char *style) {
    llvm::json::Array pts;
    for (unsigned r : o.reportWidths) {
      Totals t = totals(layers, m, r, o);
      pts.push_back(llvm::json::Object{
          {"bits", t.bits / t.params},
          {"rel_weight_err", rel(t.weight, t.wn)},
          {"rel_output_err", haveOutput ? llvm::json::Value(rel(t.output, t.on))
                                        : llvm::json::Value(nullptr)}});
    }
    series.push_back(llvm::json::Object{
        {"label", label}, {"style", style}, {"points", std::move(pts)}});
  };
  uniformSeries("minmax", "(a) min-max int8, uniform slices", "s--");
  uniformSeries("separate", "(b) separate per width, data-free", "^:");
  uniformSeries("matquant", "(c) MatQuant data-free, uniform slices", "o-");
  if (calibrated) {
    uniformSeries("separate-cal", "(b) separate per width, GPTQ", "v:");
    uniformSeries("matquant-cal", "(c) MatQuant GPTQ, uniform slices", "D-");
  }
  for (const std::string &m : schedMethods) {
    llvm::json::Array pts;
    for (const Schedule &s : schedules)
      if (s.method == m && llvm::StringRef(s.name).starts_with("budget"))
        pts.push_back(llvm::json::Object{
            {"bits", s.bits},
            {"rel_weight_err", s.weightErr},
            {"rel_output_err", haveOutput ? llvm::json::Value(s.outputErr)
                                          : llvm::json::Value(nullptr)}});
    series.push_back(
        llvm::json::Object{{"label", "(c) " + m + ", budget schedules"},
                           {"style", "x-."},
                           {"points", std::move(pts)}});
  }
  writePlot(llvm::json::Object{{"title", llvm::sys::path::filename(inputFile)},
                               {"series", std::move(series)}},
            haveOutput);
  return 0;
}

//===----------------------------------------------------------------------===//
// Module mode
//===----------------------------------------------------------------------===//

int moduleMode() {
  Options o = parseOptions();
  DialectRegistry registry;
  matquant::registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(moduleFile, &ctx);
  if (!module)
    fail("cannot parse " + moduleFile);
  struct Row {
    std::string name;
    double params, bits;
    unsigned width, storage;
    std::vector<double> errors;
    double norm;
  };
  std::vector<Row> rows;
  bool missing = false;
  module->walk([&](Operation *op) {
    if (!isa<matquant::mq::MatvecOp, matquant::mq::MatmulOp>(op))
      return;
    auto name = op->getAttrOfType<StringAttr>("layer");
    auto type = cast<matquant::mq::WeightType>(op->getOperand(1).getType());
    Row row;
    row.name = name ? name.getValue().str() : "(unnamed)";
    row.params = double(type.getRows()) * double(type.getCols());
    auto scale = type.getScaleShape();
    row.bits = row.params * type.getIndexStorageBits() +
               double(scale[0]) * double(scale[1]) * 64.0;
    row.width = type.getBits();
    row.storage = type.getStorageBits();
    row.norm = 0;
    if (auto e = op->getAttrOfType<DenseF64ArrayAttr>("mq.slice_errors"))
      row.errors.assign(e.asArrayRef().begin(), e.asArrayRef().end());
    if (auto n = op->getAttrOfType<FloatAttr>("mq.weight_sq_norm"))
      row.norm = n.getValueAsDouble();
    if (row.errors.size() != row.storage || row.norm <= 0)
      missing = true;
    rows.push_back(std::move(row));
  });
  if (rows.empty())
    fail(moduleFile + " has no mq.matvec / mq.matmul op; run "
                      "mq-quantize-weights first");
  std::error_code ec;
  llvm::raw_fd_ostream os(textOut, ec, llvm::sys::fs::OF_Text);
  if (ec)
    fail("cannot write " + textOut + ": " + ec.message());
  if (missing)
    os << "note: some ops lack mq.slice_errors / mq.weight_sq_norm (not from "
          "mq-quantize-weights); their errors are shown as -\n";
  os << llvm::format("%-28s %8s %5s %10s %9s", "layer", "params", "width",
                     "bytes", "err@width");
  for (unsigned r : o.reportWidths)
    os << llvm::format(" %7s", ("w" + std::to_string(r)).c_str());
  os << "\n";
  double bits = 0, params = 0, err = 0, norm = 0;
  std::map<unsigned, std::pair<double, double>> uniform; // r -> (err, bits)
  llvm::json::Array jl;
  for (const Row &row : rows) {
    bool ok = row.errors.size() == row.storage && row.norm > 0;
    auto relAt = [&](unsigned r) -> double {
      return std::sqrt(row.errors[r - 1] / row.norm);
    };
    os << llvm::format("%-28s %8.0f %5u %10.0f ", row.name.c_str(), row.params,
                       row.width, row.bits / 8);
    if (ok)
      os << llvm::format("%9.4f", relAt(row.width));
    else
      os << llvm::format("%9s", "-");
    llvm::json::Object rw;
    for (unsigned r : o.reportWidths) {
      bool has = ok && r <= row.storage;
      if (has)
        os << llvm::format(" %7.4f", relAt(r));
      else
        os << llvm::format(" %7s", "-");
      if (has)
        rw[std::to_string(r)] = relAt(r);
    }
    os << "\n";
    bits += row.bits;
    params += row.params;
    if (ok) {
      err += row.errors[row.width - 1];
      norm += row.norm;
    }
    jl.push_back(llvm::json::Object{
        {"layer", row.name},
        {"params", row.params},
        {"width", row.width},
        {"bytes", row.bits / 8},
        {"rel_weight_err",
         ok ? llvm::json::Value(relAt(row.width)) : llvm::json::Value(nullptr)},
        {"rel_weight_err_at", std::move(rw)}});
  }
  os << llvm::format(
      "total: %.0f parameters, %.4f effective bits per "
      "parameter, relative weight error %s\n",
      params, bits / params,
      norm > 0 ? llvm::formatv("{0:F5}", std::sqrt(err / norm)).str().c_str()
               : "-");
  if (!jsonOut.empty()) {
    llvm::raw_fd_ostream jos(jsonOut, ec, llvm::sys::fs::OF_Text);
    if (ec)
      fail("cannot write " + jsonOut + ": " + ec.message());
    jos << llvm::formatv(
               "{0:2}", llvm::json::Value(llvm::json::Object{
                            {"module", moduleFile},
                            {"effective_bits", bits / params},
                            {"rel_weight_err",
                             norm > 0 ? llvm::json::Value(std::sqrt(err / norm))
                                      : llvm::json::Value(nullptr)},
                            {"layers", std::move(jl)}}))
        << "\n";
  }
  if (!plotOut.empty())
    llvm::errs() << "matquant-report: warning: --plot applies to checkpoint "
                    "mode only\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "matquant-report: quality of MatQuant quantization, per layer\n\n"
      "  matquant-report MODEL.bin [options]   quantize a checkpoint and "
      "report\n"
      "  matquant-report --module Q.mlir       report on a quantized module\n");
  if (!moduleFile.empty() == !inputFile.empty())
    fail("give either a checkpoint or --module, not both and not neither");
  return moduleFile.empty() ? checkpointMode() : moduleMode();
}
