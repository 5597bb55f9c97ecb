# trit — build, run and test. `make run` generates text with the bundled model; `make test`
# runs every test (Swift, C API and examples, Python). Outputs go to build/.
BUILD      := $(CURDIR)/build
SWIFTFLAGS := -c release -Xswiftc -static-stdlib
PROMPT     ?= The LORD is my shepherd
N          ?= 64
ARGS       ?=

all: build/bin/trit build/lib/libtrit.so build/trit.pc examples

# One release build serves the library and the command (both link the Swift runtime statically).
swift-release:
	swift build $(SWIFTFLAGS)

build/lib/libtrit.so: swift-release
	@mkdir -p build/lib
	cp .build/release/libtrit.so build/lib/libtrit.so.0
	ln -sf libtrit.so.0 build/lib/libtrit.so

build/bin/trit: swift-release
	@mkdir -p build/bin
	cp .build/release/trit-cli build/bin/trit

build/trit.pc: Makefile
	@mkdir -p build
	printf 'prefix=%s\nlibdir=%s/lib\nincludedir=%s/Include\n\nName: trit\nDescription: BitNet b1.58 ternary LLM inference\nVersion: 0.1.0\nLibs: -L$${libdir} -ltrit -Wl,-rpath,$${libdir}\nCflags: -I$${includedir}\n' \
		"$(BUILD)" "$(BUILD)" "$(CURDIR)" > build/trit.pc

examples: build/lib/libtrit.so build/trit.pc
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

python: build/lib/libtrit.so $(PY)
	$(PY) -m pip install -q --disable-pip-version-check "./Bindings/python[server,ray,test,structured]"

# Every test: Swift unit and fixture tests, the C API / examples / CLI tests, the Python tests,
# and a short bounded run of every fuzz target (with its saved regressions replayed).
test: all python
	swift test
	$(MAKE) fuzz-smoke
	cd Tests && $(PY) -m pytest -q integration
	cd /tmp && $(PY) -m pytest -q $(CURDIR)/Bindings/python/tests

FUZZ_SECONDS ?= 15
fuzz-smoke:
	for t in gguf capi state safetensors tokenizer_files tokenize; do scripts/fuzz.sh $$t $(FUZZ_SECONDS) > build/fuzz-$$t.log 2>&1 || { tail -40 build/fuzz-$$t.log; exit 1; }; \
		grep -E "^Done [0-9]+ runs" build/fuzz-$$t.log | sed "s/^/fuzz $$t: /"; done

clean:
	rm -rf build .build

.PHONY: all swift-release examples run python test fuzz-smoke clean
