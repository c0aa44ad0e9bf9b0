//===- MQOps.td - MatQuant operations ----------------------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQOPS_TD
#define MATQUANT_DIALECT_MQ_IR_MQOPS_TD

include "matquant/Dialect/MQ/IR/MQDialect.td"
include "matquant/Dialect/MQ/IR/MQAttrs.td"
include "matquant/Dialect/MQ/IR/MQTypes.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def MQ_FloatTensor2D : 2DTensorOf<[F32, F16, BF16]>;
def MQ_ScaleTensor : 2DTensorOf<[F32]>;

//===----------------------------------------------------------------------===//
// Constant
//===----------------------------------------------------------------------===//

def MQ_ConstantOp : MQ_Op<"constant", [ConstantLike, Pure]> {
  let summary = "a quantized weight known at compile time";
  let description = [{
    Holds the data of an `!mq.weight` as a builtin `i8` elements attribute of
    the weight's storage shape: `rows x cols` indices for a logical weight,
    the packed bytes for a weight with a layout (see `#mq.layout`). Indices
    are unsigned; the verifier checks that each is at most the largest index
    of the type. Folders produce this op for quantized constants.

    ```mlir
    %q = mq.constant dense<[[0, 3], [2, 1]]> : tensor<2x2xi8>
        : !mq.weight<2x2xf32, storage = 8, bits = 2>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs MQ_WeightType:$result);
  let assemblyFormat = "$value attr-dict `:` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Quantize / dequantize
//===----------------------------------------------------------------------===//

def MQ_QuantizeOp : MQ_Op<"quantize", [Pure]> {
  let summary = "min-max quantization of a float matrix to c-bit codes";
  let description = [{
    Quantizes a float matrix per output channel or per group (the result
    type's `axis` and `group`) to c-bit codes (`storage = bits = c`) and the
    affine pair: `alpha = (hi - lo) / (2^c - 1)`, `z = -lo / alpha`,
    `q = clamp(round(w / alpha + z), 0, 2^c - 1)`, `m = -alpha * z`, where
    `hi = gamma * max(w)` and `lo = beta * min(w)` over the group. The optional
    `clip` gives (gamma, beta) in (0, 1]; without it, gamma = beta = 1.
    A constant group quantizes exactly (alpha = 0, m = w, q = 0). Computed
    in float32 in this order, so a folded constant and the lowered code agree
    bit for bit. Constant inputs fold through the numerics library.

    ```mlir
    %q, %s, %m = mq.quantize %w clip(0.9, 0.95) : tensor<8x12xf32>
        -> !mq.weight<8x12xf32, storage = 4, bits = 4, group = 6>,
           tensor<8x2xf32>, tensor<8x2xf32>
    ```
  }];
  let arguments = (ins MQ_FloatTensor2D:$input,
                       OptionalAttr<F32Attr>:$gamma,
                       OptionalAttr<F32Attr>:$beta);
  let results = (outs MQ_WeightType:$codes, MQ_ScaleTensor:$scales,
                      MQ_ScaleTensor:$offsets);
  let assemblyFormat = [{
    $input (`clip` `(` $gamma^ `,` $beta `)`)? attr-dict `:` type($input)
    `->` qualified(type($codes)) `,` type($scales) `,` type($offsets)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def MQ_DequantizeOp : MQ_Op<"dequantize", [Pure]> {
  let summary = "expand r-bit indices to floats";
  let description = [{
    Computes `(alpha * 2^(c-r)) * k + m'` for every index k of a logical
    (unpacked) weight, with the alpha and m of its group, in float32, then
    converts to the result element type; m' = m, or m + alpha * 2^(c-r-1)
    for a prefix-exact slice with r < c (numerics::sliceOffset). Constant
    operands fold.

    ```mlir
    %w = mq.dequantize %q, %s, %m : !mq.weight<8x12xf32, storage = 8, bits = 4>,
        tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8x12xf32>
    ```
  }];
  let arguments = (ins MQ_WeightType:$input, MQ_ScaleTensor:$scales,
                       MQ_ScaleTensor:$offsets);
  let results = (outs MQ_FloatTensor2D:$result);
  let assemblyFormat = [{
    $input `,` $scales `,` $offsets attr-dict `:` qualified(type($input)) `,`
    type($scales) `,` type($offsets) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

def MQ_SliceOp : MQ_Op<"slice", [Pure]> {
  let summary = "the r-bit model nested in a wider one";
  let description = [{
    Takes the r-bit slice (r = the result's `bits`) of a logical weight. The
    input's index k_in at width r_in stands for the grid value
    v = k_in * 2^(c - r_in); the result index is
    `k = (v >> (c-r)) + ((v >> (c-r-1)) & 1)`, clamped to 2^r - 1 in `clamped`
    mode (round half up on the dropped bits; r = r_in is the identity). The
    result dequantizes with the same alpha and m through the effective scale
    alpha * 2^(c-r).

    Slicing twice is NOT slicing once: S(S(q, 4), 2) differs from S(q, 2)
    for 24 of the 256 int8 codes. Canonicalization merges two slices only
    when exhaustive enumeration of every input index proves the result
    identical. Constant inputs fold through the numerics library.

    ```mlir
    %q4 = mq.slice %q : !mq.weight<8x12xf32, storage = 8, bits = 8>
                     to !mq.weight<8x12xf32, storage = 8, bits = 4>
    ```
  }];
  let arguments = (ins MQ_WeightType:$input);
  let results = (outs MQ_WeightType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `to` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Pack / unpack
//===----------------------------------------------------------------------===//

def MQ_PackOp : MQ_Op<"pack", [Pure]> {
  let summary = "pack the indices of a weight into a byte layout";
  let description = [{
    Changes a logical weight into a packed one (the result's `#mq.layout`):
    dense r-bit or bit planes. The layout width must be the number of bits an
    index needs. Constant inputs fold; `mq.pack` of `mq.unpack` with the same
    layout cancels.

    ```mlir
    %p = mq.pack %q : !mq.weight<8x12xf32, storage = 8, bits = 3>
        to !mq.weight<8x12xf32, storage = 8, bits = 3, layout = #mq.layout<dense, 3>>
    ```
  }];
  let arguments = (ins MQ_WeightType:$input);
  let results = (outs MQ_WeightType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `to` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def MQ_UnpackOp : MQ_Op<"unpack", [Pure]> {
  let summary = "unpack a packed weight into its logical indices";
  let description = [{
    The inverse of `mq.pack`. Constant inputs fold; `mq.unpack` of `mq.pack`
    cancels.

    ```mlir
    %q = mq.unpack %p : !mq.weight<8x12xf32, storage = 8, bits = 3,
        layout = #mq.layout<planes, 3>> to !mq.weight<8x12xf32, storage = 8, bits = 3>
    ```
  }];
  let arguments = (ins MQ_WeightType:$input);
  let results = (outs MQ_WeightType:$result);
  let assemblyFormat = "$input attr-dict `:` qualified(type($input)) `to` qualified(type($result))";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Weight-only matmul / matvec
//===----------------------------------------------------------------------===//

def MQ_MatmulOp : MQ_Op<"matmul", [Pure]> {
  let summary = "float activations times a quantized weight";
  let description = [{
    `y[b, n] = sum_k x[b, k] * W_hat[n, k]` for a weight with `axis = 0`
    (shape [N, K]) or `sum_k x[b, k] * W_hat[k, n]` for `axis = 1` (shape
    [K, N]), where `W_hat = (alpha * 2^(c-r)) * k + m'` per group (m' as in
    `mq.dequantize`). The weight may be logical or packed; the activations
    are f32, f16 or bf16 and the result has their type; accumulation is in
    f32. The optional `layer` names the layer for precision schedules. Code
    generation lowers this op
    to fused kernels that never write the dequantized weight to memory.

    ```mlir
    %y = mq.matmul %x, %q, %s, %m : tensor<3x12xf32>,
        !mq.weight<8x12xf32, storage = 8, bits = 4, group = 6>,
        tensor<8x2xf32>, tensor<8x2xf32> -> tensor<3x8xf32>
    ```
  }];
  let arguments = (ins MQ_FloatTensor2D:$input, MQ_WeightType:$weight,
                       MQ_ScaleTensor:$scales, MQ_ScaleTensor:$offsets,
                       OptionalAttr<StrAttr>:$layer);
  let results = (outs MQ_FloatTensor2D:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales `,` $offsets attr-dict `:` type($input) `,`
    qualified(type($weight)) `,` type($scales) `,` type($offsets) `->` type($result)
  }];
  let hasVerifier = 1;
}

def MQ_MatvecOp : MQ_Op<"matvec", [Pure]> {
  let summary = "a float vector times a quantized weight";
  let description = [{
    The batch-1 form of `mq.matmul`: `y[n] = sum_k x[k] * W_hat[n, k]`
    (axis 0) or `x[k] * W_hat[k, n]` (axis 1), accumulated in f32.

    ```mlir
    %y = mq.matvec %x, %q, %s, %m : tensor<12xf32>,
        !mq.weight<8x12xf32, storage = 8, bits = 2>,
        tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[F32, F16, BF16]>:$input,
                       MQ_WeightType:$weight, MQ_ScaleTensor:$scales,
                       MQ_ScaleTensor:$offsets, OptionalAttr<StrAttr>:$layer);
  let results = (outs 1DTensorOf<[F32, F16, BF16]>:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales `,` $offsets attr-dict `:` type($input) `,`
    qualified(type($weight)) `,` type($scales) `,` type($offsets) `->` type($result)
  }];
  let hasVerifier = 1;
}

def MQ_PackScalesOp : MQ_Op<"pack_scales", [Pure]> {
  let summary = "reorder scales or offsets for the tensor-core kernels";
  let description = [{
    Reorders the [N, G] scales (or offsets) of a weight in the `mma` layout
    into the order the GPU tensor-core kernels read them
    (`numerics::packMmaScales`): [ceil(N / 16), G, 8, 2], element
    (t, grp, g, h) the value of row 16 t + 8 h + g and group grp, 0 past row
    N - 1. Lane group g of `mma.sync.m16n8k16` accumulates rows g and g + 8
    of a 16-row tile, so its two values per group are adjacent, and a warp
    reads a tile's values of one group as 64 contiguous bytes (one cache
    line) instead of 8 rows G * 4 bytes apart. `convert-mq-to-gpu` inserts
    it before launching a tensor-core kernel; it folds on constants, so the
    reordering is done at compile time.

    ```mlir
    %p = mq.pack_scales %s : tensor<40x3xf32> -> tensor<3x3x8x2xf32>
    ```
  }];
  let arguments = (ins MQ_ScaleTensor:$input);
  let results = (outs RankedTensorOf<[F32]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// The result type for [rows, groups] scales.
    static ::mlir::RankedTensorType resultTypeFor(::mlir::RankedTensorType input);
  }];
}

//===----------------------------------------------------------------------===//
// Weight-only matmul / matvec at a width chosen at run time
//===----------------------------------------------------------------------===//

class MQ_DynamicWidthOp<string mnemonic, string summaryText, Type inputType,
                        Type resultType>
    : MQ_Op<mnemonic, [Pure]> {
  let summary = summaryText;
  let arguments = (ins inputType:$input, MQ_WeightType:$weight,
                       MQ_ScaleTensor:$scales, MQ_ScaleTensor:$offsets,
                       AnyTypeOf<[I32, Index]>:$width,
                       OptionalAttr<StrAttr>:$layer);
  let results = (outs resultType:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $scales `,` $offsets `,` `width` $width attr-dict
    `:` type($input) `,` qualified(type($weight)) `,` type($scales) `,`
    type($offsets) `,` type($width) `->` type($result)
  }];
  let hasVerifier = 1;
}

def MQ_MatmulDynamicOp : MQ_DynamicWidthOp<"matmul_dynamic",
    "float activations times the stored model sliced to a run-time width",
    MQ_FloatTensor2D, MQ_FloatTensor2D> {
  let description = [{
    `mq.matmul` on the r-bit slice of the stored c-bit model, where r is the
    SSA value `width` (i32 or index) known only at run time:
    `y[b, n] = sum_k x[b, k] * W_hat_r[n, k]` (axis 0) or
    `x[b, k] * W_hat_r[k, n]` (axis 1), with W_hat_r the slice in the
    weight's mode (docs/Numerics.md 3.1, 3.5) and its scales and offsets.
    The weight must be the stored model itself (`bits` = `storage`): one
    copy of the c-bit codes serves every width, so a runtime can change a
    layer's width between calls with no reload and no second copy.

    A width outside [1, c] is clamped into it (r < 1 reads as 1, r > c as
    c); the weight's `widths` list, if any, is not enforced at run time.

    With the weight in the bit-plane layout `#mq.layout<planes, c>` (plane 0
    the most significant), the CPU kernel (`convert-mq-to-vector`) reads
    only the planes the width needs: r planes for `prefix_exact`, r + 1 for
    the rounding modes (plane r is the rounding bit), for r < c.

    ```mlir
    %y = mq.matmul_dynamic %x, %q, %s, %m, width %r : tensor<3x64xf32>,
        !mq.weight<8x64xf32, storage = 8, bits = 8, mode = prefix_exact,
                   layout = #mq.layout<planes, 8>>,
        tensor<8x1xf32>, tensor<8x1xf32>, i32 -> tensor<3x8xf32>
    ```
  }];
}

def MQ_MatvecDynamicOp : MQ_DynamicWidthOp<"matvec_dynamic",
    "a float vector times the stored model sliced to a run-time width",
    1DTensorOf<[F32, F16, BF16]>, 1DTensorOf<[F32, F16, BF16]>> {
  let description = [{
    The batch-1 form of `mq.matmul_dynamic`.

    ```mlir
    %y = mq.matvec_dynamic %x, %q, %s, %m, width %r : tensor<64xf32>,
        !mq.weight<8x64xf32, storage = 8, bits = 8,
                   layout = #mq.layout<planes, 8>>,
        tensor<8x1xf32>, tensor<8x1xf32>, index -> tensor<8xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Kernel building blocks
//===----------------------------------------------------------------------===//

def MQ_Dot4Op : MQ_Op<"dot4", [Pure, AllTypesMatch<["acc", "result"]>]> {
  let summary = "4-way dot products of unsigned and signed bytes into i32 lanes";
  let description = [{
    `result[i] = acc[i] + sum_{j < 4} zext(lhs[4i + j]) * sext(rhs[4i + j])`
    on vectors of 4N bytes and N i32 lanes, wrapping on overflow. This is the
    operation of x86 VNNI's `vpdpbusd` (and of Arm's `usdot`); the CPU
    kernels of the W{r}A8 mode use it for weight indices (unsigned) times
    int8 activations (signed). `matquant-lower-dot4` lowers it to the
    intrinsic where the target has it, and to plain vector arithmetic
    otherwise.

    ```mlir
    %r = mq.dot4 %acc, %w, %x : vector<64xi8>, vector<64xi8> into vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I32]>:$acc,
                       VectorOfRankAndType<[1], [I8]>:$lhs,
                       VectorOfRankAndType<[1], [I8]>:$rhs);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat = [{
    $acc `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `into`
    type($result)
  }];
  let hasVerifier = 1;
}

def MQ_TransposeBitsOp
    : MQ_Op<"transpose_bits", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Transpose the 8 x 8 bit matrix of every 8-byte word";
  let description = [{
    Each 8-byte word of the input is an 8 x 8 bit matrix, row p its byte p.
    The result's byte i of a word holds column i, row 0 in its most
    significant bit: `bit (7 - p) of result byte i = bit i of input byte p`,
    within every word.

    This is what x86 GFNI's `vgf2p8affineqb` computes with the input as the
    matrix operand and the bytes 1, 2, 4, ..., 128 as the vector operand.
    The CPU kernels of a width chosen at run time use it to turn the bytes of
    r bit planes (input byte p: plane p's bits of 8 elements) into one byte
    per element holding its top r bits. `matquant-lower-dot4` lowers it to
    the intrinsic where the target has GFNI (64 bytes), and to plain vector
    arithmetic otherwise.

    ```mlir
    %t = mq.transpose_bits %planes : vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I8]>:$input);
  let results = (outs VectorOfRankAndType<[1], [I8]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // MATQUANT_DIALECT_MQ_IR_MQOPS_TD
