#!/usr/bin/env bash
# Picked up by scripts/bench.sh (make bench): oms-core end to end vs the NATS
# request/reply floor of the same run, and recovery time with 1M events.
set -uo pipefail
cd "$(dirname "$0")/.."
B=cpp-core/build/oms-core-bench
[ -x "$B" ] || { echo "(oms-core-bench not built)"; exit 0; }
"$B" ${BENCH_CORE_IDLE_SPIN_US:+--idle-spin-us "$BENCH_CORE_IDLE_SPIN_US"} --n "${BENCH_E2E_N:-5000}" --events "${BENCH_RECOVERY_EVENTS:-1000000}" --recovery-runs "${BENCH_RECOVERY_RUNS:-5}"
