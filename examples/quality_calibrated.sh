#!/usr/bin/env bash
# The calibrated quality table of docs/Quality.md section 4.4 (about 30 s):
# matquant-report on stories260K with the tuned setting, then the same
# calibrated quantization through the compiler pass (mq-quantize-weights
# calibration=FILE) on the same captured activations, checked bit for bit
# against the numerics library with its total held-out output error.
# Usage: examples/quality_calibrated.sh [MODEL] [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K.bin}
out=${2:-$root/build/quality-calibrated}
mkdir -p "$out"
bin=$root/build/bin
common=(--calib-seqs=16 --held-seqs=8 --seq-len=64 --seed=1234)
tuned=(--lambdas=1,1,1 --grid-max=1.5 --weighted-search --damp=0.1)
"$bin/matquant-report" "$model" "${common[@]}" "${tuned[@]}" \
  --budgets=2.8667,3,3.5,3.8667,4.5,4.8667,6 --json "$out/report.json" \
  --plot "$out/quality.svg" -o "$out/report.txt"
"$bin/matquant-report" "$model" "${common[@]}" --write-activations="$out/acts" --capture-only
"$bin/matquant-import" "$model" --max-seq-len 64 -o "$out/model.mlir"
"$bin/matquant-opt" "$out/model.mlir" -o "$out/model.q.mlir" \
  --mq-quantize-weights="lambdas=1,1,1 grid-max=1.5 weighted-search=true damp=0.1 calibration=$out/acts.calib.mqact"
"$bin/mq-calib-check" "$out/model.mlir" "$out/model.q.mlir" \
  --calibration="$out/acts.calib.mqact" --held="$out/acts.held.mqact" \
  --lambdas=1,1,1 --grid-max=1.5 --weighted-search --damp=0.1 > "$out/pass-check.txt"
sed -n '1,/^$/p;/^Total/,/^  matquant-cal/p' "$out/report.txt"
grep -E "^matquant-cal" "$out/report.txt"
tail -2 "$out/pass-check.txt"
