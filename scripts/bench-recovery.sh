#!/usr/bin/env bash
# Picked up by scripts/bench.sh (make bench): each Swift service's start -> /readyz
# with 1M events in the streams — cold (no snapshot of its own yet), after kill -9
# (snapshot + tail) and after kill -9 with more events published while it was down.
# oms-core's own figure is in bench-oms-core. Uses the release binaries (OMS_BIN, ./bin).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
[ -x "$BIN/oms-server" ] || { echo "(release binaries not in $BIN: make build)"; exit 0; }
VENV="${VENV:-.venv}"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r tests/faults/requirements.txt
exec "$VENV/bin/python" tests/bench/recovery_bench.py --bin "$BIN" --events "${BENCH_RECOVERY_EVENTS:-1000000}" \
  --tail "${BENCH_RECOVERY_TAIL:-20000}" --runs "${BENCH_RECOVERY_RUNS:-3}"
