//===- Passes.h - MatQuant dialect passes ------------------------*- C++ -*-===//

#ifndef MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_H
#define MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_H

#include "matquant/Dialect/MQ/IR/MQOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace matquant::mq {

#define GEN_PASS_DECL
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "matquant/Dialect/MQ/Transforms/Passes.h.inc"

} // namespace matquant::mq

#endif // MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_H
