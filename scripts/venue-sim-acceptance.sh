#!/usr/bin/env bash
# venue-sim acceptance: ccxt + python-binance (from PyPI, in .venv/) against a freshly started venue-sim.
# Exits non-zero if any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENUE_SIM_BIN:-}"
if [[ -z "$BIN" ]]; then
  swift build --product venue-sim
  BIN="$(swift build --show-bin-path)/venue-sim"
fi
VENV="${VENV:-.venv}"
if [[ ! -x "$VENV/bin/python" ]]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -r tests/acceptance/requirements.txt
exec "$VENV/bin/python" tests/acceptance/binance_spot_acceptance.py "$BIN"
