//===- ActivationsTest.cpp - Activation file reader and writer ------------===//

#include "matquant/Numerics/Activations.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

using namespace matquant::numerics;

namespace {

std::string tempPath(const char *name) {
  return std::string(::testing::TempDir()) + name;
}

ActivationSet sample() {
  ActivationSet s;
  s.layers.push_back({"layers.0.attention.wq", 2, 3, {1, -2, 3.5f, 0, 1e-30f, -7}});
  s.layers.push_back({"output", 1, 2, {0.25f, 8}});
  return s;
}

TEST(Activations, RoundTrip) {
  std::string path = tempPath("roundtrip.mqact");
  ASSERT_EQ(writeActivations(path, sample()), "");
  ActivationSet back;
  ASSERT_EQ(readActivations(path, back), "");
  ASSERT_EQ(back.layers.size(), 2u);
  ActivationSet ref = sample();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.layers[i].layer, ref.layers[i].layer);
    EXPECT_EQ(back.layers[i].samples, ref.layers[i].samples);
    EXPECT_EQ(back.layers[i].k, ref.layers[i].k);
    EXPECT_EQ(0, std::memcmp(back.layers[i].data.data(),
                             ref.layers[i].data.data(),
                             ref.layers[i].data.size() * sizeof(float)));
  }
  EXPECT_EQ(back.find("output"), &back.layers[1]);
  EXPECT_EQ(back.find("missing"), nullptr);
}

TEST(Activations, ByteLayout) {
  std::string path = tempPath("layout.mqact");
  ActivationSet s;
  s.layers.push_back({"ab", 1, 1, {1.0f}});
  ASSERT_EQ(writeActivations(path, s), "");
  FILE *f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  unsigned char b[64];
  size_t n = std::fread(b, 1, sizeof(b), f);
  std::fclose(f);
  const unsigned char expect[] = {'M', 'Q', 'A', 'C', 'T', 'S', 0, 1, // magic
                                  1, 0, 0, 0,                         // count
                                  2, 0, 0, 0, 'a', 'b',               // name
                                  1, 0, 0, 0, 0, 0, 0, 0,             // rows
                                  1, 0, 0, 0, 0, 0, 0, 0,             // K
                                  0, 0, 0x80, 0x3f};                  // 1.0f
  ASSERT_EQ(n, sizeof(expect));
  EXPECT_EQ(0, std::memcmp(b, expect, sizeof(expect)));
}

TEST(Activations, Malformed) {
  std::string path = tempPath("bad.mqact");
  ASSERT_EQ(writeActivations(path, sample()), "");
  FILE *f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::string bytes(4096, '\0');
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  std::fclose(f);
  ActivationSet out;
  // Every proper prefix is rejected, never read past.
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_NE(parseActivations(bytes.data(), n, out), "") << n;
  EXPECT_EQ(parseActivations(bytes.data(), bytes.size(), out), "");
  std::string trailing = bytes + "x";
  EXPECT_EQ(parseActivations(trailing.data(), trailing.size(), out),
            "1 trailing bytes after the last layer");
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_EQ(parseActivations(magic.data(), magic.size(), out),
            "not a matquant activation file (bad magic)");
  std::string version = bytes;
  version[7] = 3;
  EXPECT_EQ(parseActivations(version.data(), version.size(), out),
            "unsupported activation file version 3");
  // A shape whose size overflows is a truncation, not an allocation.
  std::string huge = bytes;
  int64_t big = std::numeric_limits<int64_t>::max() / 2;
  std::memcpy(&huge[12 + 4 + 21], &big, 8);
  EXPECT_NE(parseActivations(huge.data(), huge.size(), out).find("truncated"),
            std::string::npos);
  // A huge name length is a truncation, not a 4 GB allocation.
  std::string longName = bytes;
  uint32_t huge32 = 0xffffffffu;
  std::memcpy(&longName[12], &huge32, 4);
  EXPECT_EQ(parseActivations(longName.data(), longName.size(), out),
            "truncated at layer 0 of 2 (name of 4294967295 bytes)");
  EXPECT_EQ(readActivations(tempPath("does-not-exist"), out).find("cannot open"),
            tempPath("does-not-exist").size() + 2);
}

TEST(Activations, NonFinite) {
  LayerActivations a{"x", 2, 2, {1, 2, 3, 4}};
  EXPECT_EQ(firstNonFinite(a), -1);
  a.data[2] = std::nanf("");
  EXPECT_EQ(firstNonFinite(a), 2);
  a.data[1] = INFINITY;
  EXPECT_EQ(firstNonFinite(a), 1);
}

} // namespace
