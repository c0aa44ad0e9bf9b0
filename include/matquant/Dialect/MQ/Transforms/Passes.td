//===- Passes.td - MatQuant dialect passes -----------------*- tablegen -*-===//

#ifndef MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD
#define MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MQApplySchedulePass : Pass<"mq-apply-schedule", "::mlir::ModuleOp"> {
  let summary = "Slice each layer's weight to the width a Mix'n'Match schedule gives it";
  let description = [{
    Chooses a width r for every `mq.matmul` / `mq.matvec` with a `layer`
    name and feeds the op its weight sliced to that width. The weight is
    traced back through `mq.slice` ops to the stored model, and the new
    slice is taken from that model directly (a slice of a slice is not a
    slice), so every width comes from the one stored c-bit model. A width
    wider than the stored model, or outside the nested widths its type
    fixes, is an error. Ops without a `layer` name are left alone.

    The widths come from the `policy` option:

    - `attr` (the default): a `#mq.schedule`, from the `schedule` option or
      else the module's `mq.schedule` attribute;
    - `uniform=<r>`: every layer at width r;
    - `list=<r0,r1,...>`: one width per transformer block, in block order;
      a layer's block is the `i` of its `layers.<i>.` name prefix;
    - `json=<file>`: a JSON object `{"layer name": r, ...}`; naming a layer
      the module does not have is an error;
    - `pyramid`: the paper's Mix'n'Match layout, more bits in the middle
      blocks: block i of L gets the allowed width nearest to
      `edge + t (center - edge)` with `t = 1 - |i - (L-1)/2| / ((L-1)/2)`
      (`pyramid-edge`, `pyramid-center`); layers outside the blocks get
      the edge width;
    - `budget=<b>`: greedy under a budget of b effective bits per parameter
      (indices plus scales and offsets, as `mq.effective_bits` counts them):
      every layer starts at its lowest allowed width, then the upgrade to
      the next allowed width with the largest reduction of the squared
      weight error per added bit is applied while the budget holds. The
      error of a layer at each width is its `mq.slice_errors` attribute
      (||W - W_hat_r||^2, set by `mq-quantize-weights`), or else is
      computed with the numerics library from a constant stored model as
      ||W_hat_c - W_hat_r||^2.

    Computed widths (`pyramid`, `budget`) are taken from `allowed-widths`
    that fit the layer (at most its storage width, and one of its nested
    widths when the type has them). Layers a `list` or `json` policy does
    not cover get `default-width` (0: the storage width). Every policy but
    `attr` records the widths it computed in the module's
    `mq.schedule_widths` dictionary (builtin attributes, so that a lowered
    module still parses without the mq dialect).

    The pass attaches `mq.effective_bits` to the module: the
    parameter-weighted mean bits per weight of the scheduled layers, packed
    indices (r, or r + 1 for extra precision) plus the f32 scale and offset
    of every group. With `report`, it also emits a remark with the table of
    layers, parameters, widths, bits per parameter and (for `budget`) the
    squared weight error.

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
    Option<"policy", "policy", "std::string", /*default=*/"\"attr\"",
           "attr, uniform=<r>, list=<r0,r1,...>, json=<file>, pyramid or "
           "budget=<bits per parameter>">,
    Option<"pyramidEdge", "pyramid-edge", "unsigned", /*default=*/"2",
           "Width of the first and last blocks for policy=pyramid">,
    Option<"pyramidCenter", "pyramid-center", "unsigned", /*default=*/"8",
           "Width of the middle block for policy=pyramid">,
    Option<"allowedWidths", "allowed-widths", "std::string",
           /*default=*/"\"2,3,4,6,8\"",
           "Widths the pyramid and budget policies may choose">,
    Option<"defaultWidth", "default-width", "unsigned", /*default=*/"0",
           "Width of layers a list or json policy does not name (0: the "
           "storage width)">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Emit a remark with the per-layer table">,
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
                      layout = #mq.layout<interleaved, 4, block = 128, rows = 8>>
    %y = mq.matvec %x, %p, %s, %m : ...
    ```

    The interleaved layout also tiles the rows as the kernels walk them
    (`rows = R`, R the largest power of two up to `row-tile` dividing the
    rows; `row-tile=1`: untiled): for each tile of R rows and each block,
    the R rows' bytes one after the other, so that a kernel tile reads one
    contiguous stream, which the kernels prefetch ahead
    (`convert-mq-to-vector`'s `tile-prefetch`). Indices wider than
    `row-tile-max-bits` stay untiled.

    Indices of at most `planes-max-bits` bits (int1) go to the
    `planes` layout instead, whose kernel adds the activations under each
    plane's bits used as a lane mask (one masked add per plane and vector),
    when the group size is a multiple of 16 (or per channel).

    The weight of `mq.matvec_dynamic` / `mq.matmul_dynamic` (the stored
    c-bit model) goes to `#mq.layout<planes, c>`, from which the kernel of
    each run-time width reads only the planes it needs, when the group size
    is a multiple of 16 (or per channel); otherwise it is left for the
    reference lowering.
  }];
  let options = [
    Option<"planesMaxBits", "planes-max-bits", "unsigned", /*default=*/"1",
           "Widest index that uses the bit-plane kernel (0: never)">,
    Option<"rowTile", "row-tile", "unsigned", /*default=*/"8",
           "Rows per tile of the interleaved layout (rows = R): the largest "
           "power of two up to this that divides the weight's rows, as the "
           "kernels tile them (8 by default); 1: untiled">,
    Option<"rowTileMaxBits", "row-tile-max-bits", "unsigned",
           /*default=*/"8",
           "Widest index whose interleaved layout is tiled by rows; wider "
           "indices stay untiled (matquant-cpu-to-llvm sets 7 for the "
           "W{r}A8 kernels, whose int8 weights read faster untiled)">,
  ];
}

def MQQuantizeWeightsPass : Pass<"mq-quantize-weights", "::mlir::ModuleOp"> {
  let summary = "Quantize the constant weights of linear ops into one shared MatQuant model";
  let description = [{
    Finds weight-stationary linear ops whose weight is an `arith.constant`
    (a dense or `dense_resource` f32 elements attribute) and rewrites each
    into the `mq` weight-only form, quantizing the weight at compile time:

    - `linalg.matvec ins(%W : tensor<NxKxf32>, %x)`: the weight is [N, K]
      (channel axis 0) and becomes an `mq.matvec`;
    - `linalg.matmul ins(%x, %W)` with the transposed-B maps
      `(m, n, k) -> (m, k), (n, k), (m, n)`: the weight is [N, K] (axis 0);
    - `linalg.matmul ins(%x, %W)` with the default maps: the weight is
      [K, N] (axis 1); both become an `mq.matmul`;
    - `linalg.batch_matmul` with a broadcast 2-D weight
      (`(b, m, n, k) -> (k, n)`) and `linalg.generic` multiply-add
      contractions (body exactly `yield(addf(out, mulf(a, w)))`, operands in
      either order) with a constant weight: the loops are classified from
      the indexing maps into k (activation and weight), n (weight and
      result) and m (activation and result). One k and one n loop, no loop
      shared by all three operands, a weight indexed (n, k) (axis 0) or
      (k, n) (axis 1), an activation (m..., k) and a result (m..., n) give
      an `mq.matvec` (no m loop), an `mq.matmul` (one) or an `mq.matmul` on
      the rows collapsed by `tensor.collapse_shape` and expanded after (more
      than one). Other contractions with a constant f32 weight (a per-batch
      weight of `batch_matmul`, transposed activations or results, several
      k or n loops, non-permutation maps) stay in float with a warning on
      the op that says why.

    The weight is quantized to c = `bits` bit codes (`mq.constant`) with one
    (alpha, m) pair per channel (`group` = 0) or per `group` elements of the
    reduction axis (two `arith.constant` tensors). `method` = `minmax` is
    plain min-max quantization; `matquant` chooses the clip factors
    (gamma, beta) of every group by grid search to minimise the MatQuant
    objective sum_r lambda_r ||w - w_hat_r||^2 over the nested `widths`
    with the weights `lambdas`, slicing in `mode` (numerics library,
    `Numerics/Search.h`). The grid runs from 1 down to `grid-min` in steps
    of `grid-step`, and up to `grid-max` (factors above 1 widen the range);
    `normalize` divides each width's error by its min-max error. The new op carries `layer` = the op's `mq.layer`
    attribute, or a generated `linear.<i>` when there is none, and
    `mq.slice_errors`: ||W - W_hat_r||^2 for r = 1..c (float64, index r - 1),
    which `mq-apply-schedule` uses for its `budget` policy, and
    `mq.weight_sq_norm` = ||W||^2 (for relative errors, `matquant-report`).

    Only layers selected by `layers` are rewritten: `all`, `ffn` (layer names
    containing `feed_forward`) or a regular expression searched in the layer
    name. The linalg op's `outs` operand is respected: when it is not a
    `linalg.fill` (or splat constant) of +0.0, the result is `init + y`
    through a `linalg.add`. Weights shared by several ops are quantized once.

    Before:
    ```mlir
    %W = arith.constant dense<...> : tensor<8x12xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<8xf32>) -> tensor<8xf32>
    %y = linalg.matvec {mq.layer = "layers.0.feed_forward.w1"}
           ins(%W, %x : tensor<8x12xf32>, tensor<12xf32>)
           outs(%z : tensor<8xf32>) -> tensor<8xf32>
    ```
    After (`bits=8`, per channel):
    ```mlir
    %q = mq.constant dense<...> : tensor<8x12xi8>
           : !mq.weight<8x12xf32, storage = 8, bits = 8>
    %s = arith.constant dense<...> : tensor<8x1xf32>
    %m = arith.constant dense<...> : tensor<8x1xf32>
    %y = mq.matvec %x, %q, %s, %m {layer = "layers.0.feed_forward.w1",
           mq.slice_errors = array<f64: ...>, mq.weight_sq_norm = ...}
           : tensor<12xf32>,
           !mq.weight<8x12xf32, storage = 8, bits = 8>, tensor<8x1xf32>,
           tensor<8x1xf32> -> tensor<8xf32>
    ```
    Weights given as `dense_resource` blobs produce `dense_resource` codes,
    scales and offsets.

    With `calibration=FILE` (an activation file, `Numerics/Activations.h`,
    written by `matquant-report --write-activations` from
    `mq-capture-layer-inputs` runs), `method=matquant` runs the calibrated
    quantizer instead (`quantizeCalibrated`: GPTQ with H = 2 X^T X + `damp`,
    the clip factors searched per group on the error-compensated weights,
    the column error lambda-weighted over the slices, or weighted by
    `gptq-lambdas`). Every rewritten layer needs its activations, found by
    layer name, with K columns (K the reduction length) and finite values; a
    weight shared by several layers is calibrated on all their rows. Every
    layer of the file must name a linear layer of the module. The new op
    also carries `mq.calibration_rows`, the number of rows used.
  }];
  let options = [
    Option<"bits", "bits", "unsigned", /*default=*/"8",
           "Storage width c of the shared model (1..8)">,
    Option<"widths", "widths", "std::string", /*default=*/"\"8,4,2\"",
           "Nested widths of the MatQuant objective; must contain `bits`">,
    Option<"lambdas", "lambdas", "std::string", /*default=*/"\"0.1,0.1,1\"",
           "One objective weight per width">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Group size along the reduction axis (0: per channel)">,
    Option<"mode", "mode", "std::string", /*default=*/"\"clamped\"",
           "Slice mode: clamped, extra_precision or prefix_exact">,
    Option<"method", "method", "std::string", /*default=*/"\"matquant\"",
           "minmax or matquant">,
    Option<"layers", "layers", "std::string", /*default=*/"\"all\"",
           "Which layers: all, ffn, or a regular expression on the name">,
    Option<"gridMin", "grid-min", "double", /*default=*/"0.5",
           "Smallest clip factor of the search grid (0, 1]">,
    Option<"gridStep", "grid-step", "double", /*default=*/"0.05",
           "Step of the clip grid">,
    Option<"gridMax", "grid-max", "double", /*default=*/"1.0",
           "Largest clip factor; above 1 the range is widened (matquant)">,
    Option<"refine", "refine", "bool", /*default=*/"false",
           "Refine the clip grid around the best pair">,
    Option<"normalize", "normalize", "bool", /*default=*/"false",
           "Weigh each width's error relative to its min-max error">,
    Option<"restrictWidths", "restrict-widths", "bool", /*default=*/"false",
           "Record `widths` in the weight type, so that only those slices "
           "may be taken later">,
    Option<"calibration", "calibration", "std::string", /*default=*/"\"\"",
           "Activation file (matquant-report --write-activations): method "
           "`matquant` then runs the calibrated quantizer (GPTQ) on each "
           "layer with its own inputs">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "Calibrated: dampening of H = 2 X^T X, fraction of its mean "
           "diagonal">,
    Option<"gptqLambdas", "gptq-lambdas", "std::string", /*default=*/"\"\"",
           "Calibrated: weights of the error GPTQ propagates, one per width "
           "(default: `lambdas`)">,
    Option<"weightedSearch", "weighted-search", "bool", /*default=*/"false",
           "Calibrated: weigh the clipping search by diag(X^T X)">,
  ];
  let dependentDialects = [
    "::matquant::mq::MQDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def MQCaptureLayerInputsPass
    : Pass<"mq-capture-layer-inputs", "::mlir::func::FuncOp"> {
  let summary = "Make a function also return the input vector of every named linear layer";
  let description = [{
    For calibration: collects, in IR order, the 1-D input of every
    `linalg.matvec` with an `mq.layer` name and of every `mq.matvec` with a
    `layer`, writes them one after another into one `tensor<T x f32>` (T the
    sum of their lengths) and returns it as an extra last result of the
    function. Running the function (for instance the imported decode step
    through the JIT) then yields the activations each layer saw. The layout
    is recorded on the function as `mq.captured_layers`, an array of
    `{layer = "...", offset = o, size = k}` dictionaries. Only functions
    named by `function` are changed; layers whose input does not dominate
    the return (inside a loop body, say) are not captured.

    ```mlir
    func.func @f(%x: tensor<4xf32>) -> tensor<2xf32> {
      %y = linalg.matvec {mq.layer = "l0"} ins(%W, %x : ...) outs(...)
      return %y : tensor<2xf32>
    }
    ```
    becomes
    ```mlir
    func.func @f(%x: tensor<4xf32>) -> (tensor<2xf32>, tensor<4xf32>)
        attributes {mq.captured_layers = [{layer = "l0", offset = 0 : i64,
                                           size = 4 : i64} ]} {
      ...
      %e = tensor.empty() : tensor<4xf32>
      %c = tensor.insert_slice %x into %e[0] [4] [1] : ...
      return %y, %c : tensor<2xf32>, tensor<4xf32>
    }
    ```
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"decode_step\"",
           "The function to change">,
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

def MQFuseMatvecsPass : Pass<"mq-fuse-matvecs"> {
  let summary = "Merge weight-only matvecs that read the same input into one";
  let description = [{
    `mq.matvec` ops of one block that read the same activation vector
    (attention's q, k and v projections; the FFN's gate and up projections)
    and whose weights are constants of the same kind (widths, mode, group,
    columns, channel axis 0, no layout or the interleaved layout, whose rows
    are independent) become one `mq.matvec` on the rows stacked in program
    order, with its scales and offsets stacked alike; each original result
    is a `tensor.extract_slice` of the merged one. `layer` names the merged
    layers joined by `+`. One launch then reads all the rows: fewer kernel
    launches per decode step and a larger, better-occupied GEMV.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def MQNarrowActivationsPass : Pass<"mq-narrow-activations"> {
  let summary = "Feed weight-only ops f16 or bf16 activations, results kept in f32";
  let description = [{
    Every `mq.matvec` / `mq.matmul` whose activations and result are f32
    gets its activations rounded to `type` (f16 or bf16, round to nearest
    even) by a `linalg.generic` of `arith.truncf`, one per activation value
    however many ops read it; the op then reads the narrow activations and
    still accumulates and returns f32 (`tensor<...xf16> -> tensor<...xf32>`).
    The GPU kernels read half the activation bytes, and f16 activations
    select the tensor-core kernels (`mq-select-gpu-layout`). After
    elementwise fusion the rounding happens in the kernel that produces the
    activations (RMSNorm, SwiGLU, attention's output). The extra error is
    that of the activations' rounding: at most 2^-11 (f16) or 2^-8 (bf16)
    of sum |x w| per output. f16 overflows to Inf above 65504: use it for
    activations that are normalized (the Llama layers' inputs).
  }];
  let options = [
    Option<"type", "type", "std::string", /*default=*/"\"f16\"",
           "The activation type: f16 or bf16">,
    ListOption<"exclude", "exclude", "std::string",
               "Layers (the ops' `layer` names) that keep f32 activations, "
               "e.g. the classifier `output`">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

def MQSelectGPULayoutPass : Pass<"mq-select-gpu-layout", "::mlir::ModuleOp"> {
  let summary = "Repack the weights of weight-only ops into the GPU kernel layout";
  let description = [{
    For every `mq.matvec` / `mq.matmul` whose weight has channel axis 0,
    feeds the op `mq.pack(mq.unpack(w))` in
    `#mq.layout<interleaved, B, block = E>` with the block the GPU kernels
    of `convert-mq-to-gpu` read: E = min(64, 128 / (smallest power-of-two
    piece of the B-bit index)), so each piece of 2 or more bits fills one
    16-byte load of one lane per block (E = 16 for int8, 32 for int4, 64
    for int2 and int3), halved until it divides the group size. Weights already in that layout are
    left alone; a weight whose groups no block fits is an error. On
    constant weights canonicalization folds the repacking, so the
    transformation happens at compile time and shows in the IR.

    ```mlir
    %y = mq.matvec %x, %q, %s, %m : tensor<256xf16>,
        !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128>, ...
    ```
    becomes
    ```mlir
    %p = mq.pack %q : !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128>
        to !mq.weight<64x256xf16, storage = 8, bits = 4, group = 128,
                      layout = #mq.layout<interleaved, 4, block = 32>>
    %y = mq.matvec %x, %p, %s, %m : ...
    ```

    With `kernel=mma` (or `auto`, the default, for an `mq.matmul` with f16
    activations, and for an `mq.matvec` with f16 activations and an index
    of fewer than 8 bits: the faster kernels measured at batch 1) the
    weight goes to `#mq.layout<mma, B, block = T>`
    instead, the layout of the tensor-core kernels (T = 16 * 16 / smallest
    piece, halved until it divides the group size); `kernel=simt` keeps
    the interleaved layout everywhere.
  }];
  let options = [
    Option<"kernel", "kernel", "std::string", /*default=*/"\"auto\"",
           "auto (tensor cores for f16 matmuls and sub-8-bit f16 matvecs), "
           "simt or mma">,
  ];
}

def MQDynamicWidthsPass : Pass<"mq-dynamic-widths", "::mlir::ModuleOp"> {
  let summary = "Make every named layer's width a run-time value read from one table";
  let description = [{
    Rewrites every `mq.matvec` / `mq.matmul` with a `layer` name into
    `mq.matvec_dynamic` / `mq.matmul_dynamic` on the stored model its
    weight is sliced from (traced back through `mq.slice`), with the width
    loaded from a public `memref.global @mq_widths : memref<L x i32>`, one
    entry per distinct layer name in order of first appearance, initialised
    to the widths the ops had. The module gets `mq.dynamic_layers`, the
    layer names in table order. A runtime (`matquant/Runtime/LayerWidths.h`)
    writes the table between calls: every layer can change its width with no
    recompilation, no reload and no second copy of the weights (the CPU
    pipeline keeps the stored model once, in bit planes).

    A named op whose weight does not trace back to a stored model
    (`bits` = `storage`) is an error.
  }];
  let dependentDialects = [
    "::matquant::mq::MQDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def MQExternalizeWeightsPass
    : Pass<"mq-externalize-weights", "::mlir::ModuleOp"> {
  let summary = "Move large constant buffers into one run-time weight arena";
  let description = [{
    Runs after bufferization. Every constant `memref.global` whose initial
    value (dense or `dense_resource`, byte-sized elements, not a splat) has
    at least `min-bytes` bytes is moved into one byte arena: its uses
    (`memref.get_global`) become `memref.view`s of a new last argument
    `memref<?xi8>` (with the unit attribute `mq.arena`) of each function that
    reads it, at an offset aligned to `alignment` bytes, and the global is
    erased. The module gets `mq.arena`, a dictionary with the arena's `size`
    and its `entries` (global name, offset, bytes, element type), and `mq.arena_data`, a
    `dense_resource<mq_arena> : tensor<size x i8>` holding the bytes; with
    `file` the bytes are also written there, so an ahead-of-time build can
    map them at run time.

    This keeps a model's weights out of the compiled code: the JIT and the
    object file hold only the code, and the runtime passes the weights (read
    from the file, or the arena blob) at each call, as a serving stack passes
    its parameters.

    Errors: a function that reads an arena global and has callers in the
    module (its signature would change under them), a global read outside a
    function, alignment not a power of two, a file that cannot be written.
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"4096",
           "Smallest constant (in bytes) moved into the arena">,
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Alignment of every entry's offset (a power of two)">,
    Option<"file", "file", "std::string", /*default=*/"\"\"",
           "Also write the arena's bytes to this file">,
    Option<"keepData", "keep-data", "bool", /*default=*/"true",
           "Keep the bytes (mq.arena_data); false records the layout alone, "
           "for code whose arena is filled by other means">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::memref::MemRefDialect",
  ];
}

def MQOutlineKernelsPass : Pass<"mq-outline-kernels", "::mlir::ModuleOp"> {
  let summary = "Move each weight-only op into a private kernel function, one per signature";
  let description = [{
    Every `mq.matvec`, `mq.matmul`, `mq.matvec_dynamic` and `mq.matmul_dynamic`
    in a `func.func` becomes a `func.call` of a private function
    `@mq_kernel_<n>` that holds the op alone, with the op's operands as
    arguments. Ops that differ only in their operands and their `layer` name
    (the same types, modes and layouts) share one function, so a model whose
    layers repeat a few shapes gets a few kernels instead of one copy per
    layer: the compiled code, and the time to compile it, no longer grow with
    the depth of the model. The call keeps the `layer` name as `mq.layer`.

    Runs after the layout is chosen (`mq-select-cpu-layout`) and before the
    kernels are generated; `matquant-cpu-to-llvm` runs it by default
    (`outline-kernels=false` keeps the ops in place).
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

#endif // MATQUANT_DIALECT_MQ_TRANSFORMS_PASSES_TD
