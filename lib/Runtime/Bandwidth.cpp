//===- Bandwidth.cpp - Measured memory read bandwidth ------------*- C++ -*-===//

#include "matquant/Runtime/Bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace matquant {

std::vector<uint64_t> bandwidthArray(int64_t mib) {
  std::vector<uint64_t> data(static_cast<size_t>(mib) * (1u << 20) / 8);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = i * 2654435761u;
  return data;
}

double readBandwidth(const std::vector<uint64_t> &data, unsigned threads) {
  static std::atomic<uint64_t> sink{0};
  std::vector<double> passes;
  for (int p = 0; p < 5; ++p) {
    std::vector<uint64_t> sums(threads * 8, 0);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    size_t n = data.size();
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        size_t lo = n * t / threads, hi = n * (t + 1) / threads;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (size_t i = lo; i + 4 <= hi; i += 4) {
          a += data[i];
          b += data[i + 1];
          c += data[i + 2];
          d += data[i + 3];
        }
        sums[t * 8] = a + b + c + d;
      });
    for (auto &th : pool)
      th.join();
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    uint64_t total = 0;
    for (uint64_t v : sums)
      total += v;
    sink += total;
    passes.push_back(n * sizeof(uint64_t) / s / 1e9);
  }
  std::sort(passes.begin(), passes.end());
  return passes[passes.size() / 2];
}

double readBandwidthAfterParallel(const std::vector<uint64_t> &data,
                                  unsigned threads) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return readBandwidth(data, threads);
}

} // namespace matquant
