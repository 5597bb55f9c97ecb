#!/bin/bash
# The cores' arithmetic peak (AVX2 vpmaddubsw; AVX-512 f32 FMA, int8 and bf16 dot products where the
# CPU has them): scripts/fma_peak/peak.c, one core and THREADS at once (default 2), with the int8 rates
# as a 2B4T prompt bound in tokens/s. x86-64 with AVX2. The machine's other work lowers it: run it twice.
#   scripts/fma_peak.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 fma_peak/peak.c -o "$tmp/peak" -lpthread
"$tmp/peak" "$@"
