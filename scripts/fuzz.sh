#!/usr/bin/env bash
# Builds a libFuzzer target (Fuzz/fuzz_TARGET.swift + the engine) with AddressSanitizer and runs it.
#   scripts/fuzz.sh TARGET [SECONDS]        fuzz for SECONDS (default 60) from Fuzz/corpus/TARGET
#   scripts/fuzz.sh TARGET -runs=N          run N inputs (N = 0: replay the corpus and regressions)
# Targets: gguf, safetensors, tokenizer_files, tokenize. New crashes go to Fuzz/regressions/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh gguf|safetensors|tokenizer_files|tokenize [SECONDS|-runs=N]}
arg=${2:-60}
out=build/fuzz
mkdir -p "$out/obj" "$out/modules" "Fuzz/regressions/$target" "Fuzz/corpus/$target"
bin="$out/fuzz_$target"
if [ ! -x "$bin" ] || [ -n "$(find Sources Fuzz -newer "$bin" -name '*.swift' -o -newer "$bin" -name '*.c' -o -newer "$bin" -name '*.h' | head -1)" ]; then
    objs=()
    for c in $(find Sources/TritKernels -name '*.c'); do
        o="$out/obj/$(echo "$c" | tr '/' '_').o"
        clang -c -O1 -g -fsanitize=fuzzer-no-link,address -ISources/TritKernels/include "$c" -o "$o"
        objs+=("$o")
    done
    printf 'module TritKernels {\n  header "%s/Sources/TritKernels/include/trit_kernels.h"\n  export *\n}\n' "$PWD" > "$out/modules/module.modulemap"
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name Trit -I "$out/modules" \
        $(find Sources/Trit -name '*.swift') "Fuzz/fuzz_$target.swift" "${objs[@]}" -o "$bin"
fi
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"
if [[ "$arg" == -runs=* ]]; then
    "$bin" "$arg" -max_len=2000000 -artifact_prefix="Fuzz/regressions/$target/" "Fuzz/corpus/$target" "Fuzz/regressions/$target"
else
    # new units go to the working corpus (not committed); Fuzz/corpus/TARGET is the seed corpus
    mkdir -p "$out/corpus-$target"
    "$bin" -max_total_time="$arg" -max_len=65536 -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="Fuzz/regressions/$target/" "$out/corpus-$target" "Fuzz/corpus/$target" "Fuzz/regressions/$target"
fi
