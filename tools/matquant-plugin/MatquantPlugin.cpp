//===- MatquantPlugin.cpp - matquant as an mlir-opt plugin -------*- C++ -*-===//
//
// One shared object that upstream `mlir-opt` loads with
// `--load-dialect-plugin` (the mq dialect) and `--load-pass-plugin`
// (matquant's passes and named pipelines). It is built from the same object
// files as matquant-opt, without MLIR's static libraries: the MLIR and LLVM
// symbols resolve to the libMLIR.so / libLLVM.so that mlir-opt already has.
//
//===----------------------------------------------------------------------===//

#include "matquant/InitAllDialects.h"
#include "matquant/InitAllPasses.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Compiler.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo
mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MatquantDialects", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) {
            matquant::registerAllDialects(*registry);
          }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo
mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MatquantPasses", LLVM_VERSION_STRING,
          []() { matquant::registerAllPasses(); }};
}
