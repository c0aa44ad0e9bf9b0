//===- InitAllPasses.h - Register matquant's passes --------------*- C++ -*-===//

#ifndef MATQUANT_INITALLPASSES_H
#define MATQUANT_INITALLPASSES_H

#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/Transforms/Passes.h"
#include "matquant/Pipelines/Pipelines.h"

namespace matquant {

/// Registers every matquant pass and named pipeline.
inline void registerAllPasses() {
  registerMatquantConversionPasses();
  mq::registerMQPasses();
  registerPipelines();
}

} // namespace matquant

#endif // MATQUANT_INITALLPASSES_H
