#!/bin/bash
# The decode kernels alone on two threads, streaming from memory, against the read probe in the same
# rounds (scripts/kernel_stream/driver.c): each thread its own 295 MB of Q2_0 tiles (G = 64, K = 5120)
# or 410 MB of F16 rows (K = 5120, one token: the head's one-row path), then the same bytes read
# with plain 512-bit loads. Prints, a round a line, both GB/s and the kernel's share of the probe.
#   scripts/kernel_stream.sh [ROUNDS]        (AVX-512 VNNI machines only)
set -euo pipefail
cd "$(dirname "$0")/.."
K=Sources/TritKernels
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
${CC:-clang} -O2 -mavx512f -mavx512bw -mf16c -I$K/include -I$K scripts/kernel_stream/driver.c \
    $K/x86/group_gemm_avx512vnni.c $K/x86/dense_gemm_avx512.c $K/generic/quantize.c -lm -lpthread -o "$tmp/driver"
"$tmp/driver" "${1:-20}"
