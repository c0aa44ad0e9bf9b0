//===- Activations.h - Calibration activation files -------------*- C++ -*-===//
//
// A file of per-layer activations: for each named linear layer, the input
// rows X [samples, K] it saw while the float model ran. matquant-report
// writes them (captured through mq-capture-layer-inputs and the JIT-compiled
// decode step); mq-quantize-weights reads them as `calibration=FILE` for the
// calibrated MatQuant quantizer.
//
// Format (little-endian, version 1):
//   8 bytes   magic "MQACTS\0\1"
//   u32       number of layers L
//   L times:  u32 name length n, n bytes of name (UTF-8, no NUL),
//             i64 samples, i64 K, samples * K f32 values, row-major.
// Nothing may follow the last layer. Layer names are unique.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_NUMERICS_ACTIVATIONS_H
#define MATQUANT_NUMERICS_ACTIVATIONS_H

#include <cstdint>
#include <string>
#include <vector>

namespace matquant::numerics {

/// The activations of one layer: `samples` rows of `k` floats.
struct LayerActivations {
  std::string layer;
  int64_t samples = 0, k = 0;
  std::vector<float> data;
};

/// The activations of several layers, in file order.
struct ActivationSet {
  std::vector<LayerActivations> layers;

  /// The layer named `name`, or null.
  const LayerActivations *find(const std::string &name) const;
};

/// Parses the bytes of an activation file. Returns an empty string on
/// success, otherwise what is wrong (bad magic, unsupported version,
/// truncation, a size that overflows, a duplicate or empty name, trailing
/// bytes). Values are not checked (NaN is the reader's business).
std::string parseActivations(const char *data, size_t size,
                             ActivationSet &out);

/// Reads and parses `path`; messages name the file.
std::string readActivations(const std::string &path, ActivationSet &out);

/// Writes `set` to `path`. Returns an empty string on success.
std::string writeActivations(const std::string &path,
                             const ActivationSet &set);

/// The index of the first non-finite value of `a`, or -1.
int64_t firstNonFinite(const LayerActivations &a);

} // namespace matquant::numerics

#endif // MATQUANT_NUMERICS_ACTIVATIONS_H
