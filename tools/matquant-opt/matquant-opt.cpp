//===- matquant-opt.cpp - MatQuant optimizer driver --------------*- C++ -*-===//
//
// mlir-opt with every upstream dialect and pass plus matquant's.
//
//===----------------------------------------------------------------------===//

#include "matquant/InitAllDialects.h"
#include "matquant/InitAllPasses.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  matquant::registerAllPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary (matquant-gpu-to-ptx) translates to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);
  matquant::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "matquant optimizer driver\n", registry));
}
