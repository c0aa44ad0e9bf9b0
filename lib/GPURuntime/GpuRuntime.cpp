//===- GpuRuntime.cpp - matquant's CUDA driver runtime --------------------===//
//
// The driver API is declared here with the types of its ABI (CUresult is an
// int, handles are opaque pointers, CUdeviceptr is an unsigned long long),
// so no CUDA header is needed to build.
//
//===----------------------------------------------------------------------===//

#include "matquant/Runtime/GpuRuntime.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <dlfcn.h>

using namespace matquant::gpurt;

namespace matquant::gpurt {
struct DriverApi {
  int (*cuInit)(unsigned);
  int (*cuDriverGetVersion)(int *);
  int (*cuDeviceGetCount)(int *);
  int (*cuDeviceGet)(int *, int);
  int (*cuDeviceGetName)(char *, int, int);
  int (*cuDeviceGetAttribute)(int *, int, int);
  int (*cuDevicePrimaryCtxRetain)(void **, int);
  int (*cuDevicePrimaryCtxRelease)(int);
  int (*cuCtxSetCurrent)(void *);
  int (*cuCtxSynchronize)();
  int (*cuModuleLoadDataEx)(void **, const void *, unsigned, int *, void **);
  int (*cuModuleUnload)(void *);
  int (*cuModuleGetFunction)(void **, void *, const char *);
  int (*cuFuncGetAttribute)(int *, int, void *);
  int (*cuMemAlloc)(DevicePtr *, size_t);
  int (*cuMemFree)(DevicePtr);
  int (*cuMemcpyHtoD)(DevicePtr, const void *, size_t);
  int (*cuMemcpyDtoH)(void *, DevicePtr, size_t);
  int (*cuMemcpyDtoD)(DevicePtr, DevicePtr, size_t);
  int (*cuMemsetD8)(DevicePtr, unsigned char, size_t);
  int (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned,
                        unsigned, unsigned, unsigned, void *, void **,
                        void **);
  int (*cuEventCreate)(void **, unsigned);
  int (*cuEventRecord)(void *, void *);
  int (*cuEventSynchronize)(void *);
  int (*cuEventElapsedTime)(float *, void *, void *);
  int (*cuEventDestroy)(void *);
  int (*cuGetErrorName)(int, const char **);
  int (*cuStreamCreate)(void **, unsigned);
  int (*cuStreamDestroy)(void *);
  int (*cuStreamSynchronize)(void *);
  int (*cuStreamBeginCapture)(void *, int);
  int (*cuStreamEndCapture)(void *, void **);
  int (*cuGraphInstantiateWithFlags)(void **, void *, unsigned long long);
  int (*cuGraphLaunch)(void *, void *);
  int (*cuGraphExecDestroy)(void *);
  int (*cuGraphDestroy)(void *);
  int (*cuMemcpyDtoDAsync)(DevicePtr, DevicePtr, size_t, void *);
  /// Optional (CUDA 12): null where the driver lacks it.
  int (*cuLaunchKernelEx)(const void *, void *, void **, void **) = nullptr;
};

/// CUlaunchConfig and CUlaunchAttribute of cuda.h (CUDA 12), whose layout
/// the driver ABI fixes; only the programmatic-serialization attribute is
/// used.
struct LaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    int programmaticStreamSerializationAllowed;
  } value;
};
struct LaunchConfig {
  unsigned grid[3], block[3], sharedBytes;
  void *stream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};
constexpr int kProgrammaticStreamSerialization = 6;
} // namespace matquant::gpurt

namespace {
// Driver enum values used here (cuda.h).
constexpr int kAttrMultiprocessorCount = 16;
constexpr int kAttrCcMajor = 75;
constexpr int kAttrCcMinor = 76;
constexpr int kFuncAttrNumRegs = 4;
constexpr int kFuncAttrLocalSizeBytes = 3;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSize = 6;
} // namespace

std::unique_ptr<CudaContext> CudaContext::create(std::string &error,
                                                 int ordinal) {
  std::unique_ptr<CudaContext> ctx(new CudaContext());
  ctx->library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!ctx->library)
    ctx->library = dlopen("libcuda.so", RTLD_NOW | RTLD_LOCAL);
  if (!ctx->library) {
    const char *why = dlerror();
    error = std::string("dlopen(libcuda.so.1) failed: ") +
            (why ? why : "unknown error") + " (no CUDA driver on this machine)";
    return nullptr;
  }
  ctx->api = std::make_unique<DriverApi>();
  DriverApi &a = *ctx->api;
  bool missing = false;
  auto sym = [&](auto &fn, const char *name, const char *fallback = nullptr) {
    void *p = dlsym(ctx->library, name);
    if (!p && fallback)
      p = dlsym(ctx->library, fallback);
    if (!p) {
      if (!missing)
        error = std::string("libcuda has no symbol ") + name;
      missing = true;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  sym(a.cuInit, "cuInit");
  sym(a.cuDriverGetVersion, "cuDriverGetVersion");
  sym(a.cuDeviceGetCount, "cuDeviceGetCount");
  sym(a.cuDeviceGet, "cuDeviceGet");
  sym(a.cuDeviceGetName, "cuDeviceGetName");
  sym(a.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  sym(a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  sym(a.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2",
      "cuDevicePrimaryCtxRelease");
  sym(a.cuCtxSetCurrent, "cuCtxSetCurrent");
  sym(a.cuCtxSynchronize, "cuCtxSynchronize");
  sym(a.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  sym(a.cuModuleUnload, "cuModuleUnload");
  sym(a.cuModuleGetFunction, "cuModuleGetFunction");
  sym(a.cuFuncGetAttribute, "cuFuncGetAttribute");
  sym(a.cuMemAlloc, "cuMemAlloc_v2");
  sym(a.cuMemFree, "cuMemFree_v2");
  sym(a.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  sym(a.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  sym(a.cuMemcpyDtoD, "cuMemcpyDtoD_v2");
  sym(a.cuMemsetD8, "cuMemsetD8_v2");
  sym(a.cuLaunchKernel, "cuLaunchKernel");
  a.cuLaunchKernelEx = reinterpret_cast<decltype(a.cuLaunchKernelEx)>(
      dlsym(ctx->library, "cuLaunchKernelEx"));
  sym(a.cuEventCreate, "cuEventCreate");
  sym(a.cuEventRecord, "cuEventRecord");
  sym(a.cuEventSynchronize, "cuEventSynchronize");
  sym(a.cuEventElapsedTime, "cuEventElapsedTime_v2", "cuEventElapsedTime");
  sym(a.cuEventDestroy, "cuEventDestroy_v2", "cuEventDestroy");
  sym(a.cuGetErrorName, "cuGetErrorName");
  sym(a.cuStreamCreate, "cuStreamCreate");
  sym(a.cuStreamDestroy, "cuStreamDestroy_v2", "cuStreamDestroy");
  sym(a.cuStreamSynchronize, "cuStreamSynchronize");
  sym(a.cuStreamBeginCapture, "cuStreamBeginCapture_v2",
      "cuStreamBeginCapture");
  sym(a.cuStreamEndCapture, "cuStreamEndCapture");
  sym(a.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
  sym(a.cuGraphLaunch, "cuGraphLaunch");
  sym(a.cuGraphExecDestroy, "cuGraphExecDestroy");
  sym(a.cuGraphDestroy, "cuGraphDestroy");
  sym(a.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2", "cuMemcpyDtoDAsync");
  if (missing)
    return nullptr;
  int count = 0;
  char devName[256] = {0};
  if (!ctx->check(a.cuInit(0), "cuInit") ||
      !ctx->check(a.cuDeviceGetCount(&count), "cuDeviceGetCount")) {
    error = ctx->err;
    return nullptr;
  }
  if (ordinal < 0 || ordinal >= count) {
    error = "no CUDA device " + std::to_string(ordinal) + " (the driver sees " +
            std::to_string(count) + ")";
    return nullptr;
  }
  if (!ctx->check(a.cuDeviceGet(&ctx->device, ordinal), "cuDeviceGet") ||
      !ctx->check(a.cuDeviceGetName(devName, sizeof devName - 1, ctx->device),
                  "cuDeviceGetName") ||
      !ctx->check(a.cuDeviceGetAttribute(&ctx->sms, kAttrMultiprocessorCount,
                                         ctx->device),
                  "cuDeviceGetAttribute(MULTIPROCESSOR_COUNT)") ||
      !ctx->check(a.cuDeviceGetAttribute(&ctx->ccMajor, kAttrCcMajor,
                                         ctx->device),
                  "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)") ||
      !ctx->check(a.cuDeviceGetAttribute(&ctx->ccMinor, kAttrCcMinor,
                                         ctx->device),
                  "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)") ||
      !ctx->check(a.cuDevicePrimaryCtxRetain(&ctx->context, ctx->device),
                  "cuDevicePrimaryCtxRetain") ||
      !ctx->check(a.cuCtxSetCurrent(ctx->context), "cuCtxSetCurrent")) {
    error = ctx->err;
    return nullptr;
  }
  ctx->name = devName;
  return ctx;
}

CudaContext::~CudaContext() {
  if (!api)
    return;
  if (context) {
    for (void *m : modules)
      api->cuModuleUnload(m);
    api->cuDevicePrimaryCtxRelease(device);
  }
  // libcuda stays loaded: the driver does not support being unloaded.
}

void CudaContext::fail(const std::string &message) {
  if (err.empty())
    err = message;
}

bool CudaContext::check(int result, const char *call) {
  if (!err.empty())
    return false;
  if (result == 0)
    return true;
  const char *errName = nullptr;
  if (!api || !api->cuGetErrorName ||
      api->cuGetErrorName(result, &errName) != 0 || !errName)
    errName = "unknown CUresult";
  err = std::string(call) + " failed: " + errName + " (" +
        std::to_string(result) + ")";
  return false;
}

bool CudaContext::alloc(size_t bytes, DevicePtr &ptr) {
  ptr = 0;
  return check(api->cuMemAlloc(&ptr, bytes ? bytes : 1),
               ("cuMemAlloc(" + std::to_string(bytes) + " bytes)").c_str());
}
bool CudaContext::free(DevicePtr ptr) {
  return !ptr || check(api->cuMemFree(ptr), "cuMemFree");
}
bool CudaContext::copyToDevice(DevicePtr dst, const void *src, size_t bytes) {
  return !bytes || check(api->cuMemcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}
bool CudaContext::copyToHost(void *dst, DevicePtr src, size_t bytes) {
  return !bytes || check(api->cuMemcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}
bool CudaContext::copyOnDevice(DevicePtr dst, DevicePtr src, size_t bytes) {
  return !bytes || check(api->cuMemcpyDtoD(dst, src, bytes), "cuMemcpyDtoD");
}
bool CudaContext::fill(DevicePtr dst, uint8_t value, size_t bytes) {
  return !bytes || check(api->cuMemsetD8(dst, value, bytes), "cuMemsetD8");
}
bool CudaContext::synchronize() {
  return check(api->cuCtxSynchronize(), "cuCtxSynchronize");
}

bool CudaContext::loadModule(const std::string &ptx) {
  return loadModuleHandle(ptx.c_str()) != nullptr;
}

void *CudaContext::loadModuleHandle(const void *image) {
  if (!err.empty())
    return nullptr;
  char log[8192] = {0};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
  void *values[] = {log, reinterpret_cast<void *>(sizeof log - 1)};
  void *module = nullptr;
  int r = api->cuModuleLoadDataEx(&module, image, 2, options, values);
  if (!check(r, "cuModuleLoadDataEx")) {
    if (log[0])
      err += ": " + std::string(log);
    return nullptr;
  }
  modules.push_back(module);
  return module;
}

bool CudaContext::getFunction(void *module, const char *name,
                              KernelHandle &kernel) {
  kernel = nullptr;
  if (!err.empty())
    return false;
  if (!module) {
    fail(std::string("cuModuleGetFunction(") + name + "): no module");
    return false;
  }
  return check(api->cuModuleGetFunction(&kernel, module, name),
               ("cuModuleGetFunction(" + std::string(name) + ")").c_str());
}

bool CudaContext::launch3(KernelHandle kernel, const unsigned grid[3],
                          const unsigned block[3], unsigned sharedBytes,
                          StreamHandle stream, void **params,
                          bool dependent) {
  if (!err.empty())
    return false;
  if (!dependent)
    return check(api->cuLaunchKernel(kernel, grid[0], grid[1], grid[2],
                                     block[0], block[1], block[2],
                                     sharedBytes, stream, params, nullptr),
                 "cuLaunchKernel");
  if (!api->cuLaunchKernelEx) {
    fail("cuLaunchKernelEx: not in this driver (programmatic dependent "
         "launch needs CUDA 12)");
    return false;
  }
  LaunchAttribute attr = {};
  attr.id = kProgrammaticStreamSerialization;
  attr.value.programmaticStreamSerializationAllowed = 1;
  LaunchConfig config = {{grid[0], grid[1], grid[2]},
                         {block[0], block[1], block[2]},
                         sharedBytes,
                         stream,
                         &attr,
                         1};
  return check(api->cuLaunchKernelEx(&config, kernel, params, nullptr),
               "cuLaunchKernelEx");
}

bool CudaContext::canLaunchDependent() const {
  return api && api->cuLaunchKernelEx;
}

bool CudaContext::createStream(StreamHandle &stream) {
  stream = nullptr;
  // CU_STREAM_NON_BLOCKING: capturable, no implicit sync with stream 0.
  return check(api->cuStreamCreate(&stream, 1), "cuStreamCreate");
}
bool CudaContext::destroyStream(StreamHandle stream) {
  return check(api->cuStreamDestroy(stream), "cuStreamDestroy");
}
bool CudaContext::synchronizeStream(StreamHandle stream) {
  return check(api->cuStreamSynchronize(stream), "cuStreamSynchronize");
}
bool CudaContext::copyOnDeviceAsync(DevicePtr dst, DevicePtr src,
                                    size_t bytes, StreamHandle stream) {
  return !bytes || check(api->cuMemcpyDtoDAsync(dst, src, bytes, stream),
                         "cuMemcpyDtoDAsync");
}
bool CudaContext::beginCapture(StreamHandle stream) {
  // CU_STREAM_CAPTURE_MODE_THREAD_LOCAL.
  return check(api->cuStreamBeginCapture(stream, 1), "cuStreamBeginCapture");
}
bool CudaContext::endCapture(StreamHandle stream, GraphHandle &exec) {
  void *graph = nullptr;
  exec = nullptr;
  if (!check(api->cuStreamEndCapture(stream, &graph), "cuStreamEndCapture"))
    return false;
  bool ok = check(api->cuGraphInstantiateWithFlags(&exec, graph, 0),
                  "cuGraphInstantiateWithFlags");
  api->cuGraphDestroy(graph);
  return ok;
}
bool CudaContext::launchGraph(GraphHandle exec, StreamHandle stream) {
  return check(api->cuGraphLaunch(exec, stream), "cuGraphLaunch");
}
bool CudaContext::destroyGraph(GraphHandle exec) {
  return !exec || check(api->cuGraphExecDestroy(exec), "cuGraphExecDestroy");
}
bool CudaContext::recordOn(EventHandle event, StreamHandle stream) {
  return check(api->cuEventRecord(event, stream), "cuEventRecord");
}

bool CudaContext::getKernel(const std::string &kernelName,
                            KernelHandle &kernel) {
  kernel = nullptr;
  for (void *m : modules)
    if (api->cuModuleGetFunction(&kernel, m, kernelName.c_str()) == 0)
      return true;
  fail("cuModuleGetFunction(" + kernelName +
       ") failed: no loaded module has this kernel");
  return false;
}

bool CudaContext::kernelResources(KernelHandle kernel, int &registers,
                                  int &localBytes) {
  return check(api->cuFuncGetAttribute(&registers, kFuncAttrNumRegs, kernel),
               "cuFuncGetAttribute(NUM_REGS)") &&
         check(api->cuFuncGetAttribute(&localBytes, kFuncAttrLocalSizeBytes,
                                       kernel),
               "cuFuncGetAttribute(LOCAL_SIZE_BYTES)");
}

bool CudaContext::launch(KernelHandle kernel, unsigned grid, unsigned block,
                         void **params) {
  const unsigned grid3[3] = {grid, 1, 1}, block3[3] = {block, 1, 1};
  return launch3(kernel, grid3, block3, 0, nullptr, params);
}

bool CudaContext::createEvent(EventHandle &event) {
  return check(api->cuEventCreate(&event, 0), "cuEventCreate");
}
bool CudaContext::record(EventHandle event) {
  return check(api->cuEventRecord(event, nullptr), "cuEventRecord");
}
bool CudaContext::elapsedMs(EventHandle start, EventHandle end, float &ms) {
  return check(api->cuEventSynchronize(end), "cuEventSynchronize") &&
         check(api->cuEventElapsedTime(&ms, start, end), "cuEventElapsedTime");
}
bool CudaContext::destroyEvent(EventHandle event) {
  return check(api->cuEventDestroy(event), "cuEventDestroy");
}

//===----------------------------------------------------------------------===//
// Launching generated kernels
//===----------------------------------------------------------------------===//

namespace {
/// A 1-D memref descriptor as the kernel takes it, index of type I.
template <typename I> struct Descriptor {
  DevicePtr allocated, aligned;
  I offset, size, stride;
};

/// Launches `kernel` on the operands, index (descriptor fields, n, k, nb,
/// ldx) of type I.
template <typename I>
bool launchWithIndex(CudaContext &ctx, KernelHandle kernel,
                     const GemvKernelSpec &spec, const GemvOperands &o) {
  Descriptor<I> w{o.weights, o.weights, 0, I(o.weightBytes), 1};
  Descriptor<I> s{o.scales, o.scales, 0, I(o.scaleCount), 1};
  Descriptor<I> m{o.offsets, o.offsets, 0, I(o.scaleCount), 1};
  Descriptor<I> x{o.x, o.x, 0, I(o.xCount), 1};
  Descriptor<I> y{o.y, o.y, 0, I(o.yCount), 1};
  I n = I(o.n), k = I(o.k), nb = I(o.nb), ldx = I(o.ldx);
  std::vector<void *> params;
  for (Descriptor<I> *d : {&w, &s, &m, &x, &y}) {
    params.push_back(&d->allocated);
    params.push_back(&d->aligned);
    params.push_back(&d->offset);
    params.push_back(&d->size);
    params.push_back(&d->stride);
  }
  for (I *v : {&n, &k, &nb, &ldx})
    params.push_back(v);
  return ctx.launch(kernel, unsigned(spec.gridSize(o.n)),
                    spec.threadsPerBlock(), params.data());
}
} // namespace

bool matquant::gpurt::launchGemv(CudaContext &ctx, KernelHandle kernel,
                               const GemvKernelSpec &spec,
                               const GemvOperands &o) {
  if (!ctx.ok())
    return false;
  std::string bad, invalid = spec.validate();
  if (o.n < 1 || o.k < 1 || o.nb < 1)
    bad = "n, k and nb must be positive";
  else if (o.ldx < o.k || o.ldx % 8 != 0)
    bad = "ldx must be a multiple of 8 and at least k";
  else if (spec.groupSize && o.k % spec.groupSize != 0)
    bad = "k must be a multiple of the group size";
  else if (!invalid.empty())
    bad = invalid;
  else if (o.weightBytes < size_t(spec.weightBytes(o.n, o.k)))
    bad = "weight buffer smaller than the packed n x k weights";
  else if (o.scaleCount < size_t(spec.scaleCount(o.n, o.k)))
    bad = spec.packedScales
              ? "scale / offset buffers smaller than ceil(n / 16) * 16 * "
                "groups (packed scales)"
              : "scale / offset buffers smaller than n * groups";
  else if (o.xCount < size_t(o.nb * o.ldx) || o.yCount < size_t(o.nb * o.n))
    bad = "activation or result buffer too small";
  else if (!spec.index64 && (o.weightBytes > INT32_MAX ||
                             o.xCount > INT32_MAX || o.yCount > INT32_MAX))
    bad = "buffers above 2^31 elements need a 64-bit index kernel";
  if (!bad.empty()) {
    ctx.fail("launchGemv(" + spec.name() + "): " + bad);
    return false;
  }
  return spec.index64 ? launchWithIndex<int64_t>(ctx, kernel, spec, o)
                      : launchWithIndex<int32_t>(ctx, kernel, spec, o);
}

std::vector<std::string> matquant::gpurt::ptxEntryNames(const std::string &ptx) {
  std::vector<std::string> names;
  const std::string key = ".entry ";
  for (size_t at = ptx.find(key); at != std::string::npos;
       at = ptx.find(key, at + 1)) {
    size_t start = at + key.size();
    size_t end = ptx.find('(', start);
    if (end == std::string::npos)
      break;
    std::string name = ptx.substr(start, end - start);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      name.pop_back();
    names.push_back(name);
  }
  return names;
}

bool KernelLibrary::load(CudaContext &ctx, const std::string &ptx) {
  if (!ctx.loadModule(ptx))
    return false;
  for (const std::string &entry : ptxEntryNames(ptx)) {
    GemvKernelSpec spec;
    if (!GemvKernelSpec::parseName(entry, spec))
      continue;
    KernelHandle handle;
    if (!ctx.getKernel(entry, handle))
      return false;
    kernels[entry] = {spec, handle};
  }
  return true;
}

bool KernelLibrary::loadFiles(CudaContext &ctx,
                              const std::string &commaSeparated,
                              std::string &error) {
  std::stringstream list(commaSeparated);
  std::string file;
  while (std::getline(list, file, ',')) {
    if (file.empty())
      continue;
    std::ifstream in(file);
    if (!in) {
      error = "cannot read " + file;
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (!load(ctx, text.str())) {
      error = file + ": " + ctx.error();
      return false;
    }
  }
  return true;
}

std::vector<GemvKernelSpec>
KernelLibrary::variants(const GemvKernelSpec &want) const {
  std::vector<GemvKernelSpec> out;
  for (const auto &[name, entry] : kernels) {
    const GemvKernelSpec &s = entry.first;
    if (s.storageBits == want.storageBits && s.bits == want.bits &&
        s.mode == want.mode && s.groupSize == want.groupSize &&
        s.act == want.act && s.mma == want.mma && s.planes == want.planes)
      out.push_back(s);
  }
  return out;
}

bool KernelLibrary::choose(const GemvKernelSpec &want, int64_t n, int64_t nb,
                           int multiprocessors, GemvKernelSpec &chosen,
                           KernelHandle &kernel) const {
  std::vector<GemvKernelSpec> any = variants(want);
  int i = chooseGemvVariant(any, n, nb, multiprocessors);
  if (i < 0)
    return false;
  chosen = any[i];
  kernel = kernels.at(chosen.name()).second;
  return true;
}

std::vector<GemvKernelSpec> KernelLibrary::specs() const {
  std::vector<GemvKernelSpec> out;
  for (const auto &[name, entry] : kernels)
    out.push_back(entry.first);
  return out;
}
