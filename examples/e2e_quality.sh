#!/usr/bin/env bash
# The end-to-end quality table of docs/EndToEnd.md: stories260K imported,
# float32 sampling 8 sequences of 128 tokens (seeds 1234..1241), every variant
# teacher-forced on them: top-1 agreement and mean KL(float32 || variant), and
# the perplexity of the text. (a) slices of min-max int8, (c) slices of
# matquant's data-free int8; FFN layers as in the paper, per channel.
# Usage: examples/e2e_quality.sh [MODEL] [OUT_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K.bin}
out=${2:-$root/build/e2e}
mkdir -p "$out"
bin=$root/build/bin
"$bin/matquant-import" "$model" --max-seq-len 136 --emit-bytecode -o "$out/model.mlirbc"
variants=()
for method in minmax matquant; do
  q="mq-quantize-weights{method=$method layers=ffn}"
  for r in 8 6 4 3 2; do
    variants+=("--variant=$method-int$r=$q,mq-apply-schedule{policy=uniform=$r}")
  done
  variants+=("--variant=$method-int2-extra=mq-quantize-weights{method=$method layers=ffn mode=extra_precision},mq-apply-schedule{policy=uniform=2}")
  # Prefix-exact slices (truncation, mid-point offset), searched for that mode.
  for r in 4 3 2; do
    variants+=("--variant=$method-int$r-prefix=mq-quantize-weights{method=$method layers=ffn mode=prefix_exact},mq-apply-schedule{policy=uniform=$r}")
  done
  variants+=("--variant=$method-pyramid=$q,mq-apply-schedule{policy=pyramid pyramid-edge=2 pyramid-center=4}")
  variants+=("--variant=$method-budget3=$q,mq-apply-schedule{policy=budget=3.87}")
  variants+=("--variant=$method-budget2.5=$q,mq-apply-schedule{policy=budget=3.37}")
done
"$bin/matquant-run" "$out/model.mlirbc" --steps 128 --sequences 8 --temperature 1.0 \
  --seed 1234 --quiet --json "$out/e2e.json" "${variants[@]}" | tee "$out/e2e.txt"
/usr/bin/python3 "$root/examples/plot_e2e.py" "$out/e2e.json" "$out/e2e-kl.svg"
