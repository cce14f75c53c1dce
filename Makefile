# Thin wrapper over CMake: set-up, build, run, test. README shows the two
# commands that matter: 'make run' and 'make test'.
BUILD      ?= build
ASAN_BUILD ?= build-asan
ARM_BUILD  ?= build-arm
JOBS       ?= $(shell nproc)
DEB_PKGS   := libcpuid-dev libsqlite3-dev gnuplot-nox libcriterion-dev cmake pkg-config
MOBENCH    := $(BUILD)/cli/mobench

.PHONY: all deps build run test test-asan test-arm clean

all: build

deps:
	@sh .ci/install-deps $(DEB_PKGS)

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The main job: probe the device and measure its ceilings (stored with the
# device in mobench.db: the sweep's roofline_pct and the report's roofline
# chart read them), run the quick sweep into mobench.db, write
# report/index.html; the report command prints a summary table and the path.
run: build
	$(MOBENCH) probe --roofline --db mobench.db
	$(MOBENCH) sweep sweeps/quick.ini --db mobench.db
	$(MOBENCH) report --db mobench.db --out report

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@if command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64-static >/dev/null; then \
		$(MAKE) --no-print-directory test-arm; \
	else \
		echo "mobench: ARM kernel tests skipped: install gcc-aarch64-linux-gnu and qemu-user-static to run them" >&2; \
	fi

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMOBENCH_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# The engine's kernel self-test cross-built for aarch64 and run under qemu:
# -cpu max (neon, dotprod, i8mm) and -cpu cortex-a53 (baseline NEON only).
ARM_CC   ?= aarch64-linux-gnu-gcc
ARM_QEMU ?= qemu-aarch64-static
# A hung emulator fails the run after ARM_TIMEOUT seconds instead of using
# up CI's time (the self-test takes well under a minute per CPU model).
ARM_TIMEOUT ?= 600
test-arm:
	cmake -S . -B $(ARM_BUILD) -DMOBENCH_ENGINE_ONLY=ON -DCMAKE_SYSTEM_NAME=Linux \
		-DCMAKE_SYSTEM_PROCESSOR=aarch64 -DCMAKE_C_COMPILER=$(ARM_CC) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(ARM_BUILD) -j $(JOBS) --target engine_selftest
	timeout $(ARM_TIMEOUT) $(ARM_QEMU) -cpu max $(ARM_BUILD)/engine_selftest
	timeout $(ARM_TIMEOUT) $(ARM_QEMU) -cpu cortex-a53 $(ARM_BUILD)/engine_selftest

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(ARM_BUILD)
