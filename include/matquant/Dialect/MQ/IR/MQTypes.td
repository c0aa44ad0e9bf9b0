//===- MQTypes.td - MatQuant types -------------------------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQTYPES_TD
#define MATQUANT_DIALECT_MQ_IR_MQTYPES_TD

include "matquant/Dialect/MQ/IR/MQAttrs.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def MQ_WeightType : TypeDef<MQ_Dialect, "Weight"> {
  let mnemonic = "weight";
  let summary = "a nested-quantized weight matrix";
  let description = [{
    A rank-2 matrix of unsigned r-bit indices sliced from c-bit storage codes
    (`storage = c`, `bits = r`, 1 <= r <= c <= 8), standing for a matrix of
    the float type given with the shape. Parameters:

    - `storage`: the width c of the stored model (the quantization grid);
    - `bits`: the width r of the indices this value holds;
    - `widths`: the nested widths the model was built for (e.g. `[8, 4, 2]`);
      when present, `bits` and every slice of the value must be one of them;
      absent, any r <= c may be taken (the paper's interpolation);
    - `axis`: the output-channel axis (0: rows are channels, as in a
      [N, K] matvec weight; 1: columns are channels, as in a [K, N]
      linalg.matmul right-hand side); the other axis is the reduction axis;
    - `group`: G > 0 gives one (alpha, m) pair per G consecutive elements of
      the reduction axis, 0 (the default) one pair per channel;
    - `mode`: `clamped` (the paper's slice, the default),
      `extra_precision` (the clamp dropped, 2^r + 1 levels) or
      `prefix_exact` (truncation to the top r bits of the code,
      reconstructed at the mid-point of the dropped bits);
    - `layout`: absent for the logical value, else a `#mq.layout` for the
      packed form.

    The affine pair lives in two `tensor<...xf32>` values whose shape is the
    weight's with the reduction dimension replaced by the number of groups.

    ```mlir
    !mq.weight<4096x4096xf32, storage = 8, bits = 4, widths = [8, 4, 2],
               group = 128, layout = #mq.layout<dense, 4>>
    ```
  }];
  let parameters = (ins
    ArrayRefParameter<"int64_t">:$shape,
    "::mlir::Type":$elementType,
    "unsigned":$storageBits,
    "unsigned":$bits,
    ArrayRefParameter<"int64_t">:$widths,
    "unsigned":$axis,
    "int64_t":$groupSize,
    EnumParameter<MQ_SliceMode>:$mode,
    "::matquant::mq::LayoutAttr":$layout
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRows() const { return getShape()[0]; }
    int64_t getCols() const { return getShape()[1]; }
    /// Length of the reduction axis (the one that is not `axis`).
    int64_t getReductionSize() const { return getShape()[1 - getAxis()]; }
    /// Number of (alpha, m) groups along the reduction axis.
    int64_t getNumGroups() const;
    /// Shape of the scale and offset tensors.
    ::llvm::SmallVector<int64_t, 2> getScaleShape() const;
    /// Bits one index needs: bits, or bits + 1 for extra precision below c.
    unsigned getIndexStorageBits() const;
    /// The largest index value.
    uint32_t getMaxIndex() const;
    /// The same type with another width / layout.
    WeightType withBits(unsigned bits) const;
    WeightType withLayout(LayoutAttr layout) const;
    /// The builtin tensor type that holds this value's data: the indices
    /// (no layout) or the packed bytes.
    ::mlir::RankedTensorType getStorageTensorType() const;
    /// The scale / offset tensor type.
    ::mlir::RankedTensorType getScaleTensorType() const;
  }];
}

#endif // MATQUANT_DIALECT_MQ_IR_MQTYPES_TD
