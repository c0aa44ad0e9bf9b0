#!/usr/bin/env python3
"""Issue-4 summary of matquant-bench JSON records (--json FILE).

    scripts/cpu-tables.py docs/cpu-bench.json [docs/cpu-bench-a8.json]

For each file: the batch-1 and batch-16 rows of one shape (default
4096x14336), group 128, at the thread count with the fastest f32 baseline,
with time, % of the read bandwidth measured in the same run, speedup over
the f32 kernel of the same pipeline and over int8, as a Markdown table.
"""
import argparse
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--shape", default="4096x14336")
    ap.add_argument("--group", default="128")
    args = ap.parse_args()
    for path in args.files:
        with open(path) as f:
            data = json.load(f)
        recs = [r for r in data["records"] if r["shape"] == args.shape and
                (r["width"] == "f32" or str(r["group"]) == args.group)]
        bw = data.get("read_bandwidth_gbps_by_threads", {})
        print(f"\n{path}: read bandwidth " +
              ", ".join(f"{t} thread(s) {v:.1f} GB/s" for t, v in bw.items()))
        for batch in sorted({r["batch"] for r in recs}):
            rows = [r for r in recs if r["batch"] == batch]
            f32 = [r for r in rows if r["width"] == "f32"]
            if not f32:
                continue
            threads = min(f32, key=lambda r: r["time_us"])["threads"]
            rows = [r for r in rows if r["threads"] == threads]
            by = {r["width"]: r for r in rows}
            i8 = by.get("int8")
            print(f"\nbatch {batch}, {threads} thread(s), {args.shape}, "
                  f"group {args.group}\n")
            print("| width | time us | weight GB/s | % bw | vs f32 | vs int8 |")
            print("|---|---|---|---|---|---|")
            for r in rows:
                vs8 = i8["time_us"] / r["time_us"] if i8 else float("nan")
                print(f"| {r['width']} | {r['time_us']:.0f} | "
                      f"{r['weight_gbps']:.1f} | {r['pct_of_bandwidth']:.1f} | "
                      f"{r['speedup_vs_baseline']:.2f} | {vs8:.2f} |")


if __name__ == "__main__":
    main()
