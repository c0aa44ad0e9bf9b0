//===- MQAttrs.td - MatQuant enums and attributes ----------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQATTRS_TD
#define MATQUANT_DIALECT_MQ_IR_MQATTRS_TD

include "matquant/Dialect/MQ/IR/MQDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def MQ_SliceModeClamped : I32EnumAttrCase<"clamped", 0>;
def MQ_SliceModeExtra : I32EnumAttrCase<"extra_precision", 1>;
def MQ_SliceMode : I32EnumAttr<"SliceMode",
    "how an r-bit slice is taken from c-bit codes",
    [MQ_SliceModeClamped, MQ_SliceModeExtra]> {
  let cppNamespace = "::matquant::mq";
  let genSpecializedAttr = 0;
}

def MQ_LayoutDense : I32EnumAttrCase<"dense", 0>;
def MQ_LayoutPlanes : I32EnumAttrCase<"planes", 1>;
def MQ_LayoutKind : I32EnumAttr<"LayoutKind",
    "how the indices of a weight are packed into bytes",
    [MQ_LayoutDense, MQ_LayoutPlanes]> {
  let cppNamespace = "::matquant::mq";
  let genSpecializedAttr = 0;
}

class MQ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<MQ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def MQ_LayoutAttr : MQ_Attr<"Layout", "layout"> {
  let summary = "packed storage layout of a quantized weight";
  let description = [{
    Says how the indices of an `!mq.weight` are stored in bytes. Both layouts
    pack a rows x cols matrix row by row, each row starting on a byte boundary.

    - `dense, B`: element j of a row takes bits [j*B, (j+1)*B) of the row's
      little-endian bit stream. Storage: `tensor<rows x ceil(cols*B/8) x i8>`.
    - `planes, B`: B bit planes, plane 0 holding the most significant bit of
      every index, element j at bit j % 8 of byte j / 8 of its row.
      Storage: `tensor<B x rows x ceil(cols/8) x i8>`.

    B must be the number of bits an index of the weight needs: its width r,
    or r + 1 for an extra-precision slice (r < c), whose top level is 2^r.

    ```mlir
    !mq.weight<64x172xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
    ```
  }];
  let parameters = (ins EnumParameter<MQ_LayoutKind>:$kind, "unsigned":$bits);
  let assemblyFormat = "`<` $kind `,` $bits `>`";
  let genVerifyDecl = 1;
}

def MQ_ScheduleAttr : MQ_Attr<"Schedule", "schedule"> {
  let summary = "a Mix'n'Match per-layer precision schedule";
  let description = [{
    Assigns a width r to each named layer, with a default for layers not
    listed. Every width is sliced from the same stored c-bit model, so it must
    lie in [1, 8] (and at most the storage width of the weights it is applied
    to, which the pass applying it checks).

    ```mlir
    #mq.schedule<default = 4, layers = {"layers.0.w1" = 2, "layers.2.w1" = 8}>
    ```
  }];
  let parameters = (ins "unsigned":$defaultBits, "::mlir::DictionaryAttr":$layers);
  let assemblyFormat = "`<` `default` `=` $defaultBits `,` `layers` `=` $layers `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The width of `layer`: its entry, or the default.
    unsigned getBitsFor(::llvm::StringRef layer) const;
  }];
}

#endif // MATQUANT_DIALECT_MQ_IR_MQATTRS_TD
