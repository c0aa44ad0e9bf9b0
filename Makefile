# matquant: `make demo` runs the main job on the shipped example,
# `make check` runs every test. Both install what is missing first.

CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ \
  -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir -DLLVM_USE_LINKER=lld
JOBS ?= 2
# The sanitizer build: -O1 and line tables (-g1) keep ASan's reports
# symbolized with file and line, and compile in 40% less time than -O2 -g.
# No -DNDEBUG: matquant's code, and the LLVM / MLIR header code inlined into
# it (cast<>, ...), runs with its assertions. (The release build, like
# Debian's LLVM, defines NDEBUG.)
ASAN_OPT = -O1 -g1

.PHONY: all deps build build-asan check demo docs clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@test -f build/build.ninja || cmake -S . -B build $(CMAKE_FLAGS)
	ninja -C build -j $(JOBS)

build-asan: deps
	@test -f build-asan/build.ninja || cmake -S . -B build-asan $(CMAKE_FLAGS) \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMATQUANT_SANITIZE=ON \
	  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$(ASAN_OPT)" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$(ASAN_OPT)"
	ninja -C build-asan -j $(JOBS)

check: build build-asan
	ninja -C build matquant-doc > /dev/null
	@scripts/check.sh

demo: build
	@examples/demo.sh $(MODEL)

docs: build
	ninja -C build matquant-doc
	@echo "generated reference: build/docs/Dialects/MQDialect.md build/docs/Passes/"

clean:
	rm -rf build build-asan
