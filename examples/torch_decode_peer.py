#!/usr/bin/env python3
"""The PyTorch peer of matquant's GPU decode: a plain fp16 Llama decode step.

A model of a named shape (random fp16 weights, std 0.02, made on the GPU),
decoded greedily one token per step with a static KV cache of --max-seq-len
positions, the whole step (argmax and position update included) captured
once as a CUDA graph and replayed. Attention runs over all positions with a
mask, as matquant's imported decode step does. Prints tokens/s and, next to
it, the limit: the bytes a step must read (fp16 linear weights, the
embedding row, the KV cache) over the device-to-device copy bandwidth
(reads + writes) measured in the same run.

  python3 examples/torch_decode_peer.py --preset llama-3-8b --json out.json
"""

import argparse
import json

import torch
import torch.nn.functional as F

PRESETS = {
    # dim, hidden, layers, heads, kv heads, vocab (as matquant's
    # lib/Import/Synthetic.cpp presets)
    "tinyllama-1.1b": (2048, 5632, 22, 32, 4, 32000),
    "llama-3-8b": (4096, 14336, 32, 32, 8, 128256),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", choices=sorted(PRESETS), default="llama-3-8b")
    ap.add_argument("--max-seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    dim, hidden, layers, heads, kv_heads, vocab = PRESETS[args.preset]
    hd = dim // heads
    seq = args.max_seq_len
    dev = "cuda"
    torch.manual_seed(0)
    h16 = torch.float16

    def w(*shape):
        return (torch.randn(*shape, device=dev, dtype=h16) * 0.02)

    emb = w(vocab, dim)
    lw = []
    for _ in range(layers):
        lw.append(dict(
            attn_norm=torch.ones(dim, device=dev, dtype=h16),
            wq=w(dim, dim), wk=w(kv_heads * hd, dim), wv=w(kv_heads * hd, dim),
            wo=w(dim, dim), ffn_norm=torch.ones(dim, device=dev, dtype=h16),
            w1=w(hidden, dim), w3=w(hidden, dim), w2=w(dim, hidden)))
    final_norm = torch.ones(dim, device=dev, dtype=h16)
    wout = w(vocab, dim)
    kc = torch.zeros(layers, seq, kv_heads, hd, device=dev, dtype=h16)
    vc = torch.zeros(layers, seq, kv_heads, hd, device=dev, dtype=h16)
    inv = 1.0 / (10000.0 ** (torch.arange(0, hd, 2, device=dev).float() / hd))
    positions = torch.arange(seq, device=dev)
    tok = torch.ones(1, dtype=torch.long, device=dev)
    pos = torch.zeros(1, dtype=torch.long, device=dev)

    def rmsnorm(x, g):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(h16) * g

    def rope(x, cos, sin):  # x [n, hd], interleaved pairs
        x2 = x.float().view(x.shape[0], hd // 2, 2)
        a, b = x2[..., 0], x2[..., 1]
        return torch.stack((a * cos - b * sin, a * sin + b * cos), -1).view(x.shape).to(h16)

    def step():
        ang = pos.float() * inv
        cos, sin = torch.cos(ang), torch.sin(ang)
        x = emb[tok]  # [1, dim]
        mask = (positions <= pos).view(1, 1, seq)
        for l, p in enumerate(lw):
            h = rmsnorm(x, p["attn_norm"])
            q = rope(F.linear(h, p["wq"]).view(heads, hd), cos, sin)
            k = rope(F.linear(h, p["wk"]).view(kv_heads, hd), cos, sin)
            v = F.linear(h, p["wv"]).view(kv_heads, hd)
            kc[l].index_copy_(0, pos, k.unsqueeze(0))
            vc[l].index_copy_(0, pos, v.unsqueeze(0))
            qg = q.view(kv_heads, heads // kv_heads, hd)
            s = torch.einsum("gqd,tgd->gqt", qg.float(), kc[l].float()) / hd ** 0.5
            s = s.masked_fill(~mask, float("-inf")).softmax(-1)
            o = torch.einsum("gqt,tgd->gqd", s, vc[l].float()).reshape(1, dim).to(h16)
            x = x + F.linear(o, p["wo"])
            h = rmsnorm(x, p["ffn_norm"])
            x = x + F.linear(F.silu(F.linear(h, p["w1"])) * F.linear(h, p["w3"]), p["w2"])
        logits = F.linear(rmsnorm(x, final_norm), wout)
        tok.copy_(logits.argmax(-1).view(1))
        pos.add_(1)

    # Warm up on a side stream, capture, replay.
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(s)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()
    steps = min(args.steps, seq - 8)
    pos.zero_()
    tok.fill_(1)
    graph.replay()
    torch.cuda.synchronize()
    pos.fill_(1)
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    for _ in range(steps):
        graph.replay()
    e1.record()
    torch.cuda.synchronize()
    ms = e0.elapsed_time(e1) / steps

    # Copy bandwidth, reads + writes.
    a = torch.empty(256 << 20, dtype=torch.uint8, device=dev)
    b = torch.empty_like(a)
    b.copy_(a)
    c0, c1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    c0.record()
    for i in range(20):
        (b if i % 2 == 0 else a).copy_(a if i % 2 == 0 else b)
    c1.record()
    torch.cuda.synchronize()
    copy_gbps = 2 * a.numel() * 20 / (c0.elapsed_time(c1) * 1e-3) / 1e9

    linear = sum(t.numel() for p in lw for n, t in p.items() if n.startswith("w")) + wout.numel()
    step_bytes = 2 * (linear + dim) + kc.numel() * 2 * 2
    limit = copy_gbps * 1e9 / step_bytes
    rec = {"preset": args.preset, "device": torch.cuda.get_device_name(),
           "dtype": "fp16", "step_ms": ms, "tokens_per_s": 1000 / ms,
           "step_bytes": step_bytes, "copy_bandwidth_gbps": copy_gbps,
           "limit_tokens_per_s": limit, "pct_of_limit": 100 * (1000 / ms) / limit}
    print("pytorch fp16 %s on %s: %.3f ms/step = %.1f tokens/s; limit %.1f "
          "tokens/s (%.1f%%), copy %.0f GB/s"
          % (args.preset, rec["device"], ms, 1000 / ms, limit,
             rec["pct_of_limit"], copy_gbps))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rec, f, indent=1)


if __name__ == "__main__":
    main()
