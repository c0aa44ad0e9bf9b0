//===- GpuSpecTest.cpp - Host side of the GPU kernels, without a GPU ------===//
//
// Kernel specs and their names, the GPU layout's block, the f16 / bf16
// conversions of the activations, PTX entry parsing, and the runtime's
// behaviour without a driver. Everything here runs on machines with no GPU.
//
//===----------------------------------------------------------------------===//

#include "matquant/Runtime/GpuRuntime.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace matquant;
using namespace matquant::gpurt;

namespace {

TEST(GpuKernelSpec, NameRoundTripsEverySpec) {
  int checked = 0;
  for (unsigned c = 1; c <= 8; ++c)
    for (unsigned r = 1; r <= c; ++r)
      for (numerics::SliceMode mode :
           {numerics::SliceMode::Clamped, numerics::SliceMode::ExtraPrecision,
            numerics::SliceMode::PrefixExact})
        for (int64_t g : {int64_t(0), int64_t(32), int64_t(128)})
          for (ActType act : {ActType::F32, ActType::F16, ActType::BF16}) {
            GemvKernelSpec s;
            s.storageBits = c;
            s.bits = r;
            s.mode = mode;
            s.groupSize = g;
            s.act = act;
            s.batchTile = 1 + (c + r) % 5;
            s.rowsPerWarp = 1 + r % 4;
            s.unroll = 1 + c % 3;
            if (!s.validate().empty())
              continue;
            GemvKernelSpec back;
            ASSERT_TRUE(GemvKernelSpec::parseName(s.name(), back)) << s.name();
            EXPECT_EQ(back.name(), s.name());
            EXPECT_EQ(back.storageBits, c);
            EXPECT_EQ(back.bits, r);
            EXPECT_EQ(back.mode, mode);
            EXPECT_EQ(back.groupSize, g);
            EXPECT_EQ(back.act, act);
            ++checked;
          }
  EXPECT_GT(checked, 500);
}

TEST(GpuKernelSpec, ParseRejectsOtherNames) {
  GemvKernelSpec s;
  for (const char *bad :
       {"", "main", "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_x",
        "mq_gemv_c8_r9_cl_g128_f16_b1_rw2_wpb4_u2",
        "mq_gemv_c8_r4_zz_g128_f16_b1_rw2_wpb4_u2",
        "mq_gemv_c8_r4_cl_g128_f64_b1_rw2_wpb4_u2",
        "mq_gemv_c8_r3_cl_g8_f16_b1_rw2_wpb4_u2",
        // f32 results are for narrow activations; nothing else may follow.
        "mq_gemv_c8_r4_cl_g128_f32_b1_rw2_wpb4_u2_y32",
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_y32x",
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_y16",
        // _dl comes last, once.
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_dl_y32",
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_dl_dl",
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_dlx"})
    EXPECT_FALSE(GemvKernelSpec::parseName(bad, s)) << bad;
}

/// The default SIMT spec, or with `mma` a tensor-core one (batch tile 8,
/// a row tile per block, group 128).
GemvKernelSpec defaultSpec(bool mma) {
  GemvKernelSpec s;
  if (mma) {
    s.mma = true;
    s.batchTile = 8;
    s.rowsPerWarp = 16;
    s.groupSize = 128;
  }
  return s;
}

TEST(GpuKernelSpec, DependentLaunchRoundTrip) {
  for (bool mma : {false, true})
    for (bool y32 : {false, true}) {
      GemvKernelSpec s = defaultSpec(mma);
      s.outF32 = y32;
      s.dependentLaunch = true;
      ASSERT_EQ(s.validate(), "");
      std::string name = s.name();
      EXPECT_EQ(name.substr(name.size() - 3), "_dl") << name;
      GemvKernelSpec back;
      ASSERT_TRUE(GemvKernelSpec::parseName(name, back)) << name;
      EXPECT_TRUE(back.dependentLaunch);
      EXPECT_EQ(back.outF32, y32);
      EXPECT_EQ(back.name(), name);
    }
}

TEST(GpuKernelSpec, PrefetchAndIndexWidthRoundTrip) {
  for (bool mma : {false, true})
    for (unsigned pf : {0u, 1u, 4u, 16u})
      for (bool i64 : {false, true})
        for (bool y32 : {false, true})
          for (bool dl : {false, true}) {
            GemvKernelSpec s = defaultSpec(mma);
            s.prefetch = pf;
            s.index64 = i64;
            s.outF32 = y32;
            s.dependentLaunch = dl;
            std::string error = s.validate();
            if (pf && !mma) {
              EXPECT_NE(error.find("tensor-core"), std::string::npos) << error;
              continue;
            }
            ASSERT_EQ(error, "");
            std::string name = s.name();
            EXPECT_EQ(name.find("_pf") != std::string::npos, pf > 0) << name;
            EXPECT_EQ(name.find("_i64") != std::string::npos, i64) << name;
            GemvKernelSpec back;
            ASSERT_TRUE(GemvKernelSpec::parseName(name, back)) << name;
            EXPECT_EQ(back.prefetch, pf);
            EXPECT_EQ(back.index64, i64);
            EXPECT_EQ(back.outF32, y32);
            EXPECT_EQ(back.dependentLaunch, dl);
            EXPECT_EQ(back.name(), name);
          }
  GemvKernelSpec s = defaultSpec(true);
  s.prefetch = 17;
  EXPECT_NE(s.validate(), "");
  // The suffixes come in the order _pfN, _i64, _y32, _dl, once each, N
  // without a leading zero; prefetch is for tensor-core kernels.
  for (const char *bad :
       {"mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_pf",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_pf0",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_pf02",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_pf17",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_pf123",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_i64_pf2",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_y32_i64",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_i64_i64",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_i32",
        "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2_pf2"}) {
    GemvKernelSpec t;
    EXPECT_FALSE(GemvKernelSpec::parseName(bad, t)) << bad;
  }
}

TEST(GpuKernelSpec, EarlyPrefetchRoundTrip) {
  for (bool mma : {false, true})
    for (unsigned pf : {0u, 2u})
      for (unsigned epf : {0u, 1u, 8u, 16u})
        for (bool dl : {false, true}) {
          GemvKernelSpec s = defaultSpec(mma);
          s.prefetch = pf;
          s.earlyPrefetch = epf;
          s.index64 = true;
          s.dependentLaunch = dl;
          std::string error = s.validate();
          if ((pf || epf) && !mma) {
            EXPECT_NE(error.find("tensor-core"), std::string::npos) << error;
            continue;
          }
          ASSERT_EQ(error, "");
          std::string name = s.name();
          EXPECT_EQ(name.find("_epf") != std::string::npos, epf > 0) << name;
          GemvKernelSpec back;
          ASSERT_TRUE(GemvKernelSpec::parseName(name, back)) << name;
          EXPECT_EQ(back.prefetch, pf);
          EXPECT_EQ(back.earlyPrefetch, epf);
          EXPECT_EQ(back.dependentLaunch, dl);
          EXPECT_EQ(back.name(), name);
        }
  GemvKernelSpec s = defaultSpec(true);
  s.earlyPrefetch = 17;
  EXPECT_NE(s.validate(), "");
  s.earlyPrefetch = 2;
  s.stages = 2;
  s.index64 = true;
  EXPECT_NE(s.validate().find("not stages"), std::string::npos);
  s.stages = 0;
  s.planes = true;
  EXPECT_NE(s.validate().find("not planes"), std::string::npos);
  // _epfN comes after _pfN, once, N without a leading zero.
  for (const char *bad :
       {"mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf0",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf03_i64",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf123_i64",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf2_pf2_i64",
        "mq_mma_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2_epf2_epf2_i64"}) {
    GemvKernelSpec t;
    EXPECT_FALSE(GemvKernelSpec::parseName(bad, t)) << bad;
  }
}

TEST(GpuKernelSpec, F32ResultsRoundTrip) {
  for (bool mma : {false, true})
    for (ActType act : {ActType::F16, ActType::BF16}) {
      GemvKernelSpec s = defaultSpec(mma);
      s.act = act;
      s.outF32 = true;
      if (!s.validate().empty())
        continue; // tensor cores take f16 only
      EXPECT_EQ(s.outType(), ActType::F32);
      std::string name = s.name();
      EXPECT_EQ(name.substr(name.size() - 4), "_y32") << name;
      GemvKernelSpec back;
      ASSERT_TRUE(GemvKernelSpec::parseName(name, back)) << name;
      EXPECT_TRUE(back.outF32);
      EXPECT_EQ(back.mma, mma);
      EXPECT_EQ(back.name(), name);
      s.outF32 = false;
      ASSERT_TRUE(GemvKernelSpec::parseName(s.name(), back));
      EXPECT_FALSE(back.outF32);
      EXPECT_EQ(back.outType(), act);
    }
  GemvKernelSpec f32;
  f32.act = ActType::F32;
  f32.outF32 = true;
  EXPECT_NE(f32.validate().find("f16 or bf16"), std::string::npos);
}

TEST(GpuKernelSpec, ValidateNamesTheProblem) {
  GemvKernelSpec s;
  s.bits = 9;
  EXPECT_NE(s.validate().find("1 <= r <= c <= 8"), std::string::npos);
  s.bits = 3;
  s.groupSize = 8;
  EXPECT_NE(s.validate().find("no GPU interleaved block"), std::string::npos);
  s.groupSize = 0;
  s.batchTile = 0;
  EXPECT_NE(s.validate().find("batch tile"), std::string::npos);
}

// The block: every piece of a block a whole number of words, the smallest
// piece filling 16 bytes (8 for 1-bit pieces), dividing the group.
TEST(GpuInterleavedBlock, MatchesItsDefinition) {
  EXPECT_EQ(gpuInterleavedBlock(8, 0), 16);
  EXPECT_EQ(gpuInterleavedBlock(4, 128), 32);
  EXPECT_EQ(gpuInterleavedBlock(2, 128), 64);
  EXPECT_EQ(gpuInterleavedBlock(3, 128), 64);
  EXPECT_EQ(gpuInterleavedBlock(3, 32), 32);
  EXPECT_EQ(gpuInterleavedBlock(3, 8), 0);
  EXPECT_EQ(gpuInterleavedBlock(1, 0), 64);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (int64_t g : {0, 8, 16, 24, 32, 48, 64, 96, 128, 256}) {
      int64_t e = gpuInterleavedBlock(bits, g);
      if (!e)
        continue;
      EXPECT_EQ(e % 8, 0);
      EXPECT_LE(e, 64);
      if (g) {
        EXPECT_EQ(g % e, 0);
      }
      for (unsigned w : numerics::interleavedPieces(bits))
        EXPECT_EQ((e * w / 8) % 4, 0) << bits << " " << g;
    }
}

TEST(GpuKernelSpec, MmaNamesAndValidation) {
  GemvKernelSpec s;
  s.mma = true;
  s.bits = 4;
  s.groupSize = 128;
  s.batchTile = 16;
  s.rowsPerWarp = 32;
  s.warpsPerBlock = 8;
  s.unroll = 2;
  ASSERT_EQ(s.validate(), "");
  EXPECT_EQ(s.name(), "mq_mma_c8_r4_cl_g128_f16_b16_rw32_wpb8_u2");
  GemvKernelSpec back;
  ASSERT_TRUE(GemvKernelSpec::parseName(s.name(), back));
  EXPECT_TRUE(back.mma);
  EXPECT_EQ(back.name(), s.name());
  // The warps share the block's rows; the packed weights are whole tiles.
  EXPECT_EQ(s.rowsPerBlock(), 32);
  EXPECT_EQ(s.gridSize(33), 2);
  EXPECT_EQ(s.kTile(), 64);
  EXPECT_EQ(s.weightBytes(33, 130), 3 * 3 * 16 * 64 * 4 / 8);
  // What the tensor-core kernels cannot do is named.
  GemvKernelSpec t = s;
  t.act = ActType::F32;
  EXPECT_NE(t.validate().find("f16 activations"), std::string::npos);
  t = s;
  t.batchTile = 4;
  EXPECT_NE(t.validate().find("batch tile of 1, 8 or 16"), std::string::npos);
  t.batchTile = 1; // the matvecs' kernel
  EXPECT_EQ(t.validate(), "");
  EXPECT_EQ(t.name(), "mq_mma_c8_r4_cl_g128_f16_b1_rw32_wpb8_u2");
  // Shared-memory stages: 8 warps x 2 stages x 2 tiles x 2 row tiles x 32
  // lanes x 16 bytes; the name round-trips with the index width after it.
  t.stages = 2;
  t.index64 = true;
  ASSERT_EQ(t.validate(), "");
  EXPECT_EQ(t.ringBytes(), 8 * 2 * 2 * 2 * 32 * 16);
  EXPECT_EQ(t.name(), "mq_mma_c8_r4_cl_g128_f16_b1_rw32_wpb8_u2_st2_i64");
  ASSERT_TRUE(GemvKernelSpec::parseName(t.name(), back));
  EXPECT_EQ(back.stages, 2u);
  EXPECT_TRUE(back.index64);
  EXPECT_EQ(back.name(), t.name());
  // Packed scales: a suffix after the stages, whole row tiles of scales.
  t.packedScales = true;
  ASSERT_EQ(t.validate(), "");
  EXPECT_EQ(t.name(), "mq_mma_c8_r4_cl_g128_f16_b1_rw32_wpb8_u2_st2_ps_i64");
  ASSERT_TRUE(GemvKernelSpec::parseName(t.name(), back));
  EXPECT_TRUE(back.packedScales);
  EXPECT_EQ(back.name(), t.name());
  EXPECT_EQ(t.scaleCount(33, 256), 48 * 2);
  std::vector<float> v(33 * 2);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(i + 1);
  std::vector<float> packed = t.packScales(v.data(), 33, 256);
  ASSERT_EQ(packed.size(), size_t(48 * 2));
  // Row tile 0, group 1, lane group 3: rows 3 and 11.
  EXPECT_EQ(packed[(1 * 8 + 3) * 2], v[3 * 2 + 1]);
  EXPECT_EQ(packed[(1 * 8 + 3) * 2 + 1], v[11 * 2 + 1]);
  t.packedScales = false;
  EXPECT_EQ(t.scaleCount(33, 256), 33 * 2);
  EXPECT_EQ(t.packScales(v.data(), 33, 256), v);
  GemvKernelSpec simt;
  simt.packedScales = true;
  EXPECT_NE(simt.validate().find("packed scales (_ps) are for tensor-core"),
            std::string::npos);
  t.stages = 1;
  EXPECT_NE(t.validate().find("stages must be 0"), std::string::npos);
  t.stages = 2;
  t.prefetch = 2;
  EXPECT_NE(t.validate().find("do not combine"), std::string::npos);
  t.prefetch = 0;
  t.stages = 3; // 49152 bytes
  EXPECT_NE(t.validate().find("takes 49152 bytes of shared memory"),
            std::string::npos);
  t = s;
  t.rowsPerWarp = 8;
  EXPECT_NE(t.validate().find("16, 32, 48 or 64 rows"), std::string::npos);
  t = s;
  t.bits = 8; // tiles of 32: a group of 128 is 4 tiles
  EXPECT_NE(t.validate().find("multiple of the 4 column tiles"),
            std::string::npos);
  t.unroll = 4;
  EXPECT_EQ(t.validate(), "");
  t.bits = 2;
  t.groupSize = 16; // 2-bit lane words need 32 columns
  EXPECT_NE(t.validate().find("no MMA column tile"), std::string::npos);
  EXPECT_FALSE(GemvKernelSpec::parseName(
      "mq_mma_c8_r4_cl_g128_f32_b8_rw16_wpb4_u2", back));
  EXPECT_FALSE(GemvKernelSpec::parseName(
      "mq_tc_c8_r4_cl_g128_f16_b8_rw16_wpb4_u2", back));
}

// Plane kernels: the stored c-bit model in 1-bit pieces, of which width r
// reads r (prefix-exact, r = c) or r + 1 planes.
TEST(GpuKernelSpec, PlaneKernels) {
  GemvKernelSpec s;
  s.mma = s.planes = true;
  s.bits = 3;
  s.mode = numerics::SliceMode::PrefixExact;
  s.groupSize = 128;
  s.batchTile = 8;
  s.rowsPerWarp = 16;
  s.unroll = 1;
  ASSERT_EQ(s.validate(), "");
  EXPECT_EQ(s.name(), "mq_pmma_c8_r3_pe_g128_f16_b8_rw16_wpb4_u1");
  GemvKernelSpec back;
  ASSERT_TRUE(GemvKernelSpec::parseName(s.name(), back));
  EXPECT_TRUE(back.mma && back.planes);
  EXPECT_EQ(s.planesRead(), 3u);
  EXPECT_EQ(s.kTile(), 128); // 1-bit pieces: 256, halved to the group
  // The buffer holds all 8 planes, whatever the width.
  EXPECT_EQ(s.weightBytes(16, 256), 16 * 256);
  s.mode = numerics::SliceMode::Clamped;
  EXPECT_EQ(s.planesRead(), 4u);
  s.bits = 8;
  EXPECT_EQ(s.planesRead(), 8u);
  s.mma = false;
  EXPECT_NE(s.validate().find("bit-plane kernels are tensor-core"),
            std::string::npos);
}

namespace {
GemvKernelSpec mmaVariant(unsigned batchTile, unsigned rowsPerWarp,
                          unsigned warps) {
  GemvKernelSpec s;
  s.mma = true;
  s.bits = 4;
  s.groupSize = 128;
  s.batchTile = batchTile;
  s.rowsPerWarp = rowsPerWarp;
  s.warpsPerBlock = warps;
  return s;
}
} // namespace

TEST(ChooseGemvVariant, BatchTileThenRowsPerBlock) {
  EXPECT_EQ(chooseGemvVariant({}, 4096, 1, 132), -1);
  std::vector<GemvKernelSpec> v = {mmaVariant(1, 16, 8), mmaVariant(8, 16, 8),
                                   mmaVariant(16, 16, 8)};
  // Batch tile: 1 for a matvec, else the largest tile not above nb, else
  // the smallest wider than 1.
  EXPECT_EQ(chooseGemvVariant(v, 8192, 1, 132), 0);
  EXPECT_EQ(chooseGemvVariant(v, 8192, 4, 132), 1);
  EXPECT_EQ(chooseGemvVariant(v, 8192, 9, 132), 1);
  EXPECT_EQ(chooseGemvVariant(v, 8192, 16, 132), 2);
  EXPECT_EQ(chooseGemvVariant(v, 8192, 40, 132), 2);
  // Without a wider tile, batch tile 1 serves every nb.
  EXPECT_EQ(chooseGemvVariant({mmaVariant(1, 16, 8)}, 8192, 4, 132), 0);

  // Rows per block below batch tile 16: the most that still give every SM
  // two blocks (8192 / 32 = 256 < 264, so 16 rows), else the fewest.
  std::vector<GemvKernelSpec> r = {mmaVariant(8, 32, 8), mmaVariant(8, 16, 8),
                                   mmaVariant(8, 64, 8)};
  EXPECT_EQ(chooseGemvVariant(r, 8192, 8, 132), 1);
  EXPECT_EQ(chooseGemvVariant(r, 14336, 8, 132), 0);
  EXPECT_EQ(chooseGemvVariant(r, 40000, 8, 132), 2);
  EXPECT_EQ(chooseGemvVariant(r, 1000, 8, 132), 1);

  // Batch tile 16: 32 rows per warp whenever the library has them.
  std::vector<GemvKernelSpec> w = {mmaVariant(16, 16, 8), mmaVariant(16, 64, 8),
                                   mmaVariant(16, 32, 8), mmaVariant(8, 32, 8)};
  for (int64_t n : {1000, 4096, 8192, 14336, 40000})
    EXPECT_EQ(chooseGemvVariant(w, n, 16, 132), 2) << n;
  EXPECT_EQ(chooseGemvVariant(w, 8192, 8, 132), 3);
  // Not for 3-bit indices (int3, extra-precision int2).
  std::vector<GemvKernelSpec> w3 = w;
  for (GemvKernelSpec &s : w3)
    s.bits = 3;
  EXPECT_EQ(chooseGemvVariant(w3, 8192, 16, 132), 0);
  EXPECT_EQ(chooseGemvVariant(w3, 40000, 16, 132), 1);
  w.erase(w.begin() + 2);
  EXPECT_EQ(chooseGemvVariant(w, 8192, 16, 132), 0);
  EXPECT_EQ(chooseGemvVariant(w, 40000, 16, 132), 1);

  // SIMT kernels: rows per block are warps times rows per warp.
  GemvKernelSpec a, b;
  a.rowsPerWarp = 1;
  b.rowsPerWarp = 4;
  EXPECT_EQ(chooseGemvVariant({a, b}, 8192, 1, 132), 1);
  EXPECT_EQ(chooseGemvVariant({a, b}, 2048, 1, 132), 0);
}

// The MMA column tile: 16 / smallest piece k-steps, halved to divide the
// group, valid for numerics::packMma.
TEST(GpuMmaKTile, MatchesItsDefinition) {
  EXPECT_EQ(gpuMmaKTile(8, 0), 32);
  EXPECT_EQ(gpuMmaKTile(4, 0), 64);
  EXPECT_EQ(gpuMmaKTile(2, 0), 128);
  EXPECT_EQ(gpuMmaKTile(3, 0), 256);
  EXPECT_EQ(gpuMmaKTile(3, 128), 128);
  EXPECT_EQ(gpuMmaKTile(3, 32), 0);
  EXPECT_EQ(gpuMmaKTile(4, 32), 32);
  EXPECT_EQ(gpuMmaKTile(8, 24), 0);
  for (unsigned bits = 1; bits <= 8; ++bits)
    for (int64_t g : {0, 16, 32, 48, 64, 128, 256}) {
      int64_t t = gpuMmaKTile(bits, g);
      if (!t)
        continue;
      EXPECT_TRUE(numerics::mmaTileValid(bits, t)) << bits << " " << g;
      if (g) {
        EXPECT_EQ(g % t, 0);
      }
    }
}

// f16: every one of the 65536 bit patterns converts to float and back
// exactly (NaN stays NaN); float -> f16 rounds to nearest even, checked
// against the neighbouring halves on random floats of every magnitude.
TEST(HalfFloat, ExhaustiveRoundTripAndNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = halfToFloat(uint16_t(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(f))));
      continue;
    }
    EXPECT_EQ(floatToHalf(f), uint16_t(h)) << h;
  }
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> expo(-26.0f, 17.0f);
  for (int i = 0; i < 200000; ++i) {
    float f = std::ldexp(1.0f + float(rng() % 1000000) / 1e6f,
                         int(expo(rng))) * ((rng() & 1) ? -1.0f : 1.0f);
    uint16_t h = floatToHalf(f);
    double v = halfToFloat(h);
    if (std::isinf(v)) {
      EXPECT_GE(std::fabs(f), 65520.0f);
      continue;
    }
    // No other half is closer.
    for (int d : {-1, 1}) {
      uint16_t n = uint16_t(h + d);
      if ((n & 0x7C00) == 0x7C00 || ((n ^ h) & 0x8000))
        continue;
      double w = halfToFloat(n);
      EXPECT_LE(std::fabs(v - f), std::fabs(w - f)) << f;
      if (std::fabs(v - f) == std::fabs(w - f)) {
        EXPECT_EQ(h & 1, 0) << "tie not to even at " << f;
      }
    }
  }
}

TEST(BFloat16, RoundTripAndNearestEven) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = bf16ToFloat(uint16_t(h));
    if (std::isnan(f))
      continue;
    EXPECT_EQ(floatToBF16(f), uint16_t(h));
  }
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0).
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + 0x1p-8f)), 1.0f);
  EXPECT_EQ(bf16ToFloat(floatToBF16(1.0f + 0x1p-8f + 0x1p-20f)),
            1.0f + 0x1p-7f);
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBF16(NAN))));
}

TEST(Ptx, EntryNames) {
  std::string ptx = ".version 7.8\n.target sm_90\n"
                    ".visible .entry mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2(\n"
                    "  .param .u64 a\n)\n{ ret; }\n"
                    ".visible .entry other (\n)\n{ ret; }\n";
  std::vector<std::string> names = ptxEntryNames(ptx);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2");
  EXPECT_EQ(names[1], "other");
}

// Without a driver (CI) the runtime fails cleanly, naming what is missing;
// with one it must find a device and its SM count.
TEST(CudaContext, CreateFailsCleanlyOrFindsADevice) {
  std::string error;
  std::unique_ptr<CudaContext> ctx = CudaContext::create(error);
  if (!ctx) {
    EXPECT_FALSE(error.empty());
    return;
  }
  EXPECT_TRUE(ctx->ok());
  EXPECT_GT(ctx->multiprocessorCount(), 0);
  // A bad launch is refused with a message naming the kernel and problem.
  GemvKernelSpec spec;
  GemvOperands o;
  EXPECT_FALSE(launchGemv(*ctx, nullptr, spec, o));
  EXPECT_NE(ctx->error().find("launchGemv(" + spec.name() + ")"),
            std::string::npos);
}

} // namespace
