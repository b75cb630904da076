#!/usr/bin/env bash
# Smart order routing decision latency (RouterCore), called by scripts/bench.sh.
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
"$BIN/oms-bench" --routing --iterations ${BENCH_ROUTING_ITER:-200000}
