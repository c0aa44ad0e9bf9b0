#!/usr/bin/env python3
"""Plots mean KL(float32 || variant) against effective bits per weight."""
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = [r for r in json.load(open(sys.argv[1])) if r["model"] != "float32"]
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for method, marker in (("minmax", "o"), ("matquant", "s")):
    uni = sorted((r["bits_per_weight"], r["mean_kl"]) for r in rows
                 if r["model"].startswith(method + "-int") and "extra" not in r["model"])
    ax.plot([b for b, _ in uni], [k for _, k in uni], marker=marker, label=method + " uniform slices")
    for r in rows:
        if r["model"].startswith(method) and ("budget" in r["model"] or "pyramid" in r["model"] or "extra" in r["model"]):
            ax.scatter([r["bits_per_weight"]], [r["mean_kl"]], marker="x")
            ax.annotate(r["model"], (r["bits_per_weight"], r["mean_kl"]), fontsize=7)
ax.set_xlabel("effective bits per weight (FFN layers, scales included)")
ax.set_ylabel("mean KL(float32 || quantized)")
ax.set_yscale("log")
ax.grid(True, alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(sys.argv[2])
