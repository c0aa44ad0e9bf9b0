//===- matquant-run.cpp - Decode with a compiled Llama model -----*- C++ -*-===//
//
// Runs the decode step that matquant-import writes, compiled for the CPU by
// matquant's pipeline and JIT, at float32 and at any number of quantized
// variants (each a textual pass pipeline applied to the imported module, e.g.
// mq-quantize-weights then mq-apply-schedule). The float32 model generates
// a sequence from a prompt (greedy, or sampled with a fixed seed); every
// variant is then teacher-forced on that sequence and compared with it: top-1
// agreement, mean KL(float32 || variant), perplexity of the sequence, weight
// bytes and tokens/s. Prints a table and, with --json, writes the records.
//
// With --speed it only decodes: every model generates greedily from the
// prompt and the runner reports tokens/s next to the weight-streaming limit
// (bytes read per token over the read bandwidth measured in the same run).
// The input may be `synthetic:<preset or JSON config>`, a model with
// deterministic random weights imported in process (matquant-import
// --format=synthetic), for speed runs at the shape of large models. By
// default the weights are kept out of the compiled code
// (mq-externalize-weights) and passed at each step from one arena.
//
//===----------------------------------------------------------------------===//

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "matquant/Import/Llama.h"
#include "matquant/InitAllPasses.h"
#include "matquant/Runtime/Aot.h"
#include "matquant/Runtime/Bandwidth.h"
#include "matquant/Runtime/Jit.h"
#include "matquant/Runtime/LayerWidths.h"
#include "matquant/Runtime/MemRef.h"

#include "matquant/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory runCategory("matquant-run options");

static cl::opt<std::string>
    inputFile(cl::Positional, cl::Required,
              cl::desc("<imported model .mlir | synthetic:PRESET|CONFIG>"),
              cl::cat(runCategory));
static cl::opt<int64_t>
    maxSeqLen("max-seq-len",
              cl::desc("KV-cache length of a synthetic model (default 256)"),
              cl::init(256), cl::cat(runCategory));
static cl::opt<uint64_t> syntheticSeed("synthetic-seed",
                                       cl::desc("Seed of a synthetic model"),
                                       cl::init(1), cl::cat(runCategory));
static cl::opt<std::string> syntheticBacking(
    "synthetic-backing",
    cl::desc("synthetic models: write the weights to FILE as they are made "
             "and import them from a read-only mapping of it (the file is "
             "removed as soon as it is created), for models larger than "
             "this machine's memory"),
    cl::value_desc("FILE"), cl::init(""), cl::cat(runCategory));
static cl::opt<bool>
    speedOnly("speed",
              cl::desc("Only decode and report tokens/s against the "
                       "weight-streaming limit (no quality comparison)"),
              cl::init(false), cl::cat(runCategory));
static cl::opt<int> warmupSteps("warmup",
                                cl::desc("--speed: untimed steps first"),
                                cl::init(2), cl::cat(runCategory));
static cl::opt<bool>
    skipFloat("skip-float32", cl::desc("--speed: do not run the float32 model"),
              cl::init(false), cl::cat(runCategory));
static cl::opt<int64_t>
    membwMiB("membw-mib",
             cl::desc("--speed: MiB read to measure the bandwidth"),
             cl::init(1024), cl::cat(runCategory));
static cl::opt<int64_t> activationBits(
    "activation-bits",
    cl::desc("8: quantized layers take int8 activations per block (W{r}A8, "
             "opt-in; its error shows in the comparison)"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<bool> exponentDecode(
    "exponent-decode",
    cl::desc("float activations: sub-byte indices become f32 weights under "
             "the exponent of 1.0 (false: uitofp, as the bit-plane kernels "
             "of a run-time width do)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<int> planeTranspose(
    "plane-transpose",
    cl::desc("bit planes of a run-time width: 1 transposed to bytes "
             "(mq.transpose_bits, activations summed in another order), 0 "
             "byte lanes, -1 (default) where the CPU has GFNI"),
    cl::init(-1), cl::cat(runCategory));
static cl::opt<bool> outlineKernels(
    "outline-kernels",
    cl::desc("One function per kernel signature (mq-outline-kernels)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<bool> fuseMatvecs(
    "fuse-matvecs",
    cl::desc("Stack the matvecs that read the same input (q, k, v; gate, "
             "up) into one kernel call (mq-fuse-matvecs)"),
    cl::init(false), cl::cat(runCategory));
static cl::opt<bool> liveAttention(
    "live-attention",
    cl::desc("Import a synthetic model with attention over the KV cache's "
             "filled positions only (slices of dynamic size), instead of "
             "every position masked (default: on, except with --gpu-out, "
             "whose pipeline takes static shapes only)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<bool> inPlaceState(
    "in-place-state",
    cl::desc("CPU: the step inserts each new K and V row into the cache "
             "it was given and returns only the logits (the pipeline's "
             "in-place-state) instead of copying both caches whole into new "
             "buffers every step"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<bool> reassociateReductions(
    "reassociate-reductions",
    cl::desc("CPU: the step's own float reductions (attention, norms) may "
             "be summed in another order, so that they run as vector loops "
             "(the pipeline's reassociate-reductions)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<int64_t> parallelizeGenerics(
    "parallelize-generics",
    cl::desc("CPU, with --run-threads > 1: the step's linalg.generic ops of "
             "at least this many loop iterations (attention) are split over "
             "the threads (the pipeline's parallelize-generics; 0: none)"),
    cl::init(32768), cl::cat(runCategory));
static cl::opt<std::string> ompSchedule(
    "omp-schedule", cl::init("static"),
    cl::desc("OpenMP schedule of the kernels' row loops: static, dynamic, "
             "guided, auto or runtime (matquant-omp-schedule)"),
    cl::cat(runCategory));
static cl::opt<int> ompChunks(
    "omp-chunks", cl::init(0),
    cl::desc("chunks per thread of a dynamic or guided schedule (0: no "
             "chunk clause)"),
    cl::cat(runCategory));
static cl::opt<bool> externalize(
    "externalize-weights",
    cl::desc("Pass the weights at run time from one arena instead of "
             "compiling them into the code (mq-externalize-weights)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<int> steps("steps", cl::desc("tokens to generate"), cl::init(64),
                          cl::cat(runCategory));
static cl::opt<std::string> prompt("prompt", cl::desc("prompt token ids"),
                                   cl::init("1"), cl::cat(runCategory));
static cl::opt<double> temperature("temperature",
                                   cl::desc("0: greedy, else sampling"),
                                   cl::init(0.0), cl::cat(runCategory));
static cl::opt<unsigned> seed("seed", cl::desc("sampling seed"), cl::init(42),
                              cl::cat(runCategory));
static cl::opt<int>
    numSequences("sequences",
                 cl::desc("sequences to generate and score (seeds seed, "
                          "seed + 1, ...)"),
                 cl::init(1), cl::cat(runCategory));
static cl::opt<int> threads("run-threads", cl::desc("OpenMP threads"),
                            cl::init(0), cl::cat(runCategory));
static cl::list<std::string>
    variants("variant",
             cl::desc("NAME=PIPELINE: a quantized variant, e.g. "
                      "int4=mq-quantize-weights{method=matquant},"
                      "mq-apply-schedule{policy=uniform=4}"),
             cl::cat(runCategory));
static cl::opt<std::string> switchWidths(
    "switch-widths",
    cl::desc("POS=R,POS=R,...: in variants compiled with mq-dynamic-widths, "
             "set every layer to width R from position POS on, between "
             "tokens, through the runtime width table (no recompilation, "
             "no reload, one copy of the weights)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> gpuOut(
    "gpu-out",
    cl::desc("compile float32 and every --variant for an NVIDIA GPU "
             "(matquant-decode-to-gpu) into DIR/<name>.so, .arena and "
             ".manifest for matquant-gpu-run, instead of running on the CPU"),
    cl::value_desc("DIR"), cl::init(""), cl::cat(runCategory));
static cl::opt<bool>
    gpuArena("gpu-arena",
             cl::desc("with --gpu-out, write <name>.arena (false: the manifest "
                      "describes the arena's regions and matquant-gpu-run "
                      "--random-arena fills them, for speed runs)"),
             cl::init(true), cl::cat(runCategory));
static cl::opt<std::string> gpuChip("gpu-chip",
                                    cl::desc("GPU target chip (--gpu-out)"),
                                    cl::init("sm_90"), cl::cat(runCategory));
static cl::opt<std::string> gpuActivations(
    "gpu-activations",
    cl::desc("with --gpu-out: the GEMVs' activations, f32 (default), or "
             "f16 / bf16 (rounded once per activation vector; results stay "
             "f32)"),
    cl::init("f32"), cl::cat(runCategory));
static cl::opt<std::string>
    gpuKernel("gpu-kernel",
              cl::desc("with --gpu-out: GEMV kernels, auto (default: tensor "
                       "cores for f16 below 8 bits), simt or mma"),
              cl::init("auto"), cl::cat(runCategory));
static cl::opt<int64_t> gpuFusePartitions(
    "gpu-fuse-partitions",
    cl::desc("with --gpu-out: the pipeline's fuse-partitions (attention in "
             "one kernel per layer; 0: off; default: the pipeline's)"),
    cl::init(-1), cl::cat(runCategory));
static cl::opt<bool> gpuInPlaceState(
    "gpu-in-place-state",
    cl::desc("with --gpu-out: the KV cache updated in place (default), "
             "not copied into a next-state buffer each step"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<unsigned> gpuMatvecTile(
    "gpu-matvec-tile",
    cl::desc("with --gpu-out: batch tile of the tensor-core GEMVs, 1 or 8; "
             "0 (default): 1"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<std::string> gpuScaleOrder(
    "gpu-scale-order",
    cl::desc("with --gpu-out: scales of the tensor-core GEMVs packed by row "
             "tile (packed), [N, groups] (plain), or packed below 8 index "
             "bits (auto, the default)"),
    cl::init("auto"), cl::cat(runCategory));
static cl::opt<unsigned> gpuStages(
    "gpu-stages",
    cl::desc("with --gpu-out: tensor-core GEMVs stream their weights "
             "through this many shared-memory stages per warp (0: none)"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<unsigned> gpuEarlyPrefetch(
    "gpu-early-prefetch",
    cl::desc("with --gpu-out: before waiting for the kernels before them, "
             "each warp of the tensor-core GEMVs asks the L2 cache for up "
             "to this many of its next super-tiles (0: none)"),
    cl::init(0), cl::cat(runCategory));
static cl::opt<bool> gpuDependentLaunch(
    "gpu-dependent-launch",
    cl::desc("with --gpu-out: kernels that wait for their predecessors "
             "themselves, launched by matquant-gpu-run with programmatic "
             "dependent launch (default)"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<std::string> jsonOut("json", cl::desc("write JSON records"),
                                    cl::init(""), cl::cat(runCategory));
static cl::opt<bool> quiet("quiet", cl::desc("no per-token progress"),
                           cl::init(false), cl::cat(runCategory));
static cl::opt<std::string>
    traceOut("trace",
             cl::desc("write float32's greedy trace: per step "
                      "'<argmax>, <all logits>' (llama-ref's "
                      "format, for comparison)"),
             cl::init(""), cl::cat(runCategory));

namespace {

using matquant::MemRef;

struct StepResult {
  MemRef<float, 1> logits;
  MemRef<float, 3> k, v;
};

using StepFn = void (*)(StepResult *, int64_t, int64_t, MemRef<float, 3> *,
                        MemRef<float, 3> *);
/// The same with the weight arena of mq-externalize-weights last.
using ArenaStepFn = void (*)(StepResult *, int64_t, int64_t,
                             MemRef<float, 3> *, MemRef<float, 3> *,
                             MemRef<int8_t, 1> *);

[[noreturn]] void fail(const llvm::Twine &msg) {
  llvm::errs() << "matquant-run: " << msg << "\n";
  std::exit(1);
}

/// A compiled decode step and its KV caches.
struct Model {
  std::unique_ptr<matquant::JitModule> jit;
  /// The entry point's address: a StepFn, or an ArenaStepFn when the
  /// weights are externalized.
  void *step = nullptr;
  int64_t layers = 0, seq = 0, kvDim = 0, vocab = 0;
  MemRef<float, 3> k{}, v{};
  bool owned = false;
  /// The run-time width table of a model compiled with mq-dynamic-widths.
  std::optional<matquant::LayerWidths> widths;
  double bits = 32; // effective bits per weight of the linear layers
  /// Bytes of the linear layers' weights (packed indices, scales, offsets):
  /// what one step reads in full.
  double weightBytes = 0;
  /// The weights, when they are passed at run time.
  llvm::ArrayRef<char> arena;
  /// The step updates k and v in place and returns the logits alone.
  bool inPlace = false;
  /// Attention reads the first pos + 1 cache rows only (the importer's
  /// module attribute mq.live_attention).
  bool liveAttention = false;

  void reset() {
    release();
    size_t n = static_cast<size_t>(layers * seq * kvDim);
    float *kd = static_cast<float *>(std::calloc(n, sizeof(float)));
    float *vd = static_cast<float *>(std::calloc(n, sizeof(float)));
    k = {kd, kd, 0, {layers, seq, kvDim}, {seq * kvDim, kvDim, 1}};
    v = {vd, vd, 0, {layers, seq, kvDim}, {seq * kvDim, kvDim, 1}};
    owned = true;
  }
  void release() {
    if (owned) {
      std::free(k.basePtr);
      std::free(v.basePtr);
    }
    owned = false;
  }
  /// Runs one step; returns the logits.
  std::vector<float> run(int64_t token, int64_t pos) {
    StepResult r;
    if (!arena.empty()) {
      auto *base = const_cast<int8_t *>(
          reinterpret_cast<const int8_t *>(arena.data()));
      MemRef<int8_t, 1> a{base, base, 0,
                          {static_cast<int64_t>(arena.size())}, {1}};
      reinterpret_cast<ArenaStepFn>(step)(&r, token, pos, &k, &v, &a);
    } else {
      reinterpret_cast<StepFn>(step)(&r, token, pos, &k, &v);
    }
    std::vector<float> logits(r.logits.data, r.logits.data + vocab);
    std::free(r.logits.basePtr);
    // In place: the C interface of one result writes r.logits alone, and
    // k and v now hold the next state.
    if (inPlace)
      return logits;
    release();
    k = r.k;
    v = r.v;
    owned = true;
    return logits;
  }
  ~Model() { release(); }
};

/// Bytes of the weights of the linear layers (ops with a layer name):
/// dense f32 weights, or packed indices plus scales and offsets.
double linearWeightBytes(ModuleOp module) {
  double bytes = 0;
  auto tensorBytes = [](Type t) {
    auto st = dyn_cast<ShapedType>(t);
    if (!st || !st.hasStaticShape())
      return 0.0;
    return double(st.getNumElements()) *
           double(st.getElementTypeBitWidth()) / 8;
  };
  module.walk([&](Operation *op) {
    if (isa<linalg::MatvecOp>(op) && op->hasAttr("mq.layer")) {
      bytes += tensorBytes(op->getOperand(0).getType());
    } else if (isa<matquant::mq::MatvecOp, matquant::mq::MatmulOp>(op)) {
      auto w = cast<matquant::mq::WeightType>(op->getOperand(1).getType());
      int64_t rows = w.getRows() * w.getCols() / w.getReductionSize();
      bytes += double(rows) *
               std::ceil(double(w.getReductionSize()) *
                         w.getIndexStorageBits() / 8);
      bytes += tensorBytes(op->getOperand(2).getType()) +
               tensorBytes(op->getOperand(3).getType());
    }
  });
  return bytes;
}

std::unique_ptr<Model> compile(ModuleOp module, StringRef label) {
  auto fn = module.lookupSymbol<func::FuncOp>("decode_step");
  if (!fn)
    fail(label + ": the module has no func.func @decode_step");
  auto type = fn.getFunctionType();
  if (type.getNumInputs() != 4 || type.getNumResults() != 3)
    fail(label + ": @decode_step must take (token, pos, k, v) and return "
                 "(logits, k, v)");
  auto cache = dyn_cast<RankedTensorType>(type.getInput(2));
  auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!cache || cache.getRank() != 3 || !logits || logits.getRank() != 1)
    fail(label + ": unexpected @decode_step signature");
  fn->setAttr("llvm.emit_c_interface", UnitAttr::get(module.getContext()));
  auto m = std::make_unique<Model>();
  m->layers = cache.getDimSize(0);
  m->seq = cache.getDimSize(1);
  m->kvDim = cache.getDimSize(2);
  m->vocab = logits.getDimSize(0);
  if (auto bits = module->getAttrOfType<FloatAttr>("mq.effective_bits"))
    m->bits = bits.getValueAsDouble();
  m->weightBytes = linearWeightBytes(module);
  m->liveAttention = module->hasAttr(matquant::kLiveAttentionAttrName);
  matquant::JitOptions opts;
  opts.threads = threads;
  opts.externalizeWeights = externalize;
  opts.activationBits = activationBits;
  opts.exponentDecode = exponentDecode;
  opts.planeTranspose = planeTranspose;
  opts.outlineKernels = outlineKernels;
  opts.fuseMatvecs = fuseMatvecs;
  opts.ompSchedule = ompSchedule;
  opts.ompChunks = ompChunks;
  opts.inPlaceState = inPlaceState;
  opts.reassociateReductions = reassociateReductions;
  opts.parallelizeGenerics = parallelizeGenerics;
  bool dynamic = module->hasAttr("mq.dynamic_layers");
  // Compiled in place: the module is not needed afterwards, except for
  // the width table's layer names.
  OwningOpRef<ModuleOp> names;
  if (dynamic)
    names = module.clone();
  auto jit = matquant::JitModule::compile(module, opts);
  if (!jit)
    fail(label + ": " + llvm::toString(jit.takeError()));
  m->arena = (*jit)->arena();
  if (inPlaceState) {
    // mq-drop-in-place-results says which results it dropped (per result,
    // the argument returned, -1: kept); func-to-llvm keeps the attribute.
    auto lowered = module.lookupSymbol<LLVM::LLVMFuncOp>("decode_step");
    auto returned = lowered ? lowered->getAttrOfType<DenseI64ArrayAttr>(
                                  matquant::kInPlaceResultsAttrName)
                            : DenseI64ArrayAttr();
    if (!returned || returned.asArrayRef() != ArrayRef<int64_t>{-1, 2, 3})
      fail(label + ": the step does not update its K and V caches in place "
                   "(run with --in-place-state=false)");
    m->inPlace = true;
  }
  auto addr = (*jit)->lookup("decode_step");
  if (!addr)
    fail(label + ": " + llvm::toString(addr.takeError()));
  m->jit = std::move(*jit);
  m->step = reinterpret_cast<void *>(*addr);
  if (dynamic) {
    auto widths = matquant::LayerWidths::bind(*m->jit, *names);
    if (!widths)
      fail(label + ": " + llvm::toString(widths.takeError()));
    m->widths = std::move(*widths);
  }
  return m;
}

std::vector<double> logSoftmax(const std::vector<float> &logits) {
  double mx = -INFINITY;
  for (float l : logits)
    mx = std::max(mx, double(l));
  double sum = 0;
  for (float l : logits)
    sum += std::exp(double(l) - mx);
  double lse = mx + std::log(sum);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i)
    out[i] = double(logits[i]) - lse;
  return out;
}

int64_t argmax(const std::vector<float> &v) {
  return std::max_element(v.begin(), v.end()) - v.begin();
}

/// Writes the records to --json, when given.
void writeJson(llvm::json::Array records) {
  if (jsonOut.empty())
    return;
  std::error_code ec;
  llvm::raw_fd_ostream os(jsonOut, ec);
  if (ec)
    fail("cannot write " + jsonOut + ": " + ec.message());
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(records))) << "\n";
}

/// Fails unless `positions` steps fit the model's KV cache and every prompt
/// token is in its vocabulary.
void checkPrompt(const Model &m, const std::vector<int64_t> &tokens,
                 int64_t positions, const llvm::Twine &what) {
  if (positions > m.seq)
    fail(what + " exceed the KV cache length " + llvm::Twine(m.seq) +
         " (import with a larger --max-seq-len)");
  for (int64_t t : tokens)
    if (t < 0 || t >= m.vocab)
      fail("prompt token " + llvm::Twine(t) + " outside the vocabulary");
}

/// A --variant NAME=PIPELINE: its name, and the pipeline applied to a copy
/// of `module`.
std::pair<std::string, OwningOpRef<ModuleOp>>
buildVariant(MLIRContext &ctx, ModuleOp module, StringRef spec) {
  auto [name, pipeline] = spec.split('=');
  if (name.empty() || pipeline.empty())
    fail("--variant needs NAME=PIPELINE, got '" + spec + "'");
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(&ctx);
  std::string err;
  llvm::raw_string_ostream es(err);
  if (failed(parsePassPipeline(pipeline, pm, es)))
    fail("variant " + name + ": bad pipeline: " + err);
  if (failed(pm.run(*copy)))
    fail("variant " + name + ": the pipeline failed");
  return {name.str(), std::move(copy)};
}

/// --speed: every model decodes greedily from the prompt; tokens/s next to
/// the limit, bytes per step over the read bandwidth of this run, measured
/// right before and right after the model's steps (the mean of the two), so
/// that a bandwidth that drifts over the minutes of the run judges each
/// model by the memory of its own minute.
int speedRun(MLIRContext &ctx, ModuleOp module,
             const std::vector<int64_t> &prompt) {
  unsigned t = static_cast<unsigned>(std::max(1, threads.getValue()));
  std::vector<uint64_t> data = matquant::bandwidthArray(membwMiB);
  double bandwidth = matquant::readBandwidth(data, t);
  llvm::outs() << llvm::format("read bandwidth, %u thread(s): %.2f GB/s\n",
                               t, bandwidth);
  struct Row {
    std::string name;
    double bits, weightMB, cacheMB, tokPerSec, limit, compileSecs, bandwidth;
  };
  std::vector<Row> rows;
  auto measure = [&](ModuleOp m, const std::string &name) {
    auto c0 = std::chrono::steady_clock::now();
    std::unique_ptr<Model> model = compile(m, name);
    double compileSecs = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - c0)
                             .count();
    checkPrompt(*model, prompt,
                static_cast<int64_t>(prompt.size()) + steps + warmupSteps,
                "prompt, warm-up and steps");
    model->reset();
    double bwBefore = matquant::readBandwidthAfterParallel(data, t);
    std::vector<double> stepSecs;
    double attendedRows = 0;
    int64_t token = prompt[0];
    int64_t total = static_cast<int64_t>(prompt.size()) + warmupSteps + steps;
    for (int64_t pos = 0; pos + 1 < total; ++pos) {
      auto s0 = std::chrono::steady_clock::now();
      std::vector<float> logits = model->run(token, pos);
      double secs = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - s0)
                        .count();
      if (pos >= warmupSteps) {
        stepSecs.push_back(secs);
        attendedRows += model->liveAttention ? pos + 1 : model->seq;
      }
      token = pos + 1 < static_cast<int64_t>(prompt.size()) ? prompt[pos + 1]
                                                              : argmax(logits);
      if (!quiet)
        llvm::errs() << llvm::format("\r%s: %lld/%lld steps, %.1f tokens/s",
                                     name.c_str(), (long long)pos + 1,
                                     (long long)total - 1, 1.0 / secs);
    }
    if (!quiet)
      llvm::errs() << "\n";
    double bw = (bwBefore + matquant::readBandwidthAfterParallel(data, t)) / 2;
    std::sort(stepSecs.begin(), stepSecs.end());
    double median = stepSecs[stepSecs.size() / 2];
    // Per step: every weight once; attention reads each layer's K and V rows
    // (the first pos + 1 with live attention, all of them otherwise: the
    // mean over the timed steps), and a step that does not update the caches
    // in place also copies (reads) both whole.
    double rowBytes = 2.0 * double(model->layers * model->kvDim) * 4;
    double cacheBytes =
        rowBytes * (attendedRows / double(stepSecs.size()) +
                    (model->inPlace ? 0.0 : double(model->seq)));
    double bytes = model->weightBytes + cacheBytes;
    rows.push_back({name, model->bits, model->weightBytes / 1e6,
                    cacheBytes / 1e6, 1.0 / median, bw * 1e9 / bytes,
                    compileSecs, bw});
  };
  if (!skipFloat) {
    OwningOpRef<ModuleOp> copy = module.clone();
    measure(*copy, "float32");
  }
  for (const std::string &spec : variants) {
    auto [name, copy] = buildVariant(ctx, module, spec);
    measure(*copy, name);
  }
  llvm::outs() << llvm::format("%-12s %7s %10s %9s %10s %10s %8s %8s %9s\n",
                               "model", "bits/w", "weights MB", "cache MB",
                               "tokens/s", "limit t/s", "% limit", "bw GB/s",
                               "compile s");
  llvm::json::Array records;
  for (const Row &r : rows) {
    llvm::outs() << llvm::format(
        "%-12s %7.3f %10.1f %9.1f %10.2f %10.2f %7.1f%% %8.2f %9.1f\n",
        r.name.c_str(), r.bits, r.weightMB, r.cacheMB, r.tokPerSec, r.limit,
        100 * r.tokPerSec / r.limit, r.bandwidth, r.compileSecs);
    records.push_back(
        llvm::json::Object{{"model", r.name},
                           {"bits_per_weight", r.bits},
                           {"weight_mb", r.weightMB},
                           {"cache_mb", r.cacheMB},
                           {"tokens_per_s", r.tokPerSec},
                           {"limit_tokens_per_s", r.limit},
                           {"pct_of_limit", 100 * r.tokPerSec / r.limit},
                           {"threads", static_cast<int64_t>(t)},
                           {"read_bandwidth_gbps", r.bandwidth},
                           {"read_bandwidth_gbps_at_start", bandwidth}});
  }
  writeJson(std::move(records));
  return 0;
}

} // namespace

/// --gpu-out: float32 and every variant, compiled for the GPU.
int gpuBuild(MLIRContext &ctx, ModuleOp module) {
  if (std::error_code ec = llvm::sys::fs::create_directories(gpuOut))
    fail("cannot create " + gpuOut + ": " + ec.message());
  std::vector<std::string> specs;
  if (!skipFloat)
    specs.push_back("float32=");
  specs.insert(specs.end(), variants.begin(), variants.end());
  for (const std::string &spec : specs) {
    std::string name = "float32";
    OwningOpRef<ModuleOp> copy;
    if (spec == "float32=") {
      copy = module.clone();
    } else {
      auto built = buildVariant(ctx, module, spec);
      name = built.first;
      copy = std::move(built.second);
    }
    matquant::GpuModelOptions options;
    options.chip = gpuChip;
    options.writeArena = gpuArena;
    options.activations = gpuActivations;
    options.kernel = gpuKernel;
    options.fusePartitions = gpuFusePartitions;
    options.inPlaceState = gpuInPlaceState;
    options.dependentLaunch = gpuDependentLaunch;
    options.matvecBatchTile = gpuMatvecTile;
    options.stages = gpuStages;
    options.earlyPrefetch = gpuEarlyPrefetch;
    options.scaleOrder = gpuScaleOrder;
    std::string prefix = (gpuOut + "/" + name);
    auto start = std::chrono::steady_clock::now();
    auto summary =
        matquant::compileGpuModel(*copy, "decode_step", prefix, options);
    if (!summary)
      fail("variant " + name + ": " + llvm::toString(summary.takeError()));
    double secs = std::chrono::duration<double>(
                      std::chrono::steady_clock::now() - start)
                      .count();
    llvm::outs() << llvm::format(
        "%-12s %4lld kernels %5lld launches/step  arena %9.3f MB  "
        "workspace %8.3f MB  %.1f s  -> %s.so\n",
        name.c_str(), (long long)summary->kernels,
        (long long)summary->launches, summary->arenaBytes / 1e6,
        summary->workspaceBytes / 1e6, secs, prefix.c_str());
  }
  return 0;
}

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  matquant::registerAllPasses();
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv,
                              "matquant decode runner and comparator\n");
  DialectRegistry registry;
  matquant::registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  OwningOpRef<ModuleOp> module;
  if (StringRef(inputFile).starts_with("synthetic:")) {
    auto config = matquant::syntheticConfig(
        StringRef(inputFile).drop_front(strlen("synthetic:")));
    if (!config)
      fail(llvm::toString(config.takeError()));
    matquant::LlamaImportOptions importOptions;
    importOptions.maxSeqLen = maxSeqLen;
    importOptions.liveAttention =
        liveAttention.getNumOccurrences() ? liveAttention : gpuOut.empty();
    auto weights = matquant::makeSyntheticLlama(*config, syntheticSeed,
                                                /*sharedClassifier=*/false,
                                                syntheticBacking);
    if (!weights)
      fail(llvm::toString(weights.takeError()));
    auto imported =
        matquant::importLlama(ctx, std::move(*weights), importOptions);
    if (!imported)
      fail(llvm::toString(imported.takeError()));
    module = std::move(*imported);
  } else {
    module = parseSourceFile<ModuleOp>(inputFile, &ctx);
    if (!module)
      fail("cannot read " + inputFile);
  }

  std::vector<int64_t> tokens;
  for (StringRef t : llvm::split(prompt.getValue(), ',')) {
    int64_t id;
    if (t.trim().getAsInteger(10, id))
      fail("bad prompt token '" + t + "'");
    tokens.push_back(id);
  }
  if (tokens.empty())
    fail("empty prompt");

  // --switch-widths: position -> width, ascending.
  std::vector<std::pair<int64_t, unsigned>> switches;
  if (!switchWidths.empty())
    for (StringRef entry : llvm::split(switchWidths.getValue(), ',')) {
      auto [posText, widthText] = entry.trim().split('=');
      int64_t pos;
      unsigned width;
      if (posText.trim().getAsInteger(10, pos) || pos < 0 ||
          widthText.trim().getAsInteger(10, width) || width < 1 || width > 8)
        fail("--switch-widths needs POS=R entries with POS >= 0 and R in "
             "1..8, got '" +
             entry + "'");
      if (!switches.empty() && pos <= switches.back().first)
        fail("--switch-widths positions must increase, got '" + entry + "'");
      switches.push_back({pos, width});
    }

  if (gpuActivations != "f16" && gpuActivations != "bf16" &&
      gpuActivations != "f32")
    fail("--gpu-activations must be f16, bf16 or f32, got '" +
         gpuActivations + "'");
  if (gpuKernel != "auto" && gpuKernel != "simt" && gpuKernel != "mma")
    fail("--gpu-kernel must be auto, simt or mma, got '" + gpuKernel + "'");
  if (gpuFusePartitions.getNumOccurrences() && gpuFusePartitions < 0)
    fail("--gpu-fuse-partitions must be 0 (off) or positive, got " +
         std::to_string(gpuFusePartitions));
  if (!gpuOut.empty())
    return gpuBuild(ctx, *module);
  if (speedOnly)
    return speedRun(ctx, *module, tokens);

  // The float32 reference: generate the sequence.
  OwningOpRef<ModuleOp> refCopy = module->clone();
  std::unique_ptr<Model> refModel = compile(*refCopy, "float32");
  Model &ref = *refModel;
  checkPrompt(ref, tokens, static_cast<int64_t>(tokens.size()) + steps,
              "prompt plus steps");
  // float32 generates every sequence (sampling seed: seed + index).
  struct Sequence {
    std::vector<int64_t> tokens;
    std::vector<std::vector<double>> logProbs; // per position
  };
  std::vector<Sequence> seqs(std::max(1, numSequences.getValue()));
  std::string trace;
  llvm::raw_string_ostream traceStream(trace);
  auto t0 = std::chrono::steady_clock::now();
  int64_t refTokens = 0;
  for (size_t si = 0; si < seqs.size(); ++si) {
    Sequence &sq = seqs[si];
    std::mt19937 rng(seed + static_cast<unsigned>(si));
    ref.reset();
    sq.tokens = tokens;
    for (int64_t pos = 0;
         pos + 1 < static_cast<int64_t>(tokens.size()) + steps; ++pos) {
      std::vector<float> logits = ref.run(sq.tokens[pos], pos);
      ++refTokens;
      if (!traceOut.empty() && si == 0) {
        traceStream << argmax(logits);
        for (float l : logits)
          traceStream << ", " << llvm::format("%.7g", l);
        traceStream << "\n";
      }
      std::vector<double> lp = logSoftmax(logits);
      sq.logProbs.push_back(lp);
      if (pos + 1 < static_cast<int64_t>(sq.tokens.size()))
        continue;
      int64_t next;
      if (temperature <= 0) {
        next = argmax(logits);
      } else {
        std::vector<double> p(lp.size());
        for (size_t i = 0; i < lp.size(); ++i)
          p[i] = std::exp(lp[i] / temperature);
        std::discrete_distribution<int64_t> dist(p.begin(), p.end());
        next = dist(rng);
      }
      sq.tokens.push_back(next);
      if (!quiet)
        llvm::errs() << "\rfloat32: sequence " << si + 1 << "/"
                     << seqs.size() << ", "
                     << sq.tokens.size() - tokens.size() << "/" << steps
                     << " tokens";
    }
  }
  if (!traceOut.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(traceOut, ec);
    if (ec)
      fail("cannot write " + traceOut + ": " + ec.message());
    os << trace;
  }
  double refSecs = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - t0)
                       .count();
  if (!quiet)
    llvm::errs() << "\n";

  struct Row {
    std::string name;
    double bits, agreement, kl, ppl, tokPerSec;
  };
  std::vector<Row> rows;
  /// Teacher-forces `m` on every sequence (or, for float32 itself, reuses
  /// the recorded distributions) and scores the generated positions.
  auto evaluate = [&](Model &m, const std::string &name, bool isReference) {
    double kl = 0, nll = 0;
    int64_t agree = 0, counted = 0, ran = 0;
    auto start = std::chrono::steady_clock::now();
    for (size_t si = 0; si < seqs.size(); ++si) {
      const Sequence &sq = seqs[si];
      int64_t nSteps = static_cast<int64_t>(sq.logProbs.size());
      if (!isReference)
        m.reset();
      for (int64_t pos = 0; pos < nSteps; ++pos) {
        // Between tokens: the width the schedule gives this position.
        if (m.widths && !switches.empty()) {
          const std::pair<int64_t, unsigned> *last = nullptr;
          for (const auto &sw : switches)
            if (sw.first <= pos)
              last = &sw;
          if (last)
            if (llvm::Error e = m.widths->setAll(last->second))
              fail(name + ": --switch-widths: " + llvm::toString(std::move(e)));
        }
        std::vector<double> lp =
            isReference ? sq.logProbs[pos]
                        : logSoftmax(m.run(sq.tokens[pos], pos));
        ++ran;
        if (!quiet && !isReference)
          llvm::errs() << "\r" << name << ": sequence " << si + 1 << "/"
                       << seqs.size() << ", " << pos + 1 << "/" << nSteps
                       << " tokens";
        const std::vector<double> &rp = sq.logProbs[pos];
        // Only positions that predict a generated token are scored.
        if (pos + 1 < static_cast<int64_t>(tokens.size()))
          continue;
        ++counted;
        double d = 0;
        for (size_t i = 0; i < rp.size(); ++i)
          d += std::exp(rp[i]) * (rp[i] - lp[i]);
        kl += d;
        nll -= lp[sq.tokens[pos + 1]];
        auto best = [](const std::vector<double> &v) {
          return std::max_element(v.begin(), v.end()) - v.begin();
        };
        agree += best(lp) == best(rp);
      }
    }
    double secs = isReference ? refSecs
                              : std::chrono::duration<double>(
                                    std::chrono::steady_clock::now() - start)
                                    .count();
    if (!quiet && !isReference)
      llvm::errs() << "\n";
    rows.push_back({name, m.bits, double(agree) / counted, kl / counted,
                    std::exp(nll / counted),
                    (isReference ? refTokens : ran) / secs});
  };
  evaluate(ref, "float32", true);

  for (const std::string &spec : variants) {
    auto [name, copy] = buildVariant(ctx, *module, spec);
    std::unique_ptr<Model> m = compile(*copy, name);
    evaluate(*m, name, false);
  }

  llvm::outs() << llvm::format("%-22s %8s %10s %10s %10s %10s\n", "model",
                               "bits/w", "agreement", "mean KL", "ppl",
                               "tokens/s");
  llvm::json::Array records;
  for (const Row &r : rows) {
    llvm::outs() << llvm::format("%-22s %8.3f %9.2f%% %10.5f %10.3f %10.1f\n",
                                 r.name.c_str(), r.bits, 100 * r.agreement,
                                 r.kl, r.ppl, r.tokPerSec);
    records.push_back(llvm::json::Object{{"model", r.name},
                                         {"bits_per_weight", r.bits},
                                         {"agreement", r.agreement},
                                         {"mean_kl", r.kl},
                                         {"perplexity", r.ppl},
                                         {"tokens_per_s", r.tokPerSec}});
  }
  llvm::outs() << "sequence:";
  for (int64_t t : seqs.front().tokens)
    llvm::outs() << " " << t;
  llvm::outs() << "\n";
  writeJson(std::move(records));
  return 0;
}
