//===- Mgpu.cpp - The mgpu* functions on matquant's CUDA runtime ----------===//

#include "matquant/Runtime/Mgpu.h"

#include <algorithm>
#include <cstdio>
#include <map>

using namespace matquant::gpurt;

namespace {
CudaContext *boundContext = nullptr;
StreamHandle boundStream = nullptr;
uint64_t launches = 0;
bool profiling = false;
unsigned profileRepeats = 1;
bool dependentLaunch = false;
std::map<void *, std::string> kernelNames;
struct Timed {
  void *kernel;
  EventHandle start, stop;
  unsigned repeats;
};
std::vector<Timed> timed;

CudaContext *context(const char *caller) {
  if (!boundContext)
    std::fprintf(stderr,
                 "matquant runtime: %s called with no CUDA context bound "
                 "(bindMgpuRuntime)\n",
                 caller);
  return boundContext;
}
} // namespace

void matquant::gpurt::bindMgpuRuntime(CudaContext *ctx, StreamHandle stream) {
  boundContext = ctx;
  boundStream = stream;
}

void matquant::gpurt::setMgpuDependentLaunch(bool on) {
  dependentLaunch = on;
}

void matquant::gpurt::setMgpuProfiling(bool on, unsigned repeats) {
  profiling = on;
  profileRepeats = std::max(1u, repeats);
}

std::vector<KernelTime> matquant::gpurt::takeMgpuProfile() {
  std::map<std::string, KernelTime> byName;
  for (const Timed &t : timed) {
    float ms = 0;
    if (boundContext && boundContext->elapsedMs(t.start, t.stop, ms)) {
      KernelTime &k = byName[kernelNames[t.kernel]];
      k.name = kernelNames[t.kernel];
      ++k.launches;
      k.ms += ms / t.repeats;
    }
    if (boundContext) {
      boundContext->destroyEvent(t.start);
      boundContext->destroyEvent(t.stop);
    }
  }
  timed.clear();
  std::vector<KernelTime> out;
  for (auto &[name, k] : byName)
    out.push_back(k);
  std::sort(out.begin(), out.end(),
            [](const KernelTime &a, const KernelTime &b) { return a.ms > b.ms; });
  return out;
}

uint64_t matquant::gpurt::takeMgpuLaunchCount() {
  uint64_t n = launches;
  launches = 0;
  return n;
}

extern "C" void *mgpuModuleLoad(void *data, size_t) {
  CudaContext *ctx = context("mgpuModuleLoad");
  return ctx ? ctx->loadModuleHandle(data) : nullptr;
}

extern "C" void *mgpuModuleLoadJIT(void *data, int) {
  CudaContext *ctx = context("mgpuModuleLoadJIT");
  return ctx ? ctx->loadModuleHandle(data) : nullptr;
}

// Modules live as long as the context, which unloads them.
extern "C" void mgpuModuleUnload(void *) {}

// Host code asks for the kernel at every launch, with the same name
// string: the answer is kept per (module, name pointer).
extern "C" void *mgpuModuleGetFunction(void *module, const char *name) {
  static std::map<std::pair<void *, const char *>, KernelHandle> cache;
  auto it = cache.find({module, name});
  if (it != cache.end())
    return it->second;
  CudaContext *ctx = context("mgpuModuleGetFunction");
  KernelHandle kernel = nullptr;
  if (ctx && ctx->getFunction(module, name, kernel)) {
    kernelNames[kernel] = name;
    cache[{module, name}] = kernel;
  }
  return kernel;
}

extern "C" void mgpuLaunchKernel(void *function, intptr_t gridX,
                                 intptr_t gridY, intptr_t gridZ,
                                 intptr_t blockX, intptr_t blockY,
                                 intptr_t blockZ, int32_t sharedBytes,
                                 void *stream, void **params, void **,
                                 size_t) {
  CudaContext *ctx = context("mgpuLaunchKernel");
  if (!ctx || !ctx->ok())
    return;
  if (!function) {
    ctx->fail("mgpuLaunchKernel: no kernel (module load failed?)");
    return;
  }
  unsigned grid[3] = {unsigned(gridX), unsigned(gridY), unsigned(gridZ)};
  unsigned block[3] = {unsigned(blockX), unsigned(blockY), unsigned(blockZ)};
  ++launches;
  Timed t{function, nullptr, nullptr, 1};
  if (profiling && ctx->createEvent(t.start) && ctx->createEvent(t.stop)) {
    ctx->recordOn(t.start, stream);
    t.repeats = profileRepeats;
  }
  for (unsigned r = 0; r < t.repeats; ++r)
    ctx->launch3(function, grid, block, unsigned(sharedBytes), stream,
                 params, dependentLaunch);
  if (t.stop) {
    ctx->recordOn(t.stop, stream);
    timed.push_back(t);
  }
}

extern "C" void *mgpuStreamCreate() { return boundStream; }
extern "C" void mgpuStreamDestroy(void *) {}
extern "C" void mgpuStreamSynchronize(void *) {}
