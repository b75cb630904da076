#!/usr/bin/env bash
# binance-spot's market-data hot path (depth parse + book apply) and connector added latency.
set -uo pipefail
cd "$(dirname "$0")/.."
"${OMS_BIN:-./bin}/binance-spot" --bench
