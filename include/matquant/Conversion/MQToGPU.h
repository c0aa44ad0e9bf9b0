//===- MQToGPU.h - Weight-only GPU kernels from matquant specs ---*- C++ -*-===//

#ifndef MATQUANT_CONVERSION_MQTOGPU_H
#define MATQUANT_CONVERSION_MQTOGPU_H

#include "matquant/Runtime/GpuKernelSpec.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace matquant {

/// The gpu.module named `name` in `module` (created, and the module marked
/// gpu.container_module, when missing).
mlir::gpu::GPUModuleOp getOrCreateKernelModule(mlir::ModuleOp module,
                                               llvm::StringRef name);

/// Programmatic dependent launch, inside a kernel at `b`:
/// `nvvm.griddepcontrol wait` (the grids this kernel depends on have
/// completed and their writes are visible) then `launch_dependents` (the
/// next kernel may be scheduled once every block of this one got here).
/// Memory that earlier kernels write may be touched only after it.
void waitForPrerequisiteGrids(mlir::OpBuilder &b, mlir::Location loc);

/// The kernel for `spec` in `kernels` (built when missing): a gpu.func with
/// the ABI of GpuKernelSpec.h that reads the packed weights in wide vector
/// loads, decodes them in registers and reduces across the warp with
/// gpu.shuffle. The spec must validate().
mlir::gpu::GPUFuncOp getOrBuildGemvKernel(mlir::gpu::GPUModuleOp kernels,
                                          const gpurt::GemvKernelSpec &spec);

/// The tensor-core kernel of an MMA spec (spec.mma), built into `kernels`
/// (MmaKernel.cpp): nvgpu.mma.sync on weights in the MMA-fragment layout.
mlir::gpu::GPUFuncOp buildMmaGemvKernel(mlir::gpu::GPUModuleOp kernels,
                                        const gpurt::GemvKernelSpec &spec);

} // namespace matquant

#endif // MATQUANT_CONVERSION_MQTOGPU_H
