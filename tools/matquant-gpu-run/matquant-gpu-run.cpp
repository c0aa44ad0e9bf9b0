//===- matquant-gpu-run.cpp - Decode with a model compiled for the GPU ----===//
//
// Runs a decode step that `matquant-run --gpu-out=DIR` compiled for an
// NVIDIA GPU (matquant-decode-to-gpu): PREFIX.so holds the host code and the
// PTX, PREFIX.arena the constants, PREFIX.manifest the C signature. This
// program has no MLIR and no CUDA headers: it needs the driver alone
// (libcuda, loaded with dlopen by matquant's runtime), and it provides the
// mgpu* functions that the host code calls (matquant/Runtime/Mgpu.h).
//
// It decodes greedily from a prompt, prints the tokens, optionally writes
// the trace "<argmax>, <logits>..." per step (llama-ref's format), and
// measures:
//   - eager tokens/s: each step enqueues its launches, then the logits are
//     copied back and the next token chosen on the host;
//   - the step replayed as a CUDA graph (captured once): device time per
//     step without the host's launch overhead;
//   - the limit: (arena + state bytes) per step over the device copy
//     bandwidth measured in the same run.
//
//===----------------------------------------------------------------------===//

#include "matquant/Runtime/GpuRuntime.h"
#include "matquant/Runtime/Mgpu.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>
#include <dlfcn.h>

using namespace matquant::gpurt;

namespace {

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "matquant-gpu-run: %s\n", msg.c_str());
  std::exit(1);
}

struct Arg {
  std::string kind; // token, position, state, logits, next, arena, workspace
  int index = -1;
  std::vector<int64_t> shape;
  int64_t bytes = 0;
};

/// A constant of the arena: bytes [offset, offset + bytes) of one type.
struct Region {
  int64_t offset = 0, bytes = 0;
  std::string type;
};

struct Manifest {
  std::string function;
  std::vector<Arg> args;
  std::vector<Region> regions;
  int states = 0;
  int64_t arenaReadBytes = -1; ///< -1: not given (the whole arena)
  /// Every kernel waits for its predecessors (griddepcontrol.wait): they
  /// may be launched with programmatic dependent launch.
  bool dependentLaunch = false;
};

Manifest readManifest(const std::string &path) {
  std::ifstream in(path);
  if (!in)
    die("cannot read " + path);
  Manifest m;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    std::istringstream ls(line);
    std::string key;
    if (!(ls >> key))
      continue;
    auto bad = [&] {
      die(path + ":" + std::to_string(lineNo) + ": malformed line '" + line +
          "'");
    };
    // Every line is read whole: anything after its fields is an error.
    auto end = [&] {
      std::string extra;
      if (ls >> extra)
        bad();
    };
    if (key == "function") {
      if (!m.function.empty() || !(ls >> m.function))
        bad();
      end();
      continue;
    }
    if (key == "dependent_launch") {
      end();
      m.dependentLaunch = true;
      continue;
    }
    if (key == "arena_read_bytes") {
      if (!(ls >> m.arenaReadBytes) || m.arenaReadBytes < 0)
        bad();
      end();
      continue;
    }
    if (key == "region") {
      Region r;
      if (!(ls >> r.offset >> r.bytes >> r.type) || r.offset < 0 ||
          r.bytes < 0)
        bad();
      end();
      m.regions.push_back(r);
      continue;
    }
    if (key != "arg")
      bad();
    Arg a;
    if (!(ls >> a.kind))
      bad();
    if (a.kind == "index") {
      if (!(ls >> a.kind) || (a.kind != "token" && a.kind != "position"))
        bad();
      end();
    } else if (a.kind == "arena" || a.kind == "workspace") {
      if (!(ls >> a.bytes) || a.bytes < 0)
        bad();
      end();
    } else if (a.kind == "state" || a.kind == "inout" || a.kind == "next" ||
               a.kind == "logits") {
      if (a.kind != "logits" && (!(ls >> a.index) || a.index < 0))
        bad();
      std::string elt;
      if (!(ls >> elt) || elt != "f32")
        bad();
      // The dimensions: positive integers to the end of the line.
      std::string word;
      int64_t n = 1;
      while (ls >> word) {
        char *stop = nullptr;
        long long d = std::strtoll(word.c_str(), &stop, 10);
        if (*stop || d < 1)
          bad();
        a.shape.push_back(d);
        n *= d;
      }
      a.bytes = n * 4;
      if (a.kind == "state" || a.kind == "inout")
        m.states = std::max(m.states, a.index + 1);
    } else {
      bad();
    }
    m.args.push_back(a);
  }
  if (m.function.empty() || m.args.size() < 3)
    die(path + ": no function or too few arguments");
  // Each state i is one state with one next state of the same shape, or
  // one inout (updated in place); and one logits.
  int logits = 0;
  std::vector<int> states(m.states, 0), nexts(m.states, 0),
      inouts(m.states, 0);
  for (const Arg &a : m.args) {
    if (a.kind == "logits")
      ++logits;
    else if (a.kind == "inout")
      ++inouts[a.index];
    else if (a.kind == "state")
      ++states[a.index];
    else if (a.kind == "next") {
      if (a.index >= m.states)
        die(path + ": next state " + std::to_string(a.index) +
            " has no state");
      ++nexts[a.index];
      for (const Arg &b : m.args)
        if (b.kind == "state" && b.index == a.index && b.shape != a.shape)
          die(path + ": next state " + std::to_string(a.index) +
              " is not shaped as its state");
    }
  }
  if (logits != 1)
    die(path + ": expected one logits argument");
  for (int i = 0; i < m.states; ++i)
    if (!(states[i] == 1 && nexts[i] == 1 && inouts[i] == 0) &&
        !(states[i] == 0 && nexts[i] == 0 && inouts[i] == 1))
      die(path + ": state " + std::to_string(i) +
          " needs exactly one state and one next argument, or one inout");
  return m;
}

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    die("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Deterministic stand-in contents for the arena's regions.
std::string randomArena(const Manifest &m, int64_t size, uint64_t seed) {
  std::string bytes(size_t(size), '\0');
  uint64_t state = seed;
  for (const Region &r : m.regions) {
    if (r.offset + r.bytes > size)
      die("arena region at " + std::to_string(r.offset) +
          " runs past the arena's " + std::to_string(size) + " bytes");
    char *p = bytes.data() + r.offset;
    if (r.type == "f32") {
      for (int64_t i = 0; i + 4 <= r.bytes; i += 4) {
        float v = float(int64_t(splitmix(state) >> 40) - (1 << 23)) /
                  float(1 << 23) * 0.05f;
        std::memcpy(p + i, &v, 4);
      }
    } else {
      for (int64_t i = 0; i < r.bytes; i += 8) {
        uint64_t v = splitmix(state);
        std::memcpy(p + i, &v, size_t(std::min<int64_t>(8, r.bytes - i)));
      }
    }
  }
  return bytes;
}

// Calls a C function of N 64-bit integer-class parameters (i64 indices and
// pointers to memref descriptors, as the x86-64 SysV ABI passes both).
template <size_t... I>
void callWith(void *fn, const uint64_t *a, std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, uint64_t())...);
  reinterpret_cast<Fn>(fn)(a[I]...);
}
template <size_t N> void callFixed(void *fn, const uint64_t *a) {
  callWith(fn, a, std::make_index_sequence<N>{});
}
constexpr size_t kMaxArgs = 24;
template <size_t... N>
constexpr auto makeCallTable(std::index_sequence<N...>) {
  return std::array<void (*)(void *, const uint64_t *), sizeof...(N)>{
      &callFixed<N>...};
}

struct Options {
  std::string prefix;
  int steps = 32;
  std::vector<int64_t> prompt = {1};
  std::string trace, json;
  int graphReplays = 50;
  bool randomArena = false;
  bool profile = false;
  uint64_t arenaSeed = 0;
  bool quiet = false;
  bool dependentLaunch = true;
  int device = 0;
};

Options parseArgs(int argc, char **argv) {
  Options o;
  auto value = [&](int &i) -> std::string {
    if (i + 1 >= argc)
      die(std::string(argv[i]) + " needs a value");
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--steps")
      o.steps = std::atoi(value(i).c_str());
    else if (a == "--prompt") {
      o.prompt.clear();
      std::stringstream ss(value(i));
      std::string t;
      while (std::getline(ss, t, ',')) {
        char *end = nullptr;
        long long v = std::strtoll(t.c_str(), &end, 10);
        if (t.empty() || *end)
          die("bad prompt token '" + t + "'");
        o.prompt.push_back(v);
      }
    } else if (a == "--trace")
      o.trace = value(i);
    else if (a == "--json")
      o.json = value(i);
    else if (a == "--graph-replays")
      o.graphReplays = std::atoi(value(i).c_str());
    else if (a == "--random-arena") {
      o.randomArena = true;
      o.arenaSeed = std::strtoull(value(i).c_str(), nullptr, 10);
    } else if (a == "--device")
      o.device = std::atoi(value(i).c_str());
    else if (a == "--profile")
      o.profile = true;
    else if (a == "--quiet")
      o.quiet = true;
    else if (a == "--no-dependent-launch")
      o.dependentLaunch = false;
    else if (a == "--help" || a == "-h") {
      std::printf(
          "usage: matquant-gpu-run PREFIX [--steps N] [--prompt IDS] "
          "[--trace FILE] [--json FILE] [--graph-replays N] [--device N] "
          "[--random-arena SEED] [--profile] [--no-dependent-launch] "
          "[--quiet]\n"
          "  --no-dependent-launch: launch every kernel after the previous "
          "one has finished, even where the manifest says its kernels wait "
          "for their predecessors (dependent_launch: by default they are "
          "launched with programmatic dependent launch, each starting "
          "while the previous one ends)\n"
          "  --profile: after the decode, time every kernel of one more "
          "step (each launch made 20 times back to back between two "
          "events: the time per launch, the events' overhead spread over "
          "the repeats) and print the slowest\n"
          "  --random-arena: fill the arena's regions with deterministic "
          "random values (f32 in [-0.05, 0.05], other types random bytes) "
          "instead of reading PREFIX.arena: a model whose weights did not "
          "travel, for speed runs only\n  PREFIX: the path prefix of PREFIX.so, .arena and "
          ".manifest written by matquant-run --gpu-out\n");
      std::exit(0);
    } else if (!a.empty() && a[0] == '-')
      die("unknown option " + a);
    else if (o.prefix.empty())
      o.prefix = a;
    else
      die("more than one model: " + a);
  }
  if (o.prefix.empty())
    die("no model given (see --help)");
  if (o.steps < 1 || o.prompt.empty())
    die("--steps must be positive and the prompt non-empty");
  return o;
}

} // namespace

int main(int argc, char **argv) {
  Options opt = parseArgs(argc, argv);
  Manifest man = readManifest(opt.prefix + ".manifest");
  if (man.args.size() > kMaxArgs)
    die("the function takes more than " + std::to_string(kMaxArgs) +
        " arguments");

  std::string error;
  std::unique_ptr<CudaContext> ctx = CudaContext::create(error, opt.device);
  if (!ctx)
    die(error);
  auto check = [&](bool ok, const char *what) {
    if (!ok || !ctx->ok())
      die(std::string(what) + ": " + ctx->error());
  };
  StreamHandle stream = nullptr;
  check(ctx->createStream(stream), "stream");
  bindMgpuRuntime(ctx.get(), stream);
  bool dependent = man.dependentLaunch && opt.dependentLaunch &&
                   ctx->canLaunchDependent();
  setMgpuDependentLaunch(dependent);
  if (!opt.quiet || man.dependentLaunch)
    std::printf("dependent launch: %s\n", dependent ? "on" : "off");
  // The library's constructors load its kernel modules (mgpuModuleLoadJIT).
  // dlopen searches the library path for a name without a slash.
  std::string soPath = opt.prefix + ".so";
  if (soPath.find('/') == std::string::npos)
    soPath = "./" + soPath;
  void *lib = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    die("cannot load " + soPath + ": " + dlerror());
  check(true, "loading the kernels");
  std::string symbol = "_mlir_ciface_" + man.function;
  void *fn = dlsym(lib, symbol.c_str());
  if (!fn)
    die(soPath + " has no " + symbol);

  // Buffers.
  int64_t vocab = 0, stateBytes = 0, arenaBytes = 0;
  std::vector<DevicePtr> cur(man.states), nxt(man.states);
  std::vector<int64_t> stateSize(man.states, 0);
  DevicePtr arena = 0, workspace = 0, logits = 0;
  for (const Arg &a : man.args) {
    if (a.kind == "state" || a.kind == "inout") {
      check(ctx->alloc(a.bytes, cur[a.index]), "alloc");
      check(ctx->fill(cur[a.index], 0, a.bytes), "fill");
      // A state not updated in place alternates with its next state.
      if (a.kind == "state") {
        check(ctx->alloc(a.bytes, nxt[a.index]), "alloc");
        check(ctx->fill(nxt[a.index], 0, a.bytes), "fill");
      } else {
        nxt[a.index] = cur[a.index];
      }
      stateSize[a.index] = a.bytes;
      stateBytes += a.bytes;
    } else if (a.kind == "logits") {
      vocab = a.bytes / 4;
      check(ctx->alloc(a.bytes, logits), "alloc");
    } else if (a.kind == "arena") {
      std::string bytes = opt.randomArena ? randomArena(man, a.bytes,
                                                        opt.arenaSeed)
                                          : readFile(opt.prefix + ".arena");
      if (int64_t(bytes.size()) != a.bytes)
        die(opt.prefix + ".arena has " + std::to_string(bytes.size()) +
            " bytes, the manifest says " + std::to_string(a.bytes));
      arenaBytes = a.bytes;
      check(ctx->alloc(a.bytes, arena), "alloc");
      check(ctx->copyToDevice(arena, bytes.data(), bytes.size()), "upload");
    } else if (a.kind == "workspace") {
      check(ctx->alloc(a.bytes, workspace), "alloc");
    }
  }
  if (vocab == 0)
    die("the manifest has no logits");
  // The fills and the upload ran outside `stream`.
  check(ctx->synchronize(), "setup");

  // Memref descriptors: {allocated, aligned, offset, sizes..., strides...}.
  auto descriptor = [](DevicePtr p, const std::vector<int64_t> &shape) {
    std::vector<int64_t> d = {int64_t(p), int64_t(p), 0};
    d.insert(d.end(), shape.begin(), shape.end());
    int64_t stride = 1;
    std::vector<int64_t> strides(shape.size());
    for (size_t i = shape.size(); i-- > 0;) {
      strides[i] = stride;
      stride *= shape[i];
    }
    d.insert(d.end(), strides.begin(), strides.end());
    return d;
  };
  static constexpr auto callTable =
      makeCallTable(std::make_index_sequence<kMaxArgs + 1>{});
  auto step = [&](int64_t token, int64_t pos) {
    std::vector<std::vector<int64_t>> descs;
    descs.reserve(man.args.size());
    std::vector<uint64_t> args;
    for (const Arg &a : man.args) {
      if (a.kind == "token" || a.kind == "position") {
        args.push_back(uint64_t(a.kind == "token" ? token : pos));
        continue;
      }
      if (a.kind == "state" || a.kind == "inout")
        descs.push_back(descriptor(cur[a.index], a.shape));
      else if (a.kind == "next")
        descs.push_back(descriptor(nxt[a.index], a.shape));
      else if (a.kind == "logits")
        descs.push_back(descriptor(logits, a.shape));
      else if (a.kind == "arena")
        descs.push_back(descriptor(arena, {a.bytes}));
      else
        descs.push_back(descriptor(workspace, {a.bytes}));
      args.push_back(uint64_t(reinterpret_cast<uintptr_t>(descs.back().data())));
    }
    callTable[args.size()](fn, args.data());
    std::swap(cur, nxt);
  };

  // Greedy decoding.
  std::vector<int64_t> tokens = opt.prompt;
  std::vector<float> host(vocab);
  std::string trace;
  int64_t total = int64_t(opt.prompt.size()) + opt.steps - 1;
  uint64_t launches = 0;
  double decodeSecs = 0;
  int timed = 0;
  for (int64_t pos = 0; pos < total; ++pos) {
    auto t0 = std::chrono::steady_clock::now();
    step(tokens[pos], pos);
    // The step's launches are on `stream`; the copy is not.
    check(ctx->synchronizeStream(stream), "step");
    check(ctx->copyToHost(host.data(), logits, vocab * 4), "logits");
    if (pos + 1 >= int64_t(opt.prompt.size())) {
      int64_t best =
          std::max_element(host.begin(), host.end()) - host.begin();
      tokens.push_back(best);
      if (!opt.trace.empty()) {
        char buf[32];
        trace += std::to_string(best);
        for (float l : host) {
          std::snprintf(buf, sizeof buf, ", %.7g", l);
          trace += buf;
        }
        trace += "\n";
      }
    }
    double s = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
    uint64_t n = takeMgpuLaunchCount();
    if (pos == 0)
      launches = n;
    if (pos >= 2) { // the first steps warm up
      decodeSecs += s;
      ++timed;
    }
    if (!opt.quiet)
      std::fprintf(stderr, "\rstep %lld/%lld  %.1f tokens/s",
                   (long long)pos + 1, (long long)total,
                   timed ? timed / decodeSecs : 1 / s);
  }
  if (!opt.quiet)
    std::fprintf(stderr, "\n");
  std::printf("sequence:");
  for (int64_t t : tokens)
    std::printf(" %lld", (long long)t);
  std::printf("\n");
  if (!opt.trace.empty()) {
    std::ofstream out(opt.trace);
    out << trace;
    if (!out)
      die("cannot write " + opt.trace);
  }

  if (opt.profile) {
    setMgpuProfiling(true, 20);
    step(tokens.back(), total - 1);
    setMgpuProfiling(false);
    std::vector<KernelTime> prof = takeMgpuProfile();
    check(ctx->synchronizeStream(stream), "profile");
    double sum = 0;
    for (const KernelTime &k : prof)
      sum += k.ms;
    std::printf("profile of one step: %.1f us in kernels\n", 1000 * sum);
    for (size_t i = 0; i < prof.size() && i < 16; ++i)
      std::printf("  %8.1f us %5llu x  %s\n", 1000 * prof[i].ms,
                  (unsigned long long)prof[i].launches, prof[i].name.c_str());
    takeMgpuLaunchCount();
  }

  // The step as a CUDA graph, replayed (same token and position: the
  // step's work does not depend on them).
  double graphUs = 0;
  if (opt.graphReplays > 0) {
    GraphHandle graph = nullptr;
    check(ctx->beginCapture(stream), "capture");
    step(tokens.back(), total - 1);
    check(ctx->endCapture(stream, graph), "capture");
    takeMgpuLaunchCount();
    EventHandle e0, e1;
    check(ctx->createEvent(e0) && ctx->createEvent(e1), "events");
    for (int i = 0; i < 3; ++i)
      check(ctx->launchGraph(graph, stream), "graph");
    check(ctx->recordOn(e0, stream), "record");
    for (int i = 0; i < opt.graphReplays; ++i)
      check(ctx->launchGraph(graph, stream), "graph");
    check(ctx->recordOn(e1, stream), "record");
    float ms = 0;
    check(ctx->elapsedMs(e0, e1, ms), "timing");
    graphUs = 1000.0 * ms / opt.graphReplays;
    ctx->destroyGraph(graph);
    ctx->destroyEvent(e0);
    ctx->destroyEvent(e1);
  }

  // Copy bandwidth (reads + writes) on 2 x 256 MiB.
  double copyGBs = 0;
  {
    size_t bytes = size_t(256) << 20;
    DevicePtr a = 0, b = 0;
    check(ctx->alloc(bytes, a) && ctx->alloc(bytes, b), "alloc");
    check(ctx->fill(a, 1, bytes), "fill");
    EventHandle e0, e1;
    check(ctx->createEvent(e0) && ctx->createEvent(e1), "events");
    check(ctx->copyOnDeviceAsync(b, a, bytes, stream), "copy");
    check(ctx->recordOn(e0, stream), "record");
    const int reps = 20;
    for (int i = 0; i < reps; ++i)
      check(ctx->copyOnDeviceAsync(i % 2 ? a : b, i % 2 ? b : a, bytes,
                                   stream),
            "copy");
    check(ctx->recordOn(e1, stream), "record");
    float ms = 0;
    check(ctx->elapsedMs(e0, e1, ms), "timing");
    copyGBs = 2.0 * bytes * reps / (ms * 1e-3) / 1e9;
    ctx->destroyEvent(e0);
    ctx->destroyEvent(e1);
    ctx->free(a);
    ctx->free(b);
  }
  // Bytes a step must read: the arena (weights; of the token embedding
  // table one row, as the compiler counted it) and the state (KV cache).
  int64_t arenaRead =
      man.arenaReadBytes >= 0 ? std::min(man.arenaReadBytes, arenaBytes)
                              : arenaBytes;
  double stepBytes = double(arenaRead + stateBytes);
  double limitTokS = copyGBs * 1e9 / stepBytes;
  double eagerTokS = timed ? timed / decodeSecs : 0;
  double graphTokS = graphUs > 0 ? 1e6 / graphUs : 0;
  std::printf("device: %s\n", ctx->deviceName().c_str());
  std::printf("launches per step: %llu\n", (unsigned long long)launches);
  std::printf("arena %.3f MB (%.3f MB read per step), state %.3f MB, copy "
              "bandwidth %.1f GB/s\n",
              arenaBytes / 1e6, arenaRead / 1e6, stateBytes / 1e6, copyGBs);
  std::printf("eager decode: %.1f tokens/s\n", eagerTokS);
  if (graphUs > 0)
    std::printf("graph replay: %.1f us/step = %.1f tokens/s (%.1f%% of the "
                "limit %.1f tokens/s)\n",
                graphUs, graphTokS, 100 * graphTokS / limitTokS, limitTokS);
  if (!opt.json.empty()) {
    std::ofstream out(opt.json);
    out << "{\"model\": \"" << opt.prefix << "\", \"device\": \""
        << ctx->deviceName() << "\", \"launches_per_step\": " << launches
        << ", \"arena_bytes\": " << arenaBytes
        << ", \"arena_read_bytes\": " << arenaRead
        << ", \"state_bytes\": " << stateBytes
        << ", \"copy_bandwidth_gbps\": " << copyGBs
        << ", \"eager_tokens_per_s\": " << eagerTokS
        << ", \"graph_step_us\": " << graphUs
        << ", \"graph_tokens_per_s\": " << graphTokS
        << ", \"limit_tokens_per_s\": " << limitTokS << "}\n";
  }
  bindMgpuRuntime(nullptr, nullptr);
  return 0;
}
