//===- matquant-gpu-compile.cpp - Build a GPU kernel library -----*- C++ -*-===//
//
// Generates matquant's weight-only GPU kernels for every combination of the
// requested widths, groups, activation types, batch tiles and rows per
// warp (convert-mq-to-gpu's kernel builder), lowers them through
// `matquant-gpu-kernels-to-ptx` (gpu -> NVVM -> PTX for --chip) and writes
// the PTX, which the runtime (GpuRuntime.h) loads and launches by name.
// --emit=mlir writes the gpu.module before the NVVM lowering instead.
// Errors print "matquant-gpu-compile: error: ..." and exit 1 with no
// output file written.
//
//===----------------------------------------------------------------------===//

#include "matquant/Conversion/MQToGPU.h"
#include "matquant/Pipelines/Pipelines.h"
#include "matquant/Runtime/Jit.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace llvm;
using namespace mlir;
using matquant::gpurt::GemvKernelSpec;

static cl::OptionCategory category("matquant-gpu-compile options");
static cl::opt<std::string> output("o", cl::Required,
                                   cl::desc("Output PTX (or MLIR) file"),
                                   cl::cat(category));
static cl::opt<std::string>
    widths("widths",
           cl::desc("Comma-separated slice widths r; a suffix 'ep' selects "
                    "extra precision, 'pe' prefix exact (e.g. 8,4,3,2,2ep,2pe)"),
           cl::init("8,4,3,2,2ep"), cl::cat(category));
static cl::opt<unsigned> storage("storage", cl::desc("Stored width c"),
                                 cl::init(8), cl::cat(category));
static cl::opt<std::string> groups("groups",
                                   cl::desc("Group sizes (0: per channel)"),
                                   cl::init("128"), cl::cat(category));
static cl::opt<std::string> acts("acts",
                                 cl::desc("Activation types: f16,bf16,f32"),
                                 cl::init("f16"), cl::cat(category));
static cl::opt<std::string> batches("batches", cl::desc("Batch tiles"),
                                    cl::init("1"), cl::cat(category));
static cl::opt<std::string> rowsPerWarp("rows-per-warp",
                                        cl::desc("Rows-per-warp variants"),
                                        cl::init("1,2,4"), cl::cat(category));
static cl::opt<unsigned> warpsPerBlock("warps-per-block",
                                       cl::desc("Warps per thread block"),
                                       cl::init(4), cl::cat(category));
static cl::opt<unsigned> unroll("unroll", cl::desc("Blocks per lane in flight"),
                                cl::init(2), cl::cat(category));
static cl::opt<unsigned> stages(
    "stages",
    cl::desc("Tensor-core kernels: super-tiles per warp in a shared-memory "
             "ring fed by cp.async (names end in _stN; needs "
             "--index-bitwidth 64); 0: registers"),
    cl::init(0), cl::cat(category));
static cl::opt<unsigned> prefetch(
    "prefetch",
    cl::desc("Tensor-core kernels: super-tiles per warp prefetched into L2 "
             "ahead of the register loads (names end in _pfN); 0: none"),
    cl::init(0), cl::cat(category));
static cl::opt<unsigned> earlyPrefetch(
    "early-prefetch",
    cl::desc("Tensor-core kernels: super-tiles per warp asked of L2 before "
             "the dependent-launch wait, or at the start without it (names "
             "end in _epfN; needs --index-bitwidth 64); 0: none"),
    cl::init(0), cl::cat(category));
static cl::opt<unsigned> indexBitwidth(
    "index-bitwidth",
    cl::desc("Bits of index in the kernels: 32, or 64 (as in the decode "
             "step; --prefetch needs it; names end in _i64)"),
    cl::init(32), cl::cat(category));
static cl::opt<std::string> chip("chip", cl::desc("Target chip"),
                                 cl::init("sm_90"), cl::cat(category));
static cl::opt<bool> mma("mma",
                         cl::desc("tensor-core kernels (mma.sync, f16 "
                                  "activations; --rows-per-warp in multiples "
                                  "of 16, --batches 8 or 16)"),
                         cl::init(false), cl::cat(category));
static cl::opt<bool> planes(
    "planes",
    cl::desc("tensor-core kernels on the stored model's bit planes, reading "
             "only the planes each width needs (implies --mma)"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> scaleOrder(
    "scale-order",
    cl::desc("Tensor-core kernels: read the scales and offsets packed by row "
             "tile (packed: numerics::packMmaScales, names end in _ps), "
             "[N, groups] row-major (plain), or packed below 8 index bits "
             "(auto, the default; as convert-mq-to-gpu)"),
    cl::init("auto"), cl::cat(category));
static cl::opt<bool> outF32(
    "out-f32",
    cl::desc("f32 results for f16 / bf16 activations (kernel names end in "
             "_y32); f32 activations are unaffected"),
    cl::init(false), cl::cat(category));
static cl::opt<std::string> emit("emit", cl::desc("ptx (default) or mlir"),
                                 cl::init("ptx"), cl::cat(category));

static int fail(const Twine &message) {
  WithColor::error(errs(), "matquant-gpu-compile") << message << "\n";
  return 1;
}

static bool parseList(StringRef list, const char *what,
                      SmallVectorImpl<StringRef> &out, std::string &error) {
  SplitString(list, out, ",");
  if (out.empty())
    error = std::string("empty --") + what + " list";
  return out.empty() ? false : true;
}

static bool parseUnsignedList(StringRef list, const char *what,
                              SmallVectorImpl<int64_t> &out,
                              std::string &error) {
  SmallVector<StringRef> items;
  if (!parseList(list, what, items, error))
    return false;
  for (StringRef s : items) {
    int64_t v;
    if (s.trim().getAsInteger(10, v) || v < 0) {
      error = ("--" + Twine(what) + ": not a non-negative integer: '" + s +
               "'").str();
      return false;
    }
    out.push_back(v);
  }
  return true;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "matquant GPU kernel library compiler\n");
  if (indexBitwidth != 32 && indexBitwidth != 64)
    return fail("--index-bitwidth must be 32 or 64");
  if (!matquant::gpurt::isScaleOrder(scaleOrder))
    return fail("--scale-order must be auto, packed or plain, got '" +
                scaleOrder + "'");
  if (stages && indexBitwidth != 64)
    return fail("--stages needs --index-bitwidth 64 (convert-nvgpu-to-nvvm "
                "lowers the copies' memrefs with 64-bit index)");
  if (earlyPrefetch && indexBitwidth != 64)
    return fail("--early-prefetch needs --index-bitwidth 64 (the prefetch "
                "address is the buffer's pointer as an index)");
  if (prefetch && indexBitwidth != 64)
    return fail("--prefetch needs --index-bitwidth 64 (the prefetch address "
                "is the buffer's pointer as an index)");
  if (emit != "ptx" && emit != "mlir")
    return fail("--emit must be ptx or mlir, got '" + emit + "'");

  std::string error;
  SmallVector<StringRef> widthItems, actItems;
  SmallVector<int64_t> groupList, batchList, rwList;
  if (!parseList(widths, "widths", widthItems, error) ||
      !parseList(acts, "acts", actItems, error) ||
      !parseUnsignedList(groups, "groups", groupList, error) ||
      !parseUnsignedList(batches, "batches", batchList, error) ||
      !parseUnsignedList(rowsPerWarp, "rows-per-warp", rwList, error))
    return fail(error);

  std::vector<GemvKernelSpec> specs;
  for (StringRef w : widthItems) {
    w = w.trim();
    matquant::numerics::SliceMode mode = matquant::numerics::SliceMode::Clamped;
    if (w.consume_back("ep"))
      mode = matquant::numerics::SliceMode::ExtraPrecision;
    else if (w.consume_back("pe"))
      mode = matquant::numerics::SliceMode::PrefixExact;
    unsigned r;
    if (w.getAsInteger(10, r))
      return fail("--widths: not a width: '" + w + "'");
    for (StringRef a : actItems)
      for (int64_t g : groupList)
        for (int64_t bt : batchList)
          for (int64_t rw : rwList) {
            GemvKernelSpec s;
            s.storageBits = storage;
            s.bits = r;
            s.mode = mode;
            s.groupSize = g;
            if (!matquant::gpurt::parseActType(a.trim().str(), s.act))
              return fail("--acts: unknown activation type '" + a + "'");
            s.batchTile = unsigned(bt);
            s.rowsPerWarp = unsigned(rw);
            s.warpsPerBlock = warpsPerBlock;
            s.unroll = unroll;
            s.mma = mma || planes;
            s.planes = planes;
            s.prefetch = s.mma ? prefetch : 0;
            s.stages = s.mma ? stages : 0;
            s.earlyPrefetch = s.mma && !planes ? earlyPrefetch : 0;
            s.packedScales = s.mma && matquant::gpurt::gpuMmaPackedScales(
                                          scaleOrder, s.indexBits());
            s.index64 = indexBitwidth == 64;
            s.outF32 = outF32 && s.act != matquant::gpurt::ActType::F32;
            // An MMA kernel's unroll counts column tiles, a whole number
            // of groups: round it up.
            s.roundUnrollToGroups();
            std::string bad = s.validate();
            if (!bad.empty())
              return fail(s.name() + ": " + bad);
            specs.push_back(s);
          }
  }

  DialectRegistry registry;
  matquant::registerCompilerDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  gpu::GPUModuleOp kernels =
      matquant::getOrCreateKernelModule(*module, "matquant_kernels");
  for (const GemvKernelSpec &s : specs)
    matquant::getOrBuildGemvKernel(kernels, s);
  if (failed(verify(*module)))
    return fail("generated kernels do not verify");

  std::string text;
  if (emit == "mlir") {
    raw_string_ostream os(text);
    module->print(os);
  } else {
    PassManager pm(&ctx);
    matquant::GPUPipelineOptions options;
    options.chip = chip;
    options.prefetch = prefetch;
    options.earlyPrefetch = earlyPrefetch;
    options.indexBitwidth = indexBitwidth;
    matquant::buildGPUKernelsToPTXPipeline(pm, options);
    if (failed(pm.run(*module)))
      return fail("lowering the kernels to PTX failed");
    for (auto binary : module->getOps<gpu::BinaryOp>())
      for (mlir::Attribute a : binary.getObjects())
        text += cast<gpu::ObjectAttr>(a).getObject().getValue().str();
    if (text.empty())
      return fail("gpu-module-to-binary produced no PTX");
  }
  std::unique_ptr<ToolOutputFile> out = openOutputFile(output, &error);
  if (!out)
    return fail(error);
  out->os() << text;
  out->keep();
  return 0;
}
