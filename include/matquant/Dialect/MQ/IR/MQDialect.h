//===- MQDialect.h - MatQuant dialect ----------------------------*- C++ -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQDIALECT_H
#define MATQUANT_DIALECT_MQ_IR_MQDIALECT_H

#include "mlir/IR/Dialect.h"

#include "matquant/Dialect/MQ/IR/MQDialect.h.inc"

#endif // MATQUANT_DIALECT_MQ_IR_MQDIALECT_H
