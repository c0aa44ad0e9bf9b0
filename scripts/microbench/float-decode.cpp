//===- float-decode.cpp - Per-core floor of float-activation decoding -----===//
//
// How fast can one core turn packed int4 / int2 indices into f32 and
// multiply-add them with f32 activations, with everything in L1? This is
// the instruction floor of matquant's float-activation kernels (the loop
// convert-mq-to-vector generates: widen 16 bytes to i32 lanes, shift each
// field under the exponent of 1.0, mask and OR, one fma per 16 weights;
// docs/CPU.md), written with intrinsics only to measure it: 8 rows share
// each activation vector, as the kernel's row tile does. Also times the
// fma alone (a weight vector held in a register) and a 16-entry table lookup
// (vpermps) instead of the shift and mask.
//
//   g++ -O2 -march=native -Wno-uninitialized \
//     scripts/microbench/float-decode.cpp -o /tmp/fd && /tmp/fd
//
// Prints picoseconds and giga-weights per second per core (minimum over
// many calls, so other load on the machine matters little).
//
//===----------------------------------------------------------------------===//

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {
constexpr int kRows = 8;
constexpr int kBytes = 2048; // per row: 4096 int4 or 8192 int2 weights
alignas(64) uint8_t weights[kRows][kBytes];
alignas(64) float floatWeights[kRows][16];
alignas(64) float acts[8192];

enum Method { Exponent, Table, FmaOnly };

/// Sum over rows of x . w for packed indices of `Bits` bits.
template <int Bits, Method M> __attribute__((noinline)) float dot() {
  constexpr int fields = 8 / Bits;
  const __m512i one = _mm512_set1_epi32(0x3F800000);
  const __m512i mask = _mm512_set1_epi32(((1 << Bits) - 1) << (23 - Bits));
  // vpermps reads the low 4 bits of each index: for int2 one table gives the
  // field in bits 0-1, the other the field in bits 2-3.
  const __m512 lo = Bits == 4 ? _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                               10, 11, 12, 13, 14, 15)
                              : _mm512_setr_ps(0, 1, 2, 3, 0, 1, 2, 3, 0, 1,
                                               2, 3, 0, 1, 2, 3);
  const __m512 hi = _mm512_setr_ps(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,
                                   3, 3);
  __m512 acc[kRows][2];
  for (auto &a : acc)
    a[0] = a[1] = _mm512_setzero_ps();
  if (M == FmaOnly) {
    // The fmas and activation loads alone: each row's weights one vector
    // held in a register.
    __m512 w[kRows];
    for (int r = 0; r < kRows; ++r)
      w[r] = _mm512_load_ps(&floatWeights[r][0]);
    for (int e = 0; e < 4096; e += 32) {
      __m512 x0 = _mm512_load_ps(&acts[e]), x1 = _mm512_load_ps(&acts[e + 16]);
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) {
        acc[r][0] = _mm512_fmadd_ps(w[r], x0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(w[r], x1, acc[r][1]);
      }
    }
  } else {
    for (int b = 0; b < kBytes; b += 16) {
      __m512 x[fields];
#pragma GCC unroll 8
      for (int t = 0; t < fields; ++t)
        x[t] = _mm512_load_ps(&acts[b * fields + 16 * t]);
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r) {
        __m512i z = _mm512_cvtepu8_epi32(
            _mm_load_si128(reinterpret_cast<const __m128i *>(&weights[r][b])));
        __m512i z4 = _mm512_srli_epi32(z, 4);
#pragma GCC unroll 8
        for (int t = 0; t < fields; ++t) {
          __m512 f;
          if (M == Exponent) {
            // Field t (bits t*Bits ..) to bits 23 - Bits .. 22, OR 1.0.
            __m512i v = _mm512_slli_epi32(z, 23 - Bits - t * Bits);
            f = _mm512_castsi512_ps(
                t == fields - 1 ? _mm512_or_si512(v, one)
                                : _mm512_ternarylogic_epi32(v, mask, one, 0xEA));
          } else if (Bits == 4) {
            f = _mm512_permutexvar_ps(t == 0 ? z : z4, lo);
          } else {
            f = _mm512_permutexvar_ps(t < 2 ? z : z4, t % 2 ? hi : lo);
          }
          acc[r][t % 2] = _mm512_fmadd_ps(f, x[t], acc[r][t % 2]);
        }
      }
    }
  }
  float s = 0;
  for (auto &a : acc)
    s += _mm512_reduce_add_ps(_mm512_add_ps(a[0], a[1]));
  return s;
}

template <int Bits, Method M> double picosPerWeight() {
  int64_t weightsPerCall =
      kRows * (M == FmaOnly ? 4096 : int64_t(kBytes) * (8 / Bits));
  double best = 1e30;
  volatile float sink = 0;
  for (int i = 0; i < 20000; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    sink = sink + dot<Bits, M>();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best / weightsPerCall * 1e12;
}

void report(const char *name, double ps) {
  std::printf("%-28s %6.2f ps/weight  %6.1f Gweights/s per core\n", name, ps,
              1e3 / ps);
}
} // namespace

int main() {
  for (auto &row : weights)
    for (uint8_t &b : row)
      b = static_cast<uint8_t>(std::rand());
  for (auto &row : floatWeights)
    for (float &w : row)
      w = static_cast<float>(std::rand() % 16);
  for (float &x : acts)
    x = static_cast<float>(std::rand() % 1000) / 1000.0f;
  report("fma only (no decode)", picosPerWeight<4, FmaOnly>());
  report("int4, exponent decoding", picosPerWeight<4, Exponent>());
  report("int4, vpermps table", picosPerWeight<4, Table>());
  report("int2, exponent decoding", picosPerWeight<2, Exponent>());
  report("int2, vpermps table", picosPerWeight<2, Table>());
  return 0;
}
