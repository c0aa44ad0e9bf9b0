//===- mq-testgen.cpp - Generate reference integration tests -----*- C++ -*-===//
//
// Writes the execution tests of test/Integration/Reference: each case
// quantizes random weights at run time with mq.quantize, slices, packs and
// multiplies them through the reference lowering, and compares
//   - the dequantized r-bit weights, bit for bit, and
//   - the matvec / matmul result, within a stated bound,
// with the values the numerics library computes here (float64 accumulation).
// The expected values are written into the test file itself.
//
// Usage: mq-testgen > test/Integration/Reference/weight-only.mlir
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Numerics.h"

#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using namespace matquant::numerics;

namespace {

struct Case {
  const char *name;
  int64_t rows, cols; // weight shape
  unsigned axis;
  int64_t group;
  unsigned c, r;
  SliceMode mode;
  const char *layout; // "", "dense", "planes", "interleaved"
  int64_t batch;      // 0: matvec
  const char *act;    // activation element type
  float gamma, beta;  // 0: no clip
  const char *out = nullptr; // result element type; null: the activations'
};

const Case kCases[] = {
    {"mv_int8_g8", 13, 40, 0, 8, 8, 8, SliceMode::Clamped, "", 0, "f32", 0, 0},
    {"mv_int4_pc_dense", 13, 40, 0, 0, 8, 4, SliceMode::Clamped, "dense", 0,
     "f32", 0, 0},
    {"mv_int3_g8_dense", 9, 40, 0, 8, 8, 3, SliceMode::Clamped, "dense", 0,
     "f32", 0, 0},
    {"mv_int2_g8_dense", 13, 40, 0, 8, 8, 2, SliceMode::Clamped, "dense", 0,
     "f32", 0, 0},
    {"mv_int2_ep_g8_dense", 13, 40, 0, 8, 8, 2, SliceMode::ExtraPrecision,
     "dense", 0, "f32", 0, 0},
    {"mv_int2_clip_planes", 7, 33, 0, 11, 8, 2, SliceMode::Clamped, "planes", 0,
     "f32", 0.9f, 0.85f},
    {"mm_int4_axis1_g6_planes", 24, 7, 1, 6, 8, 4, SliceMode::Clamped, "planes",
     3, "f32", 0, 0},
    {"mm_int2_pc", 11, 30, 0, 0, 8, 2, SliceMode::Clamped, "", 5, "f32", 0, 0},
    {"mm_int3_ep_axis1_planes", 18, 5, 1, 9, 8, 3, SliceMode::ExtraPrecision,
     "planes", 4, "f32", 0, 0},
    {"mm_int8_g10_dense", 6, 20, 0, 10, 8, 8, SliceMode::Clamped, "dense", 3,
     "f32", 0, 0},
    {"mm_c6_int3_g5", 10, 15, 0, 5, 6, 3, SliceMode::Clamped, "dense", 2, "f32",
     0, 0},
    {"mm_int4_f16_g8", 9, 24, 0, 8, 8, 4, SliceMode::Clamped, "dense", 3, "f16",
     0, 0},
    {"mv_int6_ep_g4", 5, 12, 0, 4, 8, 6, SliceMode::ExtraPrecision, "dense", 0,
     "f32", 0, 0},
    {"mv_int4_nan_g8", 6, 16, 0, 8, 8, 4, SliceMode::Clamped, "dense", 0, "f32",
     0, 0},
    {"mv_int3_interleaved_g16", 5, 48, 0, 16, 8, 3, SliceMode::Clamped,
     "interleaved", 0, "f32", 0, 0},
    {"mm_int7_interleaved_pc", 4, 37, 0, 0, 8, 7, SliceMode::Clamped,
     "interleaved", 2, "f32", 0, 0},
    {"mv_int2_ep_interleaved_g8", 3, 24, 0, 8, 8, 2, SliceMode::ExtraPrecision,
     "interleaved", 0, "f32", 0, 0},
    {"mv_int2_g16_planes", 6, 64, 0, 16, 8, 2, SliceMode::Clamped, "planes", 0,
     "f32", 0, 0},
    {"mm_int1_pc", 5, 45, 0, 0, 8, 1, SliceMode::Clamped, "", 3, "f32", 0, 0},
    {"mv_int2_pc_ragged", 7, 20, 0, 0, 8, 2, SliceMode::Clamped, "", 0, "f32",
     0, 0},
    // Prefix exact (truncation, mid-point offset): every width of int8, per
    // channel and per group, both axes, every layout, ragged shapes.
    {"mv_pe_int1_pc_planes", 7, 33, 0, 0, 8, 1, SliceMode::PrefixExact,
     "planes", 0, "f32", 0, 0},
    {"mm_pe_int2_g8_dense", 13, 40, 0, 8, 8, 2, SliceMode::PrefixExact, "dense",
     3, "f32", 0, 0},
    {"mv_pe_int2_g16_planes", 6, 64, 0, 16, 8, 2, SliceMode::PrefixExact,
     "planes", 0, "f32", 0, 0},
    {"mv_pe_int3_g16_interleaved", 5, 48, 0, 16, 8, 3, SliceMode::PrefixExact,
     "interleaved", 0, "f32", 0, 0},
    {"mv_pe_int4_pc_ragged", 7, 20, 0, 0, 8, 4, SliceMode::PrefixExact, "", 0,
     "f32", 0, 0},
    {"mm_pe_int4_clip_interleaved_g8", 3, 24, 0, 8, 8, 4,
     SliceMode::PrefixExact, "interleaved", 2, "f32", 0.9f, 0.85f},
    {"mm_pe_int5_axis1_g6_planes", 24, 7, 1, 6, 8, 5, SliceMode::PrefixExact,
     "planes", 2, "f32", 0, 0},
    {"mv_pe_int6_g4_dense", 5, 12, 0, 4, 8, 6, SliceMode::PrefixExact, "dense",
     0, "f32", 0, 0},
    {"mm_pe_int7_interleaved_pc", 4, 37, 0, 0, 8, 7, SliceMode::PrefixExact,
     "interleaved", 2, "f32", 0, 0},
    {"mv_pe_int8_g8", 13, 40, 0, 8, 8, 8, SliceMode::PrefixExact, "", 0, "f32",
     0, 0},
    {"mm_pe_c6_int3_axis1_pc", 18, 5, 1, 0, 6, 3, SliceMode::PrefixExact,
     "dense", 4, "f32", 0, 0},
    {"mm_pe_int2_f16_g8_interleaved", 9, 24, 0, 8, 8, 2, SliceMode::PrefixExact,
     "interleaved", 3, "f16", 0, 0},
    // Narrow activations, f32 results (mq-narrow-activations).
    {"mv_int4_f16_to_f32_g8_interleaved", 13, 40, 0, 8, 8, 4,
     SliceMode::Clamped, "interleaved", 0, "f16", 0, 0, "f32"},
    {"mm_int3_bf16_to_f32_pc", 11, 30, 0, 0, 8, 3, SliceMode::Clamped, "", 3,
     "bf16", 0, 0, "f32"},
};

std::string num(float v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
  std::string s = buf;
  if (std::isnan(v))
    return "0x7FC00000";
  if (s.find_first_of(".eEn") == std::string::npos)
    s += ".0";
  return s;
}

std::string shapeStr(const std::vector<int64_t> &shape, const char *elt) {
  std::string s;
  for (int64_t d : shape)
    s += std::to_string(d) + "x";
  return s + elt;
}

std::string dense(const std::vector<float> &v, const std::vector<int64_t> &shape) {
  // Nested brackets for rank 1 or 2.
  std::string s = "dense<";
  if (shape.size() == 1) {
    s += "[";
    for (size_t i = 0; i < v.size(); ++i)
      s += (i ? ", " : "") + num(v[i]);
    s += "]";
  } else {
    s += "[";
    for (int64_t i = 0; i < shape[0]; ++i) {
      s += i ? ", [" : "[";
      for (int64_t j = 0; j < shape[1]; ++j)
        s += (j ? ", " : "") + num(v[i * shape[1] + j]);
      s += "]";
    }
    s += "]";
  }
  return s + ">";
}

std::string weightType(const Case &k, unsigned bits, bool packed) {
  std::string s = "!mq.weight<" + std::to_string(k.rows) + "x" +
                  std::to_string(k.cols) + "xf32, storage = " +
                  std::to_string(k.c) + ", bits = " + std::to_string(bits);
  if (k.axis)
    s += ", axis = 1";
  if (k.group)
    s += ", group = " + std::to_string(k.group);
  if (k.mode != SliceMode::Clamped)
    s += std::string(", mode = ") + sliceModeName(k.mode);
  if (packed) {
    s += ", layout = #mq.layout<" + std::string(k.layout) + ", " +
         std::to_string(indexStorageBits(k.c, bits, k.mode));
    if (std::string(k.layout) == "interleaved")
      s += ", block = " + std::to_string(k.group ? k.group : 16);
    s += ">";
  }
  return s + ">";
}

/// Emits a function that counts the elements of %a, %b (same shape, rank
/// `rank`) that violate `pred` and prints the count.
void emitCount(const char *a, const char *b, const char *bound,
               const std::string &type, unsigned rank, bool exact) {
  std::string dims = rank == 1 ? "d0" : "d0, d1";
  std::string map = "affine_map<(" + dims + ") -> (" + dims + ")>";
  std::string scalar = "affine_map<(" + dims + ") -> ()>";
  std::string iters = rank == 1 ? "\"reduction\"" : "\"reduction\", \"reduction\"";
  std::printf("    %%z_%s = arith.constant dense<0> : tensor<i64>\n", a + 1);
  if (exact) {
    std::printf("    %%n_%s = linalg.generic {indexing_maps = [%s, %s, %s], "
                "iterator_types = [%s]} ins(%s, %s : %s, %s) outs(%%z_%s : "
                "tensor<i64>) {\n",
                a + 1, map.c_str(), map.c_str(), scalar.c_str(), iters.c_str(),
                a, b, type.c_str(), type.c_str(), a + 1);
    std::printf("    ^bb0(%%ea: f32, %%eb: f32, %%eacc: i64):\n"
                "      %%eai = arith.bitcast %%ea : f32 to i32\n"
                "      %%ebi = arith.bitcast %%eb : f32 to i32\n"
                "      %%ene = arith.cmpi ne, %%eai, %%ebi : i32\n"
                "      %%eone = arith.extui %%ene : i1 to i64\n"
                "      %%esum = arith.addi %%eacc, %%eone : i64\n"
                "      linalg.yield %%esum : i64\n    } -> tensor<i64>\n");
  } else {
    std::printf("    %%n_%s = linalg.generic {indexing_maps = [%s, %s, %s, %s], "
                "iterator_types = [%s]} ins(%s, %s, %s : %s, %s, %s) outs(%%z_%s : "
                "tensor<i64>) {\n",
                a + 1, map.c_str(), map.c_str(), map.c_str(), scalar.c_str(),
                iters.c_str(), a, b, bound, type.c_str(), type.c_str(),
                type.c_str(), a + 1);
    std::printf("    ^bb0(%%ta: f32, %%tb: f32, %%tt: f32, %%tacc: i64):\n"
                "      %%td = arith.subf %%ta, %%tb : f32\n"
                "      %%tad = math.absf %%td : f32\n"
                "      %%tbad = arith.cmpf ugt, %%tad, %%tt : f32\n"
                "      %%tone = arith.extui %%tbad : i1 to i64\n"
                "      %%tsum = arith.addi %%tacc, %%tone : i64\n"
                "      linalg.yield %%tsum : i64\n    } -> tensor<i64>\n");
  }
  std::printf("    %%c_%s = tensor.extract %%n_%s[] : tensor<i64>\n", a + 1,
              a + 1);
  std::printf("    func.call @printI64(%%c_%s) : (i64) -> ()\n", a + 1);
  std::printf("    func.call @printNewline() : () -> ()\n");
}

void emitCase(const Case &k, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.5f);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::vector<float> w(k.rows * k.cols);
  for (float &v : w)
    v = normal(rng);
  // One constant group when possible, to cover the exact path.
  if (k.group) {
    if (k.axis == 0)
      for (int64_t j = 0; j < k.group; ++j)
        w[j] = 0.25f;
    else
      for (int64_t i = 0; i < k.group; ++i)
        w[i * k.cols] = -0.5f;
  }
  // A NaN weight takes no part in its group's range and gets code 0.
  if (std::string(k.name).find("nan") != std::string::npos)
    w[k.cols + 3] = NAN;
  int64_t kdim = k.axis == 0 ? k.cols : k.rows;
  int64_t ndim = k.axis == 0 ? k.rows : k.cols;
  int64_t batch = k.batch ? k.batch : 1;
  std::vector<float> x(batch * kdim);
  std::string act = k.act, out = k.out ? k.out : k.act;
  bool f16Result = out == "f16";
  for (float &v : x) {
    v = uni(rng);
    if (act == "f16") // Pick values exactly representable in f16.
      v = std::round(v * 1024.0f) / 1024.0f;
    else if (act == "bf16") // ... in bf16.
      v = std::round(v * 128.0f) / 128.0f;
  }

  QuantOptions opts;
  opts.bits = k.c;
  opts.axis = k.axis;
  opts.groupSize = k.group;
  std::vector<float> gamma, beta;
  if (k.gamma > 0) {
    gamma.push_back(k.gamma);
    beta.push_back(k.beta);
  }
  QuantizedMatrix q = quantize(w.data(), k.rows, k.cols, opts, gamma, beta);
  std::vector<float> wHat = dequantize(q, k.r, k.mode);
  std::vector<double> ref = referenceMatmul(x.data(), batch, q, k.r, k.mode);
  // Bound: f32 accumulation over K terms, plus the f16 rounding of the result.
  std::vector<float> refF(ref.size()), bound(ref.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t n = 0; n < ndim; ++n) {
      double mag = 0;
      for (int64_t kk = 0; kk < kdim; ++kk) {
        float wv = k.axis == 0 ? wHat[n * k.cols + kk] : wHat[kk * k.cols + n];
        mag += std::fabs(double(x[b * kdim + kk]) * wv);
      }
      double r = ref[b * ndim + n];
      double tol = 1e-5 * mag + 1e-30;
      if (f16Result)
        tol += std::ldexp(std::fabs(r), -10);
      refF[b * ndim + n] = static_cast<float>(r);
      bound[b * ndim + n] = static_cast<float>(tol);
    }

  std::string wt = shapeStr({k.rows, k.cols}, "f32");
  std::string st = "tensor<" +
                   shapeStr({q.scaleRows(), q.scaleCols()}, "f32") + ">";
  std::string full = weightType(k, k.c, false);
  std::string sliced = weightType(k, k.r, false);
  bool packed = k.layout[0] != 0;
  std::string xShape = k.batch ? shapeStr({batch, kdim}, k.act)
                               : shapeStr({kdim}, k.act);
  std::string yShape = k.batch ? shapeStr({batch, ndim}, out.c_str())
                               : shapeStr({ndim}, out.c_str());
  std::string yShape32 = k.batch ? shapeStr({batch, ndim}, "f32")
                                 : shapeStr({ndim}, "f32");
  std::vector<int64_t> yDims = k.batch ? std::vector<int64_t>{batch, ndim}
                                       : std::vector<int64_t>{ndim};
  std::vector<int64_t> xDims = k.batch ? std::vector<int64_t>{batch, kdim}
                                       : std::vector<int64_t>{kdim};

  std::printf("  // %s: %lldx%lld axis %u group %lld, int%u -> int%u %s%s%s\n",
              k.name, (long long)k.rows, (long long)k.cols, k.axis,
              (long long)k.group, k.c, k.r, sliceModeName(k.mode),
              packed ? ", layout " : "", k.layout);
  std::printf("  func.func @%s() {\n", k.name);
  std::printf("    %%w = arith.constant %s : tensor<%s>\n",
              dense(w, {k.rows, k.cols}).c_str(), wt.c_str());
  std::printf("    %%x = arith.constant %s : tensor<%s>\n",
              dense(x, xDims).c_str(), xShape.c_str());
  std::printf("    %%what_ref = arith.constant %s : tensor<%s>\n",
              dense(wHat, {k.rows, k.cols}).c_str(), wt.c_str());
  std::printf("    %%y_ref = arith.constant %s : tensor<%s>\n",
              dense(refF, yDims).c_str(), yShape32.c_str());
  std::printf("    %%y_tol = arith.constant %s : tensor<%s>\n",
              dense(bound, yDims).c_str(), yShape32.c_str());
  std::string clip;
  if (k.gamma > 0)
    clip = " clip(" + num(k.gamma) + ", " + num(k.beta) + ")";
  std::printf("    %%q, %%s, %%m = mq.quantize %%w%s : tensor<%s> -> %s, %s, "
              "%s\n",
              clip.c_str(), wt.c_str(), full.c_str(), st.c_str(), st.c_str());
  std::printf("    %%qr = mq.slice %%q : %s to %s\n", full.c_str(),
              sliced.c_str());
  std::string weight = "%qr", weightTy = sliced;
  if (packed) {
    std::string pt = weightType(k, k.r, true);
    std::printf("    %%p = mq.pack %%qr : %s to %s\n", sliced.c_str(),
                pt.c_str());
    std::printf("    %%u = mq.unpack %%p : %s to %s\n", pt.c_str(),
                sliced.c_str());
    weight = "%p";
    weightTy = pt;
  }
  std::printf("    %%what = mq.dequantize %s, %%s, %%m : %s, %s, %s -> "
              "tensor<%s>\n",
              packed ? "%u" : "%qr", sliced.c_str(), st.c_str(), st.c_str(),
              wt.c_str());
  std::printf("    %%y = mq.%s %%x, %s, %%s, %%m : tensor<%s>, %s, %s, %s -> "
              "tensor<%s>\n",
              k.batch ? "matmul" : "matvec", weight.c_str(), xShape.c_str(),
              weightTy.c_str(), st.c_str(), st.c_str(), yShape.c_str());
  std::string y = "%y";
  if (f16Result) {
    std::string e = "%y_e = tensor.empty() : tensor<" + yShape32 + ">";
    std::printf("    %s\n", e.c_str());
    std::string m = k.batch ? "affine_map<(d0, d1) -> (d0, d1)>"
                            : "affine_map<(d0) -> (d0)>";
    std::string it = k.batch ? "\"parallel\", \"parallel\"" : "\"parallel\"";
    std::printf("    %%y32 = linalg.generic {indexing_maps = [%s, %s], "
                "iterator_types = [%s]} ins(%%y : tensor<%s>) outs(%%y_e : "
                "tensor<%s>) {\n    ^bb0(%%ha: f16, %%hb: f32):\n      %%he = "
                "arith.extf %%ha : f16 to f32\n      linalg.yield %%he : f32\n"
                "    } -> tensor<%s>\n",
                m.c_str(), m.c_str(), it.c_str(), yShape.c_str(),
                yShape32.c_str(), yShape32.c_str());
    y = "%y32";
  }
  emitCount("%what", "%what_ref", "", "tensor<" + wt + ">", 2, true);
  std::string yTy = "tensor<" + yShape32 + ">";
  emitCount(y == "%y" ? "%y" : "%y32", "%y_ref", "%y_tol", yTy,
            k.batch ? 2 : 1, false);
  std::printf("    return\n  }\n\n");
}

} // namespace

int main() {
  std::printf(
      "// GENERATED by tools/mq-testgen (mq-testgen > this file): do not "
      "edit.\n"
      "// Each case quantizes random weights at run time, slices, packs and\n"
      "// multiplies them through the reference lowering and prints two\n"
      "// counts: dequantized weights that differ in any bit from the "
      "numerics\n"
      "// library's, and outputs farther from its float64 result than the\n"
      "// bound (1e-5 * sum |x * w|, plus 2^-10 |y| for f16 results).\n"
      "// The second RUN folds the quantization at compile time first, so the\n"
      "// folders are checked against the same expected values.\n"
      "//\n"
      "// REQUIRES: mlir-runner\n"
      "// RUN: matquant-opt %%s --matquant-reference-to-llvm | mlir-runner -e "
      "main -entry-point-result=void %%runner_libs | FileCheck %%s\n"
      "// RUN: matquant-opt %%s --canonicalize --matquant-reference-to-llvm | "
      "mlir-runner -e main -entry-point-result=void %%runner_libs | FileCheck "
      "%%s\n"
      "// The vectorized CPU pipeline, sequential, 2 OpenMP threads, and AVX2 "
      "width:\n"
      "// RUN: matquant-opt %%s --matquant-cpu-to-llvm | mlir-runner -e main "
      "-entry-point-result=void %%runner_libs | FileCheck %%s\n"
      "// RUN: matquant-opt %%s --matquant-cpu-to-llvm=\"threads=2\" | "
      "mlir-runner -e main -entry-point-result=void %%runner_libs %%omp_lib | "
      "FileCheck %%s\n"
      "// RUN: matquant-opt %%s --matquant-cpu-to-llvm=\"vector-width=8 "
      "accumulators=2 batch-tile=3\" | mlir-runner -e main "
      "-entry-point-result=void %%runner_libs | FileCheck %%s\n"
      "// The runs above tile the interleaved layout's rows (rows = 8, 4 or 2\n"
      "// where they divide the rows); rows one after the other, and tiles of\n"
      "// at most 2 rows read by kernel tiles of 2 rows:\n"
      "// RUN: matquant-opt %%s --matquant-cpu-to-llvm=\"tile-layout=0\" | "
      "mlir-runner -e main -entry-point-result=void %%runner_libs | FileCheck "
      "%%s\n"
      "// RUN: matquant-opt %%s --matquant-cpu-to-llvm=\"row-tile=2 "
      "threads=2\" | mlir-runner -e main -entry-point-result=void "
      "%%runner_libs %%omp_lib | FileCheck %%s\n\n");
  std::printf("module {\n");
  std::printf("  func.func private @printI64(i64)\n"
              "  func.func private @printNewline()\n\n");
  unsigned seed = 1234;
  for (const Case &k : kCases)
    emitCase(k, seed++);
  std::printf("  func.func @main() {\n");
  for (const Case &k : kCases)
    std::printf("    func.call @%s() : () -> ()\n", k.name);
  std::printf("    return\n  }\n}\n\n");
  bool first = true;
  for (const Case &k : kCases) {
    std::printf("// %s\n", k.name);
    std::printf("// CHECK%s: {{^}}0{{$}}\n// CHECK-NEXT: {{^}}0{{$}}\n",
                first ? "" : "-NEXT");
    first = false;
  }
  return 0;
}
