#!/bin/bash
# Old against new for one x86 kernel, alternating in one process (see kernel_ab/harness.c):
#   scripts/kernel_ab.sh KERNEL REV_A [REV_B] [--avx2] [-- HARNESS ARGS]
# ATT_THREADS=2 (attention): the KV heads split over two threads, both cores streaming as in decode.
# CHUNK=ROWS (dense, ternary, i8, group): calls over ROWS rows at a time, as the engine's threads take chunks
# (parallel.c caps a several-token chunk at 512 KB of weights: 96 rows of a 2560-wide F16 head).
# KCOLS=K (ternary): K columns instead of 2560.
# CPUTIME=1: timed by the process's CPU time, not the wall clock (a machine shared with other jobs).
# HARNESS_WRAP="perf record ...": a command the harness runs under.
# KERNEL: attention | dense | ternary | i8 | group (2-bit tiles, G = 64; CHUNK a multiple of 16).
# REV_A, REV_B: git revisions (REV_B omitted or "-": the
# working tree). --avx2: the AVX2 form instead of the AVX-512 one. HARNESS ARGS: n (tokens, or KV
# positions for attention), rows (KV heads for attention), KV type (0 f32, 1 f16, 8 q8_0).
# Examples: scripts/kernel_ab.sh dense HEAD~3 HEAD -- 4
#           scripts/kernel_ab.sh attention HEAD~1 HEAD -- 4096 150 1
# Each revision's kernel compiles against that revision's headers; the generic helpers the harness
# links (conversions, scratch sizes) come from the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
kernel=$1 rev_a=$2; shift 2
rev_b=-; if [ $# -gt 0 ] && [ "$1" != "--" ] && [ "$1" != "--avx2" ]; then rev_b=$1; shift; fi
isa=avx512; if [ $# -gt 0 ] && [ "$1" = "--avx2" ]; then isa=avx2; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
K=Sources/TritKernels
case $kernel/$isa in
    attention/avx512) syms="tk_attention_avx512 tk_attention_avx2" name=att ;;   # it calls the AVX2 form
    attention/avx2) syms=tk_attention_avx2 name=att ;;
    dense/avx512) syms=tk_dense_gemm_avx512 name=dense ;;
    dense/avx2) syms=tk_dense_gemm_avx2 name=dense ;;
    ternary/avx512) syms=tk_ternary_gemm_avx512vnni name=ternary ;;
    ternary/avx2) syms=tk_ternary_gemm_avx2 name=ternary ;;
    i8/avx512) syms=tk_i8_gemm_avx512vnni name=i8 ;;
    i8/avx2) syms=tk_i8_gemm_avx2 name=i8 ;;
    group/avx512) syms=tk_group_gemm_avx512vnni name=group ;;
    group/avx2) syms=tk_group_gemm_avx2 name=group ;;
    *) echo "unknown kernel $kernel" >&2; exit 2 ;;
esac
sym=${syms%% *}
cc=${CC:-clang}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
inc="-I$K/include -I$K"
for v in A B; do
    rev=$rev_a; [ $v = B ] && rev=$rev_b
    # the revision's whole kernel tree, so its sources compile against its own headers
    mkdir -p "$tmp/$v/$(dirname $K)"
    if [ "$rev" = - ]; then cp -r "$K" "$tmp/$v/$K"; else git archive "$rev" "$K" | tar -x -C "$tmp/$v"; fi
    tree=$tmp/$v/$K
    # the x86 files that define the symbols (where a kernel lives differs between revisions)
    files=$(cd "$tree/x86" && for s in $syms; do grep -l -E "^[^ #/*].*\b$s\(" *.c; done | sort -u)
    [ -n "$files" ] || { echo "$rev: no x86 file defines $sym" >&2; exit 2; }
    objs=()
    for f in $files; do
        $cc -O2 -I"$tree/include" -I"$tree" -c "$tree/x86/$f" -o "$tmp/$v-$f.o"
        objs+=("$tmp/$v-$f.o")
    done
    ld -r -o "$tmp/$v.o" "${objs[@]}"
    objcopy --redefine-sym "$sym=${name}_$v" -G "${name}_$v" "$tmp/$v.o"
    echo "$v: $(echo $files)" >&2
done
# the harness names all four kernels; the three it does not time are stubs
stubs=$tmp/stubs.c
for n in att dense ternary i8 group; do [ $n = $name ] || printf 'void %s_A(void) {}\nvoid %s_B(void) {}\n' $n $n >> "$stubs"; done
$cc -O2 $inc -w -c "$stubs" -o "$tmp/stubs.o"
$cc -O2 $inc -o "$tmp/harness" scripts/kernel_ab/harness.c "$tmp/A.o" "$tmp/B.o" "$tmp/stubs.o" \
    $K/generic/attention.c $K/generic/quantize.c -lm -lpthread
echo "A = ${rev_a}, B = $([ "$rev_b" = - ] && echo "the working tree" || echo "$rev_b"), $sym"
${HARNESS_WRAP:-} "$tmp/harness" "$name" "$@"
