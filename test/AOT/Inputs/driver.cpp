//===- driver.cpp - Calls the kernels of AOT/execute.mlir -------*- C++ -*-===//
//
// Linked against the object file that matquant-aot makes of execute.mlir,
// through the header it writes (kernels.h). For every kernel: quantizes
// random weights with the numerics library (fixed seed), slices them to the
// kernel's width, packs them in its interleaved layout, calls the kernel and
// compares each output with numerics::referenceMatmul (float64) within
// 1e-5 * sum_k |x w_hat|. Prints one "ok" line per kernel, or "FAIL" lines
// and exits 1. `--perturb` shifts the expected y[0][0] of every
// single-result kernel, so a run with it must fail.
//
//===----------------------------------------------------------------------===//

#include "kernels.h"

#include "matquant/Numerics/Numerics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

namespace nm = matquant::numerics;

namespace {

/// A descriptor over dense row-major `data` of the given sizes.
template <typename Desc, typename T, size_t N>
Desc view(T *data, const int64_t (&sizes)[N]) {
  Desc d;
  static_assert(sizeof(d.sizes) == N * sizeof(int64_t), "rank mismatch");
  d.basePtr = data;
  d.data = data;
  d.offset = 0;
  int64_t stride = 1;
  for (int i = static_cast<int>(N) - 1; i >= 0; --i) {
    d.sizes[i] = sizes[i];
    d.strides[i] = stride;
    stride *= sizes[i];
  }
  return d;
}

/// Copies a returned buffer after checking its descriptor, and frees it.
template <typename Desc, size_t N>
bool takeResult(Desc &d, const int64_t (&sizes)[N], std::vector<float> &out,
                const char *name) {
  int64_t stride = 1, count = 1;
  for (int i = static_cast<int>(N) - 1; i >= 0; --i) {
    if (d.sizes[i] != sizes[i] || d.strides[i] != stride) {
      std::printf("FAIL %s: result dimension %d has size %lld stride %lld, "
                  "expected %lld and %lld\n",
                  name, i, (long long)d.sizes[i], (long long)d.strides[i],
                  (long long)sizes[i], (long long)stride);
      std::free(d.basePtr);
      return false;
    }
    stride *= sizes[i];
    count *= sizes[i];
  }
  out.assign(d.data + d.offset, d.data + d.offset + count);
  std::free(d.basePtr);
  return true;
}

/// One kernel of execute.mlir and the parameters its types spell.
struct Case {
  const char *name;
  int64_t batch; ///< 0: matvec
  int64_t rows, cols, group;
  unsigned bits;
  bool extra;
  int64_t block;
};

/// The inputs of one call, as the kernels take them.
struct Inputs {
  std::vector<float> x; ///< max(batch, 1) x cols
  std::vector<uint8_t> packed;
  int64_t rowBytes;
  nm::QuantizedMatrix q;
};

using Kernel =
    std::function<bool(const Case &, Inputs &, std::vector<float> &)>;

/// Calls a matvec / matmul kernel with the usual signature.
template <typename Fn> Kernel matvec(Fn fn) {
  return [fn](const Case &c, Inputs &in, std::vector<float> &y) {
    int64_t groups = in.q.scaleCols();
    mq_memref_1d_f32 x = view<mq_memref_1d_f32>(in.x.data(), {c.cols});
    mq_memref_2d_i8 w = view<mq_memref_2d_i8>(
        reinterpret_cast<int8_t *>(in.packed.data()), {c.rows, in.rowBytes});
    mq_memref_2d_f32 s =
        view<mq_memref_2d_f32>(in.q.alpha.data(), {c.rows, groups});
    mq_memref_2d_f32 m =
        view<mq_memref_2d_f32>(in.q.offset.data(), {c.rows, groups});
    mq_memref_1d_f32 result;
    std::memset(&result, 0, sizeof(result));
    fn(&result, &x, &w, &s, &m);
    return takeResult(result, {c.rows}, y, c.name);
  };
}

template <typename Fn> Kernel matmul(Fn fn) {
  return [fn](const Case &c, Inputs &in, std::vector<float> &y) {
    int64_t groups = in.q.scaleCols();
    mq_memref_2d_f32 x = view<mq_memref_2d_f32>(in.x.data(), {c.batch, c.cols});
    mq_memref_2d_i8 w = view<mq_memref_2d_i8>(
        reinterpret_cast<int8_t *>(in.packed.data()), {c.rows, in.rowBytes});
    mq_memref_2d_f32 s =
        view<mq_memref_2d_f32>(in.q.alpha.data(), {c.rows, groups});
    mq_memref_2d_f32 m =
        view<mq_memref_2d_f32>(in.q.offset.data(), {c.rows, groups});
    mq_memref_2d_f32 result;
    std::memset(&result, 0, sizeof(result));
    fn(&result, &x, &w, &s, &m);
    return takeResult(result, {c.batch, c.rows}, y, c.name);
  };
}

/// Quantizes, slices and packs random weights for `c`, with random
/// activations. The first group of row 0 is constant (alpha = 0).
Inputs makeInputs(const Case &c, std::mt19937 &rng, int64_t batch) {
  Inputs in;
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> w(c.rows * c.cols);
  for (float &v : w)
    v = normal(rng);
  for (int64_t j = 0; j < (c.group ? c.group : c.cols); ++j)
    w[j] = 0.25f;
  in.x.resize(batch * c.cols);
  for (float &v : in.x)
    v = uniform(rng);
  nm::QuantOptions options;
  options.bits = 8;
  options.groupSize = c.group;
  in.q = nm::quantize(w.data(), c.rows, c.cols, options);
  nm::SliceMode mode =
      c.extra ? nm::SliceMode::ExtraPrecision : nm::SliceMode::Clamped;
  unsigned indexBits = nm::indexStorageBits(8, c.bits, mode);
  std::vector<uint8_t> idx = nm::sliceAll(in.q, c.bits, mode);
  in.packed =
      nm::packInterleaved(idx.data(), c.rows, c.cols, indexBits, c.block);
  in.rowBytes = nm::interleavedRowBytes(c.cols, indexBits, c.block);
  return in;
}

/// Compares y (batch x rows) with the float64 reference; prints mismatches.
bool compare(const Case &c, const Inputs &in, int64_t batch,
             const std::vector<float> &y, bool perturb) {
  nm::SliceMode mode =
      c.extra ? nm::SliceMode::ExtraPrecision : nm::SliceMode::Clamped;
  std::vector<double> ref =
      nm::referenceMatmul(in.x.data(), batch, in.q, c.bits, mode);
  std::vector<float> wHat = nm::dequantize(in.q, c.bits, mode);
  bool ok = true;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < c.rows; ++r) {
      double magnitude = 0;
      for (int64_t k = 0; k < c.cols; ++k)
        magnitude += std::fabs(double(in.x[b * c.cols + k]) *
                               double(wHat[r * c.cols + k]));
      double expected = ref[b * c.rows + r];
      if (perturb && b == 0 && r == 0)
        expected += 1e-3 * (magnitude + 1);
      double got = y[b * c.rows + r];
      if (!(std::fabs(got - expected) <= 1e-5 * magnitude)) {
        std::printf("FAIL %s: y[%lld][%lld] = %.9g, expected %.9g "
                    "(|error| %.3g > 1e-5 * %.6g)\n",
                    c.name, (long long)b, (long long)r, got, expected,
                    std::fabs(got - expected), magnitude);
        ok = false;
      }
    }
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  bool perturb = argc > 1 && std::strcmp(argv[1], "--perturb") == 0;
  // Must match the types in execute.mlir.
  const Case cases[] = {
      {"mv_g32_int4", 0, 13, 96, 32, 4, false, 32},
      {"mv_pc_int3", 0, 7, 100, 0, 3, false, 32},
      {"mv_pc_int2ep", 0, 6, 200, 0, 2, true, 128},
      {"mm_g16_int2ep", 3, 11, 64, 16, 2, true, 16},
      {"mm_pc_int8", 5, 9, 45, 0, 8, false, 32},
      {"mm_g64_int6", 2, 21, 192, 64, 6, false, 64},
  };
  const Kernel kernels[] = {
      matvec(_mlir_ciface_mv_g32_int4),  matvec(_mlir_ciface_mv_pc_int3),
      matvec(_mlir_ciface_mv_pc_int2ep), matmul(_mlir_ciface_mm_g16_int2ep),
      matmul(_mlir_ciface_mm_pc_int8),   matmul(_mlir_ciface_mm_g64_int6),
  };
  std::mt19937 rng(20250611);
  bool allOk = true;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
    const Case &c = cases[i];
    int64_t batch = c.batch ? c.batch : 1;
    Inputs in = makeInputs(c, rng, batch);
    std::vector<float> y;
    bool ok = kernels[i](c, in, y) && compare(c, in, batch, y, perturb);
    if (ok)
      std::printf("ok %s: %lldx%lld, batch %lld\n", c.name, (long long)c.rows,
                  (long long)c.cols, (long long)batch);
    allOk = allOk && ok;
  }

  // Two results through one struct: y0 = W x0, y1 = W x1 with the weights
  // of mv_g32_int4.
  {
    const Case &c = cases[0];
    Inputs in = makeInputs(c, rng, 2);
    int64_t groups = in.q.scaleCols();
    mq_memref_1d_f32 x0 = view<mq_memref_1d_f32>(in.x.data(), {c.cols});
    mq_memref_1d_f32 x1 =
        view<mq_memref_1d_f32>(in.x.data() + c.cols, {c.cols});
    mq_memref_2d_i8 w = view<mq_memref_2d_i8>(
        reinterpret_cast<int8_t *>(in.packed.data()), {c.rows, in.rowBytes});
    mq_memref_2d_f32 s =
        view<mq_memref_2d_f32>(in.q.alpha.data(), {c.rows, groups});
    mq_memref_2d_f32 m =
        view<mq_memref_2d_f32>(in.q.offset.data(), {c.rows, groups});
    mv_pair_results results;
    std::memset(&results, 0, sizeof(results));
    _mlir_ciface_mv_pair(&results, &x0, &x1, &w, &s, &m);
    std::vector<float> y0, y1;
    bool ok = takeResult(results.result0, {c.rows}, y0, "mv_pair");
    ok = takeResult(results.result1, {c.rows}, y1, "mv_pair") && ok;
    if (ok) {
      // Both rows of the batch-2 reference.
      std::vector<float> y(y0);
      y.insert(y.end(), y1.begin(), y1.end());
      Case pair = c;
      pair.name = "mv_pair";
      ok = compare(pair, in, 2, y, false);
    }
    if (ok)
      std::printf("ok mv_pair: %lldx%lld, two results\n", (long long)c.rows,
                  (long long)c.cols);
    allOk = allOk && ok;
  }

  if (!allOk)
    return 1;
  std::printf("all kernels match the float64 reference\n");
  return 0;
}
