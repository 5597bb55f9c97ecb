#!/usr/bin/env bash
# Exports the trained models with trit's own GGUF writer and measures them.
#   Examples/train/export.sh RUNS_DIR      (RUNS_DIR/ternary/hf and RUNS_DIR/fp/hf from train_bitnet.py)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:?usage: Examples/train/export.sh RUNS_DIR}
trit=build/bin/trit
mkdir -p Models
$trit convert -m "$runs/ternary/hf" --type i2_s --name trit-bundled -o Models/trit-bundled-i2_s.gguf
$trit convert -m "$runs/ternary/hf" --type tq2_0 --name trit-bundled -o "$runs/trit-bundled-tq2_0.gguf"
$trit convert -m "$runs/fp/hf" --type f16 --name trit-bundled-fp16 -o "$runs/trit-bundled-fp16.gguf"
for m in Models/trit-bundled-i2_s.gguf "$runs/trit-bundled-tq2_0.gguf" "$runs/trit-bundled-fp16.gguf"; do
    echo "== $m"
    $trit perplexity -m "$m" -f Examples/train/data/heldout.txt -c 256 2>/dev/null | tail -1
done
