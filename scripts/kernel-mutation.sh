#!/usr/bin/env bash
# Shows that the C kernel harness catches a perturbed ARM kernel: each mutation below is applied to a copy of
# Sources/TritKernels, the aarch64 harness is rebuilt with it and run under qemu-aarch64 on the CPU model whose
# variant runs the mutated code; the run must FAIL. Exits non-zero if a mutation survives (or the unmutated
# harness fails). Used by `make kernel-test`.
#   scripts/kernel-mutation.sh          (CLANG, AARCH64_GCC, AARCH64_LIBC as the Makefile sets them)
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG=${CLANG:-clang}
AARCH64_GCC=${AARCH64_GCC:-$(ls -d /usr/lib/gcc-cross/aarch64-linux-gnu/* 2>/dev/null | sort -V | tail -1)}
AARCH64_LIBC=${AARCH64_LIBC:-/usr/aarch64-linux-gnu}
[ -n "$AARCH64_GCC" ] || { echo "no aarch64 cross GCC (apt-get install gcc-aarch64-linux-gnu)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r Sources/TritKernels "$work/src"
flags=(--target=aarch64-linux-gnu --gcc-install-dir="$AARCH64_GCC" -O2 -fno-math-errno -I"$work/src/include" -ITests/kernels-c)
objs=()
build_obj() { "$CLANG" "${flags[@]}" -c "$1" -o "$2" 2>/dev/null; }
for c in $(cd "$work/src" && find . -name '*.c') Tests/kernels-c/*.c; do
    src=$c; [ -f "$work/src/$c" ] && src="$work/src/$c"
    o="$work/$(echo "$c" | tr '/.' '__').o"
    build_obj "$src" "$o" &
    objs+=("$o")
done
wait
link() { "$CLANG" --target=aarch64-linux-gnu --gcc-install-dir="$AARCH64_GCC" -fuse-ld=lld "${objs[@]}" -o "$1" -lm -lpthread; }
run() { qemu-aarch64 -L "$AARCH64_LIBC" -cpu "$1" "$2" --only "$3" > "$work/log" 2>&1; }

# file (under Sources/TritKernels) | sed expression | CPU model | harness group | what it breaks
mutations=(
    "arm64/ternary_gemm_body.h|s/p\[t\]\[h\] = vmlal_high_s8(p\[t\]\[h\], c, qv);/(void)qv;/|cortex-a72|ternary|NEON ternary: the high 8 products dropped"
    "arm64/ternary_gemm_body.h|s/vshrq_n_s32(a\[1\], 4)/vshrq_n_s32(a[1], 3)/|max|ternary|dotprod ternary: strip 1's factor undone wrongly"
    "arm64/ternary_gemm_i8mm.c|s/sums\[2 \* i + 1\]\[2 \* p + 1\] = v\[3\];/sums[2 * i + 1][2 * p + 1] = v[2];/|max|ternary|i8mm ternary: smmla tile lanes swapped"
    "arm64/group_gemm_body.h|s/dot_lane(acc\[t\]\[1\]\[k\], c1, qv\[t\]\[p \/ 4\], p % 4)/dot_lane(acc[t][1][k], c1, qv[t][p \/ 4], (p + 1) % 4)/|max|group|dotprod group tiles: wrong activation lane"
    "arm64/attention_neon.c|s/vaddq_f32(acc\[0\], acc\[2\]), s8hi = vaddq_f32(acc\[1\], acc\[3\])/vaddq_f32(acc[0], acc[1]), s8hi = vaddq_f32(acc[2], acc[3])/|cortex-a72|attention|NEON attention: another summation tree"
    "arm64/quantize_neon.c|s/vcvtnq_s32_f32(vminq_f32/vcvtaq_s32_f32(vminq_f32/|cortex-a72|quantize|NEON quantizer: ties away from zero"
    "arm64/block_gemm_neon.c|s/vdupq_n_s8((int8_t)(4 - bit))/vdupq_n_s8((int8_t)(3 - bit))/|cortex-a72|block|NEON block head: Q5_K's fifth bit from the wrong qh bit"
)
link "$work/clean"
run max "$work/clean" ternary,group,attention,quantize,block || { cat "$work/log"; echo "the unmutated harness fails"; exit 1; }
survived=0
for m in "${mutations[@]}"; do
    IFS='|' read -r file expr cpu group what <<< "$m"
    cp "$work/src/$file" "$work/orig"
    sed -i "$expr" "$work/src/$file"
    if cmp -s "$work/orig" "$work/src/$file"; then echo "mutation did not apply: $what"; exit 1; fi
    # rebuild the objects of the files that include the mutated one (a body header goes into two .c files)
    base=$(basename "$file")
    for c in $(cd "$work/src" && grep -rl --include='*.c' -e "$base" . ; [ "${file%.c}" != "$file" ] && echo "./$file"); do
        build_obj "$work/src/$c" "$work/$(echo "$c" | tr '/.' '__').o"
    done
    link "$work/mutant"
    if run "$cpu" "$work/mutant" "$group"; then
        echo "SURVIVED: $what"; survived=1
    else
        echo "caught: $what ($(grep -c '^FAIL' "$work/log") failing checks shown, qemu -cpu $cpu)"
    fi
    cp "$work/orig" "$work/src/$file"
    for c in $(cd "$work/src" && grep -rl --include='*.c' -e "$base" . ; [ "${file%.c}" != "$file" ] && echo "./$file"); do
        build_obj "$work/src/$c" "$work/$(echo "$c" | tr '/.' '__').o"
    done
done
exit $survived
