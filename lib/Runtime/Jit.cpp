//===- Jit.cpp - Compile and run matquant programs in process ----*- C++ -*-===//

#include "matquant/Runtime/Jit.h"
#include "matquant/InitAllDialects.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace matquant;

JitModule::JitModule() = default;
JitModule::~JitModule() = default;

void matquant::registerCompilerDialects(DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  matquant::registerAllDialects(registry);
}

StringRef matquant::ompRuntimePath() {
  return "/usr/lib/llvm-22/lib/libomp.so";
}

void matquant::initializeNativeTarget() {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)initialized;
}

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::compile(StringRef source, const JitOptions &options) {
  initializeNativeTarget();
  std::unique_ptr<JitModule> jit(new JitModule());
  DialectRegistry registry;
  registerCompilerDialects(registry);
  jit->context = std::make_unique<MLIRContext>(registry);
  MLIRContext *ctx = jit->context.get();

  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, ctx, diagStream);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(source, ctx);
  if (!module)
    return llvm::createStringError("matquant jit: cannot parse module:\n" +
                                   diagnostics);
  return build(std::move(jit), *module, options, diagnostics);
}

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::compile(ModuleOp module, const JitOptions &options) {
  initializeNativeTarget();
  std::unique_ptr<JitModule> jit(new JitModule());
  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, module.getContext(),
                                     diagStream);
  return build(std::move(jit), module, options, diagnostics);
}

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::build(std::unique_ptr<JitModule> jit, ModuleOp module,
                 const JitOptions &options, std::string &diagnostics) {
  MLIRContext *ctx = module.getContext();
  PassManager pm(ctx);
  if (options.reference) {
    buildReferenceToLLVMPipeline(pm, ReferencePipelineOptions());
  } else {
    CPUPipelineOptions cpu;
    cpu.threads = options.threads;
    cpu.vectorWidth = options.vectorWidth;
    cpu.accumulators = options.accumulators;
    cpu.batchTile = options.batchTile;
    cpu.rowTile = options.rowTile;
    cpu.activationBits = options.activationBits;
    cpu.exponentDecode = options.exponentDecode;
    cpu.tileLayout = options.tileLayout;
    cpu.tilePrefetch = options.tilePrefetch;
    cpu.gfni = options.gfni;
    cpu.planeTranspose = options.planeTranspose;
    cpu.externalizeWeights = options.externalizeWeights;
    cpu.outlineKernels = options.outlineKernels;
    cpu.fuseMatvecs = options.fuseMatvecs;
    cpu.ompSchedule = options.ompSchedule;
    cpu.ompChunks = options.ompChunks;
    cpu.inPlaceState = options.inPlaceState;
    cpu.reassociateReductions = options.reassociateReductions;
    cpu.parallelizeGenerics = options.parallelizeGenerics;
    // A CPU other than the host's may lack GFNI: no vgf2p8affineqb then.
    if (!options.cpu.empty())
      cpu.gfni = 0;
    buildCPUToLLVMPipeline(pm, cpu);
  }
  if (failed(pm.run(module)))
    return llvm::createStringError("matquant jit: pipeline failed:\n" +
                                   diagnostics);
  // The arena stays in the context's resources; the module loses the
  // attributes, which are not code.
  if (auto data =
          module->getAttrOfType<DenseResourceElementsAttr>("mq.arena_data")) {
    if (AsmResourceBlob *blob = data.getRawHandle().getBlob())
      jit->arenaData = blob->getData();
    module->removeAttr("mq.arena_data");
    module->removeAttr("mq.arena");
  }

  auto tmBuilder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmBuilder)
    return tmBuilder.takeError();
  if (!options.cpu.empty()) {
    tmBuilder->setCPU(options.cpu);
    tmBuilder->getFeatures() = llvm::SubtargetFeatures();
  }
  tmBuilder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto tm = tmBuilder->createTargetMachine();
  if (!tm)
    return tm.takeError();
  auto transformer = makeOptimizingTransformer(3, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  SmallVector<StringRef, 1> libs;
  if (options.threads > 0)
    libs.push_back(ompRuntimePath());
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(module, engineOptions,
                                        std::move(*tm));
  if (!engine)
    return engine.takeError();
  jit->engine = std::move(*engine);
  return jit;
}

llvm::Expected<void *> JitModule::lookup(StringRef name) {
  auto sym = engine->lookup(("_mlir_ciface_" + name).str());
  if (!sym)
    return sym.takeError();
  return *sym;
}

llvm::Expected<void *> JitModule::lookupSymbol(StringRef name) {
  auto sym = engine->lookup(name);
  if (!sym)
    return sym.takeError();
  return *sym;
}
