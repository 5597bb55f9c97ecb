#!/usr/bin/env bash
# Runs the Swift test suite under a sanitizer: address (ASan + LeakSanitizer where the runtime
# has it), undefined (UBSan) or thread (TSan; the concurrency tests: several contexts on one
# model, load/free cycles). Each sanitizer builds into its own scratch folder.
#   scripts/sanitize.sh address|undefined|thread [swift test filter]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|undefined|thread [filter]}
filter=${2:-}
args=(--scratch-path ".build-$kind")
if [ "$kind" = undefined ]; then
    # swiftc has no UBSan on Linux (Swift code traps on overflow and bounds by itself): the C
    # kernels are built with clang's -fsanitize=undefined and linked to its runtime
    rt=$(ls /opt/swift/usr/lib/clang/*/lib/linux/libclang_rt.ubsan_standalone-x86_64.so 2>/dev/null | head -1)
    rt=${rt:-$(clang -print-file-name=libclang_rt.ubsan_standalone-x86_64.so)}
    args+=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all -Xlinker "$rt" -Xlinker -rpath -Xlinker "$(dirname "$rt")")
else
    args+=(--sanitize="$kind")
fi
[ -n "$filter" ] && args+=(--filter "$filter")
# die_after_fork=0: ThreadPoolTests forks a child that starts new pool threads (the point of the test)
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0"
export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1"
export ASAN_OPTIONS="detect_leaks=0"   # leaks: see scripts/valgrind-examples.sh
swift test "${args[@]}"
