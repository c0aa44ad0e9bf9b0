//===- KernelBuilder.h - What the GPU kernel builders share ------*- C++ -*-===//
//
// The IR helpers of GemvKernel.cpp (SIMT kernels) and MmaKernel.cpp
// (tensor-core kernels), and the gpu.func with the kernel ABI of
// GpuKernelSpec.h that both fill.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_LIB_CONVERSION_MQTOGPU_KERNELBUILDER_H
#define MATQUANT_LIB_CONVERSION_MQTOGPU_KERNELBUILDER_H

#include "matquant/Runtime/GpuKernelSpec.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

namespace matquant {

class KernelIRBuilder {
protected:
  KernelIRBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  // The kernels compute rows, columns and byte offsets in i32 whatever
  // the index width of their lowering (the decode step's kernels take
  // 64-bit index from host code): 64-bit address arithmetic took 101
  // registers instead of 64 in the int4 tensor-core kernel and halved its
  // occupancy. Values become index only at memory accesses (ix()); the
  // launcher refuses buffers of 2^31 elements or more.

  /// An i32 constant of the kernel arithmetic.
  mlir::Value cI(int64_t v) {
    return mlir::arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(static_cast<int32_t>(v)));
  }
  /// `v` (i32) as an index for a memory access.
  mlir::Value ix(mlir::Value v) {
    if (v.getType().isIndex())
      return v;
    return mlir::arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  /// An index value (a kernel argument, a thread id) as i32.
  mlir::Value fromIndex(mlir::Value v) {
    return mlir::arith::IndexCastUIOp::create(b, loc, b.getI32Type(), v);
  }
  mlir::Value cF(float v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  mlir::Value cI32(int32_t v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  // Offsets stay below 2^31 (the launcher checks), so the kernel's adds
  // and multiplies do not wrap as signed values: with `nsw`, LLVM moves
  // the sign extension of ix() below them and folds constant offsets into
  // the address of a load.
  mlir::Value add(mlir::Value a, mlir::Value c) {
    return mlir::arith::AddIOp::create(b, loc, a, c,
                                       mlir::arith::IntegerOverflowFlags::nsw);
  }
  mlir::Value mul(mlir::Value a, mlir::Value c) {
    return mlir::arith::MulIOp::create(b, loc, a, c,
                                       mlir::arith::IntegerOverflowFlags::nsw);
  }
  /// a * x + acc, contractible into one fma (the NVPTX backend fuses it;
  /// math.fma would become a libdevice call).
  mlir::Value fma(mlir::Value a, mlir::Value x, mlir::Value acc) {
    auto contract = mlir::arith::FastMathFlagsAttr::get(
        b.getContext(), mlir::arith::FastMathFlags::contract);
    mlir::Value m = mlir::arith::MulFOp::create(b, loc, a, x, contract);
    return mlir::arith::AddFOp::create(b, loc, m, acc, contract);
  }

  /// Loads `bytes` bytes of the packed weights at byte `at` (aligned to
  /// `align`) in one vector load and appends them as 32-bit words.
  void loadWords(mlir::Value at, int64_t bytes, int64_t align,
                 llvm::SmallVectorImpl<mlir::Value> &out) {
    auto bytesType = mlir::VectorType::get({bytes}, b.getI8Type());
    auto wordsType = mlir::VectorType::get({bytes / 4}, b.getI32Type());
    mlir::Value v = mlir::vector::LoadOp::create(
        b, loc, bytesType, w, mlir::ValueRange{ix(at)}, /*nontemporal=*/false,
        llvm::MaybeAlign(align));
    mlir::Value ws = mlir::vector::BitCastOp::create(b, loc, wordsType, v);
    for (int64_t j = 0; j < bytes / 4; ++j)
      out.push_back(mlir::vector::ExtractOp::create(b, loc, ws, j));
  }

  /// Creates the kernel `spec.name()` at the end of `kernels` with the ABI
  /// of GpuKernelSpec.h (activations and results of type `act`), marked a
  /// kernel with its known block size. The caller fills its entry block.
  mlir::gpu::GPUFuncOp createKernel(mlir::gpu::GPUModuleOp kernels,
                                    const gpurt::GemvKernelSpec &spec,
                                    mlir::Type act) {
    mlir::OpBuilder::InsertionGuard guard(b);
    auto dyn = [&](mlir::Type t) {
      return mlir::MemRefType::get({mlir::ShapedType::kDynamic}, t);
    };
    mlir::Type idx = b.getIndexType(), f32 = b.getF32Type();
    mlir::Type out = spec.outF32 ? f32 : act;
    auto fnType = mlir::FunctionType::get(
        b.getContext(),
        {dyn(b.getI8Type()), dyn(f32), dyn(f32), dyn(act), dyn(out), idx, idx,
         idx, idx},
        {});
    b.setInsertionPointToEnd(kernels.getBody());
    auto fn = mlir::gpu::GPUFuncOp::create(b, loc, spec.name(), fnType);
    fn->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                b.getUnitAttr());
    fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(
        {int32_t(spec.threadsPerBlock()), 1, 1}));
    return fn;
  }
  /// Binds the ABI arguments of a kernel made by createKernel.
  void bindArgs(mlir::gpu::GPUFuncOp fn) {
    mlir::Block &entry = fn.getBody().front();
    w = entry.getArgument(0);
    scales = entry.getArgument(1);
    offsets = entry.getArgument(2);
    x = entry.getArgument(3);
    y = entry.getArgument(4);
    mlir::OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&entry);
    n = fromIndex(entry.getArgument(5));
    k = fromIndex(entry.getArgument(6));
    nb = fromIndex(entry.getArgument(7));
    ldx = fromIndex(entry.getArgument(8));
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  /// The kernel's arguments: packed weights, scales, offsets, activations,
  /// results, and n, k, nb, ldx as i32.
  mlir::Value w, scales, offsets, x, y, n, k, nb, ldx;
};

} // namespace matquant

#endif // MATQUANT_LIB_CONVERSION_MQTOGPU_KERNELBUILDER_H
