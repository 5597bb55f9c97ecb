#!/bin/bash
# One core's arithmetic peak (f32 FMA, int8 and bf16 dot products): scripts/fma_peak/peak.c.
# x86-64 with AVX-512 VNNI and BF16 only; the machine's other work lowers it, so run it twice.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${CC:-cc} -O2 fma_peak/peak.c -o "$tmp/peak"
"$tmp/peak"
