//===- MemRef.h - Memref descriptors for calling compiled code ---*- C++ -*-===//
//
// The descriptor a compiled function's `_mlir_ciface_` entry point takes for
// a ranked memref argument or result (the layout of MLIR's
// StridedMemRefType), and a helper that describes a dense row-major array.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_MEMREF_H
#define MATQUANT_RUNTIME_MEMREF_H

#include <array>
#include <cstdint>

namespace matquant {

/// A rank-N memref descriptor.
template <typename T, int N> struct MemRef {
  T *basePtr;
  T *data;
  int64_t offset;
  int64_t sizes[N];
  int64_t strides[N];
};

/// Describes `data` as a dense row-major array of `sizes`.
template <typename T, int N>
MemRef<T, N> denseView(T *data, std::array<int64_t, N> sizes) {
  MemRef<T, N> m{data, data, 0, {}, {}};
  int64_t stride = 1;
  for (int i = N - 1; i >= 0; --i) {
    m.sizes[i] = sizes[i];
    m.strides[i] = stride;
    stride *= sizes[i];
  }
  return m;
}

} // namespace matquant

#endif // MATQUANT_RUNTIME_MEMREF_H
