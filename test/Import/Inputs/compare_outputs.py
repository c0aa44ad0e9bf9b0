#!/usr/bin/env python3
"""Compares two greedy-decoding traces line by line.

Each line is "<token>, <logit0>, <logit1>, ...", as printed by llama-ref and
by the `--emit-driver` main of matquant-import. Tokens must be identical and
logits equal within a relative tolerance (default 1e-4, with an absolute floor
of 1e-5 for logits near zero). Exits 1 with a message on the first mismatch.

  compare_outputs.py EXPECTED ACTUAL [--rtol R] [--atol A] [--scale-rtol S]
"""

import argparse
import sys


def parse(path):
    rows = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(",")]
            try:
                rows.append((int(fields[0]), [float(x) for x in fields[1:]]))
            except ValueError:
                sys.exit("%s:%d: not a '<token>, <logits>...' line: %r" % (path, n, line))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--rtol", type=float, default=1e-4)
    ap.add_argument("--atol", type=float, default=1e-5)
    ap.add_argument("--scale-rtol", type=float, default=0.0,
                    help="also allow this fraction of the step's largest "
                         "|logit| (for full logit vectors, whose entries "
                         "near zero carry the rounding of the large ones)")
    args = ap.parse_args()
    exp, act = parse(args.expected), parse(args.actual)
    if not exp:
        sys.exit("%s: no steps" % args.expected)
    if len(exp) != len(act):
        sys.exit("step count differs: %d expected, %d actual" % (len(exp), len(act)))
    worst = 0.0
    for step, ((te, le), (ta, la)) in enumerate(zip(exp, act)):
        if te != ta:
            sys.exit("step %d: token %d expected, %d actual" % (step, te, ta))
        if len(le) != len(la):
            sys.exit("step %d: %d logits expected, %d actual" % (step, len(le), len(la)))
        scale = max(abs(v) for v in le) if le else 0.0
        for j, (a, b) in enumerate(zip(le, la)):
            err = abs(a - b)
            bound = (args.rtol * max(abs(a), abs(b)) + args.atol +
                     args.scale_rtol * scale)
            if not err <= bound:
                sys.exit("step %d: logits[%d] = %r expected, %r actual (|diff| %g > %g)"
                         % (step, j, a, b, err, bound))
            worst = max(worst, err / max(abs(a), abs(b), 1e-30))
    print("OK: %d steps match (max relative difference %.3g)" % (len(exp), worst))


if __name__ == "__main__":
    main()
