#!/bin/bash
# ns a weight of the AVX2 (or AVX-512) head kernels, one thread (scripts/block_head_ns/harness.c):
#   scripts/block_head_ns.sh [ROWS] [avx512]   (64: from cache; 65536, the default: streaming from memory)
set -euo pipefail
cd "$(dirname "$0")/.."
K=Sources/TritKernels
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${CC:-clang} -O3 -march=x86-64-v3 -I$K/include -I$K scripts/block_head_ns/harness.c $K/x86/dense_gemm_avx2.c \
    $K/x86/block_gemm_avx2.c $K/x86/dense_gemm_avx512.c $K/x86/block_gemm_avx512.c $K/generic/block_gemm_scalar.c $K/generic/dense_gemm_scalar.c $K/generic/quantize.c \
    -lm -o "$tmp/harness"
"$tmp/harness" "${1:-65536}" "${2:-avx2}"
