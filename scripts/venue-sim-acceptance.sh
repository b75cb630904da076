#!/usr/bin/env bash
# venue-sim acceptance: ccxt (binance, binanceusdm) + python-binance (from PyPI, in .venv/) against a freshly started venue-sim.
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
rc=0
"$VENV/bin/python" tests/acceptance/binance_spot_acceptance.py "$BIN" || rc=1
# USDⓈ-M futures: ccxt binanceusdm (load markets, leverage, open/close a position, positions, rejections) + streams
"$VENV/bin/python" tests/acceptance/binance_usdm_acceptance.py "$BIN" || rc=1
exit $rc
