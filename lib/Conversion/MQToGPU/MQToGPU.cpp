//===- MQToGPU.cpp - convert-mq-to-gpu ---------------------------*- C++ -*-===//

#include "matquant/Conversion/MQToGPU.h"
#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/IR/MQOps.h"

namespace matquant {
#define GEN_PASS_DEF_CONVERTMQTOGPUPASS
#include "matquant/Conversion/Passes.h.inc"
} // namespace matquant

using namespace mlir;
using namespace matquant;
using namespace matquant::mq;

namespace {

struct ConvertMQToGPUPass
    : matquant::impl::ConvertMQToGPUPassBase<ConvertMQToGPUPass> {
  using Base::Base;

  /// The kernel spec of a weight-only op, or failure with a diagnostic.
  FailureOr<gpurt::GemvKernelSpec> specFor(Operation *op) {
    auto type = cast<WeightType>(op->getOperand(1).getType());
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    gpurt::GemvKernelSpec spec;
    spec.storageBits = type.getStorageBits();
    spec.bits = type.getBits();
    spec.mode = toNumerics(type.getMode());
    spec.groupSize = type.getGroupSize();
    Type elt = resultType.getElementType();
    spec.act = elt.isF32()   ? gpurt::ActType::F32
               : elt.isF16() ? gpurt::ActType::F16
                             : gpurt::ActType::BF16;
    spec.batchTile = resultType.getRank() == 1 ? 1 : resultType.getDimSize(0);
    spec.rowsPerWarp = rowsPerWarp ? rowsPerWarp : spec.batchTile == 1 ? 2 : 1;
    spec.warpsPerBlock = warpsPerBlock;
    spec.unroll = unroll;
    LayoutAttr layout = type.getLayout();
    if (layout && layout.getKind() == LayoutKind::mma) {
      // Tensor-core kernel: 16 rows per warp, the warps of a block split K,
      // batch tiles of 8 or 16, unroll rounded up to whole groups.
      spec.mma = true;
      spec.batchTile = spec.batchTile <= 8 ? 8 : 16;
      spec.rowsPerWarp = 16;
      int64_t tile = spec.kTile();
      if (tile == 0 || layout.getBits() != spec.indexBits() ||
          layout.getBlock() != tile || type.getAxis() != 0) {
        InFlightDiagnostic d =
            op->emitOpError("weight is not in the tensor-core kernel layout");
        if (tile)
          d << ": expected channel axis 0 and #mq.layout<mma, "
            << spec.indexBits() << ", block = " << tile << ">";
        return failure();
      }
      spec.roundUnrollToGroups();
      std::string error = spec.validate();
      if (!error.empty()) {
        op->emitOpError("cannot generate a GPU kernel: ") << error;
        return failure();
      }
      return spec;
    }
    int64_t block = spec.block();
    if (type.getAxis() != 0 || !layout ||
        layout.getKind() != LayoutKind::interleaved ||
        layout.getBits() != spec.indexBits() || layout.getBlock() != block) {
      InFlightDiagnostic d = op->emitOpError(
          "weight is not in the GPU kernel layout (run mq-select-gpu-layout)");
      if (block)
        d << ": expected channel axis 0 and #mq.layout<interleaved, "
          << spec.indexBits() << ", block = " << block << ">";
      return failure();
    }
    std::string error = spec.validate();
    if (!error.empty()) {
      op->emitOpError("cannot generate a GPU kernel: ") << error;
      return failure();
    }
    return spec;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<MatvecOp, MatmulOp>(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    if (warpsPerBlock < 1 || warpsPerBlock > 32 || unroll < 1 || unroll > 16 ||
        rowsPerWarp > 16) {
      module.emitError() << "convert-mq-to-gpu: warps-per-block must be in "
                            "1..32, unroll in 1..16, rows-per-warp in 0..16";
      return signalPassFailure();
    }
    mlir::gpu::GPUModuleOp kernels =
        getOrCreateKernelModule(module, kernelModule);
    for (Operation *op : ops) {
      FailureOr<gpurt::GemvKernelSpec> spec = specFor(op);
      if (failed(spec))
        return signalPassFailure();
      mlir::gpu::GPUFuncOp fn = getOrBuildGemvKernel(kernels, *spec);
      op->setAttr("mq.gpu_kernel",
                  SymbolRefAttr::get(kernels.getNameAttr(),
                                     {FlatSymbolRefAttr::get(fn)}));
    }
  }
};

} // namespace
