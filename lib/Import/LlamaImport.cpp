//===- LlamaImport.cpp - Build the MLIR module of a Llama model -*- C++ -*-===//
//
// Builds `func.func @decode_step(%token: index, %pos: index, %k_cache,
// %v_cache) -> (logits, k_cache', v_cache')` in func/linalg/tensor/arith/math
// from f32 weights, following llama2.c's run.c operation by operation:
// embedding lookup; per layer RMSNorm, q/k/v projections, rotary embeddings,
// KV-cache update at `pos`, grouped-query attention over positions 0..pos
// (by default every cached position, those after `pos` masked with -inf;
// with `liveAttention`, slices of the caches' first pos + 1 rows, of dynamic
// size), output projection, residual,
// RMSNorm, SwiGLU FFN, residual; final RMSNorm and the classifier.
//
// Each linear layer is a `linalg.matvec` with an `arith.constant
// dense_resource<...>` weight [N, K] and `mq.layer = "layers.<i>.<name>"`.
// Optionally a `@main` driver runs greedy decode steps and prints the results
// with the mlir-runner utilities.
//
//===----------------------------------------------------------------------===//

#include "matquant/Import/Llama.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;
using llvm::formatv;

namespace matquant {

namespace {
using BodyFn = function_ref<void(OpBuilder &, Location, ValueRange)>;

/// Emits the ops of one module; all helpers insert at the builder's
/// current point.
class LlamaModuleBuilder {
public:
  LlamaModuleBuilder(MLIRContext &context, ModuleOp module,
                     const LlamaConfig &config, int64_t seqLen,
                     bool liveAttention)
      : ctx(&context), b(&context), loc(UnknownLoc::get(&context)),
        module(module), c(config), seqLen(seqLen), liveAttention(liveAttention),
        f32(Float32Type::get(&context)) {}

  void buildDecodeStep(LlamaWeights &w);
  void buildDriver(int64_t steps, int64_t bosToken);

private:
  RankedTensorType tensorType(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32);
  }
  Value f32Constant(OpBuilder &builder, float v) {
    return arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(v));
  }
  Value indexConstant(int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  /// `dest` filled with `value` (linalg.fill).
  Value fill(Value dest, TypedAttr value) {
    Value v = arith::ConstantOp::create(b, loc, value);
    return linalg::FillOp::create(b, loc, ValueRange{v}, ValueRange{dest})
        .getResult(0);
  }
  /// A tensor of `shape` filled with `value` (tensor.empty + linalg.fill).
  Value filled(ArrayRef<int64_t> shape, TypedAttr value) {
    return fill(tensor::EmptyOp::create(b, loc, shape, value.getType()), value);
  }
  Value filled(ArrayRef<int64_t> shape, float value) {
    return filled(shape, b.getF32FloatAttr(value));
  }
  Value empty(ArrayRef<int64_t> shape) {
    return tensor::EmptyOp::create(b, loc, shape, f32);
  }
  /// The same, of sizes that may be values (dynamic).
  Value filledSizes(ArrayRef<OpFoldResult> sizes, float value) {
    return fill(emptySizes(sizes), b.getF32FloatAttr(value));
  }
  Value emptySizes(ArrayRef<OpFoldResult> sizes) {
    return tensor::EmptyOp::create(b, loc, sizes, f32);
  }
  Value generic(ArrayRef<Value> inputs, Value init, ArrayRef<AffineMap> maps,
                ArrayRef<utils::IteratorType> iterators, BodyFn body) {
    return linalg::GenericOp::create(b, loc, TypeRange{init.getType()}, inputs,
                                     ValueRange{init}, maps, iterators, body)
        .getResult(0);
  }
  /// An elementwise op over 1-D tensors of size `n`.
  Value elementwise(ArrayRef<Value> inputs, int64_t n, BodyFn body) {
    SmallVector<AffineMap> maps(inputs.size() + 1,
                                AffineMap::getMultiDimIdentityMap(1, ctx));
    return generic(inputs, empty({n}), maps, {utils::IteratorType::parallel},
                   body);
  }
  AffineMap map(unsigned numDims, ArrayRef<unsigned> results) {
    SmallVector<AffineExpr> exprs;
    for (unsigned r : results)
      exprs.push_back(getAffineDimExpr(r, ctx));
    return AffineMap::get(numDims, 0, exprs, ctx);
  }

  Value weight(LlamaTensor &t);
  Value matvec(Value weight, Value x, int64_t rows, StringRef layer);
  Value rmsNorm(Value x, Value weight);
  Value rope(Value x, int64_t n, Value posF);
  Value attention(Value q, Value kCache, Value vCache, int64_t layer,
                  Value pos);
  Value add(Value a, Value x);
  Value swiglu(Value gate, Value up);

  MLIRContext *ctx;
  OpBuilder b;
  Location loc;
  ModuleOp module;
  const LlamaConfig &c;
  int64_t seqLen;
  bool liveAttention;
  Type f32;
  /// cos and sin of the rotary angles at this step's position, by length
  /// (dim or kv_dim): computed once per step, used by every layer.
  llvm::SmallDenseMap<int64_t, std::pair<Value, Value>> ropeTables;
};
} // namespace

//===----------------------------------------------------------------------===//
// Building blocks
//===----------------------------------------------------------------------===//

/// A named weight constant. The tensor's storage moves into the resource
/// blob, which frees it with the context.
Value LlamaModuleBuilder::weight(LlamaTensor &t) {
  std::string blobName = t.name;
  std::replace(blobName.begin(), blobName.end(), '.', '_');
  AsmResourceBlob blob;
  if (t.data.empty() && !t.external.empty()) {
    // Elements held elsewhere (a file mapping): the blob keeps them alive.
    auto *keep = new std::shared_ptr<const void>(t.keepAlive);
    blob = UnmanagedAsmResourceBlob::allocateInferAlign(
        t.external, [keep](void *, size_t, size_t) { delete keep; });
  } else {
    auto *storage = new std::vector<float>(std::move(t.data));
    blob = UnmanagedAsmResourceBlob::allocateInferAlign(
        ArrayRef<float>(*storage),
        [storage](void *, size_t, size_t) { delete storage; });
  }
  auto attr = DenseF32ResourceElementsAttr::get(tensorType(t.shape), blobName,
                                                std::move(blob));
  return arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
}

/// y = W x with W [rows, K]; y[i] accumulates W[i, k] x[k] for k = 0..K-1.
Value LlamaModuleBuilder::matvec(Value weight, Value x, int64_t rows,
                                 StringRef layer) {
  Value init = filled({rows}, 0.0f);
  auto op = linalg::MatvecOp::create(b, loc, TypeRange{tensorType({rows})},
                                     ValueRange{weight, x}, ValueRange{init});
  op->setAttr("mq.layer", b.getStringAttr(layer));
  return op.getResult(0);
}

/// run.c rmsnorm: ss = sum x^2; ss = 1 / sqrt(ss / n + eps); o = w * (ss * x).
Value LlamaModuleBuilder::rmsNorm(Value x, Value weight) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap scalar = AffineMap::get(1, 0, {}, ctx);
  Value ss = generic({x}, filled({}, 0.0f), {id, scalar},
                     {utils::IteratorType::reduction},
                     [](OpBuilder &nb, Location l, ValueRange a) {
                       Value sq = arith::MulFOp::create(nb, l, a[0], a[0]);
                       Value sum = arith::AddFOp::create(nb, l, a[1], sq);
                       linalg::YieldOp::create(nb, l, sum);
                     });
  Value s = tensor::ExtractOp::create(b, loc, ss, ValueRange{});
  s = arith::DivFOp::create(b, loc, s, f32Constant(b, static_cast<float>(n)));
  s = arith::AddFOp::create(b, loc, s, f32Constant(b, c.normEps));
  s = math::SqrtOp::create(b, loc, s);
  s = arith::DivFOp::create(b, loc, f32Constant(b, 1.0f), s);
  return elementwise({x, weight}, n,
                     [s](OpBuilder &nb, Location l, ValueRange a) {
                       Value sx = arith::MulFOp::create(nb, l, s, a[0]);
                       Value o = arith::MulFOp::create(nb, l, a[1], sx);
                       linalg::YieldOp::create(nb, l, o);
                     });
}

/// Rotary embedding of a q or k vector of `n` elements at position `posF`.
/// Element e of head h pairs with its partner p (e^1 for interleaved pairs,
/// e +- head_size/2 for rotate_half); with f the pair's frequency and
/// a = pos * f, the first of the pair becomes x[e] cos a - x[p] sin a and
/// the second x[e] cos a + x[p] sin a.
Value LlamaModuleBuilder::rope(Value x, int64_t n, Value posF) {
  const int64_t hs = c.headSize();
  SmallVector<float> freq(n);
  for (int64_t e = 0; e < n; ++e) {
    int64_t j = e % hs;
    // Index of the pair's first element within the head, as in run.c's
    // `head_dim` (2i for interleaved pairs; for rotate_half the i-th pair
    // also has frequency theta^(-2i/hs)).
    int64_t pairStart = c.rope == RopeStyle::Interleaved ? (j & ~int64_t(1))
                                                         : 2 * (j % (hs / 2));
    freq[e] = 1.0f / powf(c.ropeTheta, static_cast<float>(pairStart) /
                                           static_cast<float>(hs));
  }
  // cos and sin of pos * f once per length, shared by all layers (the first
  // use is in layer 0 and dominates the others).
  auto &[cosTable, sinTable] = ropeTables[n];
  if (!cosTable) {
    Value freqTable = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(tensorType({n}), ArrayRef<float>(freq)));
    auto angleFn = [posF](bool sine) {
      return [posF, sine](OpBuilder &nb, Location l, ValueRange a) {
        Value angle = arith::MulFOp::create(nb, l, posF, a[0]);
        Value r = sine ? math::SinOp::create(nb, l, angle).getResult()
                       : math::CosOp::create(nb, l, angle).getResult();
        linalg::YieldOp::create(nb, l, r);
      };
    };
    cosTable = elementwise({freqTable}, n, angleFn(false));
    sinTable = elementwise({freqTable}, n, angleFn(true));
  }
  bool interleaved = c.rope == RopeStyle::Interleaved;
  return elementwise(
      {x, cosTable, sinTable}, n,
      [&, x, interleaved, hs](OpBuilder &nb, Location l, ValueRange a) {
        Value e = linalg::IndexOp::create(nb, l, 0);
        auto idx = [&](int64_t v) {
          return arith::ConstantIndexOp::create(nb, l, v);
        };
        Value isFirst, partner;
        if (interleaved) {
          Value bit = arith::AndIOp::create(nb, l, e, idx(1));
          isFirst = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::eq, bit,
                                          idx(0));
          partner = arith::XOrIOp::create(nb, l, e, idx(1));
        } else {
          Value j = arith::RemUIOp::create(nb, l, e, idx(hs));
          isFirst = arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ult, j,
                                          idx(hs / 2));
          Value up = arith::AddIOp::create(nb, l, e, idx(hs / 2));
          Value down = arith::SubIOp::create(nb, l, e, idx(hs / 2));
          partner = arith::SelectOp::create(nb, l, isFirst, up, down);
        }
        Value cosA = a[1], sinA = a[2];
        Value xp = tensor::ExtractOp::create(nb, l, x, ValueRange{partner});
        Value lhs = arith::MulFOp::create(nb, l, a[0], cosA);
        Value rhs = arith::MulFOp::create(nb, l, xp, sinA);
        Value first = arith::SubFOp::create(nb, l, lhs, rhs);
        Value second = arith::AddFOp::create(nb, l, lhs, rhs);
        Value r = arith::SelectOp::create(nb, l, isFirst, first, second);
        linalg::YieldOp::create(nb, l, r);
      });
}

/// Grouped-query attention of q [dim] over cache positions 0..pos of
/// `layer`. Heads are viewed as [n_kv_heads, group, head_size]: query head
/// g * group + m reads kv head g.
Value LlamaModuleBuilder::attention(Value q, Value kCache, Value vCache,
                                    int64_t layer, Value pos) {
  const int64_t kvh = c.nKVHeads, g = c.nHeads / c.nKVHeads, hs = c.headSize();
  const int64_t kvDim = c.kvDim();
  using utils::IteratorType;
  const IteratorType par = IteratorType::parallel;
  const IteratorType red = IteratorType::reduction;

  Value q3 = tensor::ExpandShapeOp::create(b, loc, tensorType({kvh, g, hs}), q,
                                           {{0, 1, 2}});
  // The positions attended: all seqLen rows of the caches (those after pos
  // masked below), or with liveAttention the first pos + 1, a dynamic size.
  OpFoldResult len = b.getIndexAttr(seqLen);
  int64_t staticLen = seqLen;
  if (liveAttention) {
    len = arith::AddIOp::create(b, loc, pos, indexConstant(1)).getResult();
    staticLen = ShapedType::kDynamic;
  }
  auto layerView = [&](Value cache) {
    OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
    Value slice = tensor::ExtractSliceOp::create(
        b, loc, tensorType({staticLen, kvDim}), cache,
        {b.getIndexAttr(layer), zero, zero}, {one, len, b.getIndexAttr(kvDim)},
        {one, one, one});
    return tensor::ExpandShapeOp::create(
               b, loc, tensorType({staticLen, kvh, hs}), slice, {{0}, {1, 2}},
               {len, b.getIndexAttr(kvh), b.getIndexAttr(hs)})
        .getResult();
  };
  Value k3 = layerView(kCache);
  Value v3 = layerView(vCache);
  SmallVector<OpFoldResult> scoreSizes = {b.getIndexAttr(kvh),
                                          b.getIndexAttr(g), len};

  // scores[g, m, t] = sum_d q[g, m, d] k[t, g, d]   (dims g, m, t, d)
  Value scores = generic(
      {q3, k3}, filledSizes(scoreSizes, 0.0f),
      {map(4, {0, 1, 3}), map(4, {2, 0, 3}), map(4, {0, 1, 2})},
      {par, par, par, red}, [](OpBuilder &nb, Location l, ValueRange a) {
        Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
        Value r = arith::AddFOp::create(nb, l, a[2], p);
        linalg::YieldOp::create(nb, l, r);
      });
  // Scale by 1/sqrt(head_size); positions after pos (when there are any)
  // get -inf.
  AffineMap id3 = AffineMap::getMultiDimIdentityMap(3, ctx);
  AffineMap gm = map(3, {0, 1});
  float scale = std::sqrt(static_cast<float>(hs));
  float negInf = -std::numeric_limits<float>::infinity();
  Value masked = generic(
      {scores}, emptySizes(scoreSizes), {id3, id3}, {par, par, par},
      [&, pos](OpBuilder &nb, Location l, ValueRange a) {
        Value v = arith::DivFOp::create(nb, l, a[0], f32Constant(nb, scale));
        if (liveAttention) {
          linalg::YieldOp::create(nb, l, v);
          return;
        }
        Value t = linalg::IndexOp::create(nb, l, 2);
        Value live =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ule, t, pos);
        Value r =
            arith::SelectOp::create(nb, l, live, v, f32Constant(nb, negInf));
        linalg::YieldOp::create(nb, l, r);
      });
  // Softmax over t.
  Value maxima =
      generic({masked}, filled({kvh, g}, negInf), {id3, gm}, {par, par, red},
              [](OpBuilder &nb, Location l, ValueRange a) {
                Value r = arith::MaximumFOp::create(nb, l, a[1], a[0]);
                linalg::YieldOp::create(nb, l, r);
              });
  Value exps =
      generic({masked, maxima}, emptySizes(scoreSizes), {id3, gm, id3},
              {par, par, par}, [](OpBuilder &nb, Location l, ValueRange a) {
                Value d = arith::SubFOp::create(nb, l, a[0], a[1]);
                Value r = math::ExpOp::create(nb, l, d);
                linalg::YieldOp::create(nb, l, r);
              });
  Value sums =
      generic({exps}, filled({kvh, g}, 0.0f), {id3, gm}, {par, par, red},
              [](OpBuilder &nb, Location l, ValueRange a) {
                Value r = arith::AddFOp::create(nb, l, a[1], a[0]);
                linalg::YieldOp::create(nb, l, r);
              });
  Value probs =
      generic({exps, sums}, emptySizes(scoreSizes), {id3, gm, id3},
              {par, par, par}, [](OpBuilder &nb, Location l, ValueRange a) {
                Value r = arith::DivFOp::create(nb, l, a[0], a[1]);
                linalg::YieldOp::create(nb, l, r);
              });
  // out[g, m, d] = sum_{t <= pos} p[g, m, t] v[t, g, d]   (dims g, m, t, d:
  // the innermost loop runs along d, contiguous in v and out, so it
  // vectorizes while each sum still adds t in order).
  Value out = generic(
      {probs, v3}, filled({kvh, g, hs}, 0.0f),
      {map(4, {0, 1, 2}), map(4, {2, 0, 3}), map(4, {0, 1, 3})},
      {par, par, red, par}, [&, pos](OpBuilder &nb, Location l, ValueRange a) {
        Value p = arith::MulFOp::create(nb, l, a[0], a[1]);
        Value sum = arith::AddFOp::create(nb, l, a[2], p);
        if (liveAttention) {
          linalg::YieldOp::create(nb, l, sum);
          return;
        }
        Value t = linalg::IndexOp::create(nb, l, 2);
        Value live =
            arith::CmpIOp::create(nb, l, arith::CmpIPredicate::ule, t, pos);
        Value r = arith::SelectOp::create(nb, l, live, sum, a[2]);
        linalg::YieldOp::create(nb, l, r);
      });
  return tensor::CollapseShapeOp::create(b, loc, out, {{0, 1, 2}});
}

/// Residual connection x + a.
Value LlamaModuleBuilder::add(Value x, Value a) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  return elementwise({x, a}, n, [](OpBuilder &nb, Location l, ValueRange v) {
    Value sum = arith::AddFOp::create(nb, l, v[0], v[1]);
    linalg::YieldOp::create(nb, l, sum);
  });
}

/// SwiGLU: silu(gate) * up with silu(v) = v * (1 / (1 + exp(-v))).
Value LlamaModuleBuilder::swiglu(Value gate, Value up) {
  int64_t n = cast<RankedTensorType>(gate.getType()).getDimSize(0);
  return elementwise(
      {gate, up}, n, [this](OpBuilder &nb, Location l, ValueRange a) {
        Value neg = arith::NegFOp::create(nb, l, a[0]);
        Value e = math::ExpOp::create(nb, l, neg);
        Value den = arith::AddFOp::create(nb, l, f32Constant(nb, 1.0f), e);
        Value sig = arith::DivFOp::create(nb, l, f32Constant(nb, 1.0f), den);
        Value silu = arith::MulFOp::create(nb, l, a[0], sig);
        Value r = arith::MulFOp::create(nb, l, silu, a[1]);
        linalg::YieldOp::create(nb, l, r);
      });
}

//===----------------------------------------------------------------------===//
// Functions
//===----------------------------------------------------------------------===//

void LlamaModuleBuilder::buildDecodeStep(LlamaWeights &w) {
  const int64_t dim = c.dim, kvDim = c.kvDim();
  auto cacheType = tensorType({c.nLayers, seqLen, kvDim});
  Type index = b.getIndexType();
  auto fnType =
      FunctionType::get(ctx, {index, index, cacheType, cacheType},
                        {tensorType({c.vocabSize}), cacheType, cacheType});
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, loc, "decode_step", fnType);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value token = entry->getArgument(0), pos = entry->getArgument(1);

  Value posI64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), pos);
  Value posF = arith::SIToFPOp::create(b, loc, f32, posI64);

  // Embedding lookup: row `token` of the [vocab, dim] table.
  Value embedding = weight(w.tokEmbeddings);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  Value x = tensor::ExtractSliceOp::create(
      b, loc, tensorType({dim}), embedding, {token, zero},
      {one, b.getIndexAttr(dim)}, {one, one});

  // The updated caches are fresh tensors rather than the arguments updated
  // in place: a function that returns (an alias of) its argument makes the
  // ownership-based buffer deallocation insert a bufferization.clone, which
  // the reference pipeline does not lower.
  auto copy = [&](Value cache) {
    return linalg::CopyOp::create(b, loc, ValueRange{cache},
                                  ValueRange{tensor::EmptyOp::create(
                                      b, loc, cacheType.getShape(), f32)})
        .getResult(0);
  };
  Value kCache = copy(entry->getArgument(2));
  Value vCache = copy(entry->getArgument(3));

  for (int64_t l = 0; l < c.nLayers; ++l) {
    LlamaLayerWeights &lw = w.layers[l];
    std::string prefix = formatv("layers.{0}.", l).str();
    Value xb = rmsNorm(x, weight(lw.attentionNorm));
    Value q = matvec(weight(lw.wq), xb, dim, prefix + "attention.wq");
    Value k = matvec(weight(lw.wk), xb, kvDim, prefix + "attention.wk");
    Value v = matvec(weight(lw.wv), xb, kvDim, prefix + "attention.wv");
    q = rope(q, dim, posF);
    k = rope(k, kvDim, posF);
    SmallVector<OpFoldResult> offsets = {b.getIndexAttr(l), pos, zero};
    SmallVector<OpFoldResult> sizes = {one, one, b.getIndexAttr(kvDim)};
    SmallVector<OpFoldResult> strides = {one, one, one};
    kCache = tensor::InsertSliceOp::create(b, loc, k, kCache, offsets, sizes,
                                           strides);
    vCache = tensor::InsertSliceOp::create(b, loc, v, vCache, offsets, sizes,
                                           strides);
    Value att = attention(q, kCache, vCache, l, pos);
    Value o = matvec(weight(lw.wo), att, dim, prefix + "attention.wo");
    x = add(x, o);
    xb = rmsNorm(x, weight(lw.ffnNorm));
    Value gate =
        matvec(weight(lw.w1), xb, c.hiddenDim, prefix + "feed_forward.w1");
    Value up =
        matvec(weight(lw.w3), xb, c.hiddenDim, prefix + "feed_forward.w3");
    Value ffn = matvec(weight(lw.w2), swiglu(gate, up), dim,
                       prefix + "feed_forward.w2");
    x = add(x, ffn);
  }
  x = rmsNorm(x, weight(w.norm));
  Value classifier = w.output ? weight(*w.output) : embedding;
  Value logits = matvec(classifier, x, c.vocabSize, "output");
  func::ReturnOp::create(b, loc, ValueRange{logits, kCache, vCache});
}

/// `@main`: `steps` greedy decode steps from `bosToken`. Each step prints one
/// line "<argmax>, <logits[0]>, ..., <logits[3]>".
void LlamaModuleBuilder::buildDriver(int64_t steps, int64_t bosToken) {
  b.setInsertionPointToEnd(module.getBody());
  Type i64 = b.getI64Type();
  auto declare = [&](StringRef name, TypeRange args) {
    auto fn =
        func::FuncOp::create(b, loc, name, FunctionType::get(ctx, args, {}));
    fn.setPrivate();
  };
  declare("printI64", {i64});
  declare("printF32", {f32});
  declare("printComma", {});
  declare("printNewline", {});

  auto main =
      func::FuncOp::create(b, loc, "main", FunctionType::get(ctx, {}, {}));
  b.setInsertionPointToStart(main.addEntryBlock());
  auto decode = module.lookupSymbol<func::FuncOp>("decode_step");
  ArrayRef<int64_t> cacheShape =
      cast<RankedTensorType>(decode.getFunctionType().getInput(2)).getShape();
  Value kCache = filled(cacheShape, 0.0f);
  Value vCache = filled(cacheShape, 0.0f);
  Value token = indexConstant(bosToken);
  AffineMap id = AffineMap::getMultiDimIdentityMap(1, ctx);
  AffineMap scalar = AffineMap::get(1, 0, {}, ctx);
  float negInf = -std::numeric_limits<float>::infinity();
  for (int64_t step = 0; step < steps; ++step) {
    auto call = func::CallOp::create(
        b, loc, decode, ValueRange{token, indexConstant(step), kCache, vCache});
    Value logits = call.getResult(0);
    kCache = call.getResult(1);
    vCache = call.getResult(2);
    // Argmax; the first maximum wins, as with run.c's `>` scan.
    auto argmax = linalg::GenericOp::create(
        b, loc, TypeRange{tensorType({}), RankedTensorType::get({}, i64)},
        ValueRange{logits},
        ValueRange{filled({}, negInf), filled({}, b.getI64IntegerAttr(0))},
        ArrayRef<AffineMap>{id, scalar, scalar},
        ArrayRef<utils::IteratorType>{utils::IteratorType::reduction},
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value i = linalg::IndexOp::create(nb, l, 0);
          Value i64Index = arith::IndexCastOp::create(nb, l, i64, i);
          Value gt = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT,
                                           a[0], a[1]);
          Value best = arith::SelectOp::create(nb, l, gt, a[0], a[1]);
          Value bestIndex = arith::SelectOp::create(nb, l, gt, i64Index, a[2]);
          linalg::YieldOp::create(nb, l, ValueRange{best, bestIndex});
        });
    Value next =
        tensor::ExtractOp::create(b, loc, argmax.getResult(1), ValueRange{});
    func::CallOp::create(b, loc, "printI64", TypeRange{}, ValueRange{next});
    for (int64_t j = 0; j < std::min<int64_t>(4, c.vocabSize); ++j) {
      func::CallOp::create(b, loc, "printComma", TypeRange{}, ValueRange{});
      Value v = tensor::ExtractOp::create(b, loc, logits,
                                          ValueRange{indexConstant(j)});
      func::CallOp::create(b, loc, "printF32", TypeRange{}, ValueRange{v});
    }
    func::CallOp::create(b, loc, "printNewline", TypeRange{}, ValueRange{});
    token = arith::IndexCastOp::create(b, loc, b.getIndexType(), next);
  }
  func::ReturnOp::create(b, loc);
}

//===----------------------------------------------------------------------===//
// Entry point
//===----------------------------------------------------------------------===//

llvm::Expected<OwningOpRef<ModuleOp>>
importLlama(MLIRContext &context, LlamaWeights weights,
            const LlamaImportOptions &options) {
  const LlamaConfig &c = weights.config;
  if (std::optional<LlamaConfigError> bad = checkLlamaConfig(c))
    return llvm::createStringError("invalid model config: " + bad->message);
  if (options.maxSeqLen < 0 || options.maxSeqLen > c.seqLen)
    return llvm::createStringError(
        formatv("--max-seq-len={0} must be between 1 and the model's seq_len "
                "{1}",
                options.maxSeqLen, c.seqLen)
            .str());
  int64_t seqLen = options.maxSeqLen ? options.maxSeqLen : c.seqLen;
  if (options.driverSteps < 0 || options.driverSteps > seqLen)
    return llvm::createStringError(
        formatv("--emit-driver={0} must be between 0 and the KV cache length "
                "{1}",
                options.driverSteps, seqLen)
            .str());
  if (options.driverSteps &&
      (options.bosToken < 0 || options.bosToken >= c.vocabSize))
    return llvm::createStringError(
        formatv("start token {0} is outside the vocabulary of {1}",
                options.bosToken, c.vocabSize)
            .str());

  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&context));
  LlamaModuleBuilder builder(context, *module, c, seqLen,
                             options.liveAttention);
  builder.buildDecodeStep(weights);
  if (options.liveAttention)
    (*module)->setAttr(kLiveAttentionAttrName, UnitAttr::get(&context));
  if (options.driverSteps)
    builder.buildDriver(options.driverSteps, options.bosToken);
  if (failed(verify(*module)))
    return llvm::createStringError("internal error: the imported module "
                                   "does not verify");
  return std::move(module);
}

} // namespace matquant
