#!/usr/bin/env python3
"""Markdown tables of docs/GPU-results.md from matquant-gpu-bench JSON.

  scripts/gpu-tables.py docs/gpu-bench-h200.json            # kernels vs cuBLAS
  scripts/gpu-tables.py --dynamic docs/gpu-bench-h200-dynamic.json
"""
import json
import sys
from collections import defaultdict


def kind(r):
    k = r["kernel"]
    if r["width"] == "fp16":
        return "cublas"
    return "pmma" if k.startswith("mq_pmma") else "mma" if k.startswith("mq_mma") else "simt"


def cell(r):
    return f"{r['time_us']:.1f} ({r['speedup_vs_baseline']:.2f}x, {r['pct_of_bandwidth']:.0f}%)"


def static_tables(d):
    tab = defaultdict(dict)
    for r in d["records"]:
        tab[(r["shape"], r["batch"])][(r["width"], kind(r))] = r
    shapes = sorted({s for s, _ in tab}, key=lambda s: [int(v) for v in s.split("x")])
    for batch in sorted({b for _, b in tab}):
        print(f"\n**Batch {batch}**: time in us (speedup over cuBLAS fp16, % of the copy "
              "bandwidth); SIMT kernel / tensor-core kernel, the faster in bold\n")
        print("| shape | cuBLAS fp16 | int8 | int4 | int3 | int2 | int2 ep |")
        print("|---|---|---|---|---|---|---|")
        for shape in shapes:
            t = tab[(shape, batch)]
            c = t[("fp16", "cublas")]
            row = [shape, f"{c['time_us']:.1f} ({c['pct_of_bandwidth']:.0f}%)"]
            for w in ("8", "4", "3", "2", "2ep"):
                rs = [t.get((w, k)) for k in ("simt", "mma")]
                best = min(r["time_us"] for r in rs if r)
                row.append(" / ".join(
                    ("**" + cell(r) + "**" if r["time_us"] == best else cell(r)) if r else "-"
                    for r in rs))
            print("| " + " | ".join(row) + " |")


def dynamic_table(d):
    tab = defaultdict(dict)
    for r in d["records"]:
        tab[(r["shape"], r["width"])][kind(r)] = r
    print("| shape | width | static MMA us | planes us | planes / static | "
          "bound | bytes read static / planes (MB) |")
    print("|---|---|---|---|---|---|---|")
    for (shape, w), t in sorted(tab.items()):
        if w == "fp16" or "pmma" not in t or "mma" not in t:
            continue
        s, p = t["mma"], t["pmma"]
        r = int(w.rstrip("pe").rstrip("ep") or 0)
        # prefix-exact: within 1.25x; rounding: 1.25x * (r + 1) / r.
        bound = 1.25 if w.endswith("pe") or r == 8 else 1.25 * (r + 1) / r
        ratio = p["time_us"] / s["time_us"]
        mark = "met" if ratio <= bound else "missed"
        print(f"| {shape} | {w} | {s['time_us']:.1f} | {p['time_us']:.1f} | {ratio:.2f} | "
              f"{bound:.2f} ({mark}) | {s['weight_bytes'] / 1e6:.1f} / {p['weight_bytes'] / 1e6:.1f} |")


if __name__ == "__main__":
    args = sys.argv[1:]
    dyn = "--dynamic" in args
    args = [a for a in args if a != "--dynamic"]
    d = json.load(open(args[0]))
    print(f"<!-- {d['device']}, copy {d['copy_bandwidth_gbps']:.0f} GB/s -->")
    dynamic_table(d) if dyn else static_tables(d)
