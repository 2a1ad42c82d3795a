# The two entry points of the README:
#   make run   installs dependencies, builds, and starts `ironflow serve` (embedded NATS, http://localhost:9123)
#   make test  installs dependencies (and the test-only ones: Chromium, Node.js), builds, and runs every test
BUILD_DIR ?= build
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo

.PHONY: deps test-deps configure build run test test-sanitize package bench fuzz clean

deps:
	./scripts/install-deps.sh

test-deps:
	./scripts/install-test-deps.sh

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/bin/ironflow serve $(ARGS)

test: build test-deps
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The whole suite again, built with AddressSanitizer + UndefinedBehaviorSanitizer in build-asan/ (CI runs it).
test-sanitize: deps
	./scripts/test-sanitizers.sh

# The Debian package of the server: build/ironflow_<version>_amd64.deb (docs/operations.md).
package: build
	cd $(BUILD_DIR) && cpack -G DEB

bench: build
	./bench/run.sh

# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) in build-fuzz/ and runs each for FUZZ_SECONDS.
# New interesting inputs land in build-fuzz/corpus-<target>/, crashes in build-fuzz/crash-<target>-*; copy a crash
# input into fuzz/corpus/<target>/ once fixed, so `make test` replays it forever.
FUZZ_SECONDS ?= 60
fuzz: deps
	./scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR)
