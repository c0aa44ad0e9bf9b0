//===- GpuKernelSpec.cpp - What one generated GPU kernel computes ---------===//

#include "matquant/Runtime/GpuKernelSpec.h"

#include <cctype>
#include <cstdio>
#include <algorithm>
#include <cstring>

using namespace matquant;
using namespace matquant::gpurt;

const char *gpurt::actTypeName(ActType t) {
  switch (t) {
  case ActType::F32:
    return "f32";
  case ActType::F16:
    return "f16";
  case ActType::BF16:
    return "bf16";
  }
  return "?";
}

bool gpurt::parseActType(const std::string &s, ActType &t) {
  for (ActType c : {ActType::F32, ActType::F16, ActType::BF16})
    if (s == actTypeName(c)) {
      t = c;
      return true;
    }
  return false;
}

unsigned gpurt::actTypeBytes(ActType t) { return t == ActType::F32 ? 4 : 2; }

uint16_t gpurt::floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t man = x & 0x7FFFFFu;
  if (exp == 0xFF) // Inf or NaN
    return uint16_t(sign | 0x7C00u | (man ? 0x200u : 0u));
  int e = int(exp) - 127 + 15;
  if (e >= 31)
    return uint16_t(sign | 0x7C00u); // overflow to Inf
  if (e <= 0) {
    if (e < -10)
      return uint16_t(sign); // underflow to zero
    // Subnormal: shift the full mantissa (with the implicit bit).
    man |= 0x800000u;
    unsigned shift = unsigned(14 - e);
    uint32_t half = man >> shift;
    uint32_t rem = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (man >> 13);
  uint32_t rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1)))
    ++half; // may carry into the exponent, up to Inf: correct
  return uint16_t(sign | half);
}

float gpurt::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t man = h & 0x3FFu;
  uint32_t x;
  if (exp == 0x1F) {
    x = sign | 0x7F800000u | (man << 13);
  } else if (exp == 0) {
    if (man == 0) {
      x = sign;
    } else {
      // Normalize the subnormal.
      int e = -1;
      do {
        ++e;
        man <<= 1;
      } while (!(man & 0x400u));
      x = sign | (uint32_t(127 - 15 - e) << 23) | ((man & 0x3FFu) << 13);
    }
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t gpurt::floatToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7F800000u) == 0x7F800000u && (x & 0x7FFFFFu))
    return uint16_t((x >> 16) | 0x40u); // quiet NaN
  uint32_t rounding = 0x7FFFu + ((x >> 16) & 1u);
  return uint16_t((x + rounding) >> 16);
}

float gpurt::bf16ToFloat(uint16_t h) {
  uint32_t x = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

float gpurt::roundToAct(float f, ActType t) {
  switch (t) {
  case ActType::F32:
    return f;
  case ActType::F16:
    return halfToFloat(floatToHalf(f));
  case ActType::BF16:
    return bf16ToFloat(floatToBF16(f));
  }
  return f;
}

int64_t gpurt::gpuInterleavedBlock(unsigned indexBits, int64_t groupSize) {
  if (indexBits < 1 || indexBits > 8 || groupSize < 0)
    return 0;
  std::vector<unsigned> pieces = numerics::interleavedPieces(indexBits);
  unsigned minPiece = pieces.back();
  // At most 64 elements a block: a block's activations and decoded
  // indices must fit in registers (a 1-bit piece then takes 8 bytes).
  for (int64_t e = std::min<int64_t>(64, 128 / minPiece); e >= 8; e /= 2) {
    if (groupSize != 0 && groupSize % e != 0)
      continue;
    bool words = true;
    for (unsigned w : pieces)
      words &= (e * w / 8) % 4 == 0;
    if (words)
      return e;
  }
  return 0;
}

int64_t gpurt::gpuMmaKTile(unsigned indexBits, int64_t groupSize) {
  if (indexBits < 1 || indexBits > 8 || groupSize < 0)
    return 0;
  unsigned minPiece = numerics::interleavedPieces(indexBits).back();
  for (int64_t t = 16 * (16 / minPiece); t >= 16; t /= 2) {
    if (!numerics::mmaTileValid(indexBits, t))
      return 0;
    if (groupSize == 0 || groupSize % t == 0)
      return t;
  }
  return 0;
}

namespace {
const char *modeTag(numerics::SliceMode m) {
  switch (m) {
  case numerics::SliceMode::Clamped:
    return "cl";
  case numerics::SliceMode::ExtraPrecision:
    return "ep";
  case numerics::SliceMode::PrefixExact:
    return "pe";
  }
  return "?";
}
} // namespace

unsigned GemvKernelSpec::indexBits() const {
  return numerics::indexStorageBits(storageBits, bits, mode);
}

int64_t GemvKernelSpec::block() const {
  return gpuInterleavedBlock(indexBits(), groupSize);
}

int64_t GemvKernelSpec::kTile() const {
  return gpuMmaKTile(planes ? 1 : indexBits(), groupSize);
}

int64_t GemvKernelSpec::tilesPerGroup() const {
  return groupSize && kTile() ? groupSize / kTile() : 1;
}

void GemvKernelSpec::roundUnrollToGroups() {
  if (!mma || !groupSize || !kTile())
    return;
  unsigned perGroup = unsigned(tilesPerGroup());
  unroll = (std::max(unroll, perGroup) + perGroup - 1) / perGroup * perGroup;
}

unsigned GemvKernelSpec::planesRead() const {
  return mode == numerics::SliceMode::PrefixExact || bits == storageBits
             ? bits
             : bits + 1;
}

int64_t GemvKernelSpec::weightBytes(int64_t n, int64_t k) const {
  if (mma && planes)
    return kTile() ? numerics::mmaPackedBytes(n, k, storageBits, kTile()) : 0;
  if (mma)
    return kTile() ? numerics::mmaPackedBytes(n, k, indexBits(), kTile()) : 0;
  return block() ? n * numerics::interleavedRowBytes(k, indexBits(), block())
                 : 0;
}

std::vector<uint8_t> GemvKernelSpec::packWeights(const uint8_t *idx, int64_t n,
                                                 int64_t k) const {
  if (mma && planes)
    return numerics::packMmaPlanes(idx, n, k, storageBits, kTile());
  if (mma)
    return numerics::packMma(idx, n, k, indexBits(), kTile());
  return numerics::packInterleaved(idx, n, k, indexBits(), block());
}

bool gpurt::gpuMmaPackedScales(const std::string &order, unsigned indexBits) {
  return order == "packed" || (order == "auto" && indexBits < 8);
}

bool gpurt::isScaleOrder(const std::string &order) {
  return order == "auto" || order == "packed" || order == "plain";
}

int64_t GemvKernelSpec::groups(int64_t k) const {
  return groupSize ? k / groupSize : 1;
}

int64_t GemvKernelSpec::scaleCount(int64_t n, int64_t k) const {
  return (packedScales ? (n + 15) / 16 * 16 : n) * groups(k);
}

std::vector<float> GemvKernelSpec::packScales(const float *values, int64_t n,
                                              int64_t k) const {
  if (packedScales)
    return numerics::packMmaScales(values, n, groups(k));
  return std::vector<float>(values, values + n * groups(k));
}

std::string GemvKernelSpec::validate() const {
  char buf[160];
  if (storageBits < 1 || storageBits > 8 || bits < 1 || bits > storageBits) {
    std::snprintf(buf, sizeof buf, "widths must satisfy 1 <= r <= c <= 8, "
                  "got c = %u, r = %u", storageBits, bits);
    return buf;
  }
  if (groupSize < 0)
    return "group size must be 0 (per channel) or positive";
  if (planes && !mma)
    return "bit-plane kernels are tensor-core (mma) kernels";
  if (outF32 && act == ActType::F32)
    return "f32 results (_y32) are for f16 or bf16 activations";
  if (prefetch && !mma)
    return "L2 prefetch (_pf) is for tensor-core (mma) kernels";
  if (prefetch > 16)
    return "prefetch distance must be in 0..16";
  if (stages && !mma)
    return "shared-memory stages (_st) are for tensor-core (mma) kernels";
  if (stages == 1 || stages > 8)
    return "stages must be 0 (registers) or in 2..8";
  if (packedScales && !mma)
    return "packed scales (_ps) are for tensor-core (mma) kernels";
  if (stages && prefetch)
    return "shared-memory stages (_st) and L2 prefetch (_pf) do not combine";
  if (earlyPrefetch && (!mma || planes || stages))
    return "L2 prefetch before the wait (_epf) is for tensor-core (mma) "
           "kernels of packed weights in registers (not planes, not stages)";
  if (earlyPrefetch > 16)
    return "prefetch before the wait must be in 0..16 super-tiles";
  if (ringBytes() > 40 * 1024) {
    std::snprintf(buf, sizeof buf,
                  "the ring of %u stages takes %lld bytes of shared memory "
                  "(at most 40960)",
                  stages, static_cast<long long>(ringBytes()));
    return buf;
  }
  if (mma) {
    if (act != ActType::F16)
      return "MMA kernels take f16 activations";
    if (kTile() == 0) {
      std::snprintf(buf, sizeof buf,
                    "no MMA column tile divides group size %lld at %u index "
                    "bits",
                    static_cast<long long>(groupSize), indexBits());
      return buf;
    }
    if (batchTile != 1 && batchTile != 8 && batchTile != 16)
      return "MMA kernels take a batch tile of 1, 8 or 16";
    if (rowsPerWarp % 16 != 0 || rowsPerWarp < 16 || rowsPerWarp > 64)
      return "MMA kernels take 16, 32, 48 or 64 rows per warp";
    if (warpsPerBlock < 1 || warpsPerBlock > 16)
      return "warps per block must be in 1..16";
    int64_t perGroup = tilesPerGroup();
    if (unroll < 1 || unroll > 16 || unroll % perGroup != 0) {
      std::snprintf(buf, sizeof buf,
                    "unroll must be in 1..16 and a multiple of the %lld "
                    "column tiles of a group",
                    static_cast<long long>(perGroup));
      return buf;
    }
    return "";
  }
  if (block() == 0) {
    std::snprintf(buf, sizeof buf,
                  "no GPU interleaved block divides group size %lld at "
                  "%u index bits",
                  static_cast<long long>(groupSize), indexBits());
    return buf;
  }
  if (batchTile < 1 || batchTile > 64)
    return "batch tile must be in 1..64";
  if (rowsPerWarp < 1 || rowsPerWarp > 16)
    return "rows per warp must be in 1..16";
  if (warpsPerBlock < 1 || warpsPerBlock > 32)
    return "warps per block must be in 1..32";
  if (unroll < 1 || unroll > 16)
    return "unroll must be in 1..16";
  return "";
}

int64_t GemvKernelSpec::ringBytes() const {
  if (!stages || !mma || !kTile())
    return 0;
  // Per warp and stage: `unroll` tiles of each row tile, 32 lanes.
  unsigned read = planes ? planesRead() : indexBits();
  int64_t laneBytes = kTile() / 16 * read; // k-steps x bits read
  return int64_t(warpsPerBlock) * stages * unroll * (rowsPerWarp / 16) * 32 *
         laneBytes;
}

std::string GemvKernelSpec::name() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "mq_%s_c%u_r%u_%s_g%lld_%s_b%u_rw%u_wpb%u_u%u",
                planes ? "pmma" : mma ? "mma" : "gemv", storageBits, bits, modeTag(mode),
                static_cast<long long>(groupSize), actTypeName(act), batchTile,
                rowsPerWarp, warpsPerBlock, unroll);
  std::string result = buf;
  if (prefetch)
    result += "_pf" + std::to_string(prefetch);
  if (earlyPrefetch)
    result += "_epf" + std::to_string(earlyPrefetch);
  if (stages)
    result += "_st" + std::to_string(stages);
  if (packedScales)
    result += "_ps";
  if (index64)
    result += "_i64";
  if (outF32)
    result += "_y32";
  if (dependentLaunch)
    result += "_dl";
  return result;
}

bool GemvKernelSpec::parseName(const std::string &name, GemvKernelSpec &spec) {
  GemvKernelSpec s;
  char kind[8] = {0}, mode[8] = {0}, act[8] = {0};
  long long g = 0;
  int used = 0;
  if (std::sscanf(name.c_str(),
                  "mq_%4[a-z]_c%u_r%u_%2[a-z]_g%lld_%4[a-z0-9]_b%u_rw%u_wpb%u_u%u%n",
                  kind, &s.storageBits, &s.bits, mode, &g, act, &s.batchTile,
                  &s.rowsPerWarp, &s.warpsPerBlock, &s.unroll, &used) != 10)
    return false;
  std::string rest = name.substr(static_cast<size_t>(used));
  // A count of one or two digits after `tag`, no leading zero (name()
  // writes no other form); false on a malformed one.
  auto count = [&](const char *tag, unsigned &out) {
    size_t len = std::strlen(tag);
    if (rest.compare(0, len, tag) != 0)
      return true;
    size_t digits = len;
    while (digits < rest.size() && std::isdigit((unsigned char)rest[digits]))
      ++digits;
    if (digits == len || digits > len + 2 || rest[len] == '0')
      return false;
    out = unsigned(std::stoul(rest.substr(len, digits - len)));
    rest.erase(0, digits);
    return true;
  };
  if (!count("_pf", s.prefetch) || !count("_epf", s.earlyPrefetch))
    return false;
  if (rest.size() >= 4 && rest.compare(0, 3, "_st") == 0 &&
      std::isdigit((unsigned char)rest[3]) && rest[3] != '0') {
    s.stages = unsigned(rest[3] - '0');
    rest.erase(0, 4);
  }
  if (rest.compare(0, 3, "_ps") == 0) {
    s.packedScales = true;
    rest.erase(0, 3);
  }
  if (rest.compare(0, 4, "_i64") == 0) {
    s.index64 = true;
    rest.erase(0, 4);
  }
  if (rest.size() >= 3 && rest.compare(rest.size() - 3, 3, "_dl") == 0) {
    s.dependentLaunch = true;
    rest.resize(rest.size() - 3);
  }
  if (rest == "_y32")
    s.outF32 = true;
  else if (!rest.empty())
    return false;
  if (!std::strcmp(kind, "mma"))
    s.mma = true;
  else if (!std::strcmp(kind, "pmma"))
    s.mma = s.planes = true;
  else if (std::strcmp(kind, "gemv"))
    return false;
  if (!std::strcmp(mode, "cl"))
    s.mode = numerics::SliceMode::Clamped;
  else if (!std::strcmp(mode, "ep"))
    s.mode = numerics::SliceMode::ExtraPrecision;
  else if (!std::strcmp(mode, "pe"))
    s.mode = numerics::SliceMode::PrefixExact;
  else
    return false;
  if (!parseActType(act, s.act))
    return false;
  s.groupSize = g;
  if (!s.validate().empty())
    return false;
  spec = s;
  return true;
}

int gpurt::chooseGemvVariant(const std::vector<GemvKernelSpec> &variants,
                             int64_t n, int64_t nb, int multiprocessors) {
  if (variants.empty())
    return -1;
  bool mma = variants.front().mma;
  bool wider =
      std::any_of(variants.begin(), variants.end(),
                  [](const GemvKernelSpec &s) { return s.batchTile > 1; });
  auto eligible = [&](const GemvKernelSpec &s) {
    return !(mma && nb > 1 && wider && s.batchTile == 1);
  };
  unsigned tile = 0, smallest = ~0u;
  for (const GemvKernelSpec &s : variants) {
    if (!eligible(s))
      continue;
    smallest = std::min(smallest, s.batchTile);
    if (s.batchTile <= nb)
      tile = std::max(tile, s.batchTile);
  }
  if (!tile)
    tile = smallest;
  auto inTile = [&](const GemvKernelSpec &s) {
    return eligible(s) && s.batchTile == tile;
  };
  bool twoTiles = mma && tile == 16 && variants.front().indexBits() != 3 &&
                  std::any_of(variants.begin(), variants.end(),
                              [&](const GemvKernelSpec &s) {
                                return inTile(s) && s.rowsPerWarp == 32;
                              });
  int best = -1;
  for (int i = 0, e = int(variants.size()); i < e; ++i) {
    const GemvKernelSpec &s = variants[i];
    if (!inTile(s) || (twoTiles && s.rowsPerWarp != 32))
      continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const GemvKernelSpec &b = variants[best];
    bool fills = s.gridSize(n) >= 2 * int64_t(multiprocessors);
    bool bestFills = b.gridSize(n) >= 2 * int64_t(multiprocessors);
    if (fills && (!bestFills || s.rowsPerBlock() > b.rowsPerBlock()))
      best = i;
    else if (!fills && !bestFills && s.rowsPerBlock() < b.rowsPerBlock())
      best = i;
  }
  return best;
}
