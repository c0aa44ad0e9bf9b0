//===- Passes.td - MatQuant dialect passes -----------------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD
#define MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MQApplySchedulePass : Pass<"mq-apply-schedule", "::mlir::ModuleOp"> {
  let summary = "Slice each layer's weight to the width a Mix'n'Match schedule gives it";
  let description = [{
    Reads a `#mq.schedule` (the `schedule` option, else the module's
    `mq.schedule` attribute) and, for every `mq.matmul` / `mq.matvec` with a
    `layer` name, feeds it the weight sliced to the scheduled width. The
    weight is traced back through `mq.slice` ops to the stored model, and
    the new slice is taken from that model directly (a slice of a slice is
    not a slice), so every width comes from the one stored c-bit model.
    A width wider than the stored model, or outside the nested widths its
    type fixes, is an error. Ops without a `layer` name are left alone.

    The pass attaches `mq.effective_bits` to the module: the
    parameter-weighted mean bits per weight of the scheduled layers, packed
    indices (r, or r + 1 for extra precision) plus the f32 scale and offset
    of every group.

    Before:
    ```mlir
    module attributes {mq.schedule = #mq.schedule<default = 4, layers = {l0 = 2}>} {
      ... %y = mq.matvec %x, %q, %s, %m {layer = "l0"} : tensor<12xf32>,
              !mq.weight<8x12xf32, storage = 8, bits = 8>, ...
    ```
    After:
    ```mlir
      %q2 = mq.slice %q : !mq.weight<8x12xf32, storage = 8, bits = 8>
                       to !mq.weight<8x12xf32, storage = 8, bits = 2>
      %y = mq.matvec %x, %q2, %s, %m {layer = "l0"} : ...
    ```
  }];
  let options = [
    Option<"schedule", "schedule", "std::string", /*default=*/"\"\"",
           "A #mq.schedule attribute; overrides the module's mq.schedule">,
  ];
}

def MQSelectCPULayoutPass : Pass<"mq-select-cpu-layout", "::mlir::ModuleOp"> {
  let summary = "Repack the weights of weight-only ops into the CPU kernel layout";
  let description = [{
    For every `mq.matvec` / `mq.matmul` whose weight has channel axis 0 and
    a layout other than `interleaved` (or none), feeds the op
    `mq.pack(mq.unpack(w))` in `#mq.layout<interleaved, B, block = E>`, with
    E the largest of 128, 64, 32, 16, 8 that divides the group size (128
    per channel). On constant weights canonicalization folds the repacking,
    so the transformation happens at compile time and shows in the IR.

    ```mlir
    %y = mq.matvec %x, %q, %s, %m : tensor<256xf32>,
        !mq.weight<64x256xf32, storage = 8, bits = 4, group = 128>, ...
    ```
    becomes
    ```mlir
    %p = mq.pack %q : !mq.weight<64x256xf32, storage = 8, bits = 4, group = 128>
        to !mq.weight<64x256xf32, storage = 8, bits = 4, group = 128,
                      layout = #mq.layout<interleaved, 4, block = 128>>
    %y = mq.matvec %x, %p, %s, %m : ...
    ```

    Indices of at most `planes-max-bits` bits (int1) go to the
    `planes` layout instead, whose kernel adds the activations under each
    plane's bits used as a lane mask (one masked add per plane and vector),
    when the group size is a multiple of 16 (or per channel).
  }];
  let options = [
    Option<"planesMaxBits", "planes-max-bits", "unsigned", /*default=*/"1",
           "Widest index that uses the bit-plane kernel (0: never)">,
  ];
}

#endif // MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD
