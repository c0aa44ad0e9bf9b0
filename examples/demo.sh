#!/usr/bin/env bash
# make demo [MODEL=path]: real weights through matquant-opt and mlir-runner.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
model=${1:-$root/../shared/models/stories260K.bin}
out=$root/build/demo
mkdir -p "$out"
python3 "$root/examples/demo.py" emit "$model" "$out/demo.mlir"
"$root/build/bin/matquant-opt" "$out/demo.mlir" --matquant-reference-to-llvm -o "$out/demo.llvm.mlir"
/usr/lib/llvm-22/bin/mlir-runner "$out/demo.llvm.mlir" -e main -entry-point-result=void \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_c_runner_utils.so \
  -shared-libs=/usr/lib/llvm-22/lib/libmlir_runner_utils.so > "$out/errors.txt"
python3 "$root/examples/demo.py" table "$out/demo.mlir.json" < "$out/errors.txt"
