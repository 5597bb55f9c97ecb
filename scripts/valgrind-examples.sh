#!/usr/bin/env bash
# The C examples, the C API test and the engine test under valgrind memcheck: repeated load / generate / free
# cycles must report 0 bytes definitely lost. Needs `make all` first.
set -euo pipefail
cd "$(dirname "$0")/.."
M=Tests/Fixtures/b158-tiny/model.i2_s.gguf
export PKG_CONFIG_PATH=$PWD/build
cc -O1 -gdwarf-4 Tests/c/test_api.c -o build/bin/test_api $(pkg-config --cflags --libs trit) -lpthread
cc -O1 -gdwarf-4 Tests/c/test_engine.c -o build/bin/test_engine $(pkg-config --cflags --libs trit) -lpthread -lm
# valgrind 3.19 cannot read the DWARF 5 that clang 21 writes: run against a copy without debug info
mkdir -p build/valgrind
strip --strip-debug -o build/valgrind/libtrit.so.0 build/lib/libtrit.so.0
export LD_LIBRARY_PATH=$PWD/build/valgrind
run() {
    echo "== $*"
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=3 -q "$@" > /tmp/vg.out 2> /tmp/vg.err || { cat /tmp/vg.err; exit 1; }
    grep -E "definitely lost|ERROR SUMMARY" /tmp/vg.err || echo "   clean: no errors, 0 bytes definitely lost"
}
run build/bin/simple $M "Every morning" 16 3
run build/bin/tokenize $M "Every morning the old fisherman"
run build/bin/stream $M "Every morning" 20
run build/bin/test_api $M Tests/Fixtures/b158-tiny/hf-bitlinear
run build/bin/engine $M "Every morning" "The king" "O Romeo"
run build/bin/test_engine Models/trit-bundled-i2_s.gguf
echo "valgrind: all clean"
