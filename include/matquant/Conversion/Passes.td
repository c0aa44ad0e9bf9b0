//===- Passes.td - MatQuant conversion passes --------------*- tablegen -*-===//

#ifndef MATQUANT_CONVERSION_PASSES_TD
#define MATQUANT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertMQToLinalgPass : Pass<"convert-mq-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Reference lowering of the mq dialect to linalg, tensor and arith";
  let description = [{
    Lowers every mq op to upstream dialects on tensors (linalg, tensor, arith,
    math), so that any matquant program bufferizes and runs through the
    standard pipeline and mlir-runner. This is the reference semantics that
    the fast code generators are checked against: it computes exactly what
    the numerics library computes (same float32 operations in the same
    order), so folded constants and lowered code agree bit for bit.

    `!mq.weight` values become their storage tensors (`tensor<R x C x i8>`
    for logical weights, the packed bytes otherwise); function signatures,
    calls and returns are converted with them.

    - `mq.constant` becomes `arith.constant` of its bytes;
    - `mq.quantize` becomes a min/max `linalg.generic` reduction per group,
      an elementwise generic for (alpha, z, m), and one for the codes;
    - `mq.slice` and `mq.dequantize` become elementwise `linalg.generic`s;
    - `mq.pack` / `mq.unpack` become `tensor.generate`s that read the bytes
      or indices they need;
    - `mq.matmul` / `mq.matvec` become unpack + dequantize + a contraction
      `linalg.generic` accumulating in f32.

    Before:
    ```mlir
    %y = mq.matvec %x, %q, %s, %m : tensor<12xf32>,
        !mq.weight<8x12xf32, storage = 8, bits = 2>,
        tensor<8x1xf32>, tensor<8x1xf32> -> tensor<8xf32>
    ```
    After (abridged):
    ```mlir
    %w = linalg.generic {...} ins(%q, %s, %m : tensor<8x12xi8>, ...)
        outs(%e : tensor<8x12xf32>) { ... arith.uitofp ... arith.mulf ... }
    %y = linalg.generic {iterator_types = ["parallel", "reduction"]}
        ins(%x, %w : ...) outs(%zero : tensor<8xf32>) { ... }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def ConvertMQToVectorPass : Pass<"convert-mq-to-vector", "::mlir::ModuleOp"> {
  let summary = "Vectorized CPU kernels for weight-only matvec / matmul";
  let description = [{
    Lowers `mq.matvec` / `mq.matmul` whose weight is packed in the
    `interleaved` layout (channel axis 0) to row-parallel vector code on
    tensors, and `linalg.matvec` / `linalg.matmul` with an [N, K] float
    weight (the baseline) to the same loop structure without the decoding:

    - an `scf.forall` over output rows (lowered later to OpenMP threads);
    - per row, per group: one `vector.transfer_read` of E * w / 8 bytes per
      piece of the index (16 bytes or more for E = 128), then per vector of
      `vector-width` bytes and per slot t: with `exponent-decode` (indices
      of fewer than 8 bits) the bytes widened to i32 once, a shift and a
      mask that put the field under the exponent of 1.0 (f = 1 + k 2^-b),
      a bitcast to f32; otherwise a shift by t * w - s and a mask (the
      piece moved to its bit position s) and `arith.uitofp`; then
      `vector.fma` with the matching activations, into `accumulators`
      independent accumulators; the dequantized weights never reach memory;
    - at the end of a group, the accumulators are scaled by the group's
      scale alpha with one vector fma, and the constant 2^(c-r) multiplies
      each row's sum once after the last group; the offsets add
      sum_g m_g * (sum of group g's activations), 16 groups per vector
      after the group loop, with the group sums computed once per call;
    - activations are padded with zeros to whole blocks once per call, so
      every load is in bounds for any K; batches are processed in tiles of
      `batch-tile` rows that share each decoded weight vector.

    Weight-only ops in other layouts are left for `convert-mq-to-linalg`.

    ```mlir
    %y = mq.matvec %x, %w, %s, %m : tensor<4096xf32>,
        !mq.weight<4096x4096xf32, storage = 8, bits = 4, group = 128,
                   layout = #mq.layout<interleaved, 4, block = 128>>,
        tensor<4096x32xf32>, tensor<4096x32xf32> -> tensor<4096xf32>
    ```
    becomes an `scf.forall` over 4096 rows whose body loads
    `vector<64xi8>` per block and runs 8 x (shift, and, uitofp, fma) on
    `vector<16xf32>`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "Lanes per vector (16: AVX-512, 8: AVX2, 4: SSE / NEON); 0 picks "
           "it from the host CPU's features">,
    Option<"accumulators", "accumulators", "int64_t", /*default=*/"2",
           "Independent accumulators per row at batch 1">,
    Option<"batchTile", "batch-tile", "int64_t", /*default=*/"4",
           "Batch rows that share each decoded weight vector">,
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"8",
           "Rows per iteration (sharing each activation vector); the largest "
           "power of two up to it that divides N">,
    Option<"activationBits", "activation-bits", "int64_t", /*default=*/"0",
           "0: float activations (exact to f32 rounding); 8: W{r}A8, the "
           "activations quantized to int8 per block (symmetric, max|x|/127) "
           "and integer dot products with AVX-512 VNNI (opt-in; blocks of "
           "a multiple of 64)">,
    Option<"tilePrefetch", "tile-prefetch", "int64_t", /*default=*/"8192",
           "Weights in the interleaved layout with rows tiled (rows = R): "
           "prefetch each tile's stream this many bytes ahead, one "
           "prefetch per cache line (0: none)">,
    Option<"exponentDecode", "exponent-decode", "bool", /*default=*/"true",
           "Float activations, indices of fewer than 8 bits: place each "
           "index under the exponent of 1.0 (f = 1 + k * 2^-bits, a shift "
           "and a mask) instead of converting it to f32; the group's "
           "activation sum, already kept for the offsets, takes the 1 back. "
           "Also the bit planes of a prefix-exact run-time width <= 3 at 16 "
           "lanes: one masked OR per plane sets its mantissa bit">,
    Option<"planeTranspose", "plane-transpose", "int64_t",
           /*default=*/"-1",
           "Bit planes read at a run-time width, 16 lanes, per channel or "
           "groups of a multiple of 128: 1 turns r planes of 128 elements "
           "into one byte per element with a byte permute and "
           "mq.transpose_bits (GFNI) per 64; 0 keeps the byte lanes; -1 "
           "(default) does it when the host CPU has GFNI and AVX512-VBMI">,
    Option<"lowerFloat", "lower-float", "bool", /*default=*/"true",
           "Also lower linalg.matvec / matmul with float [N, K] weights">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect",
    "::mlir::LLVM::LLVMDialect",
  ];
}

def LowerDot4Pass : Pass<"matquant-lower-dot4"> {
  let summary = "Lower mq.dot4 and mq.transpose_bits to x86 intrinsics or "
                "to plain vector arithmetic";
  let description = [{
    Rewrites every `mq.dot4` on 64 bytes / 16 lanes to the x86 intrinsic
    `llvm.x86.avx512.vpdpbusd.512` when `vnni` is set (the CPU pipeline sets
    it with `activation-bits=8`), and every other `mq.dot4` to
    `arith.extui` / `arith.extsi`, `arith.muli` and four strided
    `vector.shuffle`s added into the accumulator. Every `mq.transpose_bits`
    on 64 bytes becomes `llvm.x86.vgf2p8affineqb.512` when `gfni` is set
    (the CPU pipeline sets it from the target's features), and otherwise a
    byte shuffle and three delta swaps on 64-bit words. Runs after
    bufferization: the intrinsic calls have no declared memory effects.

    ```mlir
    %r = mq.dot4 %acc, %w, %x : vector<64xi8>, vector<64xi8> into vector<16xi32>
    ```
    becomes, with `vnni`,
    ```mlir
    %r = llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%acc, %w, %x)
        : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
    ```
  }];
  let options = [
    Option<"vnni", "vnni", "bool", /*default=*/"false",
           "Use AVX-512 VNNI (vpdpbusd) for 64-byte dot4">,
    Option<"gfni", "gfni", "bool", /*default=*/"false",
           "Use GFNI (vgf2p8affineqb, AVX-512) for 64-byte transpose_bits">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect"];
}

def OmpSchedulePass : Pass<"matquant-omp-schedule", "::mlir::ModuleOp"> {
  let summary = "Set the OpenMP schedule of every omp.wsloop";
  let description = [{
    `convert-scf-to-openmp` makes every `omp.wsloop` statically scheduled:
    thread t gets the t-th contiguous share of the iterations (for the CPU
    kernels, of the row tiles). When the threads run at different speeds,
    as the vCPUs of a VM do, the faster one then waits at the join. This
    pass sets `kind` (static, dynamic, guided, auto or runtime) and, with
    `chunks-per-thread` N > 0, a chunk of ceil(iterations / (threads * N))
    iterations, so that each thread takes contiguous chunks as it becomes
    free.

    ```mlir
    omp.wsloop {
      omp.loop_nest (%i) : index = (%c0) to (%c512) step (%c1) { ... }
    }
    ```
    becomes, with `kind=dynamic chunks-per-thread=4 threads=2`,
    ```mlir
    omp.wsloop schedule(dynamic = %chunk : i64) {
      omp.loop_nest (%i) : index = (%c0) to (%c512) step (%c1) { ... }
    }
    ```
    with `%chunk` = 64 computed from the loop's bounds before it.
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"static\"",
           "Schedule kind: static, dynamic, guided, auto or runtime">,
    Option<"chunksPerThread", "chunks-per-thread", "unsigned",
           /*default=*/"0",
           "Chunks per thread (0: no chunk clause)">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Threads the loops run on (needed with chunks-per-thread)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::omp::OpenMPDialect"];
}

def ParallelizeGenericsPass
    : Pass<"matquant-parallelize-generics", "::mlir::func::FuncOp"> {
  let summary = "Split large linalg.generic ops over threads with scf.forall";
  let description = [{
    Tiles every `linalg.generic` on tensors of at least `min-points` loop
    iterations (static loop ranges, not already inside an `scf.forall`) into
    `threads` tiles of its first parallel loop with at least `threads`
    iterations, as an `scf.forall` that the CPU pipeline lowers to an OpenMP
    parallel loop (a decode step's attention: split over its heads). Each
    element is computed by the same body in the same order as before; only
    the split of the outer loop changes. Ops below the size stay sequential,
    since a parallel region costs microseconds. An op with dynamic loop
    ranges (attention over the filled positions of a KV cache, imported with
    live attention) is split when its static loops alone have at least
    `min-points / 64` iterations (it then reaches `min-points` from 64
    positions on: attention's scores and weighted sums, not its softmax);
    the split loop itself must be static. (An `scf.if` on the iteration
    count at run time, with both versions, made the JIT compile two to three
    times slower.)
  }];
  let options = [
    Option<"threads", "threads", "int64_t", "2",
           "Tiles of the split loop (the OpenMP threads)">,
    Option<"minPoints", "min-points", "int64_t", "32768",
           "Loop iterations below which an op stays sequential">,
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ReassociateReductionsPass
    : Pass<"matquant-reassociate-reductions", "::mlir::func::FuncOp"> {
  let summary = "Let the float reductions of linalg.generic ops be "
                "reassociated, so that LLVM vectorizes their loops";
  let description = [{
    A `linalg.generic` with a reduction loop whose output is accumulated by
    `arith.addf %out, %x` (or `arith.maximumf` / `arith.minimumf`) sums in
    loop order; LLVM's loop vectorizer keeps a strict order of float adds,
    so the loops that `convert-linalg-to-loops` makes of such an op stay
    scalar (the decode step's attention: scores over the head dimension,
    the weighted sum over positions, the softmax's sums). This pass marks
    those accumulations `fastmath<reassoc>`: the sum may then be computed
    in vector lanes and added up at the end, a different rounding order of
    the same float32 sum (the end-to-end tests compare the logits with an
    independent float forward pass within 1e-4).

    ```mlir
    %s = arith.addf %out, %p : f32
    ```
    in the body of a reduction becomes
    ```mlir
    %s = arith.addf %out, %p fastmath<reassoc> : f32
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def ExpandStridedCopiesPass
    : Pass<"matquant-expand-strided-copies", "::mlir::func::FuncOp"> {
  let summary = "Turn non-contiguous memref.copy into linalg.copy";
  let description = [{
    After bufferization, a `memref.copy` between buffers that are not both
    static, contiguous and row-major lowers to a call of `memrefCopy` from
    MLIR's runner support library. Code compiled ahead of time or in a JIT
    without that library cannot call it, so this pass rewrites such copies
    to `linalg.copy`, which lowers to plain loops. Contiguous copies stay
    `memref.copy` (an `llvm.memcpy`), and so do unranked ones, which have no
    loops to become.

    ```mlir
    memref.copy %a, %b : memref<4x3xf32> to memref<4x3xf32, strided<[5, 1]>>
    ```
    becomes
    ```mlir
    linalg.copy ins(%a : memref<4x3xf32>)
                outs(%b : memref<4x3xf32, strided<[5, 1]>>)
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def ConvertLinalgToGPUKernelsPass
    : Pass<"convert-linalg-to-gpu-kernels", "::mlir::ModuleOp"> {
  let summary = "Run the buffer-level linalg ops of host functions as GPU "
                "kernels";
  let description = [{
    Every `linalg` op with buffer semantics (after bufferization) and every
    `memref.copy` in a host function becomes a `gpu.func` kernel in the
    `gpu.module` named `kernel-module` and a `gpu.launch_func` in its place.
    Named ops are generalized first. The kernel of an op depends on its
    iteration space:
    - no reduction loop: one thread per point of the iteration space;
    - reduction loops of at least 32 points whose body is
      `yield combiner(out, f(ins))` for an arith combiner with a neutral
      element (add, mul, max, min), or `yield select(cond, combiner(out,
      f(ins)), out)` (a masked reduction), and an f32 result: one warp per
      point of the parallel loops; lanes stride over the reduction space from the
      neutral element, `gpu.shuffle xor` combines the lanes, and lane 0
      combines the total with the output's initial value; few long
      reductions (fewer than 4 * threads-per-block / 32 points of at least
      4 * threads-per-block terms, RMSNorm's sum of squares) take a whole
      block per point instead, the warps' values combined through workgroup
      memory after a barrier; and where the largest input is contiguous
      along the fastest parallel loop (attention's p.V on a [position,
      head, dim] V cache), lanes take 32 consecutive points and the warps
      of a block split the reduction, their partials combined through
      workgroup memory, so that each load of a warp is one transaction;
    - other reductions: one thread per parallel point, a sequential loop
      over the reduction space.
    A `linalg.fill` of a buffer that the next op (views aside) reduces into
    is folded into that reduction's kernel: it starts from the fill value
    instead of reading the buffer, and the fill needs no launch.
    Operands (memrefs of any layout) and the scalars or memrefs the body
    captures become kernel arguments; structurally identical kernels are
    emitted once. Ops with dynamic loop bounds are an error.

    A pointwise op right after a combined reduction, over the reduction's
    output shape, reading no buffer but that output (through the identity)
    and writing none that the reduction touches, runs in the reduction's
    kernel as its epilogue: the thread that stores an output point applies
    it to the value it stored (attention's p.V and the rounding of its
    output to f16: one launch fewer per layer).

    A thread's terms of a reduction, when there are at most `unroll-terms`
    (16) of them, are unrolled instead of a loop: every term's loads first,
    then the combining, so that the loads are in flight together (a ragged
    last term reads a clamped point and is dropped by a select). Lanes over
    points take blocks of 1024 threads, so that each thread has few terms.

    With `fuse-small-ops=N`, a run of consecutive ops (in one block, with
    nothing but views, scalar ops and allocations between them) whose
    iteration spaces have at most N points each (parallel times reduction
    points) becomes ONE kernel of a single block of `fused-threads`
    threads (a run whose kernel would take more than 4 KiB of parameters
    ends before the op that would cross it), launched where the run's last
    op was: the ops in order, a
    `gpu.barrier` between two (which makes the block's writes visible to
    all its threads). A decode step's RMSNorm, softmax and residual
    updates are such runs: each launch saved is a kernel's launch latency,
    which dominates the time of these small ops. In the block, threads
    stride over the points; pointwise ops of at most 16 points per thread
    are unrolled with all their loads first; combined reductions take a
    warp per point, or the whole block per point when there are fewer
    points than warps; a reduction whose largest input is contiguous along
    its points takes lanes over 32 consecutive points, the block's warps
    splitting its terms. A thread's terms beyond `unroll-terms` are a loop
    over batches of that many unrolled terms.

    With `fuse-partitions=N`, a run of consecutive ops (as above) that
    share a partition becomes ONE kernel of a block per partition (of
    `fused-threads` threads): every op's outputs are indexed first by the
    same number of parallel loops of the same extents (its partition
    loops), and a buffer that one op of the run writes and another touches
    is accessed by all of them through one value with the partition loops
    as its leading indices, so that block p reads only what block p wrote.
    Each op may take at most N payload evaluations per partition. Block p
    runs partition p of each op in order, a `gpu.barrier` between two, as
    in the single-block kernel. The attention of a decode step (scores,
    scaling and causal mask, softmax, p.V and its rounding) partitions by
    head: one launch per layer instead of seven. The longest such run is
    taken, with the most partition loops it allows; a run of small ops
    (fuse-small-ops) is preferred where one starts.
  }];
  let options = [
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"linalg_kernels\"",
           "Name of the gpu.module that receives the kernels">,
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"256", "Threads per block (a multiple of 32)">,
    Option<"fuseSmallOps", "fuse-small-ops", "int64_t", /*default=*/"0",
           "Runs of consecutive ops of at most this many payload "
           "evaluations each share one single-block kernel (0: off)">,
    Option<"fusePartitions", "fuse-partitions", "int64_t", /*default=*/"0",
           "Runs of consecutive ops that partition along their leading "
           "parallel loops, at most this many payload evaluations per "
           "partition and op, share one kernel of a block per partition "
           "(0: off)">,
    Option<"unrollTerms", "unroll-terms", "int64_t", /*default=*/"16",
           "A thread's terms of a reduction (and points of a pointwise op "
           "in a fused kernel), when at most this many, are unrolled with "
           "every load first (0: loops)">,
    Option<"fusedThreads", "fused-threads", "int64_t", /*default=*/"1024",
           "Threads of the single block of a fused kernel (a multiple of "
           "32)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
  ];
}

def SinkTensorExtractsPass : Pass<"mq-sink-tensor-extracts"> {
  let summary = "Move scalar computations on tensor elements into the "
                "linalg ops that use them";
  let description = [{
    A linalg op whose body uses a scalar computed outside it from a
    `tensor.extract` (RMSNorm's 1 / sqrt(mean + eps), say) gets a copy of
    that computation at the start of its body, reading the element there.
    Where every linalg op runs as a GPU kernel, this keeps the host from
    reading device memory; the host then only computes on its scalar
    arguments.

    It also gives every linalg op that accumulates into a `linalg.fill`
    result its own copy of the fill, just before it: a fill shared by
    several reductions (after CSE) would otherwise be bufferized once and
    copied for each of them, and a private fill right before its reduction
    is folded into the reduction's kernel by convert-linalg-to-gpu-kernels.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FuseElementwiseNoRecomputePass
    : Pass<"mq-fuse-elementwise-once"> {
  let summary = "Fuse elementwise linalg producers into their consumers "
                "where no producer value is computed more than once";
  let description = [{
    `linalg-fuse-elementwise-ops` (the same patterns: elementwise fusion,
    reshapes folded by expansion, constant folding) with one more condition
    on fusing a producer into a consumer: the consumer reads the producer's
    result through an indexing map that uses every parallel loop of the
    consumer. Otherwise a consumer point that the map does not tell apart
    would compute the same producer value again: attention's scores
    (heads x groups x positions, a reduction over the head dimension) would
    apply RoPE to the query once per cached position, and p.V would divide
    by the softmax's sum once per output dimension. Such a producer stays
    an op of its own and runs once per value. As upstream, a producer is
    fused only into its single use.
  }];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def ForwardTensorCopiesPass : Pass<"mq-forward-tensor-copies"> {
  let summary = "Replace linalg.copy on tensors by its input";
  let description = [{
    `linalg.copy ins(%x) outs(%y)` on tensors of one type has the value of
    %x (the copy overwrites every element of %y), so its uses take %x. An
    imported decode step copies each state (the KV caches) before it
    inserts the new rows; without the copy, bufferization inserts them into
    the argument's own buffer, and the step returns that buffer
    (matquant-decode-to-gpu then drops the result: the state is updated in
    place instead of copied whole every step).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DropInPlaceResultsPass
    : Pass<"mq-drop-in-place-results", "::mlir::ModuleOp"> {
  let summary = "Drop the results of entry functions that return an "
                "argument's own buffer";
  let description = [{
    After bufferization, a result of a function that no op of the module
    calls, returned as one of the function's memref arguments (through
    memref.cast at most) of the same type, is dropped: the caller already
    has that buffer, which the function updated in place (a decode step's
    KV cache). Upstream's `drop-equivalent-buffer-results` leaves public
    functions alone; matquant's runners read the signature from the build's
    manifest, which says which states are updated in place
    ("arg inout"), so the entry function may change. The function gets
    `mq.in_place_results = array<i64: ...>`, per original result the
    argument it returned (-1: kept), so that the manifest follows what was
    dropped; an argument returned twice keeps its second result.
  }];
}

def GPUDependentLaunchPass
    : Pass<"mq-gpu-dependent-launch", "::mlir::ModuleOp"> {
  let summary = "Make every kernel wait for its predecessors itself, so "
                "that it may be launched before they finish";
  let description = [{
    Every kernel of the module's gpu.modules begins with
    `nvvm.griddepcontrol wait` (the thread waits until the grids it depends
    on have completed and their writes are visible) and then
    `nvvm.griddepcontrol launch_dependents` (the next kernel may be
    scheduled once every block of this one has got here). Launched with
    programmatic dependent launch (CUDA 12, sm_90: matquant-gpu-run does
    so where the build's manifest says `dependent_launch`), a kernel's
    launch and the start of its blocks then overlap the end of the kernel
    before it, and a decode step of a few hundred short kernels loses less
    time between them. Launched plainly, both instructions do nothing.
    Kernels that already contain a `griddepcontrol` (convert-mq-to-gpu's
    with `dependent-launch`, which wait after their first weight loads)
    are left alone.
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect"];
}

def GPUWorkspacePass : Pass<"mq-gpu-workspace", "::mlir::ModuleOp"> {
  let summary = "Place the buffers of GPU host functions in one workspace "
                "argument and check that the host never reads them";
  let description = [{
    For every public function of the module (after bufferization, buffer
    results as out-parameters and `convert-linalg-to-gpu-kernels`), each
    `memref.alloc` of static shape becomes a `memref.view` of a new last
    argument `memref<?xi8> {mq.workspace}` at an offset aligned to
    `alignment` bytes; `memref.dealloc`s of them are dropped. The module
    records the workspace size. The caller passes a
    device buffer of that size, so a decode step allocates nothing. The
    size is the function's `mq.workspace_bytes` and an entry of the
    module's `mq.workspace` dictionary (function name to bytes).
    Errors: a dynamic allocation, a function with callers, and a
    `memref.load`, `memref.store` or other op that reads or writes memory
    left in a host function (it would touch device memory from the host).
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"256",
           "Alignment of every buffer in bytes (a power of two)">,
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def ConvertMQToGPUPass : Pass<"convert-mq-to-gpu", "::mlir::ModuleOp"> {
  let summary = "Generate GPU kernels for weight-only matvec / matmul";
  let description = [{
    For every `mq.matvec` / `mq.matmul` whose weight is in the GPU kernel
    layout (`mq-select-gpu-layout`), builds a kernel in the `gpu.module`
    named `kernel-module` (one per distinct kernel spec: widths, mode,
    group, activation type, batch tile, rows per warp) and records it on
    the op as `mq.gpu_kernel = @module::@kernel`. The host side launches
    the kernels through matquant's CUDA runtime (include/matquant/Runtime/
    GpuRuntime.h), whose launcher implements the ABI documented in
    GpuKernelSpec.h.

    The kernels are written in gpu, arith, scf, vector and memref:
    - a warp owns `rows-per-warp` output rows; lanes stride over the row's
      interleaved blocks, reading each piece of a block in one 16-byte
      `vector.load` (consecutive lanes read consecutive 16 bytes);
    - software pipelining in registers: each iteration of the main loop
      issues the loads of the next one (`unroll` blocks per lane, all of
      the warp's rows, and their scales), carried by the loop, before it
      computes on the current ones, so several loads are always in flight;
    - pieces are decoded in registers: one shift and one mask per piece
      extract the indices of 4 elements at once into the bytes of a word,
      one byte permutation per element (`vector.shuffle` of bytes, PRMT)
      builds the float 2^23 + k, and one subtraction of 2^23 + zc leaves
      k - zc exactly (zc = 2^(B-1)); these are multiplied with the
      activations (`vector.load` of 4, extended to f32) and accumulated in
      f32 per block together with the block's activation sum X; per block
      and row the result gets alpha' * P + (m + alpha' * zc) * X, the
      centred form of sum x * (alpha' * k + m);
    - `gpu.shuffle xor` reduces across the warp; lane 0 stores;
    - the ragged last block reads its activations with `vector.maskedload`,
      ragged rows are clamped for loads and not stored.

    With `launch=true` at batch 1, `rows-per-warp=0` and `warps-per-block=0`
    pick the launch shape from the rows N, by the configurations that
    `matquant-gpu-bench --tune` found fastest on an H200 (GPU-results.md):
    SIMT kernels take the most rows per warp (4, 2; 2 at most for 8-bit
    indices) that still gives 264 blocks (two per multiprocessor of a
    132-SM H100 / H200) and 4 warps; tensor-core kernels, 16 rows per
    block, take the fewest warps splitting K (4, 8, 16) that put 3072 warps
    in flight (N / 16 blocks times the warps).

    Tensor-core kernels below 8 index bits read the scales and offsets in
    the order of `mq.pack_scales` (`scale-order`): with `launch=true` the
    launch takes `mq.pack_scales` of the op's scale operands, which folds
    on constants.
  }];
  let options = [
    Option<"rowsPerWarp", "rows-per-warp", "unsigned", /*default=*/"0",
           "Output rows per warp (0: 2 at batch 1, else 1)">,
    Option<"warpsPerBlock", "warps-per-block", "unsigned", /*default=*/"4",
           "Warps per thread block (0: chosen per launch with launch=true, "
           "else 4)">,
    Option<"unroll", "unroll", "unsigned", /*default=*/"2",
           "Blocks per lane in flight in the main loop">,
    Option<"prefetch", "prefetch", "unsigned", /*default=*/"0",
           "Tensor-core kernels: each warp asks the L2 cache for its weights "
           "this many super-tiles ahead of its register loads "
           "(prefetch.L2, PTX ISA 8.0; names end in _pfN); 0: none">,
    Option<"earlyPrefetch", "early-prefetch", "unsigned", /*default=*/"0",
           "Tensor-core kernels: before waiting for the grids they depend "
           "on (dependent-launch), each warp asks the L2 cache for up to "
           "this many of its next super-tiles, so that a GEMV launched "
           "early streams its weights while the kernels before it run "
           "(prefetch.L2; names end in _epfN; 64-bit index); 0: none">,
    Option<"matvecBatchTile", "matvec-batch-tile", "unsigned",
           /*default=*/"0",
           "Tensor-core kernels of matvecs: batch tile 1 (one all-ones mma "
           "per 8 k-steps for the activation sums; names _b1_), 8 (the "
           "batch-8 kernel: one per k-step; _b8_), or 0: the default, 1">,
    Option<"stages", "stages", "unsigned", /*default=*/"0",
           "Tensor-core kernels: the weights stream through a shared-memory "
           "ring of this many super-tiles per warp (cp.async; names end in "
           "_stN; the kernels then use 64-bit index); 0: registers">,
    Option<"scaleOrder", "scale-order", "std::string", /*default=*/"\"auto\"",
           "Tensor-core kernels: `packed` reads the scales and offsets packed "
           "by row tile (mq.pack_scales: one 8-byte load per lane and group, "
           "a warp's on one cache line; names end in _ps), `plain` reads "
           "them [N, groups] row-major, `auto` packs them below 8 index "
           "bits (gpuMmaPackedScales)">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"matquant_kernels\"",
           "Name of the gpu.module that receives the kernels">,
    Option<"dependentLaunch", "dependent-launch", "bool",
           /*default=*/"false",
           "Kernels that wait for their predecessors themselves "
           "(griddepcontrol, sm_90; names end in _dl): tensor-core kernels "
           "after their first weight loads, for programmatic dependent "
           "launch">,
    Option<"launch", "launch", "bool", /*default=*/"false",
           "Also replace each op (on tensors) by a gpu.launch_func of its "
           "kernel on the buffers of its operands (bufferization.to_buffer) "
           "and a new result buffer, for host code lowered by MLIR "
           "(gpu-to-llvm)">,
  ];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::nvgpu::NVGPUDialect",
    "::mlir::NVVM::NVVMDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect",
  ];
}

#endif // MATQUANT_CONVERSION_PASSES_TD
