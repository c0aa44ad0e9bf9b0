//===- GpuKernelSpec.h - What one generated GPU kernel computes -*- C++ -*-===//
//
// Plain C++ (no MLIR, no CUDA headers), shared by the code generator
// (convert-mq-to-gpu builds a kernel from a spec), the kernel library tool
// (matquant-gpu-compile names kernels by spec) and the runtime launcher
// (which picks a compiled spec and its launch shape for a problem).
//
// Every kernel computes the weight-only product
//   y[b, n] = sum_k x[b, k] * W_hat_r[n, k],  b < nb, n < N, k < K
// with W stored in the interleaved layout of numerics::packInterleaved
// (channel axis 0, block `block`), accumulating in f32.
//
// Kernel ABI (gpu.func lowered with convert-gpu-to-nvvm, index-bitwidth 32):
// every memref<?xT> argument is the 5-word descriptor (allocated pointer,
// aligned pointer, i32 offset, i32 size, i32 stride); then i32 scalars.
//   w      memref<?xi8>   N rows of interleavedRowBytes(K, indexBits, block)
//   scales memref<?xf32>  alpha, [N, groups] row-major (packedScales:
//                         numerics::packMmaScales, [ceil(N / 16), groups,
//                         8, 2])
//   offs   memref<?xf32>  m, the same shape
//   x      memref<?xT>    [nb, ldx] activations, ldx % 8 == 0, ldx >= K
//   y      memref<?xT>    [nb, N] results (memref<?xf32> with outF32)
//   n, k, nb, ldx         i32
// Launch: gridDim.x = ceil(N / rowsPerBlock()), blockDim.x =
// threadsPerBlock(). Any nb: the kernel walks the batch in tiles of
// batchTile rows, decoding the weights once per tile.
//
//===----------------------------------------------------------------------===//

#ifndef MATQUANT_RUNTIME_GPUKERNELSPEC_H
#define MATQUANT_RUNTIME_GPUKERNELSPEC_H

#include "matquant/Numerics/Numerics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace matquant::gpurt {

enum class ActType { F32, F16, BF16 };
const char *actTypeName(ActType t);
bool parseActType(const std::string &s, ActType &t);
unsigned actTypeBytes(ActType t);

/// The interleaved block the GPU kernels want for an index of `indexBits`
/// bits: E = min(64, 128 / minPiece), so a piece of 2 or more bits fills
/// one 16-byte load per lane (8 bytes for a 1-bit piece), halved until it
/// divides the group size; each piece's bytes per block must stay a whole
/// number of 32-bit words. 0 when no block fits.
int64_t gpuInterleavedBlock(unsigned indexBits, int64_t groupSize);

/// The column tile of the MMA-fragment layout (numerics::packMma) the
/// tensor-core kernels want for an index of `indexBits` bits: 16 / minPiece
/// k-steps of 16 (a lane's share of the narrowest piece fills one 16-byte
/// load), halved until it divides the group size and while the layout
/// stays valid. 0 when none fits (groups not a multiple of 16 or 32).
int64_t gpuMmaKTile(unsigned indexBits, int64_t groupSize);

/// IEEE binary16 and bfloat16 <-> float32, round to nearest even (NaN
/// stays NaN). The host side of f16 / bf16 activations.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBF16(float f);
float bf16ToFloat(uint16_t h);
/// Rounds f through the activation type (identity for f32).
float roundToAct(float f, ActType t);

/// Whether a tensor-core kernel of `indexBits`-bit indices reads its scales
/// packed by row tile (numerics::packMmaScales) under the scale order
/// `order` (the option of convert-mq-to-gpu and matquant-gpu-compile):
/// "packed", "plain", or "auto", which packs below 8 bits. Measured on an H200,
/// group 128 (docs/GPU-results.md, session 16): at batch 1 int2 1.16 - 1.32x
/// faster than with [N, groups] scales, 3-bit indices 0.99 - 1.13x, int4 0.92
/// - 1.05x, int8 0 - 10% slower (its row-major scale lines, shared by the
/// block's warps, mostly hit in L1).
bool gpuMmaPackedScales(const std::string &order, unsigned indexBits);
/// Whether `order` is one of "auto", "packed", "plain".
bool isScaleOrder(const std::string &order);

struct GemvKernelSpec {
  unsigned storageBits = 8;                              ///< c
  unsigned bits = 4;                                     ///< r
  numerics::SliceMode mode = numerics::SliceMode::Clamped;
  int64_t groupSize = 0;                                 ///< 0: per channel
  ActType act = ActType::F16;
  unsigned batchTile = 1;     ///< batch rows per pass over the weights
  unsigned rowsPerWarp = 1;   ///< output rows a warp computes together
  unsigned warpsPerBlock = 4; ///< warps per thread block
  unsigned unroll = 2;        ///< K blocks per lane in flight per iteration
  /// Tensor-core kernel (mma.sync m16n8k16, f16 activations) on the
  /// MMA-fragment layout: rowsPerWarp is then a multiple of 16 (row tiles),
  /// the warps of a block share those rows and split K, batchTile is 8 or
  /// 16 and unroll counts column tiles (a multiple of the tiles per group).
  bool mma = false;
  /// With mma: the weights are the stored c-bit model in bit planes
  /// (numerics::packMmaPlanes) and the kernel reads only the planes width
  /// r needs: r (prefix-exact, or r = c), else r + 1, rounding in
  /// registers. One stored copy serves every width; the launcher picks
  /// the kernel of the width wanted per call.
  bool planes = false;
  /// Results in f32 whatever the activation type (f16 / bf16 activations
  /// in, the f32 accumulators out unrounded): name suffix `_y32`.
  bool outF32 = false;
  /// The kernel waits for its predecessors itself (`griddepcontrol.wait`,
  /// then `launch_dependents`, sm_90) for programmatic dependent launch:
  /// tensor-core kernels after their first weight loads, which read only
  /// constants, SIMT kernels at their start. Name suffix `_dl` (after
  /// `_y32`).
  bool dependentLaunch = false;
  /// With mma: each warp asks the L2 cache for its weights this many
  /// super-tiles (`unroll` column tiles) ahead of the ones it loads into
  /// registers (a `prefetch.L2` of a 128-byte line per lane, PTX ISA 8.0),
  /// so more bytes are in flight than registers hold. 0: none. Name suffix
  /// `_pfN` (after `_uN`).
  unsigned prefetch = 0;
  /// With mma (not planes, not stages): before it waits for the grids it
  /// depends on (dependentLaunch), each warp asks the L2 cache for up to
  /// this many of its super-tiles after the first (prefetch.L2, as
  /// `prefetch`), so that a GEMV launched early by programmatic dependent
  /// launch streams its weights into L2 while the kernels before it run.
  /// Without dependentLaunch the requests go out at the kernel's start. 0:
  /// none. Needs 64-bit index, as `prefetch`. Name suffix `_epfN` (after
  /// `_pfN`).
  unsigned earlyPrefetch = 0;
  /// With mma: each warp streams its weights through a ring of this many
  /// super-tiles in shared memory (cp.async, `stages - 1` super-tiles in
  /// flight, which hold no registers) instead of carrying the next
  /// super-tile in registers. 0: registers. Name suffix `_stN` (after
  /// `_pfN`).
  unsigned stages = 0;
  /// With mma: the scales and offsets come in the order of
  /// numerics::packMmaScales ([ceil(N / 16), groups, 8, 2]: a lane's two
  /// rows of a group adjacent, a warp's 64 bytes contiguous) instead of
  /// [N, groups] row-major; one 8-byte load per lane and group each. Name
  /// suffix `_ps` (after `_stN`).
  bool packedScales = false;
  /// Shared memory of a stages kernel's ring, in bytes (0 without).
  int64_t ringBytes() const;
  /// The kernel is lowered with 64-bit index: its memref descriptors' sizes
  /// and n, k, nb, ldx are 64-bit (launchGemv passes them so). Name suffix
  /// `_i64` (after `_pfN`). Kernels with prefetch need it (the prefetch
  /// address is the buffer's pointer as an index). The decode step's
  /// kernels are lowered with 64-bit index too, launched by its own host
  /// code, and do not carry the suffix.
  bool index64 = false;
  /// Planes a plane kernel reads.
  unsigned planesRead() const;

  /// Bits of the stored index: r, or r + 1 for extra precision below c.
  unsigned indexBits() const;
  /// gpuInterleavedBlock(indexBits(), groupSize).
  int64_t block() const;
  /// gpuMmaKTile(indexBits(), groupSize) (MMA kernels; 1-bit pieces for
  /// plane kernels).
  int64_t kTile() const;
  /// Column tiles per group of an MMA kernel (1 per channel): its unroll
  /// must be a multiple.
  int64_t tilesPerGroup() const;
  /// For a grouped MMA kernel whose tile fits, rounds unroll up to a whole
  /// number of groups (at least one); otherwise leaves it alone.
  void roundUnrollToGroups();
  /// Bytes of the packed weights of an n x k matrix in the layout the
  /// kernel reads (interleaved or MMA fragments).
  int64_t weightBytes(int64_t n, int64_t k) const;
  /// Packs indices [n, k] into that layout: the width-r indices, or for
  /// plane kernels the stored c-bit ones.
  std::vector<uint8_t> packWeights(const uint8_t *idx, int64_t n,
                                   int64_t k) const;
  /// Scale groups of a row of k columns (1 per channel).
  int64_t groups(int64_t k) const;
  /// Elements of the scale and offset buffers of an n x k matrix, and
  /// the [n, groups] values in the order the kernel reads them.
  int64_t scaleCount(int64_t n, int64_t k) const;
  std::vector<float> packScales(const float *values, int64_t n,
                                int64_t k) const;
  /// Empty when the spec can be compiled, else what is wrong.
  std::string validate() const;
  /// A symbol name that encodes every field, e.g.
  /// mq_gemv_c8_r4_cl_g128_f16_b1_rw2_wpb4_u2 (mq_mma_... for MMA kernels;
  /// `_y32` appended for f32 results of f16 / bf16 activations).
  std::string name() const;
  /// Parses what name() writes; false on anything else.
  static bool parseName(const std::string &name, GemvKernelSpec &spec);

  /// The element type of the results: act, or f32 with outF32.
  ActType outType() const { return outF32 ? ActType::F32 : act; }

  unsigned threadsPerBlock() const { return 32 * warpsPerBlock; }
  int64_t rowsPerBlock() const {
    return mma ? int64_t(rowsPerWarp) : int64_t(warpsPerBlock) * rowsPerWarp;
  }
  int64_t gridSize(int64_t n) const {
    return (n + rowsPerBlock() - 1) / rowsPerBlock();
  }
};

/// Of `variants` (compiled kernels of one width, mode, group and activation
/// type), the one to launch for an N x K problem with nb batch rows on a
/// device of `multiprocessors` SMs; -1 when there is none. The batch tile:
/// the largest not above nb (fewest passes, no idle rows), else the
/// smallest; tensor-core kernels of batch tile 1 serve nb = 1 only, where
/// a wider tile exists. Then tensor-core kernels of batch tile 16 take 32
/// rows per warp where the variants have it, except for 3-bit indices (two
/// row tiles share each activation fragment and the activation sums' mma;
/// on an H200 at 8192 x 8192, 14336 x 4096 and 4096 x 14336: int4 1.23 -
/// 1.34x faster, int2 1.30 - 1.47x, int8 1.02 - 1.30x, int3 0.97 - 1.15x;
/// docs/GPU-results.md, session 17). Then the most rows per block that still
/// give every multiprocessor two blocks, else the fewest rows per block.
int chooseGemvVariant(const std::vector<GemvKernelSpec> &variants, int64_t n,
                      int64_t nb, int multiprocessors);

} // namespace matquant::gpurt

#endif // MATQUANT_RUNTIME_GPUKERNELSPEC_H
