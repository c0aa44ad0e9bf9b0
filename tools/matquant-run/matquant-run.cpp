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
//===----------------------------------------------------------------------===//

#include "matquant/InitAllPasses.h"
#include "matquant/Runtime/Jit.h"
#include "matquant/Runtime/LayerWidths.h"
#include "matquant/Runtime/MemRef.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
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

static cl::opt<std::string> inputFile(cl::Positional, cl::Required,
                                      cl::desc("<imported model .mlir>"));
static cl::opt<int> steps("steps", cl::desc("tokens to generate"),
                          cl::init(64));
static cl::opt<std::string> prompt("prompt", cl::desc("prompt token ids"),
                                   cl::init("1"));
static cl::opt<double> temperature("temperature",
                                   cl::desc("0: greedy, else sampling"),
                                   cl::init(0.0));
static cl::opt<unsigned> seed("seed", cl::desc("sampling seed"),
                              cl::init(42));
static cl::opt<int> numSequences(
    "sequences", cl::desc("sequences to generate and score (seeds seed, "
                          "seed + 1, ...)"),
    cl::init(1));
static cl::opt<int> threads("run-threads", cl::desc("OpenMP threads"),
                            cl::init(0));
static cl::list<std::string>
    variants("variant",
             cl::desc("NAME=PIPELINE: a quantized variant, e.g. "
                      "int4=mq-quantize-weights{method=matquant},"
                      "mq-apply-schedule{policy=uniform=4}"));
static cl::opt<std::string> switchWidths(
    "switch-widths",
    cl::desc("POS=R,POS=R,...: in variants compiled with mq-dynamic-widths, "
             "set every layer to width R from position POS on, between "
             "tokens, through the runtime width table (no recompilation, "
             "no reload, one copy of the weights)"),
    cl::init(""));
static cl::opt<std::string> jsonOut("json", cl::desc("write JSON records"),
                                    cl::init(""));
static cl::opt<bool> quiet("quiet", cl::desc("no per-token progress"),
                           cl::init(false));
static cl::opt<std::string>
    traceOut("trace", cl::desc("write float32's greedy trace: per step "
                               "'<argmax>, <all logits>' (llama-ref's "
                               "format, for comparison)"),
             cl::init(""));

namespace {

using matquant::MemRef;

struct StepResult {
  MemRef<float, 1> logits;
  MemRef<float, 3> k, v;
};

using StepFn = void (*)(StepResult *, int64_t, int64_t, MemRef<float, 3> *,
                        MemRef<float, 3> *);

[[noreturn]] void fail(const llvm::Twine &msg) {
  llvm::errs() << "matquant-run: " << msg << "\n";
  std::exit(1);
}

/// A compiled decode step and its KV caches.
struct Model {
  std::unique_ptr<matquant::JitModule> jit;
  StepFn step = nullptr;
  int64_t layers = 0, seq = 0, kvDim = 0, vocab = 0;
  MemRef<float, 3> k{}, v{};
  bool owned = false;
  /// The run-time width table of a model compiled with mq-dynamic-widths.
  std::optional<matquant::LayerWidths> widths;
  double bits = 32; // effective bits per weight of the linear layers

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
    step(&r, token, pos, &k, &v);
    std::vector<float> logits(r.logits.data, r.logits.data + vocab);
    std::free(r.logits.basePtr);
    release();
    k = r.k;
    v = r.v;
    owned = true;
    return logits;
  }
  ~Model() { release(); }
};

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
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  matquant::JitOptions opts;
  opts.threads = threads;
  auto jit = matquant::JitModule::compile(text, opts);
  if (!jit)
    fail(label + ": " + llvm::toString(jit.takeError()));
  auto addr = (*jit)->lookup("decode_step");
  if (!addr)
    fail(label + ": " + llvm::toString(addr.takeError()));
  m->jit = std::move(*jit);
  m->step = reinterpret_cast<StepFn>(*addr);
  if (module->hasAttr("mq.dynamic_layers")) {
    auto widths = matquant::LayerWidths::bind(*m->jit, module);
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

} // namespace

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  matquant::registerAllPasses();
  cl::ParseCommandLineOptions(argc, argv,
                              "matquant decode runner and comparator\n");
  DialectRegistry registry;
  matquant::registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(inputFile, &ctx);
  if (!module)
    fail("cannot read " + inputFile);

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

  // The float32 reference: generate the sequence.
  OwningOpRef<ModuleOp> refCopy = module->clone();
  std::unique_ptr<Model> refModel = compile(*refCopy, "float32");
  Model &ref = *refModel;
  if (static_cast<int64_t>(tokens.size()) + steps > ref.seq)
    fail("prompt plus steps exceed the KV cache length " +
         llvm::Twine(ref.seq) + " (import with a larger --max-seq-len)");
  for (int64_t t : tokens)
    if (t < 0 || t >= ref.vocab)
      fail("prompt token " + llvm::Twine(t) + " outside the vocabulary");
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
    auto [name, pipeline] = StringRef(spec).split('=');
    if (name.empty() || pipeline.empty())
      fail("--variant needs NAME=PIPELINE, got '" + spec + "'");
    OwningOpRef<ModuleOp> copy = module->clone();
    PassManager pm(&ctx);
    std::string err;
    llvm::raw_string_ostream es(err);
    if (failed(parsePassPipeline(pipeline, pm, es)))
      fail("variant " + name + ": bad pipeline: " + err);
    if (failed(pm.run(*copy)))
      fail("variant " + name + ": the pipeline failed");
    std::unique_ptr<Model> m = compile(*copy, name);
    evaluate(*m, name.str(), false);
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
  if (!jsonOut.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(jsonOut, ec);
    if (ec)
      fail("cannot write " + jsonOut + ": " + ec.message());
    os << llvm::formatv("{0:2}", llvm::json::Value(std::move(records)))
       << "\n";
  }
  return 0;
}
