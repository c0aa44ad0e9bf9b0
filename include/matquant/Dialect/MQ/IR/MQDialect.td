//===- MQDialect.td - The MatQuant dialect -----------------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQDIALECT_TD
#define MATQUANT_DIALECT_MQ_IR_MQDIALECT_TD

include "mlir/IR/OpBase.td"

def MQ_Dialect : Dialect {
  let name = "mq";
  let cppNamespace = "::matquant::mq";
  let summary = "Matryoshka (nested) quantization of weight tensors";
  let description = [{
    The `mq` dialect models weights quantized the Matryoshka way (MatQuant,
    Nair et al., ICML 2025): one c-bit integer model (usually int8) whose most
    significant bits are themselves good r-bit models for every r <= c.

    A quantized weight is a value of type `!mq.weight`: a rank-2 tensor of
    unsigned indices at some width r, sliced from c-bit storage codes, with
    an affine pair (alpha, m) per output channel or per group of G elements
    along the reduction axis kept in two float tensors beside it. An r-bit
    index k dequantizes as `(alpha * 2^(c-r)) * k + m'`, where m' = m except
    for a prefix-exact slice (r < c): m' = m + alpha * 2^(c-r-1).

    The exact numerics (rounding, clamping, extra precision, prefix exact)
    follow
    `docs/Numerics.md`; the C++ numerics library implements them and every
    folder calls it.

    ```mlir
    %q, %s, %m = mq.quantize %w : tensor<64x172xf32>
        -> !mq.weight<64x172xf32, storage = 8, bits = 8, group = 43>,
           tensor<64x4xf32>, tensor<64x4xf32>
    %q2 = mq.slice %q : !mq.weight<64x172xf32, storage = 8, bits = 8, group = 43>
                     to !mq.weight<64x172xf32, storage = 8, bits = 2, group = 43>
    %y = mq.matvec %x, %q2, %s, %m : tensor<172xf32>,
        !mq.weight<64x172xf32, storage = 8, bits = 2, group = 43>,
        tensor<64x4xf32>, tensor<64x4xf32> -> tensor<64xf32>
    ```
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

class MQ_Op<string mnemonic, list<Trait> traits = []>
    : Op<MQ_Dialect, mnemonic, traits>;

#endif // MATQUANT_DIALECT_MQ_IR_MQDIALECT_TD
