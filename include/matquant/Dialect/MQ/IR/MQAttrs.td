//===- MQAttrs.td - MatQuant enums and attributes ----------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_IR_MQATTRS_TD
#define MATQUANT_DIALECT_MQ_IR_MQATTRS_TD

include "matquant/Dialect/MQ/IR/MQDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def MQ_SliceModeClamped : I32EnumAttrCase<"clamped", 0>;
def MQ_SliceModeExtra : I32EnumAttrCase<"extra_precision", 1>;
def MQ_SliceModePrefix : I32EnumAttrCase<"prefix_exact", 2>;
def MQ_SliceMode : I32EnumAttr<"SliceMode",
    "how an r-bit slice is taken from c-bit codes",
    [MQ_SliceModeClamped, MQ_SliceModeExtra, MQ_SliceModePrefix]> {
  let cppNamespace = "::matquant::mq";
  let genSpecializedAttr = 0;
}

def MQ_LayoutDense : I32EnumAttrCase<"dense", 0>;
def MQ_LayoutPlanes : I32EnumAttrCase<"planes", 1>;
def MQ_LayoutInterleaved : I32EnumAttrCase<"interleaved", 2>;
def MQ_LayoutMma : I32EnumAttrCase<"mma", 3>;
def MQ_LayoutKind : I32EnumAttr<"LayoutKind",
    "how the indices of a weight are packed into bytes",
    [MQ_LayoutDense, MQ_LayoutPlanes, MQ_LayoutInterleaved, MQ_LayoutMma]> {
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

    - `interleaved, B, block = E`: the layout the CPU kernels read. An index
      is split into power-of-two pieces, most significant first (B = 3 ->
      a 2-bit and a 1-bit piece); each row is cut into blocks of E elements
      (E a multiple of 8, the ragged tail padded with index 0); in a block,
      piece p (width w) takes E * w / 8 bytes and its element e sits in byte
      e % (E * w / 8) at bit (e / (E * w / 8)) * w. One vector load and one
      shift by a constant give the pieces of E * w / 8 consecutive elements.
      Storage: `tensor<rows x ceil(cols/E)*E*B/8 x i8>`. The channel axis
      must be 0, and E must divide the group size.
    - `interleaved, B, block = E, rows = R`: the same bytes ordered by tiles
      of R rows (R divides the rows): for each tile and each block, the R
      rows' bytes of that block one after the other
      (`numerics::interleavedTiledOffset`). A kernel that walks R rows
      block by block then reads one contiguous stream instead of R streams
      a row apart. Same storage type; R = 1 (the default) is the layout
      above.
    - `mma, B, block = T`: the layout the GPU tensor-core kernels read
      (`numerics::packMma`): tiles of 16 rows by T columns (T a multiple of
      16, rows and columns padded with index 0), each lane of a warp
      finding in its own bytes the A-operand elements it holds in
      `mma.sync.m16n8k16`, one coalesced 16-byte load per lane feeding
      several k-steps; the pieces of the index are stored one after the
      other inside a tile, and the columns of a tile are permuted so that a
      lane's activations are contiguous. Storage: `tensor<ceil(rows/16) x
      ceil(cols/T)*2*T*B x i8>` (one row of bytes per 16-row tile). The
      channel axis must be 0 and T must divide the group size.

    B must be the number of bits an index of the weight needs: its width r,
    or r + 1 for an extra-precision slice (r < c), whose top level is 2^r.

    ```mlir
    !mq.weight<64x172xf32, storage = 8, bits = 4, layout = #mq.layout<dense, 4>>
    !mq.weight<64x256xf32, storage = 8, bits = 3, group = 128,
               layout = #mq.layout<interleaved, 3, block = 128>>
    !mq.weight<64x256xf32, storage = 8, bits = 4, group = 128,
               layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
    !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128,
               layout = #mq.layout<mma, 4, block = 64>>
    ```
  }];
  let parameters = (ins EnumParameter<MQ_LayoutKind>:$kind, "unsigned":$bits,
                        DefaultValuedParameter<"unsigned", "0">:$block,
                        DefaultValuedParameter<"unsigned", "1">:$rows);
  let assemblyFormat = "`<` $kind `,` $bits (`,` `block` `=` $block^)? "
                       "(`,` `rows` `=` $rows^)? `>`";
  let builders = [
    AttrBuilder<(ins "LayoutKind":$kind, "unsigned":$bits), [{
      return $_get($_ctxt, kind, bits, 0, 1);
    }]>,
    AttrBuilder<(ins "LayoutKind":$kind, "unsigned":$bits, "unsigned":$block), [{
      return $_get($_ctxt, kind, bits, block, 1);
    }]>
  ];
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
