//===- Aot.cpp - Compile matquant programs to object files ------*- C++ -*-===//
//
// Implements matquant::compileAot: parse, `matquant-cpu-to-llvm`, LLVM IR,
// O3 for the target CPU, object emission with the legacy code generation
// pass manager, and the header. The header's types are those of the C
// interface functions after bufferization: a pass instrumentation records
// each function's type for as long as it is a func.func, so the last record
// is the type right before the function becomes an llvm.func.
//
//===----------------------------------------------------------------------===//

#include "matquant/Runtime/Aot.h"
#include "matquant/Conversion/Passes.h"
#include "matquant/Pipelines/Pipelines.h"
#include "matquant/Runtime/Jit.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"

#include <algorithm>
#include <optional>
#include <vector>

using namespace mlir;
using namespace matquant;

namespace {

//===----------------------------------------------------------------------===//
// Target
//===----------------------------------------------------------------------===//

/// A target machine and the words that describe it in the header.
struct TargetChoice {
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string description;
};

/// The target machine for the host triple and `cpu` ("" or "native": the
/// host CPU with the host's features; else a CPU name with its defaults).
llvm::Expected<TargetChoice> createTarget(StringRef cpu) {
  llvm::Triple triple(llvm::sys::getProcessTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("no target for " + triple.str() + ": " +
                                   error);
  std::string cpuName, features, description;
  if (cpu.empty() || cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures hostFeatures;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      hostFeatures.AddFeature(feature.first(), feature.second);
    features = hostFeatures.getString();
    description = cpuName + " with the host's features";
  } else {
    std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
        target->createMCSubtargetInfo(triple, "", ""));
    if (!subtarget || !subtarget->isCPUStringValid(cpu))
      return llvm::createStringError(
          "unknown --mcpu '" + cpu + "' for target " + triple.str() +
          " (`llc -mtriple=" + triple.str() + " -mcpu=help` lists them)");
    cpuName = cpu.str();
    description = cpuName + " with its default features";
  }
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for " +
                                   triple.str() + ", CPU " + cpuName);
  return TargetChoice{std::move(machine),
                      triple.str() + ", CPU " + description};
}

/// The vector width for the target's features: 16 f32 lanes with AVX-512,
/// 8 with AVX2, else 4 (SSE, NEON, generic), as convert-mq-to-vector picks
/// it for the host.
int64_t getTargetVectorWidth(const llvm::TargetMachine &machine) {
  if (!machine.getTargetTriple().isX86())
    return 4;
  const llvm::MCSubtargetInfo *subtarget = machine.getMCSubtargetInfo();
  if (subtarget->checkFeatures("+avx512f"))
    return 16;
  if (subtarget->checkFeatures("+avx2"))
    return 8;
  return 4;
}

/// Whether the target has GFNI and AVX512-VBMI (the CPU pipeline's `gfni`).
bool targetHasGfniVbmi(const llvm::TargetMachine &machine) {
  return machine.getTargetTriple().isX86() &&
         machine.getMCSubtargetInfo()->checkFeatures("+gfni,+avx512vbmi");
}

//===----------------------------------------------------------------------===//
// C types
//===----------------------------------------------------------------------===//

/// The C spelling of a scalar and its suffix in descriptor names.
struct CScalar {
  std::string suffix;
  std::string spelling;
};

std::optional<CScalar> getCScalar(Type type) {
  if (type.isF32())
    return CScalar{"f32", "float"};
  if (type.isF64())
    return CScalar{"f64", "double"};
  if (type.isF16())
    return CScalar{"f16", "uint16_t"};
  if (type.isBF16())
    return CScalar{"bf16", "uint16_t"};
  if (type.isIndex())
    return CScalar{"index", "int64_t"};
  if (auto integer = dyn_cast<IntegerType>(type)) {
    unsigned width = integer.getWidth();
    if (width == 1)
      return CScalar{"i1", "bool"};
    if (width != 8 && width != 16 && width != 32 && width != 64)
      return std::nullopt;
    bool isUnsigned = integer.isUnsigned();
    return CScalar{(isUnsigned ? "ui" : "i") + std::to_string(width),
                   (isUnsigned ? "uint" : "int") + std::to_string(width) +
                       "_t"};
  }
  return std::nullopt;
}

/// An argument or result of a C interface function, as C sees it.
struct CValue {
  std::string type; ///< `mq_memref_2d_f32` or a scalar spelling
  bool isMemRef = false;
  int64_t rank = 0;
  CScalar element;
};

/// The descriptor struct of a memref of `rank` and `element`.
std::string getDescriptorName(int64_t rank, const CScalar &element) {
  return "mq_memref_" + std::to_string(rank) + "d_" + element.suffix;
}

llvm::Expected<CValue> getCValue(Type type) {
  CValue value;
  if (auto memref = dyn_cast<MemRefType>(type)) {
    std::optional<CScalar> element = getCScalar(memref.getElementType());
    if (!element)
      return llvm::createStringError(
          llvm::formatv("memref element type {0} has no C spelling",
                        memref.getElementType()));
    value.isMemRef = true;
    value.rank = memref.getRank();
    value.element = *element;
    value.type = getDescriptorName(value.rank, *element);
    return value;
  }
  std::optional<CScalar> scalar = getCScalar(type);
  if (!scalar)
    return llvm::createStringError(llvm::formatv(
        "type {0} has no C interface spelling (only ranked memrefs and "
        "integer, index and float scalars do)",
        type));
  value.element = *scalar;
  value.type = scalar->spelling;
  return value;
}

bool isCIdentifier(StringRef name) {
  if (name.empty() || !(llvm::isAlpha(name[0]) || name[0] == '_'))
    return false;
  return llvm::all_of(name,
                      [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// Keywords of C and C++ and names the header itself uses.
bool isReservedName(StringRef name) {
  static const llvm::StringSet<> reserved = {
      "alignas",   "alignof",  "and",      "asm",      "auto",      "bool",
      "break",     "case",     "catch",    "char",     "class",     "const",
      "constexpr", "continue", "decltype", "default",  "delete",    "do",
      "double",    "else",     "enum",     "explicit", "export",    "extern",
      "false",     "float",    "for",      "friend",   "goto",      "if",
      "inline",    "int",      "long",     "mutable",  "namespace", "new",
      "noexcept",  "not",      "nullptr",  "operator", "or",        "private",
      "protected", "public",   "register", "restrict", "return",    "short",
      "signed",    "sizeof",   "static",   "struct",   "switch",    "template",
      "this",      "throw",    "true",     "try",      "typedef",   "typeid",
      "typename",  "union",    "unsigned", "using",    "virtual",   "void",
      "volatile",  "while",    "xor",      "result"};
  return reserved.contains(name) || name.starts_with("_") ||
         name.starts_with("mq_") || name.ends_with("_t");
}

//===----------------------------------------------------------------------===//
// C interface functions
//===----------------------------------------------------------------------===//

/// A function with `llvm.emit_c_interface` in the input module.
struct CInterfaceFunction {
  std::string name;
  /// `func.func @name(%x: T, ...) -> R`, as written in the input.
  std::string mlirSignature;
  bool isDeclaration = false;
  /// Parameter names: the input's SSA names where they are C identifiers.
  SmallVector<std::string> argNames;
  /// The type right before lowering to the LLVM dialect.
  FunctionType loweredType;
};

/// The SSA name (without `%`) that `arg` has in the source, or "".
std::string getSourceName(BlockArgument arg, llvm::SourceMgr &sourceMgr,
                          StringRef bufferName) {
  auto loc = dyn_cast<FileLineColLoc>(arg.getLoc());
  if (!loc || loc.getFilename() != bufferName)
    return "";
  unsigned bufferId = sourceMgr.getMainFileID();
  llvm::SMLoc smLoc = sourceMgr.FindLocForLineAndColumn(bufferId, loc.getLine(),
                                                        loc.getColumn());
  if (!smLoc.isValid())
    return "";
  const char *end = sourceMgr.getMemoryBuffer(bufferId)->getBufferEnd();
  const char *p = smLoc.getPointer();
  if (p == end || *p != '%')
    return "";
  const char *begin = ++p;
  while (p != end && (llvm::isAlnum(*p) || *p == '_'))
    ++p;
  return std::string(begin, p);
}

/// Collects the C interface functions of the input module.
llvm::Expected<std::vector<CInterfaceFunction>>
collectFunctions(ModuleOp module, llvm::SourceMgr &sourceMgr,
                 StringRef bufferName) {
  std::vector<CInterfaceFunction> functions;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func->hasAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName()))
      continue;
    CInterfaceFunction fn;
    fn.name = func.getSymName().str();
    if (!isCIdentifier(fn.name))
      return llvm::createStringError(
          "function @" + fn.name +
          " has llvm.emit_c_interface but its name is not a C identifier");
    fn.isDeclaration = func.isDeclaration();
    FunctionType type = func.getFunctionType();
    llvm::StringSet<> used;
    std::string signature;
    llvm::raw_string_ostream os(signature);
    os << "func.func @" << fn.name << "(";
    for (auto [i, argType] : llvm::enumerate(type.getInputs())) {
      std::string name;
      if (!fn.isDeclaration)
        name = getSourceName(func.getArgument(i), sourceMgr, bufferName);
      if (i)
        os << ", ";
      if (!name.empty())
        os << "%" << name << ": ";
      os << argType;
      if (!isCIdentifier(name) || isReservedName(name) || used.contains(name))
        name = "arg" + std::to_string(i);
      // `argN` may itself be taken by an earlier source name.
      while (used.contains(name))
        name += "_";
      used.insert(name);
      fn.argNames.push_back(name);
    }
    os << ")";
    if (type.getNumResults() == 1) {
      os << " -> " << type.getResult(0);
    } else if (type.getNumResults() > 1) {
      os << " -> (";
      llvm::interleaveComma(type.getResults(), os);
      os << ")";
    }
    fn.mlirSignature = signature;
    functions.push_back(std::move(fn));
  }
  return functions;
}

/// Records the type of every C interface function around each module-level
/// pass while it is still a func.func.
class SignatureRecorder : public PassInstrumentation {
public:
  explicit SignatureRecorder(std::vector<CInterfaceFunction> &functions)
      : functions(functions) {}

  void runBeforePass(Pass *, Operation *op) override { record(op); }
  void runAfterPass(Pass *, Operation *op) override { record(op); }

private:
  void record(Operation *op) {
    auto module = dyn_cast<ModuleOp>(op);
    if (!module)
      return;
    for (CInterfaceFunction &fn : functions)
      if (auto func = module.lookupSymbol<func::FuncOp>(fn.name))
        fn.loweredType = func.getFunctionType();
  }

  std::vector<CInterfaceFunction> &functions;
};

//===----------------------------------------------------------------------===//
// Header
//===----------------------------------------------------------------------===//

/// The C side of one function: its parameters, return type and result
/// struct.
struct CPrototype {
  std::string returnType = "void";
  /// `struct <name>_results` fields when there are several results.
  SmallVector<CValue> resultFields;
  /// A leading result pointer: the descriptor or the results struct.
  std::string resultPointee;
  /// The single memref result.
  std::optional<CValue> memrefResult;
  SmallVector<CValue> args;
};

llvm::Expected<CPrototype> getPrototype(const CInterfaceFunction &fn) {
  CPrototype proto;
  FunctionType type = fn.loweredType;
  if (!type)
    return llvm::createStringError("the pipeline never showed it as a "
                                   "func.func");
  for (Type input : type.getInputs()) {
    llvm::Expected<CValue> value = getCValue(input);
    if (!value)
      return value.takeError();
    proto.args.push_back(*value);
  }
  if (type.getNumResults() == 1) {
    llvm::Expected<CValue> value = getCValue(type.getResult(0));
    if (!value)
      return value.takeError();
    // A descriptor is a struct, which the C interface returns through a
    // pointer; a scalar is returned as such.
    if (value->isMemRef) {
      proto.resultPointee = value->type;
      proto.memrefResult = *value;
    } else {
      proto.returnType = value->type;
    }
  } else if (type.getNumResults() > 1) {
    for (Type result : type.getResults()) {
      llvm::Expected<CValue> value = getCValue(result);
      if (!value)
        return value.takeError();
      proto.resultFields.push_back(*value);
    }
    proto.resultPointee = fn.name + "_results";
  }
  return proto;
}

/// Number of parameters of `_mlir_ciface_<name>`.
size_t getNumParams(const CPrototype &proto) {
  return proto.args.size() + (proto.resultPointee.empty() ? 0 : 1);
}

std::string getIncludeGuard(StringRef headerName) {
  std::string guard = "MATQUANT_AOT_";
  StringRef stem = llvm::sys::path::filename(headerName);
  if (stem.empty())
    stem = "kernels.h";
  for (char c : stem)
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  if (!StringRef(guard).ends_with("_H"))
    guard += "_H";
  return guard;
}

/// Makes a line of MLIR text safe inside a `//` comment.
std::string commentSafe(StringRef text) {
  std::string s = text.str();
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && (s.back() == '\\' || s.back() == ' '))
    s.pop_back();
  return s;
}

void writeDescriptor(llvm::raw_ostream &os, const CValue &value) {
  std::string guard = StringRef(value.type).upper() + "_DEFINED";
  const std::string &t = value.element.spelling;
  os << "#ifndef " << guard << "\n#define " << guard << "\n";
  os << "/// A rank-" << value.rank << " memref of " << t;
  if (value.element.suffix == "f16" || value.element.suffix == "bf16")
    os << " (" << value.element.suffix << " bits)";
  os << ".\n";
  os << "typedef struct " << value.type << " {\n";
  std::string rank = std::to_string(value.rank);
  SmallVector<std::pair<std::string, StringRef>> fields = {
      {t + " *basePtr;", "the allocation (what free() takes)"},
      {t + " *data;", "the aligned start of the elements"},
      {"int64_t offset;", "in elements, from data"}};
  if (value.rank > 0) {
    fields.push_back({"int64_t sizes[" + rank + "];", ""});
    fields.push_back({"int64_t strides[" + rank + "];", "in elements"});
  }
  size_t width = 0;
  for (const auto &field : fields)
    width = std::max(width, field.first.size());
  for (const auto &[decl, comment] : fields) {
    os << "  " << decl;
    if (!comment.empty())
      os.indent(width - decl.size() + 1) << "///< " << comment;
    os << "\n";
  }
  os << "} " << value.type << ";\n#endif\n\n";
}

void writeHeader(llvm::raw_ostream &os, ArrayRef<CInterfaceFunction> functions,
                 ArrayRef<CPrototype> prototypes, const AotOptions &options,
                 StringRef bufferName, StringRef targetDescription,
                 ArrayRef<std::string> externals) {
  std::string headerFile =
      options.headerName.empty()
          ? std::string("kernels.h")
          : llvm::sys::path::filename(options.headerName).str();
  std::string guard = getIncludeGuard(options.headerName);
  std::string banner = "//===- " + headerFile + " - C interface of " +
                       llvm::sys::path::filename(bufferName).str() + " ";
  StringRef bannerEnd = "-*- C -*-===//";
  banner.append(banner.size() + bannerEnd.size() < 80
                    ? 80 - banner.size() - bannerEnd.size()
                    : 3,
                '-');
  os << banner << bannerEnd << "\n";
  os << "//\n";
  os << "// Generated by matquant-aot from " << bufferName
     << "; do not edit.\n";
  os << "// Target: " << targetDescription << ".\n";
  os << "// Pipeline: matquant-cpu-to-llvm{threads=" << options.threads
     << " vector-width=" << options.vectorWidth
     << " accumulators=" << options.accumulators
     << "\n//   row-tile=" << options.rowTile
     << " batch-tile=" << options.batchTile << "}, then LLVM O3.\n";
  os << "//\n";
  os << "// Calling convention (MLIR's C interface, llvm.emit_c_interface):\n";
  os << "// - A memref argument is passed as a pointer to its descriptor,\n";
  os << "//   mq_memref_<rank>d_<type>. The kernels are compiled for the "
        "shapes\n";
  os << "//   in their signatures with an identity layout: pass dense "
        "row-major\n";
  os << "//   data with offset 0, and fill sizes and strides to match.\n";
  os << "// - An !mq.weight argument is passed as its storage tensor: the "
        "packed\n";
  os << "//   bytes of its layout as int8_t (for #mq.layout<interleaved, "
        "...>,\n";
  os << "//   what matquant::numerics::packInterleaved writes, its row tile\n";
  os << "//   the layout's rows).\n";
  os << "// - A memref result is written to the descriptor that the first\n";
  os << "//   argument points to (several results: to a struct of them). Its\n";
  os << "//   buffer is malloc'ed by the kernel: the caller releases it with\n";
  os << "//   free(result.basePtr), never free(result.data).\n";
  os << "// - The object also defines each function of the module under its "
        "MLIR\n";
  os << "//   name (e.g. "
     << (functions.empty() ? std::string("kernel") : functions[0].name)
     << "); the program must not reuse those names.\n";
  if (options.threads > 0) {
    StringRef ompDir = llvm::sys::path::parent_path(ompRuntimePath());
    os << "// - The kernels run on " << options.threads
       << " OpenMP threads of the LLVM OpenMP runtime\n";
    os << "//   (" << ompRuntimePath() << "): the program must link it, with\n";
    os << "//     -L" << ompDir << " -lomp -Wl,-rpath," << ompDir << "\n";
  } else {
    os << "// - The kernels are sequential (threads=0).\n";
  }
  if (!externals.empty()) {
    os << "// - External symbols the object file uses:";
    size_t column = 46;
    for (const std::string &name : externals) {
      if (column + name.size() + 1 > 78) {
        os << "\n//    ";
        column = 6;
      }
      os << " " << name;
      column += name.size() + 1;
    }
    os << "\n";
  }
  if (llvm::is_contained(externals, "memrefCopy")) {
    // Strided copies that the memref lowering cannot turn into a memcpy.
    StringRef libDir = llvm::sys::path::parent_path(ompRuntimePath());
    os << "// - memrefCopy is in MLIR's C runner utilities: the program must "
          "link them,\n";
    os << "//   with -L" << libDir << " -lmlir_c_runner_utils -Wl,-rpath,"
       << libDir << "\n";
  }
  os << "//\n";
  os << "//===-------------------------------------------------------------"
        "---------===//\n\n";
  os << "#ifndef " << guard << "\n#define " << guard << "\n\n";
  os << "#include <stdint.h>\n";
  os << "#ifndef __cplusplus\n#include <stdbool.h>\n#endif\n\n";

  // Descriptors, each once (and once across headers, by its guard).
  llvm::StringSet<> written;
  auto writeDescriptors = [&](ArrayRef<CValue> values) {
    for (const CValue &value : values)
      if (value.isMemRef && written.insert(value.type).second)
        writeDescriptor(os, value);
  };
  for (const CPrototype &proto : prototypes) {
    if (proto.memrefResult)
      writeDescriptors(*proto.memrefResult);
    writeDescriptors(proto.resultFields);
    writeDescriptors(proto.args);
  }

  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n";
  if (functions.empty())
    os << "\n// The input has no function with llvm.emit_c_interface.\n";
  for (auto [fn, proto] : llvm::zip_equal(functions, prototypes)) {
    os << "\n// " << commentSafe(fn.mlirSignature) << "\n";
    std::string lowered;
    llvm::raw_string_ostream loweredOs(lowered);
    loweredOs << fn.loweredType;
    os << "// after bufferization: " << commentSafe(lowered) << "\n";
    if (fn.isDeclaration)
      os << "// A declaration in the input: the program defines this "
            "function and the\n// kernels call it.\n";
    if (!proto.resultFields.empty()) {
      os << "typedef struct " << proto.resultPointee << " {\n";
      for (auto [i, field] : llvm::enumerate(proto.resultFields))
        os << "  " << field.type << " result" << i << ";\n";
      os << "} " << proto.resultPointee << ";\n";
    }
    std::string line = proto.returnType + " _mlir_ciface_" + fn.name + "(";
    SmallVector<std::string> params;
    if (!proto.resultPointee.empty())
      params.push_back(proto.resultPointee + " *result");
    for (auto [value, name] : llvm::zip_equal(proto.args, fn.argNames))
      params.push_back(value.type + (value.isMemRef ? " *" : " ") + name);
    if (params.empty())
      params.push_back("void");
    // One parameter per line once the prototype gets long.
    std::string joined = llvm::join(params, ", ");
    if (line.size() + joined.size() + 2 <= 80)
      os << line << joined << ");\n";
    else
      os << line << "\n    " << llvm::join(params, ",\n    ") << ");\n";
  }
  os << "\n#ifdef __cplusplus\n} // extern \"C\"\n#endif\n\n";
  os << "#endif // " << guard << "\n";
}

llvm::Error fail(StringRef bufferName, const Twine &message) {
  return llvm::createStringError(bufferName + ": " + message);
}

/// Sets `llvmModule`'s triple and data layout to `machine`'s and optimizes
/// it at `optLevel`.
llvm::Error optimizeFor(llvm::Module &llvmModule, llvm::TargetMachine &machine,
                        unsigned optLevel) {
  llvmModule.setTargetTriple(machine.getTargetTriple());
  llvmModule.setDataLayout(machine.createDataLayout());
  auto optimize =
      makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &machine);
  if (llvm::Error e = optimize(&llvmModule))
    return llvm::createStringError("LLVM optimization failed: " +
                                   llvm::toString(std::move(e)));
  return llvm::Error::success();
}

/// The ELF relocatable object of `llvmModule` for `machine`.
std::optional<std::string> emitObject(llvm::Module &llvmModule,
                                      llvm::TargetMachine &machine) {
  SmallString<0> object;
  llvm::raw_svector_ostream objectStream(object);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, objectStream, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return std::nullopt;
  codegen.run(llvmModule);
  return object.str().str();
}

} // namespace

llvm::Expected<AotArtifacts> matquant::compileAot(StringRef source,
                                                  StringRef bufferName,
                                                  const AotOptions &options) {
  initializeNativeTarget();

  if (options.threads < 0)
    return fail(bufferName,
                "threads must be 0 or positive, got " + Twine(options.threads));
  llvm::Expected<TargetChoice> target = createTarget(options.cpu);
  if (!target)
    return fail(bufferName, llvm::toString(target.takeError()));
  llvm::TargetMachine &machine = *target->machine;

  DialectRegistry registry;
  registerCompilerDialects(registry);
  MLIRContext context(registry);
  // Diagnostics name the file and line; the whole module is noise here.
  context.printOpOnDiagnostic(false);

  std::string diagnostics;
  llvm::raw_string_ostream diagStream(diagnostics);
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(source, bufferName), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sourceMgr, &context, diagStream);
  auto diagnosticText = [&] { return StringRef(diagnostics).rtrim(); };
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(sourceMgr, ParserConfig(&context));
  if (!module)
    return fail(bufferName, "cannot parse the module:\n" + diagnosticText());

  llvm::Expected<std::vector<CInterfaceFunction>> functions =
      collectFunctions(*module, sourceMgr, bufferName);
  if (!functions)
    return fail(bufferName, llvm::toString(functions.takeError()));

  PassManager pm(&context);
  CPUPipelineOptions cpu;
  cpu.threads = options.threads;
  cpu.vectorWidth = options.vectorWidth;
  if (options.vectorWidth == 0)
    cpu.vectorWidth = getTargetVectorWidth(machine);
  cpu.gfni = targetHasGfniVbmi(machine) ? 1 : 0;
  cpu.accumulators = options.accumulators;
  cpu.rowTile = options.rowTile;
  cpu.batchTile = options.batchTile;
  buildCPUToLLVMPipeline(pm, cpu);
  pm.addInstrumentation(std::make_unique<SignatureRecorder>(*functions));
  if (failed(pm.run(*module)))
    return fail(bufferName,
                "pipeline matquant-cpu-to-llvm failed:\n" + diagnosticText());

  // The C side of each function, checked against the lowered wrapper.
  std::vector<CPrototype> prototypes;
  for (const CInterfaceFunction &fn : *functions) {
    llvm::Expected<CPrototype> proto = getPrototype(fn);
    if (!proto)
      return fail(bufferName,
                  "@" + fn.name + ": " + llvm::toString(proto.takeError()));
    auto wrapper =
        module->lookupSymbol<LLVM::LLVMFuncOp>("_mlir_ciface_" + fn.name);
    if (!wrapper)
      return fail(bufferName,
                  "the lowered module has no _mlir_ciface_" + fn.name);
    if (wrapper.getNumArguments() != getNumParams(*proto))
      return fail(bufferName,
                  llvm::formatv("_mlir_ciface_{0} takes {1} parameters in "
                                "the lowered module, the header would "
                                "declare {2}",
                                fn.name, wrapper.getNumArguments(),
                                getNumParams(*proto)));
    prototypes.push_back(std::move(*proto));
  }

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(*module, llvmContext, bufferName);
  if (!llvmModule)
    return fail(bufferName,
                "cannot translate to LLVM IR:\n" + diagnosticText());
  if (llvm::Error error = optimizeFor(*llvmModule, machine, /*optLevel=*/3))
    return fail(bufferName, llvm::toString(std::move(error)));

  // The symbols the object leaves for the linker, for the header.
  SmallVector<std::string> externals;
  for (const llvm::Function &f : *llvmModule)
    if (f.isDeclaration() && !f.isIntrinsic() && !f.use_empty())
      externals.push_back(f.getName().str());
  for (const llvm::GlobalVariable &g : llvmModule->globals())
    if (g.isDeclaration() && !g.use_empty())
      externals.push_back(g.getName().str());
  llvm::sort(externals);

  AotArtifacts artifacts;
  std::optional<std::string> object = emitObject(*llvmModule, machine);
  if (!object)
    return fail(bufferName, "the target cannot emit object files");
  artifacts.object = std::move(*object);

  llvm::raw_string_ostream headerStream(artifacts.header);
  AotOptions resolved = options;
  resolved.vectorWidth = cpu.vectorWidth;
  writeHeader(headerStream, *functions, prototypes, resolved, bufferName,
              target->description, externals);
  return artifacts;
}

//===----------------------------------------------------------------------===//
// GPU models
//===----------------------------------------------------------------------===//

namespace {
/// "f32 5 8 32": element type and shape of a statically shaped tensor.
llvm::Expected<std::string> describeTensor(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape() ||
      !tensor.getElementType().isF32())
    return llvm::createStringError("unsupported argument or result type");
  std::string out = "f32";
  for (int64_t d : tensor.getShape())
    out += " " + std::to_string(d);
  return out;
}

llvm::Error writeBytes(StringRef path, StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write " + path + ": " +
                                   ec.message());
  os << bytes;
  os.close();
  if (os.has_error())
    return llvm::createStringError("cannot write " + path + ": " +
                                   os.error().message());
  return llvm::Error::success();
}
} // namespace

llvm::Expected<GpuModelSummary>
matquant::compileGpuModel(ModuleOp module, StringRef function,
                          StringRef prefix, const GpuModelOptions &options) {
  initializeNativeTarget();
  auto fail = [&](const Twine &message) -> llvm::Error {
    return llvm::createStringError("@" + function + ": " + message);
  };
  auto fn = module.lookupSymbol<func::FuncOp>(function);
  if (!fn)
    return fail("no such function in the module");
  // The runner's convention: (token, position, state...) -> (logits,
  // next state...), with each next state shaped as its state.
  FunctionType type = fn.getFunctionType();
  unsigned nIn = type.getNumInputs(), nOut = type.getNumResults();
  if (nIn < 2 || !type.getInput(0).isIndex() || !type.getInput(1).isIndex() ||
      nOut != nIn - 1)
    return fail("expected (index token, index position, state...) -> "
                "(logits, next state...)");
  std::string manifest = "function " + function.str() + "\n";
  if (options.dependentLaunch && chipHasDependentLaunch(options.chip))
    manifest += "dependent_launch\n";
  manifest += "arg index token\narg index position\n";
  std::vector<std::string> stateTypes;
  for (unsigned i = 2; i < nIn; ++i) {
    llvm::Expected<std::string> in = describeTensor(type.getInput(i));
    llvm::Expected<std::string> out = describeTensor(type.getResult(i - 1));
    if (!in || !out || *in != *out) {
      llvm::consumeError(in.takeError());
      llvm::consumeError(out.takeError());
      return fail("state " + Twine(i - 2) +
                  " must be a static f32 tensor and its next state alike");
    }
    stateTypes.push_back(*in);
  }
  llvm::Expected<std::string> logits = describeTensor(type.getResult(0));
  if (!logits)
    return fail("logits: " + llvm::toString(logits.takeError()));
  // The kernels' launch shapes and the workspace are fixed at compile time.
  Operation *dynamicOp = nullptr;
  fn.walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      if (auto shaped = dyn_cast<ShapedType>(t);
          shaped && shaped.hasRank() && !shaped.hasStaticShape()) {
        dynamicOp = op;
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  if (dynamicOp) {
    std::string where;
    llvm::raw_string_ostream os(where);
    dynamicOp->getLoc().print(os);
    return fail("'" + dynamicOp->getName().getStringRef() + "' at " + where +
                " has a result of dynamic shape; the GPU pipeline takes "
                "static shapes only (a model imported with --live-attention: "
                "import it without)");
  }
  fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
              UnitAttr::get(module.getContext()));

  PassManager pm(module.getContext());
  GPUPipelineOptions gpu;
  gpu.chip = options.chip;
  gpu.rowsPerWarp = options.rowsPerWarp;
  gpu.warpsPerBlock = options.warpsPerBlock;
  gpu.unroll = options.unroll;
  gpu.matvecBatchTile = options.matvecBatchTile;
  gpu.stages = options.stages;
  gpu.earlyPrefetch = options.earlyPrefetch;
  gpu.scaleOrder = options.scaleOrder;
  gpu.kernel = options.kernel;
  gpu.activations = options.activations;
  gpu.inPlaceState = options.inPlaceState;
  gpu.dependentLaunch = options.dependentLaunch;
  if (options.fusePartitions >= 0)
    gpu.fusePartitions = options.fusePartitions;
  gpu.arenaData = options.writeArena;
  buildDecodeToGPUPipeline(pm, gpu);
  GpuModelSummary summary;
  // Which states the step updates in place: those whose next state
  // mq-drop-in-place-results dropped, as it records on the function (per
  // original result, the argument returned); the runner then passes the
  // state alone ("arg inout"). A dropped result that is not its own
  // state's (one state returned as another's next state) has no manifest
  // form: counted in `foreign`, an error below.
  std::vector<bool> inPlace(stateTypes.size(), false);
  int foreign = 0;
  struct Counter : public PassInstrumentation {
    GpuModelSummary &s;
    std::vector<bool> &inPlace;
    int &foreign;
    StringRef function;
    Counter(GpuModelSummary &s, std::vector<bool> &inPlace, int &foreign,
            StringRef function)
        : s(s), inPlace(inPlace), foreign(foreign), function(function) {}
    static void printKernels(Operation *op, std::string &text) {
      text.clear();
      llvm::raw_string_ostream os(text);
      for (auto m : cast<ModuleOp>(op).getOps<gpu::GPUModuleOp>())
        m.print(os);
    }
    void runAfterPass(Pass *pass, Operation *op) override {
      if (pass->getArgument() == "mq-drop-in-place-results") {
        auto fn = cast<ModuleOp>(op).lookupSymbol<func::FuncOp>(function);
        auto returned =
            fn ? fn->getAttrOfType<DenseI64ArrayAttr>(kInPlaceResultsAttrName)
               : DenseI64ArrayAttr();
        if (!returned)
          return;
        // Result 1 + i is state i's next state, argument 2 + i state i.
        for (auto [r, a] : llvm::enumerate(returned.asArrayRef())) {
          if (a < 0)
            continue;
          if (r >= 1 && a == int64_t(r) + 1 && r - 1 < inPlace.size())
            inPlace[r - 1] = true;
          else
            ++foreign;
        }
        return;
      }
      // The kernels as they are compiled (after dependent launch, when it
      // runs, else after the workspace).
      if (pass->getArgument() == "mq-gpu-dependent-launch") {
        printKernels(op, s.kernelText);
        return;
      }
      if (pass->getArgument() != "mq-gpu-workspace")
        return;
      // Count kernels and launches before the host code is lowered.
      s.kernels = s.launches = 0;
      printKernels(op, s.kernelText);
      op->walk([&](Operation *o) {
        if (isa<gpu::GPUFuncOp>(o))
          ++s.kernels;
        else if (isa<gpu::LaunchFuncOp>(o))
          ++s.launches;
      });
      // The arena bytes one call reads: each view of the arena whole,
      // except a view that is only read through static-size subviews (the
      // token embedding table, of which a step reads one row).
      s.arenaReadBytes = 0;
      op->walk([&](memref::ViewOp view) {
        auto src = dyn_cast<BlockArgument>(view.getSource());
        if (!src || !isa<func::FuncOp>(src.getOwner()->getParentOp()))
          return;
        auto fn = cast<func::FuncOp>(src.getOwner()->getParentOp());
        if (!fn.getArgAttr(src.getArgNumber(), "mq.arena"))
          return;
        MemRefType type = view.getType();
        int64_t elementBytes = type.getElementTypeBitWidth() / 8;
        int64_t whole = type.getNumElements() * elementBytes, part = 0;
        bool onlySubviews = !view->use_empty();
        for (Operation *user : view->getUsers()) {
          auto sub = dyn_cast<memref::SubViewOp>(user);
          if (!sub || !sub.getType().hasStaticShape()) {
            onlySubviews = false;
            break;
          }
          part += sub.getType().getNumElements() * elementBytes;
        }
        s.arenaReadBytes += onlySubviews ? std::min(part, whole) : whole;
      });
    }
  };
  pm.addInstrumentation(
      std::make_unique<Counter>(summary, inPlace, foreign, function));
  if (failed(pm.run(module)))
    return fail("pipeline matquant-decode-to-gpu failed");
  if (foreign)
    return fail("a state is returned as another state's next state; build "
                "with the in-place state off");
  // The C signature: the states (updated in place or not), the logits,
  // then the next states of those that are not.
  for (size_t i = 0; i < stateTypes.size(); ++i)
    manifest += (inPlace[i] ? "arg inout " : "arg state ") +
                std::to_string(i) + " " + stateTypes[i] + "\n";
  manifest += "arg logits " + *logits + "\n";
  for (size_t i = 0; i < stateTypes.size(); ++i)
    if (!inPlace[i])
      manifest += "arg next " + std::to_string(i) + " " + stateTypes[i] + "\n";

  // The arena and the workspace.
  StringRef arena;
  if (auto data =
          module->getAttrOfType<DenseResourceElementsAttr>("mq.arena_data"))
    if (AsmResourceBlob *blob = data.getRawHandle().getBlob())
      arena = StringRef(blob->getData().data(), blob->getData().size());
  int64_t arenaSize = 0;
  auto record = module->getAttrOfType<DictionaryAttr>("mq.arena");
  if (record)
    if (auto size = record.getAs<IntegerAttr>("size"))
      arenaSize = size.getInt();
  if (arenaSize > 0) {
    manifest += "arg arena " + std::to_string(arenaSize) + "\n";
    manifest +=
        "arena_read_bytes " + std::to_string(summary.arenaReadBytes) + "\n";
  }
  if (record)
    if (auto entries = record.getAs<ArrayAttr>("entries"))
      for (auto entry : entries.getAsRange<DictionaryAttr>()) {
        auto offset = entry.getAs<IntegerAttr>("offset");
        auto bytes = entry.getAs<IntegerAttr>("bytes");
        auto type = entry.getAs<TypeAttr>("type");
        if (!offset || !bytes || !type)
          continue;
        std::string typeName;
        llvm::raw_string_ostream ts(typeName);
        type.getValue().print(ts);
        manifest += "region " + std::to_string(offset.getInt()) + " " +
                    std::to_string(bytes.getInt()) + " " + typeName + "\n";
      }
  if (auto ws = module->getAttrOfType<DictionaryAttr>("mq.workspace"))
    if (auto bytes = ws.getAs<IntegerAttr>(function)) {
      summary.workspaceBytes = bytes.getInt();
      manifest +=
          "arg workspace " + std::to_string(summary.workspaceBytes) + "\n";
    }
  summary.arenaBytes = arenaSize;
  if (options.writeArena)
    if (llvm::Error e = writeBytes((prefix + ".arena").str(), arena))
      return std::move(e);
  module->removeAttr("mq.arena_data");
  module->removeAttr("mq.arena");
  module->removeAttr("mq.workspace");

  // matquant's argument markers mean nothing to LLVM.
  module.walk([](LLVM::LLVMFuncOp f) {
    for (unsigned i = 0, e = f.getNumArguments(); i < e; ++i) {
      f.removeArgAttr(i, "mq.arena");
      f.removeArgAttr(i, "mq.workspace");
    }
  });
  llvm::Expected<TargetChoice> target = createTarget(options.hostCpu);
  if (!target)
    return target.takeError();
  llvm::TargetMachine &machine = *target->machine;
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, function);
  if (!llvmModule)
    return fail("cannot translate the host code to LLVM IR");
  if (llvm::Error error = optimizeFor(*llvmModule, machine, /*optLevel=*/2))
    return fail(llvm::toString(std::move(error)));
  std::optional<std::string> object = emitObject(*llvmModule, machine);
  if (!object)
    return fail("the host target cannot emit object files");
  std::string objectPath = (prefix + ".o").str(),
              soPath = (prefix + ".so").str();
  if (llvm::Error e = writeBytes(objectPath, *object))
    return std::move(e);
  if (llvm::Error e = writeBytes((prefix + ".manifest").str(), manifest))
    return std::move(e);
  if (llvm::Error e =
          writeBytes((prefix + ".kernels.mlir").str(), summary.kernelText))
    return std::move(e);
  llvm::ErrorOr<std::string> linker =
      llvm::sys::findProgramByName(options.linker);
  if (!linker)
    return fail("cannot find the linker driver '" + options.linker +
                "' in PATH");
  std::string message;
  SmallVector<StringRef> argv = {*linker, "-shared", "-o", soPath,
                                 objectPath};
  int rc = llvm::sys::ExecuteAndWait(*linker, argv, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0)
    return fail("linking " + soPath + " failed" +
                (message.empty() ? "" : ": " + message));
  return summary;
}
