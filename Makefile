# mExOms — the two commands that matter:
#   make run    set everything up, build (release), start nats-server + the whole suite; Ctrl-C stops it
#   make test   set everything up, build, run the C++ and Swift test suites (what CI runs)
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT        := $(CURDIR)
BIN         := $(ROOT)/bin
CORE_BUILD  := $(ROOT)/cpp-core/build
JOBS        ?= 2
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := libnats-dev nats-server libssl-dev libcurl4-openssl-dev libprotobuf-c-dev protobuf-c-compiler \
                protobuf-compiler cmake ninja-build libgtest-dev libgmock-dev libbenchmark-dev libsimdjson-dev \
                libyaml-cpp-dev pkg-config python3-venv curl
SWIFT_PRODUCTS := oms-server binance-spot binance-futures router archiver omsctl oms-bench venue-sim

.PHONY: help deps build build-core build-services build-debug test test-core test-swift test-acceptance test-e2e test-faults test-faults-short \
        test-benchmark bench run demo proto check-generated golden fmt lint clean fuzz

help:
	@echo "make run | demo | test | build | build-core | build-services | bench | proto | check-generated | fmt | lint | fuzz | clean"

## deps: install the Debian packages that are missing (idempotent, quiet when all present)
deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

## build: everything in release; binaries land in ./bin (oms-core also in cpp-core/build)
build: build-core build-services

build-core: deps
	@cmake -S cpp-core -B $(CORE_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@nice -n 5 cmake --build $(CORE_BUILD) -j$(JOBS)
	@mkdir -p $(BIN) && cp $(CORE_BUILD)/oms-core $(BIN)/

build-services: deps
	@swift build -c release -j $(JOBS)
	@mkdir -p $(BIN) && for p in $(SWIFT_PRODUCTS); do cp .build/release/$$p $(BIN)/; done
	@echo "binaries in $(BIN): $$(ls $(BIN) | tr '\n' ' ')"

build-debug: deps
	@swift build --build-tests -j $(JOBS)

## test: what CI runs (.ci/run). C++ tests (ctest) then Swift tests (unit + integration against real nats-server)
test: deps build-core check-generated test-core test-swift test-acceptance test-e2e test-faults-short
	@echo "== all tests passed"

test-core: build-core
	@ctest --test-dir $(CORE_BUILD) --output-on-failure -j$(JOBS)

test-swift: build-debug
	@OMS_REQUIRE_CORE=1 OMS_BIN_DIR=.build/debug swift test --skip-build 2>&1 | \
	  grep -vE '^(Test Case|Test Suite|◇|✔ Test [^r])' ; exit $${PIPESTATUS[0]}

## test-e2e: the whole suite on real processes (fill, risk reject, cancel, duplicate, bad request, oms-server kill -9)
test-e2e: build-debug build-core
	@BIN=.build/debug CORE=$(CORE_BUILD)/oms-core scripts/e2e-suite.sh
	@BIN=.build/debug CORE=$(CORE_BUILD)/oms-core scripts/e2e-futures.sh

## test-faults: kill -9 every service, restart nats-server, venue faults under load; checked against venue-sim's ledger
test-faults: build-debug build-core
	@BIN=.build/debug CORE=$(CORE_BUILD)/oms-core scripts/fault-suite.sh

test-faults-short: build-debug build-core
	@BIN=.build/debug CORE=$(CORE_BUILD)/oms-core scripts/fault-suite.sh --short

## test-acceptance: third-party clients (ccxt, python-binance) against venue-sim
test-acceptance: build-debug
	@VENUE_SIM_BIN=.build/debug/venue-sim scripts/venue-sim-acceptance.sh

## bench: the figures (HdrHistogram p50/p99/p99.9, throughput) beside the NATS floor of the same run
test-benchmark bench: build
	@scripts/bench.sh

## run: the whole suite on a local nats-server and the simulated venues; Ctrl-C stops everything
run: build
	@scripts/run-all.sh

## demo: the suite up (as make run), a scripted client trading on venue-sim for about a minute
##       (limit, market, routed orders, cancels, one risk reject), then blotter, positions and P&L
demo: build
	@scripts/demo.sh

## proto: regenerate Swift (swift-protobuf) and C (protobuf-c) code and the golden vectors from proto/
proto: deps
	@scripts/gen-proto.sh
	@scripts/gen-golden.sh

## check-generated: fail when committed generated code or golden vectors are stale
check-generated: deps
	@scripts/gen-proto.sh --check

golden: deps
	@scripts/gen-golden.sh

fuzz:
	@cmake -S cpp-core/engine -B cpp-core/build-fuzz -G Ninja -DOMS_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang >/dev/null
	@cmake --build cpp-core/build-fuzz --target oms-engine-fuzz-command -j$(JOBS)
	@cpp-core/build-fuzz/fuzz/oms-engine-fuzz-command -max_total_time=$${FUZZ_SECONDS:-60} -print_final_stats=1

fmt:
	@swift format --in-place --recursive Sources/OMSCore Sources/OMSServer Sources/BinanceSpot Sources/BinanceFutures \
	  Sources/Router Sources/Archiver Sources/OMSCtl Sources/OMSBench Sources/VenueSim Sources/VenueSimCore Tests 2>/dev/null || true
	@command -v clang-format >/dev/null && find cpp-core -path cpp-core/build -prune -o -path cpp-core/generated -prune \
	  -o \( -name '*.cpp' -o -name '*.hpp' \) -print | xargs clang-format -i || true

lint:
	@git diff --check HEAD -- . ':!proto/testdata'
	@swift format lint --recursive Sources Tests 2>&1 | grep -v '^$$' | grep -v Generated | head -50 || true

clean:
	rm -rf .build $(CORE_BUILD) cpp-core/build-* $(BIN)
