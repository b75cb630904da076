#!/usr/bin/env bash
# Fault suite: the whole stack on a real nats-server and venue-sim under a steady
# order flow, with seeded kill -9 of every service, a nats-server restart and venue
# faults; checked against venue-sim's own ledger (tests/faults/fault_suite.py).
#   scripts/fault-suite.sh            full run (3000 orders, 2 rounds of faults)
#   scripts/fault-suite.sh --short    CI form (600 orders, 1 round)
#   extra args go to the harness: --seed N --orders N --rate R --rounds N --only a,b --keep
# BIN (default .build/debug) and CORE (default cpp-core/build/oms-core) choose the binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
CORE=${CORE:-cpp-core/build/oms-core}
VENV="${VENV:-.venv}"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r tests/faults/requirements.txt
args=(--orders 3000 --rate 40 --rounds 2)
if [[ "${1:-}" == "--short" ]]; then shift; args=(--orders 600 --rate 30 --rounds 1); fi
exec "$VENV/bin/python" tests/faults/fault_suite.py --bin "$BIN" --core "$CORE" "${args[@]}" "$@"
