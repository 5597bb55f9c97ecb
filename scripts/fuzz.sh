#!/usr/bin/env bash
# Builds the libFuzzer targets (every Fuzz/fuzz_*.swift + the engine and the C API skin, one binary
# build/fuzz/fuzz_all with AddressSanitizer; rebuilt when a source is newer) and runs TARGET.
#   scripts/fuzz.sh TARGET [SECONDS]        fuzz for SECONDS (default 60) from Fuzz/corpus/TARGET
#   scripts/fuzz.sh TARGET -runs=N          run N inputs (N = 0: replay the corpus and regressions)
# Targets: gguf, capi (GGUF files through the C API), state (saved states), safetensors, tokenizer_files (with config.json and
# tokenizer_config.json), tokenize. New crashes go to Fuzz/regressions/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh gguf|capi|state|safetensors|tokenizer_files|tokenize [SECONDS|-runs=N]}
arg=${2:-60}
out=build/fuzz
seeds="Fuzz/corpus/$target"
maxlen=65536
# the C API target starts from the GGUF seeds, whole files (a cut file never reaches a context)
if [ "$target" = capi ]; then seeds="Fuzz/corpus/gguf"; maxlen=1500000; fi
mkdir -p "$out/obj" "$out/modules" "Fuzz/regressions/$target" "$seeds"
if [ "$target" = main ] || [ ! -f "Fuzz/fuzz_$target.swift" ]; then echo "no fuzz target $target"; exit 1; fi
bin="$out/fuzz_all"
if [ ! -x "$bin" ] || [ -n "$(find Sources Fuzz -newer "$bin" -name '*.swift' -o -newer "$bin" -name '*.c' -o -newer "$bin" -name '*.h' | head -1)" ]; then
    objs=()
    for c in $(find Sources/TritKernels -name '*.c'); do
        o="$out/obj/$(echo "$c" | tr '/' '_').o"
        clang -c -O1 -g -fsanitize=fuzzer-no-link,address -ISources/TritKernels/include "$c" -o "$o"
        objs+=("$o")
    done
    printf 'module TritKernels {\n  header "%s/Sources/TritKernels/include/trit_kernels.h"\n  export *\n}\n' "$PWD" > "$out/modules/module.modulemap"
    rm -f "$bin"
    # one module: the engine, the @_cdecl skin (its `import Trit` is ignored), every target and
    # Fuzz/FuzzSupport.swift (the targets find their fixtures from its absolute #filePath)
    swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name Trit -I "$out/modules" -I Include \
        $(find Sources/Trit -name '*.swift') $(find Sources/TritC -name '*.swift' ! -name HeaderCheck.swift) \
        "$PWD"/Fuzz/*.swift "${objs[@]}" -o "$bin" 2>&1 \
        | grep -v "is part of module 'Trit'; ignoring import" || true
    [ -x "$bin" ] || { echo "build of $bin failed"; exit 1; }
fi
export TRIT_FUZZ_TARGET="$target"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1"
if [[ "$arg" == -runs=* ]]; then
    "$bin" "$arg" -max_len=2000000 -artifact_prefix="Fuzz/regressions/$target/" "$seeds" "Fuzz/regressions/$target"
else
    # new units go to the working corpus (not committed); Fuzz/corpus/TARGET is the seed corpus
    mkdir -p "$out/corpus-$target"
    "$bin" -max_total_time="$arg" -max_len="$maxlen" -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="Fuzz/regressions/$target/" "$out/corpus-$target" "$seeds" "Fuzz/regressions/$target"
fi
