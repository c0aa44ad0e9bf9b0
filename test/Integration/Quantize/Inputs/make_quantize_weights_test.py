#!/usr/bin/env python3
"""Writes ../quantize-weights.mlir: an execution test of mq-quantize-weights.

The expected outputs are computed here, independently of the C++ numerics
library: min-max quantization and the MatQuant clipping search are restated
in Python with every float32 operation rounded through `struct`, then the
outputs y = x W_hat^T (+ init) are computed in float64. The MLIR program
counts the outputs farther from these than 1e-5 * sum |x * w_hat| (plus
1e-6 * |init|) and prints the count per layer, which must be 0.

Usage: make_quantize_weights_test.py > ../quantize-weights.mlir
"""
import math
import random
import struct


def f32(v):
    return struct.unpack("f", struct.pack("f", v))[0]


def round_clamp(t, levels):
    # roundf (half away from zero), then 0 unless > 0, then min(., levels).
    if t != t:
        return 0
    # Exact: |t| - floor(|t|) is exact for float t.
    fl = math.floor(abs(t))
    r = fl + (1 if abs(t) - fl >= 0.5 else 0)
    if t < 0:
        r = -r
    if not r > 0:
        return 0
    return min(r, int(levels))


def group_params(vals, c, gamma, beta):
    levels = float((1 << c) - 1)
    mn, mx = min(vals), max(vals)
    if not mx > mn:
        return 0.0, 0.0, mn
    hi, lo = f32(gamma * mx), f32(beta * mn)
    if not hi > lo:
        hi, lo = mx, mn
    alpha = f32(f32(hi - lo) / levels)
    z = f32(-lo / alpha)
    return alpha, z, f32(-alpha * z)


def code(v, p, c):
    alpha, z, m = p
    if alpha == 0.0:
        return 0
    return round_clamp(f32(f32(v / alpha) + z), (1 << c) - 1)


def slice_index(q, c, r, mode="clamped"):
    if r == c:
        return q
    s = c - r
    if mode == "prefix_exact":  # truncation: the top r bits
        return q >> s
    k = (q >> s) + ((q >> (s - 1)) & 1)
    return min(k, (1 << r) - 1)


def dequant(k, p, c, r, mode="clamped"):
    alpha, z, m = p
    scale = f32(alpha * float(1 << (c - r)))
    if mode == "prefix_exact" and r < c:
        # Mid-point of the truncated codes: m' = m + alpha * 2^(c-r-1).
        m = f32(m + f32(alpha * float(1 << (c - r - 1))))
    return f32(f32(scale * float(k)) + m)


def objective(vals, p, c, widths, lambdas, mode="clamped"):
    obj = 0.0
    for r, lam in zip(widths, lambdas):
        acc = 0.0
        for v in vals:
            d = v - dequant(slice_index(code(v, p, c), c, r, mode), p, c, r,
                            mode)
            acc += d * d
        obj += lam * acc
    return obj


def grid(gmin=0.5, step=0.05):
    g = [1.0]
    i = 1
    while True:
        v = 1.0 - i * step
        if v < gmin - 1e-9:
            break
        g.append(f32(max(v, gmin)))
        i += 1
    return g


def search(vals, c, widths, lambdas, mode):
    mn, mx = min(vals), max(vals)
    if not mx > mn:
        return 1.0, 1.0
    best = objective(vals, group_params(vals, c, 1.0, 1.0), c, widths, lambdas,
                     mode)
    bg, bb = 1.0, 1.0
    for g in grid():
        for b in grid():
            if g == 1.0 and b == 1.0:
                continue
            o = objective(vals, group_params(vals, c, g, b), c, widths, lambdas,
                          mode)
            if o < best:
                best, bg, bb = o, g, b
    return bg, bb


def quantize_channels(channels, c, method, widths=(8, 4, 2),
                      lambdas=(0.1, 0.1, 1.0), mode="clamped"):
    """channels: list of lists (one per output channel). Returns params."""
    out = []
    for vals in channels:
        g, b = (1.0, 1.0) if method == "minmax" else search(
            vals, c, widths, lambdas, mode)
        out.append(group_params(vals, c, g, b))
    return out


def fmt(vals):
    # %.9e round-trips a float32 and always reads back as a float literal.
    return ", ".join("%.9e" % v for v in vals)


def fmt2(rows):
    return ", ".join("[" + fmt(r) + "]" for r in rows)


def main():
    rng = random.Random(2025)
    N, K, M = 6, 20, 3
    # Normal weights with a few outliers, so clipping matters.
    W = [[f32(rng.gauss(0, 0.5)) for _ in range(K)] for _ in range(N)]
    W[1][3] = f32(4.0)
    W[4][17] = f32(-3.5)
    x = [f32(rng.uniform(-1, 1)) for _ in range(K)]
    # The matmul layer: B [K, N2] (default maps, channel axis 1), X [M, K].
    N2 = 5
    B = [[f32(rng.gauss(0, 0.3)) for _ in range(N2)] for _ in range(K)]
    B[7][2] = f32(2.5)
    X = [[f32(rng.uniform(-1, 1)) for _ in range(K)] for _ in range(M)]
    init = [[f32(rng.uniform(-2, 2)) for _ in range(N2)] for _ in range(M)]

    c = 8
    layers = {}
    # a: min-max int8; b: matquant int8; c: matquant sliced to int2;
    # e: matquant searched for prefix-exact slices, sliced to int2.
    for name, method, r, mode in [("a", "minmax", 8, "clamped"),
                                  ("b", "matquant", 8, "clamped"),
                                  ("c", "matquant", 2, "clamped"),
                                  ("e", "matquant", 2, "prefix_exact")]:
        params = quantize_channels(W, c, method, mode=mode)
        y, tol = [], []
        for n in range(N):
            acc, mag = 0.0, 0.0
            for k in range(K):
                wh = dequant(slice_index(code(W[n][k], params[n], c), c, r,
                                         mode),
                             params[n], c, r, mode)
                acc += x[k] * wh
                mag += abs(x[k] * wh)
            y.append(acc)
            tol.append(1e-5 * mag)
        layers[name] = (y, tol)
    # d: matquant int8 on the axis-1 weight, with a non-zero init.
    cols = [[B[k][n] for k in range(K)] for n in range(N2)]
    params = quantize_channels(cols, c, "matquant")
    yd, td = [], []
    for m in range(M):
        for n in range(N2):
            acc, mag = init[m][n], abs(init[m][n]) * 0.1
            for k in range(K):
                wh = dequant(code(B[k][n], params[n], c), params[n], c, c)
                acc += X[m][k] * wh
                mag += abs(X[m][k] * wh)
            yd.append(acc)
            td.append(1e-5 * mag)

    # The test must be able to fail: the float outputs and the three
    # quantized ones must differ by more than the tolerance.
    yf = [sum(x[k] * W[n][k] for k in range(K)) for n in range(N)]
    for a, b in [("a", "b"), ("b", "c"), ("c", "e")]:
        assert any(abs(p - q) > 10 * t for p, q, t in
                   zip(layers[a][0], layers[b][0], layers[a][1])), (a, b)
    assert any(abs(p - q) > 10 * t for p, q, t in
               zip(yf, layers["a"][0], layers["a"][1]))

    out = []
    w = out.append
    w("// GENERATED by Inputs/make_quantize_weights_test.py (python3 "
      "Inputs/make_quantize_weights_test.py > quantize-weights.mlir): do not edit.")
    w("// Quantizes four linear layers at compile time with mq-quantize-weights")
    w("// (a: min-max int8; b: MatQuant int8; c: MatQuant sliced to int2 by")
    w("// mq-apply-schedule; d: a linalg.matmul with a [K, N] weight and a")
    w("// non-zero init; e: MatQuant for prefix-exact slices, sliced to int2),")
    w("// runs them through the reference lowering, and prints")
    w("// per layer the number of outputs farther than 1e-5 * sum |x * w_hat|")
    w("// from the values the generator computed in Python (float32 restated")
    w("// with struct, independent of the C++ library).")
    w("//")
    w("// REQUIRES: mlir-runner")
    w("// RUN: matquant-opt %s --mq-quantize-weights=\"method=minmax layers=^a$\" "
      "--mq-quantize-weights=\"layers=^[bcd]$\" "
      "--mq-quantize-weights=\"layers=^e$ mode=prefix_exact\" "
      "--mq-apply-schedule='schedule=\"#mq.schedule<default = 8, layers = {c = 2, e = 2}>\"' "
      "--matquant-reference-to-llvm | mlir-runner -e main "
      "-entry-point-result=void %runner_libs | FileCheck %s")
    w("// CHECK-COUNT-5: {{^}}0{{$}}")
    w("// CHECK-NOT: {{.}}")
    w("")
    w("module {")
    w("  func.func private @printI64(i64)")
    w("  func.func private @printNewline()")
    w("")
    w("  func.func @count(%y: tensor<?xf32>, %r: tensor<?xf32>, %t: tensor<?xf32>) {")
    w("    %z0 = arith.constant dense<0> : tensor<i64>")
    w("    %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, "
      "affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>, affine_map<(d0) -> ()>], "
      "iterator_types = [\"reduction\"]} ins(%y, %r, %t : tensor<?xf32>, "
      "tensor<?xf32>, tensor<?xf32>) outs(%z0 : tensor<i64>) {")
    w("    ^bb0(%a: f32, %b: f32, %tt: f32, %acc: i64):")
    w("      %d = arith.subf %a, %b : f32")
    w("      %ad = math.absf %d : f32")
    w("      %bad = arith.cmpf ugt, %ad, %tt : f32")
    w("      %one = arith.extui %bad : i1 to i64")
    w("      %s = arith.addi %acc, %one : i64")
    w("      linalg.yield %s : i64")
    w("    } -> tensor<i64>")
    w("    %c = tensor.extract %n[] : tensor<i64>")
    w("    func.call @printI64(%c) : (i64) -> ()")
    w("    func.call @printNewline() : () -> ()")
    w("    return")
    w("  }")
    w("")
    w("  func.func @main() {")
    w("    %%x = arith.constant dense<[%s]> : tensor<%dxf32>" % (fmt(x), K))
    w("    %%X = arith.constant dense<[%s]> : tensor<%dx%dxf32>" % (fmt2(X), M, K))
    w("    %%init = arith.constant dense<[%s]> : tensor<%dx%dxf32>"
      % (fmt2(init), M, N2))
    w("    %zero = arith.constant 0.0 : f32")
    w("    %%e = tensor.empty() : tensor<%dxf32>" % N)
    w("    %%z = linalg.fill ins(%%zero : f32) outs(%%e : tensor<%dxf32>) -> tensor<%dxf32>"
      % (N, N))
    for name in ["a", "b", "c", "e"]:
        y, tol = layers[name]
        w("    %%W_%s = arith.constant dense<[%s]> : tensor<%dx%dxf32>"
          % (name, fmt2(W), N, K))
        w("    %%y_%s = linalg.matvec {mq.layer = \"%s\"} ins(%%W_%s, %%x : "
          "tensor<%dx%dxf32>, tensor<%dxf32>) outs(%%z : tensor<%dxf32>) -> tensor<%dxf32>"
          % (name, name, name, N, K, K, N, N))
        w("    %%r_%s = arith.constant dense<[%s]> : tensor<%dxf32>" % (name, fmt(y), N))
        w("    %%t_%s = arith.constant dense<[%s]> : tensor<%dxf32>" % (name, fmt(tol), N))
        w("    %%yd_%s = tensor.cast %%y_%s : tensor<%dxf32> to tensor<?xf32>" % (name, name, N))
        w("    %%rd_%s = tensor.cast %%r_%s : tensor<%dxf32> to tensor<?xf32>" % (name, name, N))
        w("    %%td_%s = tensor.cast %%t_%s : tensor<%dxf32> to tensor<?xf32>" % (name, name, N))
        w("    func.call @count(%%yd_%s, %%rd_%s, %%td_%s) : (tensor<?xf32>, "
          "tensor<?xf32>, tensor<?xf32>) -> ()" % (name, name, name))
    w("    %%B = arith.constant dense<[%s]> : tensor<%dx%dxf32>" % (fmt2(B), K, N2))
    w("    %%y_d = linalg.matmul {mq.layer = \"d\"} ins(%%X, %%B : tensor<%dx%dxf32>, "
      "tensor<%dx%dxf32>) outs(%%init : tensor<%dx%dxf32>) -> tensor<%dx%dxf32>"
      % (M, K, K, N2, M, N2, M, N2))
    w("    %%f_d = tensor.collapse_shape %%y_d [[0, 1]] : tensor<%dx%dxf32> into tensor<%dxf32>"
      % (M, N2, M * N2))
    w("    %%r_d = arith.constant dense<[%s]> : tensor<%dxf32>" % (fmt(yd), M * N2))
    w("    %%t_d = arith.constant dense<[%s]> : tensor<%dxf32>" % (fmt(td), M * N2))
    w("    %%yd_d = tensor.cast %%f_d : tensor<%dxf32> to tensor<?xf32>" % (M * N2))
    w("    %%rd_d = tensor.cast %%r_d : tensor<%dxf32> to tensor<?xf32>" % (M * N2))
    w("    %%td_d = tensor.cast %%t_d : tensor<%dxf32> to tensor<?xf32>" % (M * N2))
    w("    func.call @count(%yd_d, %rd_d, %td_d) : (tensor<?xf32>, tensor<?xf32>, "
      "tensor<?xf32>) -> ()")
    w("    return")
    w("  }")
    w("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
