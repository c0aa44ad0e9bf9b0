//===- Activations.cpp - Calibration activation files ---------------------===//
//
// Reader and writer of the per-layer activation files of Activations.h.
//
//===----------------------------------------------------------------------===//

#include "matquant/Numerics/Activations.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <type_traits>

namespace matquant::numerics {

namespace {

constexpr char kMagic[8] = {'M', 'Q', 'A', 'C', 'T', 'S', '\0', '\1'};

/// A bounds-checked little-endian cursor over the file bytes.
struct Reader {
  const char *data;
  size_t size, pos = 0;

  bool read(void *dst, size_t n) {
    if (n > size - pos)
      return false;
    std::memcpy(dst, data + pos, n);
    pos += n;
    return true;
  }
  template <typename T> bool read(T &v) {
    static_assert(sizeof(T) == 4 || sizeof(T) == 8);
    using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
    unsigned char b[sizeof(T)];
    if (!read(b, sizeof(T)))
      return false;
    U u = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
      u |= U(b[i]) << (8 * i);
    std::memcpy(&v, &u, sizeof(T));
    return true;
  }
};

template <typename T> void put(std::string &out, T v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t> u;
  std::memcpy(&u, &v, sizeof(T));
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

} // namespace

const LayerActivations *ActivationSet::find(const std::string &name) const {
  for (const LayerActivations &l : layers)
    if (l.layer == name)
      return &l;
  return nullptr;
}

std::string parseActivations(const char *data, size_t size,
                             ActivationSet &out) {
  out.layers.clear();
  Reader r{data, size};
  char magic[8];
  if (!r.read(magic, 8) || std::memcmp(magic, kMagic, 6) != 0)
    return "not a matquant activation file (bad magic)";
  if (magic[6] != 0 || magic[7] != 1)
    return "unsupported activation file version " +
           std::to_string(static_cast<unsigned char>(magic[7]));
  uint32_t count = 0;
  if (!r.read(count))
    return "truncated: no layer count";
  std::set<std::string> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string where = "layer " + std::to_string(i) + " of " +
                        std::to_string(count);
    uint32_t n = 0;
    if (!r.read(n))
      return "truncated at " + where + " (name length)";
    if (n == 0)
      return where + " has an empty name";
    if (n > r.size - r.pos)
      return "truncated at " + where + " (name of " + std::to_string(n) +
             " bytes)";
    std::string name(n, '\0');
    if (!r.read(name.data(), n))
      return "truncated at " + where + " (name)";
    where += " ('" + name + "')";
    if (!seen.insert(name).second)
      return where + ": the name appears twice";
    int64_t samples = 0, k = 0;
    if (!r.read(samples) || !r.read(k))
      return "truncated at " + where + " (shape)";
    if (samples < 0 || k < 0)
      return where + ": negative shape " + std::to_string(samples) + "x" +
             std::to_string(k);
    uint64_t remaining = (r.size - r.pos) / sizeof(float);
    if (k != 0 && uint64_t(samples) > remaining / uint64_t(k))
      return "truncated at " + where + ": " + std::to_string(samples) + "x" +
             std::to_string(k) + " values announced, " +
             std::to_string(remaining) + " left in the file";
    LayerActivations l;
    l.layer = std::move(name);
    l.samples = samples;
    l.k = k;
    l.data.resize(static_cast<size_t>(samples * k));
    for (float &f : l.data)
      if (!r.read(f))
        return "truncated at " + where + " (values)";
    out.layers.push_back(std::move(l));
  }
  if (r.pos != r.size)
    return std::to_string(r.size - r.pos) +
           " trailing bytes after the last layer";
  return "";
}

std::string readActivations(const std::string &path, ActivationSet &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return path + ": cannot open: " + std::strerror(errno);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  if (in.bad())
    return path + ": read error";
  std::string err = parseActivations(bytes.data(), bytes.size(), out);
  return err.empty() ? err : path + ": " + err;
}

std::string writeActivations(const std::string &path,
                             const ActivationSet &set) {
  std::string bytes(kMagic, 8);
  if (set.layers.size() > std::numeric_limits<uint32_t>::max())
    return "too many layers";
  put<uint32_t>(bytes, static_cast<uint32_t>(set.layers.size()));
  for (const LayerActivations &l : set.layers) {
    if (l.data.size() != size_t(l.samples * l.k))
      return "layer '" + l.layer + "': " + std::to_string(l.data.size()) +
             " values for a " + std::to_string(l.samples) + "x" +
             std::to_string(l.k) + " shape";
    put<uint32_t>(bytes, static_cast<uint32_t>(l.layer.size()));
    bytes += l.layer;
    put<int64_t>(bytes, l.samples);
    put<int64_t>(bytes, l.k);
    for (float f : l.data)
      put<float>(bytes, f);
  }
  std::ofstream os(path, std::ios::binary | std::ios::trunc);
  if (!os)
    return path + ": cannot open for writing: " + std::strerror(errno);
  os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!os)
    return path + ": write error";
  return "";
}

int64_t firstNonFinite(const LayerActivations &a) {
  for (size_t i = 0; i < a.data.size(); ++i)
    if (!std::isfinite(a.data[i]))
      return static_cast<int64_t>(i);
  return -1;
}

} // namespace matquant::numerics
