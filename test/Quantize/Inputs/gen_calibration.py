#!/usr/bin/env python3
"""Writes test inputs for mq-quantize-weights calibration=FILE.

An activation file in the format of include/matquant/Numerics/Activations.h
(written here independently of the C++ writer), and optionally a module of
linear layers with random float weights.

  gen_calibration.py -o FILE --layer NAME:SAMPLESxK [--layer ...]
      [--seed S] [--module OUT.mlir --kind NAME:matvec|matmul_t|matmul:N]
      [--nan NAME:INDEX] [--bad-magic] [--version V] [--truncate BYTES]
      [--trailing BYTES] [--duplicate]

Activations are correlated (each feature mixes its neighbour) with feature
scales spread over two decades, the case where calibration matters.
"""
import argparse
import random
import struct


def activations(rng, name, samples, k):
    # The feature scales depend on the layer only, so that files of other
    # seeds (held-out sets) come from the same distribution.
    srng = random.Random("scale:" + name)
    scale = [10 ** srng.uniform(-1, 1) for _ in range(k)]
    rows = []
    for _ in range(samples):
        g = [rng.gauss(0, 1) for _ in range(k + 1)]
        rows.append([scale[j] * (g[j + 1] + 0.8 * g[j]) for j in range(k)])
    return rows


def weights(rng, n, k):
    w = [[rng.gauss(0, 0.02) for _ in range(k)] for _ in range(n)]
    for _ in range(max(1, n * k // 100)):
        w[rng.randrange(n)][rng.randrange(k)] = rng.choice([-1, 1]) * 0.2
    return w


def fmt(v):
    return "%.8e" % v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-o", required=True)
    p.add_argument("--layer", action="append", default=[])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--module")
    p.add_argument("--kind", action="append", default=[])
    p.add_argument("--nan")
    p.add_argument("--bad-magic", action="store_true")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--truncate", type=int, default=0)
    p.add_argument("--trailing", type=int, default=0)
    p.add_argument("--duplicate", action="store_true")
    a = p.parse_args()
    rng = random.Random(a.seed)

    layers = []
    for spec in a.layer:
        name, shape = spec.rsplit(":", 1)
        samples, k = (int(t) for t in shape.split("x"))
        layers.append((name, samples, k, activations(rng, name, samples, k)))
    if a.nan:
        name, index = a.nan.rsplit(":", 1)
        for n, s, k, rows in layers:
            if n == name:
                rows[int(index) // k][int(index) % k] = float("nan")
    if a.duplicate:
        layers.append(layers[0])

    magic = b"MQACTX\0" if a.bad_magic else b"MQACTS\0"
    out = bytearray(magic + bytes([a.version]))
    out += struct.pack("<I", len(layers))
    for name, samples, k, rows in layers:
        b = name.encode()
        out += struct.pack("<I", len(b)) + b + struct.pack("<qq", samples, k)
        for r in rows:
            out += struct.pack("<%df" % k, *r)
    if a.truncate:
        out = out[: len(out) - a.truncate]
    out += bytes(a.trailing)
    with open(a.o, "wb") as f:
        f.write(out)

    if not a.module:
        return
    kinds = {}
    for spec in a.kind:
        name, kind, n = spec.split(":")
        kinds[name] = (kind, int(n))
    lines = []
    args, rets, rtypes = [], [], []
    body = []
    for i, (name, samples, k, _) in enumerate(layers):
        kind, n = kinds.get(name, ("matvec", 8))
        w = weights(rng, n, k)
        if kind == "matmul":  # [K, N], default maps
            w = [[w[j][i2] for j in range(n)] for i2 in range(k)]
        dense = "[" + ", ".join(
            "[" + ", ".join(fmt(v) for v in row) + "]" for row in w) + "]"
        wshape = "%dx%d" % (len(w), len(w[0]))
        body.append("  %%w%d = arith.constant dense<%s> : tensor<%sxf32>"
                    % (i, dense, wshape))
        if kind == "matvec":
            args.append("%%x%d: tensor<%dxf32>" % (i, k))
            body.append("  %%e%d = tensor.empty() : tensor<%dxf32>" % (i, n))
            body.append("  %%z%d = linalg.fill ins(%%zero : f32) outs(%%e%d : "
                        "tensor<%dxf32>) -> tensor<%dxf32>" % (i, i, n, n))
            body.append('  %%y%d = linalg.matvec {mq.layer = "%s"} ins(%%w%d, '
                        '%%x%d : tensor<%sxf32>, tensor<%dxf32>) outs(%%z%d : '
                        'tensor<%dxf32>) -> tensor<%dxf32>'
                        % (i, name, i, i, wshape, k, i, n, n))
            rtypes.append("tensor<%dxf32>" % n)
        else:
            m = 3
            args.append("%%x%d: tensor<%dx%dxf32>" % (i, m, k))
            body.append("  %%e%d = tensor.empty() : tensor<%dx%dxf32>"
                        % (i, m, n))
            body.append("  %%z%d = linalg.fill ins(%%zero : f32) outs(%%e%d : "
                        "tensor<%dx%dxf32>) -> tensor<%dx%dxf32>"
                        % (i, i, m, n, m, n))
            maps = ""
            if kind == "matmul_t":
                maps = (" indexing_maps = [affine_map<(m, n, k) -> (m, k)>, "
                        "affine_map<(m, n, k) -> (n, k)>, "
                        "affine_map<(m, n, k) -> (m, n)>]")
            body.append('  %%y%d = linalg.matmul%s {mq.layer = "%s"} ins(%%x%d, '
                        '%%w%d : tensor<%dx%dxf32>, tensor<%sxf32>) outs(%%z%d '
                        ': tensor<%dx%dxf32>) -> tensor<%dx%dxf32>'
                        % (i, maps, name, i, i, m, k, wshape, i, m, n, m, n))
            rtypes.append("tensor<%dx%dxf32>" % (m, n))
        rets.append("%%y%d" % i)
    lines.append("func.func @f(%s) -> (%s) {" % (", ".join(args),
                                                 ", ".join(rtypes)))
    lines.append("  %zero = arith.constant 0.0 : f32")
    lines += body
    lines.append("  return %s : %s" % (", ".join(rets), ", ".join(rtypes)))
    lines.append("}")
    with open(a.module, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
