#!/usr/bin/env python3
"""Checks invariants of a matquant-report JSON (checkpoint mode):

- the data-free MatQuant objective 0.1 e8 + 0.1 e4 + e2 (squared weight
  errors, per layer) is never above min-max's (the search contains min-max);
- relative errors agree with the squared errors and norms;
- slices of one model get worse as the width shrinks (weight error);
- budget schedules stay within their budget and use only report widths;
- every layer has output errors when calibration ran.
"""
import json
import math
import sys

d = json.load(open(sys.argv[1]))
layers = d["layers"]
methods = set()
for l in layers:
    e = l["errors"]
    methods.update(e.keys())
    obj = {}
    for m in ("minmax", "matquant"):
        obj[m] = sum(lam * e[m][str(r)]["sq_weight_err"]
                     for r, lam in ((8, 0.1), (4, 0.1), (2, 1.0)))
    assert obj["matquant"] <= obj["minmax"] * (1 + 1e-9), (l["layer"], obj)
    for m, by in e.items():
        for r, v in by.items():
            want = math.sqrt(v["sq_weight_err"] / l["sq_weight_norm"])
            assert abs(v["rel_weight_err"] - want) <= 1e-9 * want + 1e-15
            assert v["rel_output_err"] is not None, (l["layer"], m, r)
    for m in ("minmax", "matquant", "matquant-cal"):
        errs = [e[m][str(r)]["sq_weight_err"] for r in (8, 6, 4, 3, 2)]
        assert all(a <= b * (1 + 1e-9) for a, b in zip(errs, errs[1:])), (
            l["layer"], m, errs)
for s in d["schedules"]:
    assert set(s["widths"].values()) <= {8, 6, 4, 3, 2}, s
    if s["schedule"].startswith("budget="):
        assert s["bits"] <= float(s["schedule"][7:]) + 1e-9, s
print("OK: %d layers, %d methods" % (len(layers), len(methods)))
