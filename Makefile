# annot — the README's two commands live here.
#   make        build the release binary (build/release/annot)
#   make run    install missing Debian packages, build, create the demo workspace, show it
#   make test   install missing Debian packages, build with sanitizers, run every test
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all build deps run test fuzz bench clean format
all: build

build:
	@cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build/release -j $(JOBS)

deps:
	@scripts/deps.sh

run: deps build
	@scripts/demo.sh

test:
	@scripts/deps.sh --test
	@cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DANNOT_SANITIZE=ON >/dev/null
	@cmake --build build/test -j $(JOBS)
	@cd build/test && ctest --output-on-failure -j $(JOBS)
	@scripts/fuzz.sh

fuzz:
	@scripts/deps.sh --test
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-120} scripts/fuzz.sh

bench: build
	@scripts/deps.sh --test
	@bench/run.sh

format:
	@clang-format -i $$(find src tests -name '*.[ch]')

clean:
	rm -rf build
