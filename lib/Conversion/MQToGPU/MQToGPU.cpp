//===- MQToGPU.cpp - convert-mq-to-gpu ---------------------------*- C++ -*-===//

#include "matquant/Conversion/MQToGPU.h"
#include "matquant/Conversion/Passes.h"
#include "matquant/Dialect/MQ/IR/MQOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"

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
    Type elt = cast<RankedTensorType>(op->getOperand(0).getType())
                   .getElementType();
    spec.act = elt.isF32()   ? gpurt::ActType::F32
               : elt.isF16() ? gpurt::ActType::F16
                             : gpurt::ActType::BF16;
    spec.outF32 = !elt.isF32() && resultType.getElementType().isF32();
    spec.batchTile = resultType.getRank() == 1 ? 1 : resultType.getDimSize(0);
    bool autoShape = launch && spec.batchTile == 1;
    spec.rowsPerWarp = rowsPerWarp ? rowsPerWarp : spec.batchTile == 1 ? 2 : 1;
    spec.warpsPerBlock = warpsPerBlock ? warpsPerBlock : 4;
    if (autoShape && rowsPerWarp == 0) {
      // The launch is fixed at compile time: the most rows per warp that
      // still gives two blocks to each multiprocessor of a 132-SM
      // H100 / H200, else one row per warp; 8-bit indices were fastest at
      // 2 rows per warp on every benchmark shape.
      spec.rowsPerWarp = 1;
      for (unsigned rw : {4u, 2u}) {
        if (rw > 2 && spec.indexBits() >= 8)
          continue;
        gpurt::GemvKernelSpec s = spec;
        s.rowsPerWarp = rw;
        if (s.gridSize(type.getRows()) >= 2 * 132) {
          spec.rowsPerWarp = rw;
          break;
        }
      }
    }
    spec.unroll = unroll;
    spec.dependentLaunch = dependentLaunch;
    LayoutAttr layout = type.getLayout();
    if (layout && layout.getKind() == LayoutKind::mma) {
      // Tensor-core kernel: 16 rows per warp, the warps of a block split K,
      // batch tiles of 1 (a matvec), 8 or 16, unroll rounded up to whole
      // groups.
      spec.mma = true;
      spec.prefetch = prefetch;
      spec.earlyPrefetch = earlyPrefetch;
      spec.stages = stages;
      spec.packedScales =
          gpurt::gpuMmaPackedScales(scaleOrder, spec.indexBits());
      bool matvec = spec.batchTile == 1;
      spec.batchTile = spec.batchTile <= 8 ? 8 : 16;
      spec.rowsPerWarp = 16;
      if (autoShape && warpsPerBlock == 0) {
        // Enough warps in flight to cover the memory latency: the fewest
        // warps per block that give 3072 warps (16 at most). Measured on
        // an H200 with the 64-register kernels (batch 1, int4 / int2):
        // 6144 rows 8.6 / 9.1 us with 8 warps against 11.0 / 12.6 with 16,
        // 4096 rows best with 16, 14336 and more with 4.
        int64_t blocks = spec.gridSize(type.getRows());
        spec.warpsPerBlock = 16;
        for (unsigned wpb : {4u, 8u})
          if (blocks * wpb >= 3072) {
            spec.warpsPerBlock = wpb;
            break;
          }
      }
      // Matvecs: batch tile 1 (the activation sums once per 8 k-steps), or
      // 8; auto (0) takes 1. Measured on the 8B int4 decode step (H200, us
      // per step in kernels, batch tile 1 against 8): with [N, groups]
      // scales (session 12) the 8- and 16-warp GEMVs 658 against 719 but
      // the 4-warp ones 817 against 796, so auto took 8 for those; with
      // the scales packed by row tile (session 17) the 4-warp ones 739
      // against 791, and the step 1886 against 1935 us.
      if (matvec)
        spec.batchTile = matvecBatchTile ? matvecBatchTile : 1;
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
        layout.getBits() != spec.indexBits() || layout.getBlock() != block ||
        layout.getRows() != 1) {
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
    if (warpsPerBlock > 32 || unroll < 1 || unroll > 16 || rowsPerWarp > 16 ||
        prefetch > 16 || earlyPrefetch > 16 ||
        (matvecBatchTile != 0 && matvecBatchTile != 1 &&
         matvecBatchTile != 8) ||
        stages == 1 || stages > 8 || !gpurt::isScaleOrder(scaleOrder)) {
      module.emitError() << "convert-mq-to-gpu: warps-per-block must be in "
                            "0..32, unroll in 1..16, rows-per-warp in 0..16, "
                            "prefetch and early-prefetch in 0..16, "
                            "matvec-batch-tile 0, 1 or 8, "
                            "stages 0 or 2..8, scale-order auto, packed or "
                            "plain";
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
      if (launch && failed(replaceByLaunch(op, fn, *spec)))
        return signalPassFailure();
    }
  }

  /// The buffer of a statically shaped tensor as a 1-D memref<?xT> (the
  /// kernel ABI of GpuKernelSpec.h): to_buffer with the identity layout
  /// (bufferization copies a strided buffer), collapsed and cast.
  static Value flatBuffer(OpBuilder &b, Location loc, Value tensor,
                          bool readOnly) {
    auto type = cast<RankedTensorType>(tensor.getType());
    return flatten(b, loc,
                   bufferization::ToBufferOp::create(
                       b, loc,
                       MemRefType::get(type.getShape(), type.getElementType()),
                       tensor, readOnly));
  }

  /// A statically shaped identity-layout buffer as memref<?xT>: collapsed
  /// to one dimension, then cast.
  static Value flatten(OpBuilder &b, Location loc, Value buffer) {
    auto type = cast<MemRefType>(buffer.getType());
    if (type.getRank() != 1) {
      ReassociationIndices all;
      for (int64_t i = 0; i < type.getRank(); ++i)
        all.push_back(i);
      buffer = memref::CollapseShapeOp::create(
          b, loc, buffer, ArrayRef<ReassociationIndices>{all});
    }
    return memref::CastOp::create(
        b, loc, MemRefType::get({ShapedType::kDynamic}, type.getElementType()),
        buffer);
  }

  /// Replaces a weight-only op on tensors by a launch of its kernel: the
  /// operands' buffers, a new result buffer, and the result as a tensor of
  /// that buffer. n, k, nb and ldx follow GpuKernelSpec.h.
  LogicalResult replaceByLaunch(Operation *op, mlir::gpu::GPUFuncOp fn,
                                const gpurt::GemvKernelSpec &spec) {
    if (op->getNumResults() != 1 || op->getNumOperands() < 4)
      return op->emitOpError("launch: unexpected operands");
    auto type = cast<WeightType>(op->getOperand(1).getType());
    auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
    auto inputType = cast<RankedTensorType>(op->getOperand(0).getType());
    if (!resultType.hasStaticShape() || !inputType.hasStaticShape())
      return op->emitOpError("launch: needs static shapes");
    int64_t n = type.getRows(), k = type.getCols();
    int64_t nb = resultType.getRank() == 1 ? 1 : resultType.getDimSize(0);
    // Batch rows are ldx apart and must start 16-byte aligned; at batch 1
    // only the row's own length matters.
    int64_t ldx = nb == 1 ? (k + 7) / 8 * 8 : k;
    if (nb > 1 && k % 8 != 0)
      return op->emitOpError("launch: a batch of rows needs k (")
             << k << ") to be a multiple of 8";
    OpBuilder b(op);
    Location loc = op->getLoc();
    Value storage = UnrealizedConversionCastOp::create(
                        b, loc, type.getStorageTensorType(), op->getOperand(1))
                        .getResult(0);
    Value w = flatBuffer(b, loc, storage, /*readOnly=*/true);
    // Scales packed by row tile: reordered at compile time on constants
    // (mq.pack_scales folds), by a linalg.transpose otherwise.
    auto scaleOperand = [&](Value v) -> Value {
      if (!spec.packedScales)
        return v;
      return b.createOrFold<PackScalesOp>(
          loc, PackScalesOp::resultTypeFor(cast<RankedTensorType>(v.getType())),
          v);
    };
    Value scales = flatBuffer(b, loc, scaleOperand(op->getOperand(2)), true);
    Value offsets = flatBuffer(b, loc, scaleOperand(op->getOperand(3)), true);
    Value x = flatBuffer(b, loc, op->getOperand(0), true);
    auto yType =
        MemRefType::get(resultType.getShape(), resultType.getElementType());
    Value y = memref::AllocOp::create(b, loc, yType);
    Value yFlat = flatten(b, loc, y);
    auto idx = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value one = idx(1);
    Value grid = idx(spec.gridSize(n));
    Value block = idx(spec.threadsPerBlock());
    mlir::gpu::LaunchFuncOp::create(
        b, loc, fn, mlir::gpu::KernelDim3{grid, one, one},
        mlir::gpu::KernelDim3{block, one, one},
        /*dynamicSharedMemorySize=*/Value(),
        ValueRange{w, scales, offsets, x, yFlat, idx(n), idx(k), idx(nb),
                   idx(ldx)});
    Value result = bufferization::ToTensorOp::create(
        b, loc, resultType, y, /*restrict=*/true, /*writable=*/true);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
    return success();
  }
};

} // namespace
