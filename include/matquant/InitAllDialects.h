//===- InitAllDialects.h - Register matquant's dialects ----------*- C++ -*-===//

#ifndef MATQUANT_INITALLDIALECTS_H
#define MATQUANT_INITALLDIALECTS_H

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "mlir/IR/DialectRegistry.h"

namespace matquant {

/// Adds every matquant dialect to `registry`.
inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mq::MQDialect>();
}

} // namespace matquant

#endif // MATQUANT_INITALLDIALECTS_H
