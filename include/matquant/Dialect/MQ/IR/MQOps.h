//===- MQOps.h - MatQuant dialect ops, types, attributes ---------*- C++ -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQOPS_H
#define MATQUANT_DIALECT_MQ_IR_MQOPS_H

#include "matquant/Dialect/MQ/IR/MQDialect.h"
#include "matquant/Numerics/Numerics.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/VectorInterfaces.h"

#include "matquant/Dialect/MQ/IR/MQEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "matquant/Dialect/MQ/IR/MQAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "matquant/Dialect/MQ/IR/MQTypes.h.inc"

#define GET_OP_CLASSES
#include "matquant/Dialect/MQ/IR/MQOps.h.inc"

namespace matquant::mq {
/// Converts between the dialect's and the numerics library's slice modes.
numerics::SliceMode toNumerics(SliceMode mode);
SliceMode fromNumerics(numerics::SliceMode mode);
} // namespace matquant::mq

#endif // MATQUANT_DIALECT_MQ_IR_MQOPS_H
