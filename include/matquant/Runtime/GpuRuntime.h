//===- GpuRuntime.h - matquant's CUDA driver runtime -------------*- C++ -*-===//
//
// A small runtime over the CUDA driver API, loaded at run time with dlopen,
// so that everything builds and links on machines without CUDA or a GPU
// (CI); only a program that creates a CudaContext needs the driver.
// Every driver call is checked; the first failure is kept as a message
// that names the failing call and the driver's error name, and every later
// call returns false.
//
// It also launches the kernels of GpuKernelSpec.h (launchGemv): the host
// side of matquant's generated weight-only GPU kernels.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_GPURUNTIME_H
#define MATQUANT_RUNTIME_GPURUNTIME_H

#include "matquant/Runtime/GpuKernelSpec.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace matquant::gpurt {

using DevicePtr = unsigned long long;
using KernelHandle = void *;
using EventHandle = void *;
using StreamHandle = void *;
using GraphHandle = void *;

struct DriverApi; // the dlsym'ed entry points

class CudaContext {
public:
  /// Loads libcuda (dlopen), initializes the driver and makes device
  /// `ordinal`'s primary context current. Returns null and sets `error`
  /// (naming the failing step) when any of that fails.
  static std::unique_ptr<CudaContext> create(std::string &error,
                                             int ordinal = 0);
  ~CudaContext();

  /// Empty while every call succeeded; else the first failure.
  const std::string &error() const { return err; }
  bool ok() const { return err.empty(); }

  std::string deviceName() const { return name; }
  int multiprocessorCount() const { return sms; }
  int computeCapabilityMajor() const { return ccMajor; }
  int computeCapabilityMinor() const { return ccMinor; }

  bool alloc(size_t bytes, DevicePtr &ptr);
  bool free(DevicePtr ptr);
  bool copyToDevice(DevicePtr dst, const void *src, size_t bytes);
  bool copyToHost(void *dst, DevicePtr src, size_t bytes);
  bool copyOnDevice(DevicePtr dst, DevicePtr src, size_t bytes);
  bool fill(DevicePtr dst, uint8_t value, size_t bytes);
  bool synchronize();

  /// Loads PTX (JIT-compiled by the driver; its error log goes into the
  /// error message) and keeps the module for the context's lifetime.
  bool loadModule(const std::string &ptx);
  /// The kernel `name` of a loaded module.
  bool getKernel(const std::string &name, KernelHandle &kernel);
  /// Registers and spilled bytes of a kernel (cuFuncGetAttribute).
  bool kernelResources(KernelHandle kernel, int &registers, int &localBytes);
  bool launch(KernelHandle kernel, unsigned grid, unsigned block,
              void **params);

  /// Loads a module image (PTX, cubin or fatbin, as cuModuleLoadDataEx
  /// takes it) and returns its handle (null on failure); the context
  /// unloads it when destroyed.
  void *loadModuleHandle(const void *image);
  /// The kernel `name` of the module `module`.
  bool getFunction(void *module, const char *name, KernelHandle &kernel);
  /// cuLaunchKernel with a 3-D grid and block on `stream`. With
  /// `dependent`, cuLaunchKernelEx with programmatic stream serialization
  /// allowed: the kernel may start before the previous one on `stream` has
  /// finished, once that one's blocks have all executed
  /// `griddepcontrol.launch_dependents` (or exited); the kernel itself must
  /// execute `griddepcontrol.wait` before it touches memory the previous
  /// kernels write or read.
  bool launch3(KernelHandle kernel, const unsigned grid[3],
               const unsigned block[3], unsigned sharedBytes,
               StreamHandle stream, void **params, bool dependent = false);
  /// Whether the driver has cuLaunchKernelEx (programmatic dependent
  /// launch, CUDA 12).
  bool canLaunchDependent() const;

  /// A non-blocking stream (capturable into a CUDA graph).
  bool createStream(StreamHandle &stream);
  bool destroyStream(StreamHandle stream);
  bool synchronizeStream(StreamHandle stream);
  bool copyOnDeviceAsync(DevicePtr dst, DevicePtr src, size_t bytes,
                         StreamHandle stream);
  /// Stream capture into a CUDA graph: the work enqueued on `stream`
  /// between the two calls becomes one executable graph.
  bool beginCapture(StreamHandle stream);
  bool endCapture(StreamHandle stream, GraphHandle &exec);
  bool launchGraph(GraphHandle exec, StreamHandle stream);
  bool destroyGraph(GraphHandle exec);

  bool createEvent(EventHandle &event);
  /// Records `event` on `stream`.
  bool recordOn(EventHandle event, StreamHandle stream);
  bool record(EventHandle event);
  /// Milliseconds between two recorded events (synchronizes on `end`).
  bool elapsedMs(EventHandle start, EventHandle end, float &ms);
  bool destroyEvent(EventHandle event);

  /// Sets the error (used by callers that detect a failure themselves).
  void fail(const std::string &message);

private:
  CudaContext() = default;
  bool check(int result, const char *call);

  std::unique_ptr<DriverApi> api;
  void *library = nullptr;
  int device = 0;
  void *context = nullptr;
  std::vector<void *> modules;
  std::string err, name;
  int sms = 0, ccMajor = 0, ccMinor = 0;
};

/// Device buffers of one weight-only product (layout of GpuKernelSpec.h).
struct GemvOperands {
  DevicePtr weights = 0, scales = 0, offsets = 0, x = 0, y = 0;
  size_t weightBytes = 0, scaleCount = 0, xCount = 0, yCount = 0;
  int64_t n = 0, k = 0, nb = 1, ldx = 0;
};

/// Launches `kernel` (compiled from `spec`) on `ops`. Checks the shapes
/// against the spec (nb <= batchTile, ldx % 8 == 0, buffer sizes) and
/// reports a mismatch through ctx.fail.
bool launchGemv(CudaContext &ctx, KernelHandle kernel,
                const GemvKernelSpec &spec, const GemvOperands &ops);

/// The kernels of a loaded kernel library, by spec.
class KernelLibrary {
public:
  /// Loads `ptx` into `ctx` and indexes every entry whose name parses as a
  /// GemvKernelSpec. May be called for several PTX files.
  bool load(CudaContext &ctx, const std::string &ptx);
  /// Reads and loads every PTX file of a comma-separated list; on failure
  /// `error` names the file and what went wrong.
  bool loadFiles(CudaContext &ctx, const std::string &commaSeparated,
                 std::string &error);
  /// The compiled kernels with the same widths, mode, group and
  /// activation type as `want` (batch tile, rows per warp, warps and
  /// unroll may vary).
  std::vector<GemvKernelSpec> variants(const GemvKernelSpec &want) const;
  /// The kernel and launch shape for an N x K problem with nb batch rows
  /// on this device, by chooseGemvVariant over variants(want).
  bool choose(const GemvKernelSpec &want, int64_t n, int64_t nb,
              int multiprocessors, GemvKernelSpec &chosen,
              KernelHandle &kernel) const;
  size_t size() const { return kernels.size(); }
  std::vector<GemvKernelSpec> specs() const;

private:
  std::map<std::string, std::pair<GemvKernelSpec, KernelHandle>> kernels;
};

/// The `.entry` names of a PTX text.
std::vector<std::string> ptxEntryNames(const std::string &ptx);

} // namespace matquant::gpurt

#endif // MATQUANT_RUNTIME_GPURUNTIME_H
