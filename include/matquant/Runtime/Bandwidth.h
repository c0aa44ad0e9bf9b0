//===- Bandwidth.h - Measured memory read bandwidth --------------*- C++ -*-===//
//
// The CPU's read bandwidth, measured the way ../shared/tools/membw.cpp does
// (threads summing disjoint parts of a large array): the limit of a
// weight-streaming GEMV, measured in the same run as the kernels it judges.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_BANDWIDTH_H
#define MATQUANT_RUNTIME_BANDWIDTH_H

#include <cstdint>
#include <vector>

namespace matquant {

/// An array of `mib` MiB to read (filled, so no page is shared or zero).
std::vector<uint64_t> bandwidthArray(int64_t mib);

/// Median GB/s over 5 passes of summing `data` with `threads` threads.
double readBandwidth(const std::vector<uint64_t> &data, unsigned threads);

/// readBandwidth right after OpenMP-parallel code: first waits until the
/// OpenMP worker threads have stopped spinning (libomp's default block time
/// is 200 ms; KMP_BLOCKTIME changes it), which would otherwise share the
/// cores with the measuring threads and halve the bandwidth measured on a
/// 2-core machine.
double readBandwidthAfterParallel(const std::vector<uint64_t> &data,
                                  unsigned threads);

} // namespace matquant

#endif // MATQUANT_RUNTIME_BANDWIDTH_H
