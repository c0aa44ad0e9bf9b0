#!/usr/bin/env python3
"""The option sweep behind docs/Quality.md section 4.4 (about 6 minutes).

Runs matquant-report on stories260K for each setting of the calibrated
MatQuant quantizer and prints, for the calibrated (c) against (a) and the
calibrated (b) (held-out output errors): the int2 and int3 ratios (a) / (c),
(c) int2 / (b) int2, (c) int8 and (b) int4, (c) int4 and (b) int3, uniform
int3 of (c), and the budget=3 / budget=3.8667 schedules of (c).

Usage: examples/calibrated_sweep.py [MODEL] [OUT_DIR]
"""
import itertools
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    root, "..", "shared", "models", "stories260K.bin")
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "build", "sweep")
os.makedirs(out, exist_ok=True)
report = os.path.join(root, "build", "bin", "matquant-report")

settings = []
for lam, gm, gl in itertools.product(
        ["0.1,0.1,1", "1,1,1", "0.3,0.3,1", "1,0.3,1", "0.03,0.1,1"],
        ["1", "1.5"], ["", "1,0,0", "1,1,1", "0,0,1"]):
    s = ["--lambdas=" + lam, "--grid-max=" + gm]
    if gl:
        s.append("--gptq-lambdas=" + gl)
    settings.append(s)
base = ["--lambdas=1,1,1", "--grid-max=1.5"]
settings += [base + ["--weighted-search"], base + ["--normalize"],
             base + ["--damp=0.1"], ["--lambdas=1,1,1", "--grid-max=2"],
             ["--lambdas=0.1,0.1,1", "--grid-max=1.5", "--normalize"],
             ["--lambdas=1,1,3", "--grid-max=1.5", "--normalize"],
             base + ["--gptq-lambdas=1,0,1"],
             base + ["--weighted-search", "--damp=0.1"]]

for i, s in enumerate(settings):
    path = os.path.join(out, "%d.json" % i)
    subprocess.run([report, model, "--calib-seqs=16", "--held-seqs=8",
                    "--seq-len=64", "--seed=1234", "--budgets=3,3.8667",
                    "--json", path, "-o", os.devnull] + s, check=True)
    j = json.load(open(path))
    o = lambda m, r: j["summary"][m][str(r)]["rel_output_err"]
    sched = {(x["method"], x["schedule"]): x["rel_output_err"]
             for x in j["schedules"]}
    c = "matquant-cal"
    print("%-60s int2 %.3fx int3 %.3fx c2/b2 %.3f c8 %.4f b4 %.4f c4 %.4f "
          "b3 %.4f uni3 %.4f bud3 %s bud3.87 %s" % (
              " ".join(s), o("minmax", 2) / o(c, 2), o("minmax", 3) / o(c, 3),
              o(c, 2) / o("separate-cal", 2), o(c, 8), o("separate-cal", 4),
              o(c, 4), o("separate-cal", 3), sched[(c, "uniform=3")],
              "%.4f" % sched[(c, "budget=3.00")] if (c, "budget=3.00") in sched else "-",
              "%.4f" % sched[(c, "budget=3.87")] if (c, "budget=3.87") in sched else "-"),
          flush=True)
