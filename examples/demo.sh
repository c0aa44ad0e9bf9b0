#!/usr/bin/env bash
# make demo [MODEL=path]: matquant's main job on a real model.
#  1. Layer by layer: real weights and activations of stories260K quantized
#     to int8 at run time (mq.quantize), sliced to every width (mq.slice),
#     packed, and multiplied (mq.matvec) through matquant-opt + mlir-runner.
#  2. The whole model: matquant-import, then matquant-run decodes with the
#     CPU pipeline at float32 and at int8 / int6 / int4 / int3 / int2 /
#     extra-precision int2 slices of one stored int8 model and a Mix'n'Match
#     schedule, teacher-forced on float32's sampled text.
# Any llama2.c checkpoint works through MODEL=...; without the shared model,
# a built-in deterministic synthetic one is used.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K.bin}
out=$root/build/demo
bin=$root/build/bin
mkdir -p "$out"

echo "== 1. Per layer: every width sliced from one int8 model"
python3 "$root/examples/demo.py" emit "$model" "$out/demo.mlir"
"$bin/matquant-opt" "$out/demo.mlir" --matquant-reference-to-llvm -o "$out/demo.llvm.mlir"
/usr/lib/llvm-22/bin/mlir-runner "$out/demo.llvm.mlir" -e main -entry-point-result=void \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so > "$out/errors.txt"
python3 "$root/examples/demo.py" table "$out/demo.mlir.json" < "$out/errors.txt"

echo
echo "== 2. The whole model: decode at every precision"
if [ ! -f "$model" ]; then
  model=$out/synthetic.bin
  python3 "$root/test/Import/Inputs/make_model.py" llama2c "$model"
  echo "(no model at the given path: using a synthetic one)"
fi
steps=${DEMO_STEPS:-96}
"$bin/matquant-import" "$model" --max-seq-len $((steps + 8)) --emit-bytecode -o "$out/model.mlirbc"
# Every intN variant slices the same stored int8 model (MatQuant's data-free
# search; FFN layers, as in the paper; attention and the classifier stay
# float32); the minmax-* rows slice a plain min-max int8 model instead.
q="mq-quantize-weights{method=matquant layers=ffn}"
variants=()
for r in 8 6 4 3 2; do
  variants+=("--variant=int$r=$q,mq-apply-schedule{policy=uniform=$r}")
done
variants+=("--variant=int2-extra=mq-quantize-weights{method=matquant layers=ffn mode=extra_precision},mq-apply-schedule{policy=uniform=2}")
variants+=("--variant=minmax-int8=mq-quantize-weights{method=minmax layers=ffn},mq-apply-schedule{policy=uniform=8}")
variants+=("--variant=minmax-int4=mq-quantize-weights{method=minmax layers=ffn},mq-apply-schedule{policy=uniform=4}")
variants+=("--variant=minmax-int2=mq-quantize-weights{method=minmax layers=ffn},mq-apply-schedule{policy=uniform=2}")
variants+=("--variant=pyramid=$q,mq-apply-schedule{policy=pyramid pyramid-edge=2 pyramid-center=6}")
variants+=("--variant=budget-3bit=$q,mq-apply-schedule{policy=budget=3}")
"$bin/matquant-run" "$out/model.mlirbc" --steps "$steps" --temperature 1.0 --seed 7 \
  --run-threads "${DEMO_THREADS:-0}" --json "$out/decode.json" "${variants[@]}"
echo
echo "bits/w: effective bits per weight of the quantized layers (scales and"
echo "offsets included; 32 = float). agreement / mean KL: against float32,"
echo "teacher-forced on float32's sampled text. JSON: $out/decode.json"
