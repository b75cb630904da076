#!/usr/bin/env bash
# venue-sim's own throughput and order round trip, so it is never the bottleneck of the suite's benchmarks.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
if command -v taskset >/dev/null; then taskset -c 0 "$BIN/venue-sim" bench; else "$BIN/venue-sim" bench; fi
