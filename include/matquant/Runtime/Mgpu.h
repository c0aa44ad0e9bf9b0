//===- Mgpu.h - The mgpu* functions of MLIR's GPU host code ------*- C++ -*-===//
//
// MLIR's host-side GPU lowering (gpu-to-llvm and the gpu.binary / launch
// translation to LLVM IR) emits calls to a small C ABI: mgpuModuleLoad,
// mgpuModuleLoadJIT, mgpuModuleGetFunction, mgpuLaunchKernel,
// mgpuStreamCreate, ... This file implements it on matquant's CUDA driver
// runtime (GpuRuntime.h), so host code compiled by matquant (a decode step
// from `matquant-decode-to-gpu`) runs with nothing but the driver.
//
// Contract: a program binds a CudaContext and a stream before it loads code
// whose constructors load kernel modules, and before it calls that code.
// Host code then enqueues all its launches on the bound stream:
// mgpuStreamCreate returns it, and mgpuStreamSynchronize /
// mgpuStreamDestroy leave it alone. The caller synchronizes (or captures
// the stream into a CUDA graph). Driver failures are kept in the context's
// error, and later launches are skipped; the caller checks ctx.ok().
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_MGPU_H
#define MATQUANT_RUNTIME_MGPU_H

#include "matquant/Runtime/GpuRuntime.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace matquant::gpurt {
/// Binds the mgpu* functions to `ctx` and `stream` (null unbinds).
void bindMgpuRuntime(CudaContext *ctx, StreamHandle stream);
/// Kernel launches made through mgpuLaunchKernel since the last call.
uint64_t takeMgpuLaunchCount();

/// Per-kernel timing: while on, every launch is made `repeats` times back
/// to back, bracketed by two events on its stream (which serializes
/// nothing more: the launches are already in order on one stream), and
/// timed per launch: with repeats > 1 the events' own overhead (a few us)
/// is spread over the repeats. Repeating a kernel that updates a buffer in
/// place changes the step's results: for timing only.
void setMgpuProfiling(bool on, unsigned repeats = 1);
/// Programmatic dependent launch: while on, mgpuLaunchKernel launches
/// with programmatic stream serialization (CudaContext::launch3).
/// Only for modules whose every kernel waits for its predecessors
/// (`griddepcontrol.wait`, mq-gpu-dependent-launch) before it touches
/// memory; a manifest's `dependent_launch` line says so.
void setMgpuDependentLaunch(bool on);
struct KernelTime {
  std::string name;
  uint64_t launches = 0;
  double ms = 0;
};
/// The kernels timed since the last call, slowest first (synchronizes).
std::vector<KernelTime> takeMgpuProfile();
} // namespace matquant::gpurt

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
}

#endif // MATQUANT_RUNTIME_MGPU_H
