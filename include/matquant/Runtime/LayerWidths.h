//===- LayerWidths.h - Change layer widths between calls --------*- C++ -*-===//
//
// The run-time side of mq-dynamic-widths: a compiled model reads the width
// of every named layer from one table (the public global @mq_widths, one i32
// per layer in the order of the module's `mq.dynamic_layers`). LayerWidths
// binds to that table in a JIT-compiled module and writes it, so a caller
// can change any layer's width between two calls (two tokens) with no
// recompilation, no reload and no second copy of the weights.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_LAYERWIDTHS_H
#define MATQUANT_RUNTIME_LAYERWIDTHS_H

#include "matquant/Runtime/Jit.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace matquant {

class LayerWidths {
public:
  /// Binds to the width table of `jit`, compiled from `module` after
  /// mq-dynamic-widths. The layer names and each layer's storage width come
  /// from `module` (its `mq.dynamic_layers` and the dynamic ops' weights).
  static llvm::Expected<LayerWidths> bind(JitModule &jit,
                                          mlir::ModuleOp module);

  /// Sets the width of one layer; an unknown layer or a width outside
  /// [1, storage width] is an error and changes nothing.
  llvm::Error set(llvm::StringRef layer, unsigned bits);
  /// Sets every layer to `bits` (each must accept it, else nothing changes).
  llvm::Error setAll(unsigned bits);
  /// The current width of a layer (0 for an unknown layer).
  unsigned get(llvm::StringRef layer) const;
  /// The layer names in table order.
  llvm::ArrayRef<std::string> layers() const { return names; }

private:
  int32_t *table = nullptr;
  std::vector<std::string> names;
  std::vector<unsigned> storage; ///< per layer
  llvm::StringMap<size_t> index;
};

} // namespace matquant

#endif // MATQUANT_RUNTIME_LAYERWIDTHS_H
